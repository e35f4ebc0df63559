"""fluxguard-sinkhole end to end: the real binary on 127.0.0.1 and ::1, a real
redis-server, real sockets. Each kind of client produces the right record in
the JSON Lines file, in the Redis stream and in the per-host view; abuse
(slowloris, oversized heads, thousands of idle sockets, lying TLS lengths,
garbage, log injection, floods) costs bounded memory and loses nothing; and
SIGTERM flushes. Run by ctest as "e2e: sinkhole" with FLUXGUARD_SINKHOLE set
to the binary."""

import base64
import json
import os
import random
import select
import selectors
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from sinkhole_harness import (IS_ROOT, SINKHOLE, TLS_ALERT_HANDSHAKE_FAILURE, RedisServer,
                              Sinkhole, alpn_ext, bindable, client_hello, connect, free_port,
                              raise_nofile, read_until_closed, tls_records, wait_until)

PREFIX = "fluxguard:"
STREAM = PREFIX + "sinkhole:hits"
HOSTS = PREFIX + "hosts"
# Memory bound asserted under abuse; sanitizer builds need more (ASan's
# shadow memory and quarantine), so it can be raised from the environment.
RSS_LIMIT_KIB = int(os.environ.get("SINKHOLE_RSS_LIMIT_MIB", "64")) * 1024


def host_key(ip):
    return "%shost:{%s}" % (PREFIX, ip)


def first_bytes(record):
    return base64.b64decode(record["first_bytes_base64"])


def printable_ascii(data):
    return all(0x20 <= b <= 0x7e for b in data)


class SinkholeCase(unittest.TestCase):
    """One Redis for the class (flushed per test), one sinkhole per test."""

    @classmethod
    def setUpClass(cls):
        if not SINKHOLE or not os.access(SINKHOLE, os.X_OK):
            raise AssertionError("FLUXGUARD_SINKHOLE must name the fluxguard-sinkhole binary")
        cls.redis = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sinkhole-e2e-")
        self.r = self.redis.client()
        self.r("FLUSHALL")
        self.sinkholes = []

    def tearDown(self):
        for s in self.sinkholes:
            if s.proc and s.proc.poll() is None:
                s.stop(signal.SIGKILL)
        self.r.close()
        self.tmp.cleanup()

    def start(self, with_redis=True, **settings):
        workdir = Path(self.tmp.name) / ("s%d" % len(self.sinkholes))
        workdir.mkdir()
        s = Sinkhole(workdir, redis_port=self.redis.port if with_redis else None, **settings)
        self.sinkholes.append(s)
        return s.start()

    def stream_when(self, count, timeout=10):
        return wait_until(lambda: (lambda e: e if len(e) >= count else None)(self.r.stream(STREAM)),
                          timeout, what="%d stream entries" % count)


