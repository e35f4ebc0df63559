"""Helpers for fluxguard's end-to-end tests (no test cases in here).

Typical use, with /usr/bin/python3 (it has dnspython; the pyenv python does not):

    from fluxtest import FluxTestEnv, query

    with FluxTestEnv(unbound_binary="build/unbound/install/sbin/unbound",
                     module_path="build/libfluxguard.so",
                     env={"FLUXGUARD_CONF": "/path/to/fluxguard.conf"}) as t:
        r = query("www.flux.test", "A", t.unbound.port)
        assert t.auth.count("www.flux.test", "A") == 1

FluxTestEnv starts authserver.py (the *.test zones) and an Unbound whose
stub-zones point at it, each in a fresh temp dir. If the block raises, the
logs of both are printed to stderr and the temp dir is kept. The two pieces
can also be used on their own: AuthServer, Unbound, unbound_conf(), query().
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rdatatype

HERE = Path(__file__).resolve().parent
AUTHSERVER = HERE / "authserver.py"
PYTHON = "/usr/bin/python3"  # has dnslib and dnspython

# The zones authserver.py serves; Unbound gets a stub-zone for each.
ZONES = ("flux.test", "dflux.test", "cdn.test", "static.test",
         "example-static.test", "alias.test")


def free_port(address="127.0.0.1"):
    """A port that is free for both UDP and TCP right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((address, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for both UDP and TCP")


def query(name, qtype, port, edns=True, address="127.0.0.1", timeout=3.0, source=None):
    """Ask address:port (RD set) over UDP, with EDNS0 when edns is true;
    repeat over TCP if the answer is truncated. Returns the dnspython
    message; raises dns.exception.Timeout when nothing answers."""
    msg = dns.message.make_query(name, qtype, use_edns=0 if edns else False,
                                 payload=1232)
    response = dns.query.udp(msg, address, port=port, timeout=timeout, source=source)
    if response.flags & dns.flags.TC:
        response = dns.query.tcp(msg, address, port=port, timeout=timeout, source=source)
    return response


def addresses(response, qtype="A"):
    """Set of the A (or AAAA) addresses in a response's answer section."""
    rdtype = dns.rdatatype.from_text(qtype)
    return {rd.to_text() for rrset in response.answer
            if rrset.rdtype == rdtype for rd in rrset}


def wait_until(predicate, timeout, interval=0.05):
    """Poll predicate() until it returns something true; returns that, or
    None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def stop_process(proc, grace=5.0):
    """SIGTERM, then SIGKILL if it is still there after grace seconds.
    Returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


class AuthServer:
    """tests/e2e/authserver.py as a subprocess, logging every query."""

    def __init__(self, workdir, port=0, address="127.0.0.1"):
        self.workdir = Path(workdir)
        self.address = address
        self.requested_port = port
        self.port = None
        self.proc = None
        self.stdout_path = self.workdir / "authserver.stdout"
        self.stderr_path = self.workdir / "authserver.stderr"
        self.query_log_path = self.workdir / "authserver.queries"

    def start(self, timeout=10.0):
        """Start it and wait for its READY line."""
        cmd = [PYTHON, str(AUTHSERVER), "--port", str(self.requested_port),
               "--address", self.address, "--log", str(self.query_log_path)]
        with open(self.stdout_path, "w") as out, \
                open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)

        def ready():
            for line in read_text(self.stdout_path).splitlines():
                if line.startswith("READY "):
                    return int(line.split()[1])
            if self.proc.poll() is not None:
                raise RuntimeError("authserver exited with %s:\n%s" % (
                    self.proc.returncode, read_text(self.stderr_path)))
            return None

        self.port = wait_until(ready, timeout)
        if self.port is None:
            self.stop()
            raise RuntimeError("authserver not READY after %ss:\n%s"
                               % (timeout, read_text(self.stderr_path)))
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)

    def queries(self):
        """[(time, qname, qtype, transport)] for every query so far; qname in
        lower case with a trailing dot."""
        out = []
        for line in read_text(self.query_log_path).splitlines():
            when, qname, qtype, transport = line.split()
            out.append((float(when), qname, qtype, transport))
        return out

    def count(self, qname=None, qtype=None):
        """How many queries for qname (any case, dot optional) / qtype."""
        if qname is not None:
            qname = qname.lower().rstrip(".") + "."
        return sum(1 for _, n, t, _ in self.queries()
                   if (qname is None or n == qname)
                   and (qtype is None or t == qtype.upper()))

    def logs(self):
        return ("--- authserver stderr (%s) ---\n%s--- authserver queries ---\n%s"
                % (self.stderr_path, read_text(self.stderr_path),
                   read_text(self.query_log_path)))


