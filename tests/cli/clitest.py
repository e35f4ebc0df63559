"""Shared set-up of the fluxctl tests: a real redis-server on a free loopback
port, a binary-safe RESP client to seed the store's documented key layout
(store/README.md), fluxguard.conf writing, the fluxctl binary, a small
authoritative DNS server and Debian's stock Unbound."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

FLUXCTL = os.environ["FLUXGUARD_FLUXCTL"]
FIXTURES = Path(os.environ["FLUXGUARD_FIXTURES"])
STOCK_UNBOUND = os.environ.get("FLUXGUARD_STOCK_UNBOUND", "/usr/sbin/unbound")


def free_port(kind=socket.SOCK_STREAM):
    """A port free for TCP and UDP on 127.0.0.1 (DNS needs both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def stop_process(proc, timeout=5):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Resp:
    """A minimal binary-safe Redis client: bytes or str arguments, RESP2
    replies as bytes, ints, lists, None, or RespError."""

    class Error(Exception):
        pass

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise Resp.Error(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ValueError("bad RESP reply %r" % line)


class RedisServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fluxctl-redis-"))
        self.port = free_port()
        self.proc = None

    def start(self, timeout=10.0):
        log = open(self.dir / "redis.log", "w")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                r = Resp(self.port)
                if r("PING") == b"PONG":
                    r.close()
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start:\n" + (self.dir / "redis.log").read_text())

    def client(self):
        return Resp(self.port)

    def stop(self):
        if self.proc:
            stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def write_conf(path, redis_port, extra=""):
    Path(path).write_text(
        "# written by tests/cli\n"
        "store: redis\n"
        "redis-server: 127.0.0.1:%d\n"
        "asn-database: %s\n"
        "country-database: %s\n%s" % (redis_port, FIXTURES / "test-asn.mmdb",
                                      FIXTURES / "test-country.mmdb", extra))
    return Path(path)


def encoded(name):
    """A name as it stands in a key (store/key_layout.h): bytes [A-Za-z0-9._-]
    as they are, every other byte %XX."""
    keep = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
    return b"".join(bytes([c]) if c in keep else b"%%%02X" % c for c in name)


def packed(address):
    """The store's packed form of an address."""
    if ":" in address:
        return socket.inet_pton(socket.AF_INET6, address)
    return socket.inet_aton(address)


class FluxctlTestCase(unittest.TestCase):
    """A fresh Redis per test class, a fluxguard.conf for it, and fluxctl."""

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.tmp = Path(tempfile.mkdtemp(prefix="fluxctl-test-"))
        cls.conf = write_conf(cls.tmp / "fluxguard.conf", cls.redis.port)
        cls.r = cls.redis.client()

    @classmethod
    def tearDownClass(cls):
        cls.r.close()
        cls.redis.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.r("FLUSHALL")

    def fluxctl(self, *args, ok=True, stdin=None, timeout=60):
        proc = subprocess.run([FLUXCTL, *args, "--config", str(self.conf)],
                              capture_output=True, text=True, timeout=timeout, input=stdin)
        if ok is True:
            self.assertEqual(proc.returncode, 0, "fluxctl %s failed:\n%s%s" % (
                " ".join(args), proc.stdout, proc.stderr))
        elif ok is not None:
            self.assertEqual(proc.returncode, ok, "fluxctl %s: expected exit %s:\n%s%s" % (
                " ".join(args), ok, proc.stdout, proc.stderr))
        return proc

    def seed_detected(self, domain, since, score, addresses, asns=(), ccs=(), ns=(),
                      resolutions=5, min_ttl=60, evidence=None, prefix="fluxguard:",
                      continents=()):
        """Writes what a resolver's store writes for a domain it tracked and
        then blocked (store/README.md, "Key layout")."""
        base = "%s{%s}:" % (prefix, domain)
        for a in addresses:
            self.r("ZADD", base + "addr", since, packed(a))
            p = packed(a)
            self.r("ZADD", base + "pfx", since, p[:3] if len(p) == 4 else p[:6])
        for a in asns:
            self.r("ZADD", base + "asn", since, str(a))
        for c in ccs:
            self.r("ZADD", base + "cc", since, c)
        for n in ns:
            self.r("ZADD", base + "ns", since, n)
        self.r("HSET", base + "meta", "first_seen", since - 600, "last_seen", since,
               "resolutions", resolutions, "min_ttl", min_ttl)
        for c in continents:
            self.r("HSET", base + "meta", "c:" + c, since)
        if score is not None:
            self.r("ZADD", prefix + "blocked", since, domain)
            self.r("HSET", "%sblock:{%s}" % (prefix, domain), "domain", domain,
                   "score", repr(score), "since", since, "source", "detected",
                   "reason", "fast flux: %s score %s > 0" % (domain, score),
                   "evidence", evidence or "")
            for a in addresses:
                self.r("ZADD", prefix + "pool:addr", since, packed(a))

    def seed_instance(self, host, pid, started, last_seen, submitted=0, dropped=0, errors=0,
                      version=b"0.1.0", prefix=b"fluxguard:"):
        """Writes what a resolver's store writes in its heartbeat
        (store/README.md, "Instance registry"); returns the instance id."""
        ident = b"%s:%d:%d" % (host, pid, started)
        key = prefix + b"instance:{" + encoded(ident) + b"}"
        self.r("ZADD", prefix + b"instances", last_seen, ident)
        self.r("HSET", key, "host", host, "pid", pid, "started", started,
               "last_seen", last_seen, "version", version, "submitted", submitted,
               "dropped", dropped, "errors", errors)
        self.r("EXPIRE", key, 90)
        return ident


class AuthServer:
    """A small authoritative server (dnslib) on loopback: `records` maps a
    name to a list of A/AAAA addresses; every other name is NXDOMAIN."""

    def __init__(self, records):
        from dnslib import QTYPE, RR, A, AAAA, RCODE
        from dnslib.server import BaseResolver, DNSLogger, DNSServer

        class Resolver(BaseResolver):
            def resolve(self, request, handler):
                reply = request.reply()
                reply.header.aa = 1
                name = str(request.q.qname).lower()
                qtype = QTYPE[request.q.qtype]
                if name not in records:
                    reply.header.rcode = RCODE.NXDOMAIN
                    return reply
                for address in records[name]:
                    if ":" in address and qtype == "AAAA":
                        reply.add_answer(RR(name, QTYPE.AAAA, rdata=AAAA(address), ttl=60))
                    elif ":" not in address and qtype == "A":
                        reply.add_answer(RR(name, QTYPE.A, rdata=A(address), ttl=60))
                return reply

        self.port = free_port(socket.SOCK_DGRAM)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False,
                          logf=lambda _: None)
        self.udp = DNSServer(Resolver(), address="127.0.0.1", port=self.port, logger=quiet)
        self.tcp = DNSServer(Resolver(), address="127.0.0.1", port=self.port, tcp=True,
                             logger=quiet)

    def start(self):
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    def stop(self):
        self.udp.stop()
        self.tcp.stop()


class StockUnbound:
    """Debian's own /usr/sbin/unbound in the foreground on a loopback port,
    with the given extra configuration."""

    def __init__(self, workdir, extra):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.conf = self.workdir / "unbound.conf"
        self.conf.write_text(
            "server:\n"
            "    interface: 127.0.0.1\n"
            "    port: %d\n"
            "    do-daemonize: no\n"
            "    username: \"\"\n"
            "    chroot: \"\"\n"
            "    directory: \"%s\"\n"
            "    pidfile: \"%s/unbound.pid\"\n"
            "    use-syslog: no\n"
            "    logfile: \"\"\n"
            "    verbosity: 1\n"
            "    do-ip6: no\n"
            "    do-not-query-localhost: no\n"
            "    qname-minimisation: no\n"
            "remote-control:\n"
            "    control-enable: no\n%s" % (self.port, self.workdir, self.workdir, extra))
        self.proc = None

    def start(self, timeout=15.0):
        self.log = open(self.workdir / "unbound.log", "w")
        self.proc = subprocess.Popen([STOCK_UNBOUND, "-d", "-c", str(self.conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited:\n" + self.logs())
            if "start of service" in self.logs():
                return self
            time.sleep(0.05)
        raise RuntimeError("unbound did not start:\n" + self.logs())

    def logs(self):
        return (self.workdir / "unbound.log").read_text(errors="replace")

    def query(self, name, rdtype="A"):
        import dns.message
        import dns.query
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=5)

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.log.close()