class Records(SinkholeCase):
    """Each kind of client gives the right record, everywhere."""

    def test_http_request_gets_block_page_and_record(self):
        s = self.start()
        c = connect(s.tcp_port)
        client_port = c.getsockname()[1]
        c.sendall(b"GET /gate.php?id=42 HTTP/1.1\r\nHost: Flux.Evil.Example:8080\r\n"
                  b"User-Agent: evilbot/1.0\r\nAccept: */*\r\n\r\n")
        response = read_until_closed(c)
        c.close()
        self.assertTrue(response.startswith(b"HTTP/1.1 403 Forbidden\r\n"), response[:80])
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertIn(b"Connection: close", head)
        self.assertIn(b"Content-Length: %d" % len(body), head)
        self.assertIn(b"<b>flux.evil.example</b> was blocked as <b>fast flux</b>", body)

        [rec] = s.wait_records()
        expected = {
            "transport": "tcp", "client_ip": "127.0.0.1", "client_port": client_port,
            "local_ip": "127.0.0.1", "local_port": s.tcp_port, "protocol": "http",
            "sniff": "complete", "domain": "flux.evil.example", "http_method": "GET",
            "http_path": "/gate.php?id=42", "http_version": "HTTP/1.1",
            "http_host": "Flux.Evil.Example:8080", "http_user_agent": "evilbot/1.0",
            "end": "complete", "answered": True,
        }
        self.assertEqual({k: rec.get(k) for k in expected}, expected)
        self.assertTrue(first_bytes(rec).startswith(b"GET /gate.php?id=42 HTTP/1.1\r\nHost:"))
        self.assertEqual(rec["bytes"], len(b"GET /gate.php?id=42 HTTP/1.1\r\nHost: Flux.Evil.Example:8080\r\n"
                                           b"User-Agent: evilbot/1.0\r\nAccept: */*\r\n\r\n"))
        self.assertRegex(rec["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

        # The same record in the stream, field for field, as text.
        [entry] = self.stream_when(1)
        for key, value in rec.items():
            want = ("true" if value else "false") if isinstance(value, bool) else str(value)
            self.assertEqual(entry.get(key), want, key)

        # The per-host view of 127.0.0.1.
        meta = self.r.hash(host_key("127.0.0.1"))
        self.assertEqual(meta["count"], "1")
        self.assertEqual(meta["first_seen"], meta["last_seen"])
        self.assertLessEqual(abs(int(meta["last_seen"]) - time.time()), 60)
        self.assertEqual(self.r.members(host_key("127.0.0.1") + ":domains"), {"flux.evil.example"})
        self.assertEqual(self.r.members(host_key("127.0.0.1") + ":ports"), {"tcp/%d" % s.tcp_port})
        self.assertEqual(int(self.r("ZSCORE", HOSTS, "127.0.0.1")), int(meta["last_seen"]))
        self.assertGreater(self.r("TTL", host_key("127.0.0.1")), 0)

    def test_tls_client_hello_over_ipv6(self):
        s = self.start()
        c = connect(s.tls_port, host="::1")
        client_port = c.getsockname()[1]
        hello = tls_records(client_hello(sni="TLS.Flux.Example", alpn=["h2", "http/1.1"]))
        c.sendall(hello)
        self.assertEqual(read_until_closed(c), TLS_ALERT_HANDSHAKE_FAILURE)
        c.close()
        [rec] = s.wait_records()
        self.assertEqual(rec["protocol"], "tls")
        self.assertEqual(rec["sniff"], "complete")
        self.assertEqual(rec["tls_sni"], "TLS.Flux.Example")
        self.assertEqual(rec["tls_alpn"], ["h2", "http/1.1"])
        self.assertEqual(rec["tls_version"], "0x0303")
        self.assertEqual(rec["domain"], "tls.flux.example")
        self.assertEqual((rec["client_ip"], rec["client_port"]), ("::1", client_port))
        self.assertEqual((rec["local_ip"], rec["local_port"]), ("::1", s.tls_port))
        self.assertEqual(rec["end"], "complete")
        self.assertEqual(first_bytes(rec), hello[:256])

        [entry] = self.stream_when(1)
        self.assertEqual(entry["tls_sni"], "TLS.Flux.Example")
        self.assertEqual(entry["tls_alpn"], "h2,http/1.1")
        self.assertEqual(self.r.members(host_key("::1") + ":domains"), {"tls.flux.example"})
        self.assertEqual(self.r.members(host_key("::1") + ":ports"), {"tcp/%d" % s.tls_port})
        self.assertIsNotNone(self.r("ZSCORE", HOSTS, "::1"))

    def test_openssl_s_client_hello(self):
        s = self.start()
        proc = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls_port,
             "-servername", "openssl.flux.example", "-alpn", "h2"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        self.assertNotEqual(proc.returncode, 0)  # the handshake is refused
        self.assertIn(b"alert handshake failure", proc.stdout + proc.stderr)
        [rec] = s.wait_records()
        self.assertEqual((rec["protocol"], rec["sniff"]), ("tls", "complete"))
        self.assertEqual(rec["tls_sni"], "openssl.flux.example")
        self.assertEqual(rec["tls_alpn"], ["h2"])
        self.assertEqual(rec["answered"], True)

    def test_raw_tcp_payload(self):
        s = self.start()
        payload = b"\x00\x01hello raw \xff\xfe binary"
        c = connect(s.tcp_port)
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(read_until_closed(c), b"")
        c.close()
        [rec] = s.wait_records()
        self.assertEqual(rec["protocol"], "unknown")
        self.assertEqual(rec["sniff"], "opaque")
        self.assertEqual(first_bytes(rec), payload)
        self.assertEqual(rec["bytes"], len(payload))
        self.assertEqual(rec["end"], "peer-closed")
        self.assertEqual(rec["answered"], False)
        self.assertNotIn("domain", rec)
        [entry] = self.stream_when(1)
        self.assertEqual(base64.b64decode(entry["first_bytes_base64"]), payload)
        self.assertEqual(self.r.members(host_key("127.0.0.1") + ":domains"), set())

    def test_udp_datagrams_ipv4_and_ipv6(self):
        s = self.start(record_encoding="hex")
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            u = socket.socket(family, socket.SOCK_DGRAM)
            u.bind((host, 0))
            u.sendto(b"\x12\x34datagram from " + host.encode(), (host, s.udp_port))
            u.settimeout(0.5)
            with self.assertRaises(socket.timeout):  # never answered: no reflection
                u.recvfrom(2048)
            port = u.getsockname()[1]
            u.close()
            [rec] = s.wait_records(lambda r, h=host: r["client_ip"] == h)
            self.assertEqual(rec["transport"], "udp")
            self.assertEqual(rec["client_port"], port)
            self.assertEqual((rec["local_ip"], rec["local_port"]), (host, s.udp_port))
            self.assertEqual(bytes.fromhex(rec["first_bytes_hex"]), b"\x12\x34datagram from " + host.encode())
            self.assertEqual(rec["end"], "datagram")
            self.assertEqual(self.r.members(host_key(host) + ":ports"), {"udp/%d" % s.udp_port})
        self.assertEqual(len(self.stream_when(2)), 2)

    def test_per_host_aggregate_accumulates(self):
        s = self.start()
        for name in ("a.flux.example", "b.flux.example", "a.flux.example"):
            c = connect(s.tcp_port)
            c.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % name.encode())
            read_until_closed(c)
            c.close()
        c = connect(s.tls_port)
        c.sendall(tls_records(client_hello(sni="c.flux.example")))
        read_until_closed(c)
        c.close()
        self.stream_when(4)
        key = host_key("127.0.0.1")
        meta = self.r.hash(key)
        self.assertEqual(meta["count"], "4")
        self.assertLessEqual(int(meta["first_seen"]), int(meta["last_seen"]))
        self.assertEqual(self.r.members(key + ":domains"),
                         {"a.flux.example", "b.flux.example", "c.flux.example"})
        self.assertEqual(self.r.members(key + ":ports"), {"tcp/%d" % s.tcp_port, "tcp/%d" % s.tls_port})
        # Another writer (the resolver side) moving last_seen forward is kept;
        # and a flushed script cache (SCRIPT FLUSH, NOSCRIPT) is recovered from.
        self.r("HSET", key, "last_seen", int(meta["last_seen"]) + 1000)
        self.r("SCRIPT", "FLUSH")
        c = connect(s.tcp_port)
        c.sendall(b"GET / HTTP/1.1\r\n\r\n")
        read_until_closed(c)
        c.close()
        self.stream_when(5)
        # The host update is a separate command after the stream entry (and
        # is retried after NOSCRIPT): wait for it rather than race it.
        deadline = time.monotonic() + 5
        meta2 = self.r.hash(key)
        while meta2.get("count") != "5" and time.monotonic() < deadline:
            time.sleep(0.05)
            meta2 = self.r.hash(key)
        self.assertEqual(meta2["count"], "5")
        self.assertEqual(int(meta2["last_seen"]), int(meta["last_seen"]) + 1000)
        self.assertEqual(meta2["first_seen"], meta["first_seen"])

    def test_stream_is_trimmed(self):
        self.r("CONFIG", "SET", "stream-node-max-entries", "10")
        s = self.start(redis_stream_length=20)
        for i in range(120):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(b"n%d" % i, ("127.0.0.1", s.udp_port))
            u.close()
        s.wait_records(count=120)
        wait_until(lambda: int(self.r.hash(host_key("127.0.0.1")).get("count", 0)) == 120, 10,
                   what="120 hits counted")
        length = self.r("XLEN", STREAM)
        self.assertGreaterEqual(length, 20)
        self.assertLessEqual(length, 40)  # MAXLEN ~ trims whole nodes of 10
        self.assertEqual(len(s.records()), 120)  # the file keeps everything


class Abuse(SinkholeCase):
    """Hostile clients: bounded cost, nothing lost, still serving."""

    def assert_still_serving(self, s):
        c = connect(s.tcp_port)
        c.sendall(b"GET / HTTP/1.1\r\nHost: alive.example\r\n\r\n")
        self.assertTrue(read_until_closed(c).startswith(b"HTTP/1.1 403"))
        c.close()

    def test_log_injection_is_escaped_everywhere(self):
        s = self.start()
        # A CR alone inside a line stays in the value (CRLF would just end
        # the header); real line feeds come through SNI and ALPN below.
        host = b'evil.example\r"}{"forged" true}<script>\x1b[2J\xff\x00'
        c = connect(s.tcp_port)
        c.sendall(b"GET /\x80\xff HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: \x1b]0;pwned\x07\xc3\xa9\r\n\r\n")
        body = read_until_closed(c)
        c.close()
        self.assertTrue(body.startswith(b"HTTP/1.1 403"), body[:60])
        self.assertIn(b"&lt;script&gt;", body)
        self.assertNotIn(b"<script>", body)
        self.assertNotIn(b"\x1b", body)
        self.assertTrue(printable_ascii(body.replace(b"\r\n", b"").replace(b"\n", b"")))

        sni = b'sni"\n\r\x00\\x0a\xe2\x80\xae.example'
        c = connect(s.tls_port)
        c.sendall(tls_records(client_hello(sni=sni, alpn=[b"h2\n", b'"x"'])))
        read_until_closed(c)
        c.close()

        records = s.wait_records(count=2)
        raw = s.records_raw()
        self.assertEqual(raw.count(b"\n"), 2)  # exactly one line per record
        self.assertTrue(printable_ascii(raw.replace(b"\n", b"")))
        self.assertFalse(any("forged" in r for r in records))
        http = next(r for r in records if r["protocol"] == "http")
        self.assertEqual(http["http_host"],
                         'evil.example\\x0d\\x22}{\\x22forged\\x22 true}<script>\\x1b[2J\\xff\\x00')
        self.assertEqual(http["http_user_agent"], "\\x1b]0;pwned\\x07\\xc3\\xa9")
        self.assertEqual(http["http_path"], "/\\x80\\xff")
        tls = next(r for r in records if r["protocol"] == "tls")
        self.assertEqual(tls["tls_sni"], 'sni\\x22\\x0a\\x0d\\x00\\x5cx0a\\xe2\\x80\\xae.example')
        self.assertEqual(tls["tls_alpn"], ["h2\\x0a", "\\x22x\\x22"])

        # Redis holds the same escaped text, never the raw bytes.
        for entry in self.stream_when(2):
            for value in entry.values():
                self.assertTrue(printable_ascii(value.encode()), value)
        for member in self.r("SMEMBERS", host_key("127.0.0.1") + ":domains"):
            self.assertTrue(printable_ascii(member), member)
        self.assertEqual(s.stop(), 0)
        self.assertTrue(printable_ascii(s.log_path.read_bytes().replace(b"\n", b"")))

    def test_slowloris_is_cut_at_max_connection_time(self):
        s = self.start(idle_timeout=2, max_connection_time=3)
        c = connect(s.tcp_port)
        started = time.monotonic()
        c.sendall(b"GET / HTTP/1.1\r\nHost: slow.flux.example\r\n")
        closed = None
        for i in range(40):  # a byte every 0.25 s: never idle, never done
            time.sleep(0.25)
            try:
                c.sendall(b"X-a: b\r\n"[i % 8:i % 8 + 1])
                readable, _, _ = select.select([c], [], [], 0)
                if readable and c.recv(1024) == b"":
                    closed = time.monotonic() - started
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - started
            if closed is not None:
                break
        c.close()
        self.assertIsNotNone(closed, "the slow connection was never closed")
        self.assertGreaterEqual(closed, 2.5)
        self.assertLess(closed, 6)
        [rec] = s.wait_records()
        self.assertEqual(rec["end"], "deadline")
        self.assertEqual((rec["protocol"], rec["sniff"]), ("http", "partial"))
        self.assertEqual(rec["domain"], "slow.flux.example")
        self.assertGreaterEqual(rec["duration_ms"], 2900)

    def test_oversized_headers_are_cut_at_max_sniff_bytes(self):
        s = self.start(max_sniff_bytes=4096, record_bytes=128)
        c = connect(s.tcp_port)
        c.sendall(b"GET /big HTTP/1.1\r\nHost: big.flux.example\r\nX-Pad: " + b"A" * 40000)
        # The answer arrives whole and the connection ends cleanly although
        # the client sent far more than the sinkhole reads.
        response = read_until_closed(c, reset_ok=False)
        c.close()
        self.assertTrue(response.startswith(b"HTTP/1.1 403"), response[:60])
        self.assertIn(b"big.flux.example", response)
        [rec] = s.wait_records()
        self.assertEqual(rec["end"], "limit")
        self.assertEqual(rec["bytes"], 4096)
        self.assertEqual(len(first_bytes(rec)), 128)
        self.assertEqual(rec["domain"], "big.flux.example")

    def test_garbage_is_recorded_and_cut(self):
        s = self.start(max_sniff_bytes=2048)
        rng = random.Random(7)
        sizes = [1, 5, 100, 2047, 2048, 5000, 20000]
        for size in sizes:
            c = connect(s.tcp_port)
            try:  # the sinkhole may close before the last bytes are in
                c.sendall(bytes([0x80 | rng.randrange(128)]) + bytes(rng.randrange(256) for _ in range(size - 1)))
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            read_until_closed(c)
            c.close()
        records = s.wait_records(count=len(sizes))
        self.assertEqual(sorted(r["bytes"] for r in records), sorted(min(n, 2048) for n in sizes))
        self.assertTrue(all(r["protocol"] == "unknown" for r in records))
        self.assertEqual({r["end"] for r in records}, {"peer-closed", "limit"})
        self.assert_still_serving(s)

    def test_malformed_tls_lengths(self):
        s = self.start()
        good = client_hello(sni="ok.example")
        bad_sni = b"\x00\x04" + b"\x00\x7f\xff" + b"x"   # host_name length beyond its list
        bad_alpn = alpn_ext([b"h2"])[:2] + b"\x00"                     # zero-length protocol
        cases = {
            "record length zero": b"\x16\x03\x01\x00\x00" + good,
            "record length 65535": b"\x16\x03\x01\xff\xff" + good,
            "hello length 16M": tls_records(b"\x01\xff\xff\xff" + good[4:]),
            "server_name lies": tls_records(client_hello(extra=[(0, bad_sni)])),
            "alpn lies": tls_records(client_hello(extra=[(16, bad_alpn)])),
            "not a ClientHello": tls_records(b"\x02" + good[1:]),
        }
        for what, data in cases.items():
            c = connect(s.tls_port)
            c.sendall(data)
            self.assertEqual(read_until_closed(c, timeout=3), b"", what)  # closed, no alert
            c.close()
        records = s.wait_records(count=len(cases))
        for r in records:
            self.assertEqual((r["protocol"], r["sniff"], r["end"]), ("tls", "malformed", "malformed"))
            self.assertLess(r["duration_ms"], 2000)
        self.assert_still_serving(s)

    def test_2000_idle_connections_closed_by_idle_timeout(self):
        raise_nofile(8000)
        s = self.start(idle_timeout=2, max_connection_time=10, max_connections=5000)
        socks = []
        try:
            for i in range(2000):
                host = "127.0.0.1" if i % 2 == 0 else "::1"
                socks.append(connect(s.tcp_port if i % 3 else s.tls_port, host=host, timeout=10))
            opened = time.monotonic()
            rss_open = s.rss_kib()
            selector = selectors.DefaultSelector()  # epoll: select() stops at fd 1024
            for sock in socks:
                selector.register(sock, selectors.EVENT_READ)
            closed, unexpected = 0, []
            deadline = opened + 15
            while closed < len(socks) and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.5):
                    try:
                        data = key.fileobj.recv(16)
                    except ConnectionResetError:
                        data = b""
                    if data:
                        unexpected.append(data)
                    selector.unregister(key.fileobj)
                    closed += 1
            elapsed = time.monotonic() - opened
            selector.close()
        finally:
            for sock in socks:
                sock.close()
        self.assertEqual(unexpected, [])
        self.assertEqual(closed, 2000, "%d connections still open" % (2000 - closed))
        self.assertGreaterEqual(elapsed, 1.5)
        records = s.wait_records(count=2000, timeout=20)
        self.assertEqual(len(records), 2000)
        self.assertEqual({r["end"] for r in records}, {"idle"})
        self.assertEqual({r["protocol"] for r in records}, {"none"})
        self.assertLess(rss_open, RSS_LIMIT_KIB, "RSS with 2000 idle connections: %d KiB" % rss_open)
        self.assert_still_serving(s)

    def test_max_connections_evicts_the_oldest(self):
        s = self.start(max_connections=10, idle_timeout=30, max_connection_time=60)
        socks = []
        for i in range(15):
            socks.append(connect(s.tcp_port))
            socks[-1].sendall(b"conn %d" % i)
            time.sleep(0.02)  # keep accept order = creation order
        records = s.wait_records(count=5)
        self.assertEqual({r["end"] for r in records}, {"evicted"})
        self.assertEqual(sorted(first_bytes(r) for r in records), sorted(b"conn %d" % i for i in range(5)))
        for sock in socks[:5]:
            self.assertEqual(read_until_closed(sock, timeout=3), b"")
        for sock in socks:
            sock.close()

    def test_udp_flood_is_rate_limited_in_bounded_memory(self):
        s = self.start(max_records_per_second=500)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = 0
        started = time.monotonic()
        while time.monotonic() - started < 2.0:
            for _ in range(200):
                try:
                    u.sendto(os.urandom(512), ("127.0.0.1", s.udp_port))
                    sent += 1
                except BlockingIOError:
                    pass
        u.close()
        flood_time = time.monotonic() - started
        self.assertGreater(sent, 10000)
        self.assertLess(s.rss_kib(), RSS_LIMIT_KIB)
        self.assert_still_serving(s)
        self.assertEqual(s.stop(), 0)
        records = s.records()
        # A second's burst plus 500 a second, give or take scheduling.
        self.assertLessEqual(len(records), 500 * (flood_time + 3) + 500)
        self.assertGreater(len(records), 400)
        self.assertRegex(s.log(), r"records, [1-9]\d* suppressed")
        self.assertIn("max-records-per-second", s.log())


