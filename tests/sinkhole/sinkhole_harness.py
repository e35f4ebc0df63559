"""Real processes for the sinkhole's end-to-end and load tests: a redis-server
on a free loopback port, the fluxguard-sinkhole binary with a configuration
of the test's choosing, a raw RESP client and a TLS ClientHello builder.
Standard library only; loopback only; every wait is bounded."""

import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

SINKHOLE = os.environ.get("FLUXGUARD_SINKHOLE", "")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
IS_ROOT = os.geteuid() == 0


def raise_nofile(wanted):
    """Raises this process's soft descriptor limit towards `wanted`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        new_hard = hard
        if hard < wanted and IS_ROOT:
            new_hard = wanted
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, new_hard), new_hard))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def bindable(family, kind, host, port):
    s = socket.socket(family, kind)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A port free for TCP and UDP on both 127.0.0.1 and ::1."""
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if all(bindable(f, k, h, port)
               for f, h in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"))
               for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM)):
            return port
    raise RuntimeError("no free loopback port found")


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a true value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---- Redis ------------------------------------------------------------------

class RedisError(Exception):
    pass


class Resp:
    """A minimal RESP2 client over one socket: enough for the checks."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def close(self):
        self.file.close()
        self.sock.close()

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError("unexpected reply %r" % line)

    # Helpers that decode what the sinkhole writes.
    def stream(self, key):
        """Entries of a stream as dicts of str -> str, oldest first."""
        out = []
        for _id, fields in self("XRANGE", key, "-", "+"):
            out.append({fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields), 2)})
        return out

    def hash(self, key):
        flat = self("HGETALL", key)
        return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}

    def members(self, key):
        return {m.decode() for m in self("SMEMBERS", key)}


class RedisServer:
    """A real redis-server on a free loopback port, no persistence."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="sinkhole-redis-")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir.name, "--daemonize", "no",
             "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

        def pong():
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %s" % self.proc.returncode)
            try:
                r = Resp(self.port, timeout=1)
                try:
                    return r("PING") == "PONG"
                finally:
                    r.close()
            except OSError:
                return False
        wait_until(pong, 10, what="redis-server to answer PING")
        return self

    def client(self):
        return Resp(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.dir.cleanup()


# ---- the sinkhole -------------------------------------------------------------

class Sinkhole:
    """fluxguard-sinkhole on 127.0.0.1 and ::1 with two TCP ports and one UDP
    port; `settings` are extra configuration lines (key -> value)."""

    def __init__(self, workdir, redis_port=None, binary=None, **settings):
        self.workdir = Path(workdir)
        self.binary = binary or SINKHOLE
        self.tcp_port = free_port()
        self.tls_port = free_port()
        self.udp_port = free_port()
        self.records_path = self.workdir / "records.jsonl"
        self.log_path = self.workdir / "sinkhole.log"
        self.conf_path = self.workdir / "sinkhole.conf"
        lines = {
            "tcp-ports": "%d %d" % (self.tcp_port, self.tls_port),
            "udp-ports": str(self.udp_port),
            "records-file": str(self.records_path),
        }
        if IS_ROOT:
            lines["user"] = "nobody"
        if redis_port is not None:
            lines.update({"redis": "yes", "redis-server": "127.0.0.1:%d" % redis_port,
                          "redis-connect-timeout": "200"})
        lines.update({k.replace("_", "-"): str(v) for k, v in settings.items()})
        self.conf_text = "listen: 127.0.0.1\nlisten: ::1\n" + "".join(
            "%s: %s\n" % (k, v) for k, v in lines.items() if v is not None)
        self.proc = None
        self._log_file = None

    def start(self, wait_ready=True):
        self.conf_path.write_text(self.conf_text)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary, "--config", str(self.conf_path)],
                                     stdout=subprocess.DEVNULL, stderr=self._log_file,
                                     stdin=subprocess.DEVNULL)
        if wait_ready:
            def ready():
                if self.proc.poll() is not None:
                    raise AssertionError("sinkhole exited with %s:\n%s" % (self.proc.returncode, self.log()))
                return "; ready" in self.log()
            wait_until(ready, 10, what="the sinkhole's ready line")
        return self

    def log(self):
        return self.log_path.read_bytes().decode("ascii", "backslashreplace") if self.log_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the sinkhole and returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError("sinkhole did not stop within %ss:\n%s" % (timeout, self.log()))
        finally:
            self._log_file.close()
        return status

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        finally:
            if self._log_file:
                self._log_file.close()

    def rss_kib(self):
        for line in Path("/proc/%d/status" % self.proc.pid).read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def records_raw(self):
        return self.records_path.read_bytes() if self.records_path.exists() else b""

    def records(self):
        return [json.loads(line) for line in self.records_raw().splitlines()]

    def wait_records(self, predicate=lambda r: True, count=1, timeout=10):
        """Records matching `predicate` once there are at least `count`."""
        def enough():
            matching = [r for r in self.records() if predicate(r)]
            return matching if len(matching) >= count else None
        return wait_until(enough, timeout, what="%d matching records" % count)


# ---- TLS ClientHello ----------------------------------------------------------

def _u16(n):
    return struct.pack("!H", n)


def server_name_ext(name):
    entry = b"\x00" + _u16(len(name)) + name
    return _u16(len(entry)) + entry


def alpn_ext(protocols):
    names = b"".join(bytes([len(p)]) + p for p in protocols)
    return _u16(len(names)) + names


def client_hello(sni=b"", alpn=(), extra=()):
    """A TLS 1.2/1.3-style ClientHello handshake message (RFC 8446 4.1.2)."""
    sni = sni.encode() if isinstance(sni, str) else sni
    alpn = [p.encode() if isinstance(p, str) else p for p in alpn]
    ext = b""
    for ext_type, data in extra:
        ext += _u16(ext_type) + _u16(len(data)) + data
    if sni:
        data = server_name_ext(sni)
        ext += _u16(0) + _u16(len(data)) + data
    ext += _u16(10) + _u16(4) + b"\x00\x02\x00\x1d"          # supported_groups
    if alpn:
        data = alpn_ext(alpn)
        ext += _u16(16) + _u16(len(data)) + data
    ext += _u16(43) + _u16(3) + b"\x02\x03\x04"              # supported_versions
    body = (b"\x03\x03" + bytes(range(32)) + b"\x20" + b"\xaa" * 32 +
            _u16(6) + b"\x13\x01\x13\x02\xc0\x2f" + b"\x01\x00" + _u16(len(ext)) + ext)
    return b"\x01" + struct.pack("!I", len(body))[1:] + body


def tls_records(message, fragment=16384):
    out = b""
    for i in range(0, len(message), fragment):
        piece = message[i:i + fragment]
        out += b"\x16\x03\x01" + _u16(len(piece)) + piece
    return out


TLS_ALERT_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"


# ---- sockets ----------------------------------------------------------------

def read_until_closed(sock, timeout=5.0, limit=1 << 20, reset_ok=True):
    """Everything the peer sends until it closes; raises on timeout, and on a
    reset (instead of a clean FIN) unless `reset_ok`."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < limit:
        if time.monotonic() > deadline:
            raise AssertionError("the sinkhole did not close the connection")
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            if not reset_ok:
                raise
            break
        if not chunk:
            break
        data += chunk
    return data


def connect(port, host="127.0.0.1", timeout=5.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s