def unbound_conf(*, port, auth_port, workdir, module_path=None, verbosity=1,
                 num_threads=1, logfile="", extra_server="", zones=ZONES,
                 auth_address="127.0.0.1"):
    """unbound.conf text: listens on 127.0.0.1@port, sends the test zones to
    the authserver (stub-zones, no DNSSEC), loads module_path through dynlib
    when given. logfile "" logs to stderr. extra_server is appended verbatim
    to the server: clause (indent its lines with 4 spaces)."""
    workdir = Path(workdir)
    modules = "dynlib validator iterator" if module_path else "validator iterator"
    lines = [
        "server:",
        "    interface: 127.0.0.1",
        "    port: %d" % port,
        "    do-not-query-localhost: no",
        '    chroot: ""',
        '    username: ""',
        '    directory: "%s"' % workdir,
        '    pidfile: "%s"' % (workdir / "unbound.pid"),
        "    use-syslog: no",
        '    logfile: "%s"' % logfile,
        "    verbosity: %d" % verbosity,
        "    num-threads: %d" % num_threads,
        '    module-config: "%s"' % modules,
        "    ede: yes",
        # Unbound serves "test." itself (RFC 6761 default local-zone, all
        # NXDOMAIN); switch that off so the stub-zones below are used.
        '    local-zone: "test." nodefault',
    ]
    lines += ['    domain-insecure: "%s"' % z for z in zones]
    if extra_server:
        lines.append(extra_server.rstrip("\n"))
    for zone in zones:
        lines += ["", "stub-zone:",
                  '    name: "%s"' % zone,
                  "    stub-addr: %s@%d" % (auth_address, auth_port)]
    if module_path:
        lines += ["", "dynlib:", '    dynlib-file: "%s"' % module_path]
    return "\n".join(lines) + "\n"


class Unbound:
    """An Unbound binary in the foreground (-d -c conf) on 127.0.0.1."""

    def __init__(self, binary, auth_port, workdir, module_path=None,
                 verbosity=1, num_threads=1, env=None, log_to_file=False,
                 extra_server="", port=None):
        """env: variables added to this process's environment for Unbound
        (e.g. {"FLUXGUARD_CONF": path}). log_to_file: log to unbound.log in
        workdir instead of stderr (stderr is captured either way)."""
        self.binary = str(binary)
        self.auth_port = auth_port
        self.workdir = Path(workdir)
        self.module_path = str(module_path) if module_path else None
        self.verbosity = verbosity
        self.num_threads = num_threads
        self.env = dict(env or {})
        self.extra_server = extra_server
        self.requested_port = port
        self.port = None
        self.proc = None
        self.conf_path = self.workdir / "unbound.conf"
        self.stderr_path = self.workdir / "unbound.stderr"
        self.log_path = self.workdir / "unbound.log" if log_to_file else None

    def start(self, timeout=20.0):
        """Write the conf, start Unbound and wait until it answers. If it dies
        at once because the port was taken meanwhile, retry on another."""
        for attempt in range(3):
            self.port = self.requested_port or free_port()
            self.conf_path.write_text(unbound_conf(
                port=self.port, auth_port=self.auth_port,
                workdir=self.workdir, module_path=self.module_path,
                verbosity=self.verbosity, num_threads=self.num_threads,
                logfile=str(self.log_path or ""),
                extra_server=self.extra_server))
            env = dict(os.environ)
            env.update(self.env)
            with open(self.stderr_path, "a") as err:
                self.proc = subprocess.Popen(
                    [self.binary, "-d", "-c", str(self.conf_path)],
                    stdout=err, stderr=err, stdin=subprocess.DEVNULL,
                    env=env, cwd=self.workdir)
            if (wait_until(self._answers, timeout, interval=0.1)
                    and self.proc.poll() is None):
                return self
            self.stop()
            port_taken = "already in use" in self.logs()
            if not (port_taken and self.requested_port is None):
                break
        raise RuntimeError("unbound did not come up (exit status %s)\n%s"
                           % (self.proc.returncode, self.logs()))

    def _answers(self):
        if self.proc.poll() is not None:
            return True  # died: stop waiting (start() sees it is gone)
        try:
            # localhost is one of Unbound's own local zones: the answer
            # never reaches the modules or the authserver's query log.
            query("localhost.", "A", self.port, timeout=0.5)
        except Exception:
            return False
        return self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            return stop_process(self.proc)
        return None

    def logs(self):
        text = "--- unbound.conf (%s) ---\n%s--- unbound stderr ---\n%s" % (
            self.conf_path, read_text(self.conf_path),
            read_text(self.stderr_path))
        if self.log_path:
            text += "--- unbound.log ---\n%s" % read_text(self.log_path)
        return text


class FluxTestEnv:
    """Temp dir + AuthServer + Unbound, torn down on exit. On an exception
    inside the with block the logs are printed to stderr and the temp dir
    (path in .workdir) is kept; FLUXTEST_KEEP=1 keeps it always."""

    def __init__(self, unbound_binary, module_path=None, env=None,
                 verbosity=1, num_threads=1, log_to_file=False,
                 extra_server=""):
        self.workdir = Path(tempfile.mkdtemp(prefix="fluxtest-"))
        self.auth = AuthServer(self.workdir)
        self.unbound_args = dict(
            binary=unbound_binary, module_path=module_path, env=env,
            verbosity=verbosity, num_threads=num_threads,
            log_to_file=log_to_file, extra_server=extra_server)
        self.unbound = None

    def start(self):
        try:
            self.auth.start()
            self.unbound = Unbound(auth_port=self.auth.port,
                                   workdir=self.workdir, **self.unbound_args)
            self.unbound.start()
        except BaseException:
            self.stop(failed=True, show_logs=False)  # the error has them
            raise
        return self

    def stop(self, failed=False, show_logs=True):
        if self.unbound:
            self.unbound.stop()
        self.auth.stop()
        if failed:
            if show_logs:
                print(self.logs(), file=sys.stderr)
            print("fluxtest: logs kept in %s" % self.workdir, file=sys.stderr)
        elif not os.environ.get("FLUXTEST_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self):
        parts = [self.auth.logs()]
        if self.unbound:
            parts.append(self.unbound.logs())
        return "\n".join(parts)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop(failed=exc_type is not None)
        return False