class Shutdown(SinkholeCase):

    def test_sigterm_records_open_connections_and_flushes(self):
        s = self.start(idle_timeout=60, max_connection_time=120)
        socks = []
        for i in range(5):
            c = connect(s.tcp_port if i % 2 else s.tls_port, host="::1" if i % 2 else "127.0.0.1")
            c.sendall(b"GET /partial-%d HTTP/1.1\r\nHost: open%d.example\r\n" % (i, i))
            socks.append(c)
        for i in range(3):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(b"last datagram %d" % i, ("127.0.0.1", s.udp_port))
            u.close()
        time.sleep(0.3)  # the bytes are in; nothing is recorded yet
        self.assertEqual(s.stop(signal.SIGTERM), 0)
        records = s.records()
        shutdown = sorted(r["domain"] for r in records if r["end"] == "shutdown")
        self.assertEqual(shutdown, ["open%d.example" % i for i in range(5)])
        datagrams = sorted(first_bytes(r) for r in records if r["transport"] == "udp")
        self.assertEqual(datagrams, [b"last datagram %d" % i for i in range(3)])
        self.assertEqual(len(self.r.stream(STREAM)), 8)  # Redis got them all before exit
        for c in socks:
            self.assertEqual(read_until_closed(c, timeout=3), b"")
            c.close()
        self.assertIn("SIGTERM: stopping", s.log())
        self.assertRegex(s.log(), r"file: 8 written, 0 dropped, 0 errors; redis: 8 written, 0 dropped")

    def test_sigterm_flushes_a_backlog_to_redis(self):
        raise_nofile(4000)
        s = self.start(idle_timeout=60, max_connection_time=120)
        socks = [connect(s.tcp_port) for _ in range(600)]
        wait_until(lambda: "listening" in s.log(), 5)
        time.sleep(0.3)  # all accepted
        # Redis holds writes back for a moment: the 600 shutdown records (more
        # than two batches) are still queued when the sinkhole is told to stop.
        self.r("CLIENT", "PAUSE", "400", "WRITE")
        self.assertEqual(s.stop(signal.SIGTERM), 0)
        for c in socks:
            c.close()
        self.assertEqual(len(s.records()), 600)
        self.assertEqual(self.r("XLEN", STREAM), 600)
        self.assertEqual(self.r.hash(host_key("127.0.0.1"))["count"], "600")
        self.assertRegex(s.log(), r"redis: 600 written, 0 dropped, 0 errors")

    def test_sigint_stops_cleanly_too(self):
        s = self.start()
        self.assertEqual(s.stop(signal.SIGINT), 0)

    def test_redis_down_records_still_go_to_the_file_then_reach_redis(self):
        port = free_port()
        workdir = Path(self.tmp.name) / "down"
        workdir.mkdir()
        s = Sinkhole(workdir, redis_port=port)
        self.sinkholes.append(s)
        s.start()
        c = connect(s.tcp_port)
        c.sendall(b"GET / HTTP/1.1\r\nHost: while-down.example\r\n\r\n")
        self.assertTrue(read_until_closed(c).startswith(b"HTTP/1.1 403"))
        c.close()
        s.wait_records()
        wait_until(lambda: "Redis at 127.0.0.1:%d" % port in s.log(), 10, what="a Redis warning")
        late = RedisServer(port).start()
        try:
            r = late.client()
            entries = wait_until(lambda: r.stream(STREAM), 20, what="the queued record in Redis")
            self.assertEqual(entries[0]["domain"], "while-down.example")
            self.assertEqual(r.members(host_key("127.0.0.1") + ":domains"), {"while-down.example"})
            r.close()
            self.assertEqual(s.stop(), 0)
        finally:
            late.stop()
        self.assertRegex(s.log(), r"redis: 1 written, 0 dropped, [1-9]\d* errors")

    def test_redis_down_at_shutdown_still_exits_and_keeps_the_file(self):
        workdir = Path(self.tmp.name) / "never"
        workdir.mkdir()
        s = Sinkhole(workdir, redis_port=free_port())
        self.sinkholes.append(s)
        s.start()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"to nobody's redis", ("127.0.0.1", s.udp_port))
        u.close()
        s.wait_records()
        started = time.monotonic()
        self.assertEqual(s.stop(), 0)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(len(s.records()), 1)
        self.assertRegex(s.log(), r"file: 1 written.*redis: 0 written, 1 dropped")

    def test_sighup_reopens_the_records_file(self):
        os.chmod(self.tmp.name, 0o755)
        workdir = Path(self.tmp.name) / "rotate"
        workdir.mkdir()
        os.chmod(workdir, 0o777)  # the unprivileged user creates the new file
        s = Sinkhole(workdir)
        self.sinkholes.append(s)
        s.start()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"before", ("127.0.0.1", s.udp_port))
        s.wait_records()
        rotated = workdir / "records.jsonl.1"
        os.rename(s.records_path, rotated)
        s.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reopened" in s.log(), 10, what="the reopen line")
        u.sendto(b"after", ("127.0.0.1", s.udp_port))
        u.close()
        [after] = s.wait_records()
        self.assertEqual(first_bytes(after), b"after")
        self.assertEqual(base64.b64decode(json.loads(rotated.read_text())["first_bytes_base64"]), b"before")
        self.assertEqual(s.stop(), 0)


class StartUp(SinkholeCase):

    def run_sinkhole(self, conf_text):
        conf = Path(self.tmp.name) / "bad.conf"
        conf.write_text(conf_text)
        proc = subprocess.run([SINKHOLE, "--config", str(conf)], capture_output=True, timeout=20)
        return proc.returncode, proc.stderr.decode("ascii", "backslashreplace"), conf

    def test_bad_config_names_file_line_key(self):
        status, err, conf = self.run_sinkhole(
            "listen: 127.0.0.1\nrecords-file: /tmp/x\n\nidle-timeout: forever\n")
        self.assertEqual(status, 1)
        self.assertIn("%s:4: key 'idle-timeout': bad value 'forever', expected an integer from 1 to 3600"
                      % conf, err)

    def test_port_in_use_names_address_port_and_error(self):
        port = free_port()
        blocker = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        blocker.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        blocker.bind(("::1", port))
        blocker.listen()
        try:
            records = Path(self.tmp.name) / "r.jsonl"
            status, err, _ = self.run_sinkhole(
                "listen: ::1\ntcp-ports: %d\nrecords-file: %s\n%s" %
                (port, records, "user: nobody\n" if IS_ROOT else ""))
        finally:
            blocker.close()
        self.assertEqual(status, 1)
        self.assertIn("cannot listen on tcp [::1]:%d: Address already in use" % port, err)

    def test_privileges_are_dropped_to_nobody(self):
        if not IS_ROOT:
            self.skipTest("needs root to test the switch to 'nobody'")
        s = self.start()
        status = {}
        for line in Path("/proc/%d/status" % s.proc.pid).read_text().splitlines():
            key, _, value = line.partition(":")
            status[key] = value.split()
        self.assertEqual(status["Uid"], ["65534"] * 4)
        self.assertEqual(status["Gid"], ["65534"] * 4)
        self.assertEqual(status["Groups"], ["65534"])
        for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(status[caps][0], 16), 0, caps)
        self.assertEqual(status["NoNewPrivs"], ["1"])
        self.assertIn("uid 65534 gid 65534 groups 65534, no capabilities, no_new_privs on", s.log())
        # Each thread: capabilities are per thread.
        for task in Path("/proc/%d/task" % s.proc.pid).iterdir():
            text = (task / "status").read_text()
            self.assertIn("CapEff:\t0000000000000000", text)
            self.assertIn("Uid:\t65534\t65534\t65534\t65534", text)
        self.assertEqual(s.stop(), 0)

    def test_root_without_user_is_refused(self):
        if not IS_ROOT:
            self.skipTest("only meaningful as root")
        status, err, _ = self.run_sinkhole(
            "listen: 127.0.0.1\ntcp-ports: %d\nrecords-file: %s\n" %
            (free_port(), Path(self.tmp.name) / "r.jsonl"))
        self.assertEqual(status, 1)
        self.assertIn("running as root needs key 'user'", err)

    def privileged_port(self):
        for port in range(1023, 900, -1):
            if bindable(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", port):
                return port
        self.skipTest("no free port below 1024")

    def test_unprivileged_with_only_cap_net_bind_service(self):
        if not IS_ROOT:
            self.skipTest("needs root to start a process with exactly one capability")
        port = self.privileged_port()
        workdir = Path(self.tmp.name)
        os.chmod(workdir, 0o777)
        conf = workdir / "cap.conf"
        conf.write_text("listen: 127.0.0.1\ntcp-ports: %d\nrecords-file: %s\n" % (port, workdir / "r.jsonl"))
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

        # Without the capability: a clear error naming the port.
        proc = subprocess.run(as_nobody + ["--inh-caps=-all", "--bounding-set=-all",
                                           SINKHOLE, "--config", str(conf)],
                              capture_output=True, timeout=20)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"cannot listen on tcp 127.0.0.1:%d: Permission denied" % port, proc.stderr)

        # With only CAP_NET_BIND_SERVICE (systemd AmbientCapabilities=): it
        # binds, then holds no capability at all.
        log = open(workdir / "cap.log", "wb")
        sink = subprocess.Popen(as_nobody + ["--inh-caps=-all,+net_bind_service",
                                             "--ambient-caps=-all,+net_bind_service",
                                             SINKHOLE, "--config", str(conf)],
                                stderr=log, stdout=subprocess.DEVNULL)
        try:
            wait_until(lambda: b"; ready" in (workdir / "cap.log").read_bytes(), 10, what="ready")
            text = Path("/proc/%d/status" % sink.pid).read_text()  # setpriv execs in place
            for caps in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
                self.assertIn("%s:\t0000000000000000" % caps, text)
            self.assertIn("Uid:\t65534\t65534\t65534\t65534", text)
            c = connect(port)
            c.sendall(b"GET / HTTP/1.1\r\nHost: cap.example\r\n\r\n")
            self.assertTrue(read_until_closed(c).startswith(b"HTTP/1.1 403"))
            c.close()
        finally:
            sink.send_signal(signal.SIGTERM)
            self.assertEqual(sink.wait(20), 0)
            log.close()
        self.assertIn(b'"domain":"cap.example"', (workdir / "r.jsonl").read_bytes())

    def test_unknown_user_is_refused(self):
        status, err, _ = self.run_sinkhole(
            "listen: 127.0.0.1\ntcp-ports: %d\nrecords-file: %s\nuser: no-such-user-x\n" %
            (free_port(), Path(self.tmp.name) / "r.jsonl"))
        self.assertEqual(status, 1)
        self.assertIn("user 'no-such-user-x': no such user", err)


if __name__ == "__main__":
    unittest.main()
