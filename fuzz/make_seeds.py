#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (small files, committed).
Re-run after changing a target's input format: /usr/bin/python3 fuzz/make_seeds.py"""
import json
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def wire(name):
    out = b""
    for label in name.split(".") if name else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def write(target, files):
    d = HERE / "corpus" / target
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# --- fuzz_dns_name: wire names and text names -------------------------------
write("fuzz_dns_name", {
    "wire-www": wire("www.example.com"),
    "wire-mixed-case": wire("WWW.Example.COM"),
    "wire-root": b"\0",
    "wire-escapes": b"\x05a.b\\c\x04\x00\xff\"x\x04test\x00",
    "wire-63": wire("a" * 63 + ".test"),
    "wire-pointer": b"\x03www\xc0\x0c",
    "text-plain": "n1.flux.test",
    "text-escaped": "a\\046b.\\000x.test",
    "text-trailing-dot": "Example.COM.",
})

# --- fuzz_config: real and edge-case fluxguard.conf files -------------------
example = (ROOT / "fluxguard.conf.example").read_text()
write("fuzz_config", {
    "example.conf": example,
    "minimal.conf": "asn-database: a.mmdb\ncountry-database: c.mmdb\n",
    "sinkhole.conf": 'policy: "sinkhole"\nsinkhole-ipv4: 192.0.2.1\nsinkhole-ipv6: 2001:db8::1\n'
                     "asn-database: a\ncountry-database: c\nrewrite-ttl: 30 # comment\n",
    "redis.conf": "store: redis\nredis-server: [::1]:6379\nredis-sentinel: 10.0.0.1:26379\n"
                  "redis-sentinel: /run/s.sock\nredis-sentinel-master: m\nredis-key-prefix: fg:\n"
                  "redis-queue-size: 1024\nredis-database: 3\nasn-database: a\ncountry-database: c\n",
    "scoring.conf": "asn-database: a\ncountry-database: c\nweight-addresses: 1e3\n"
                    "score-bias: -0x1p4\nflux-threshold: -0\nwindow: 60\nmax-domains: 16\n"
                    "weight-pool: 200\npool-ttl: 60\nmax-pool-entries: 16\nttl-ceiling: 604800\n",
    "bad-key.conf": "flux-treshold: 3\n",
})

# --- fuzz_trace: lines of the replay format ---------------------------------
lines = {
    "doc-example": {"time": 1700000000.25, "name": "www.example.com", "type": "A",
                    "rcode": "NOERROR",
                    "answers": [{"name": "www.example.com", "type": "CNAME", "ttl": 300,
                                 "data": "edge.example.net"},
                                {"name": "edge.example.net", "type": "A", "ttl": 20,
                                 "data": "198.51.100.7"}],
                    "zone": "example.com",
                    "ns": [{"name": "ns1.example.com", "ttl": 3600, "addresses": ["192.0.2.53"]}]},
    "aaaa": {"time": 1700000001, "name": "v6.flux.test", "type": "AAAA", "rcode": "NOERROR",
             "answers": [{"name": "v6.flux.test", "type": "AAAA", "ttl": 60,
                          "data": "2001:db8:3::1"}], "zone": None, "ns": None},
    "nxdomain": {"time": 1700000002.5, "name": "nx.test", "type": "A", "rcode": "NXDOMAIN",
                 "answers": []},
    "flux": {"time": 1700000003, "name": "n1.flux.test", "type": "A", "rcode": "NOERROR",
             "answers": [{"name": "n1.flux.test", "type": "A", "ttl": 5,
                          "data": "198.18.%d.7" % n} for n in range(1, 11)],
             "zone": "flux.test",
             "ns": [{"name": "ns1.flux.test", "ttl": 30, "addresses": ["203.0.113.1", "2001:db8::53"]},
                    {"name": "ns2.flux.test", "ttl": 30, "addresses": []}]},
}
files = {name: json.dumps(obj, separators=(",", ":")) for name, obj in lines.items()}
files["blank"] = "  \t\r\n"
write("fuzz_trace", files)


# --- fuzz_observation: the binary format of fuzz_observation.cpp ------------
def name(n):  # a raw wire name
    w = wire(n)
    return bytes([len(w)]) + w


def ref(i):  # the i-th name read so far
    return bytes([128 + i])


def rr_a(owner, addr, ttl=5):
    return owner + b"\x00" + bytes([ttl]) + bytes(addr)


def rr_aaaa(owner, addr16, ttl=5):
    return owner + b"\x01" + bytes([ttl]) + addr16


def rr_cname(owner, target, ttl=60):
    return owner + b"\x02" + bytes([ttl]) + target


def rr_ns(owner, target, ttl=60):
    return owner + b"\x03" + bytes([ttl]) + target


def obs(ctl, dt, qname, answers, zone=None, delegation=()):
    out = bytes([ctl | (4 if zone is not None else 0), dt]) + qname
    out += bytes([len(answers)]) + b"".join(answers)
    if zone is not None:
        out += zone
    out += bytes([len(delegation)]) + b"".join(delegation)
    return out


# Names are numbered in reading order within one input.
flux = b""
for i in range(6):
    q = name("n%d.flux.test" % i)
    flux += obs(0, 3, q, [rr_a(ref(2 * i), [198, 18, n, 1])
                           for n in range(1 + i, 6 + i)],
                zone=name("flux.test"))
# After the block: a CNAME into the blocked domain.
flux += obs(0, 1, name("www.alias.test"),
            [rr_cname(ref(12), name("edge.flux.test")), rr_a(ref(13), [198, 18, 9, 9])])
double_flux = obs(0, 2, name("www.dflux.test"),
                  [rr_a(ref(0), [192, 0, 2, 10], ttl=30)], zone=name("dflux.test"),
                  delegation=[rr_ns(ref(1), name("ns1.dflux.test"), ttl=30),
                              rr_a(ref(2), [203, 0, 113, 1]),
                              rr_a(ref(2), [203, 0, 113, 33]),
                              rr_aaaa(ref(2), bytes(16))])
cdn = b"".join(obs(1, 10, name("c%d.cdn.test" % i),
                   [rr_aaaa(ref(i), b"\x20\x01\x0d\xb8\x00\xcd" + bytes(9) + bytes([i]), ttl=20)])
               for i in range(4))
write("fuzz_observation", {
    "flux-then-alias": flux,
    "double-flux": double_flux,
    "cdn-aaaa": cdn,
    "malformed": obs(0, 0, b"\x05\x03www\xc0", [b"\x02\x01x\x04\x09" + b"\x02\x01\x00\x00"]),
    "allowed": obs(0, 1, name("www.allowed.test"),
                   [rr_a(ref(0), [198, 18, n, 1]) for n in range(1, 11)]),
})

# --- fuzz_feed: one byte for the format, then a feed (fuzz_feed.cpp) ----------
LIST, HOSTS, CSV, RPZ, AUTO_TXT, AUTO_CSV, AUTO_RPZ = range(7)
write("fuzz_feed", {
    "list": bytes([LIST]) + b"# a list\nbad1.example\nBAD2.Example.\n198.18.3.7\n"
                            b"2001:db8:3::7\nco.uk\ncom\nhttp://x.example/p\n*.wild.example\n"
                            b"10.1.2.3\nfe80::1\n",
    "hosts": bytes([HOSTS]) + b"127.0.0.1 localhost\n0.0.0.0 h1.example h2.example  # two\n"
                              b"not-an-ip h3.example\n::1 ip6-localhost\n0.0.0.0 github.io\n",
    "csv": bytes([CSV]) + b"# id,domain,first_seen\n1,csv1.example,2024-11-01\n"
                          b"2,\"csv2.example\",2024\n3\n4,\"unbalanced,2024\n5,192.0.2.1,x\n",
    "rpz": bytes([RPZ]) + b"$TTL 300\n@ SOA localhost. root.localhost. ( 1 3600\n 600 86400 60 )\n"
                          b"  NS localhost.\nrpz1.example CNAME .\n*.rpz1.example CNAME .\n"
                          b"rpz2.example 300 IN CNAME *.\nok.example CNAME rpz-passthru.\n"
                          b"32.9.3.18.198.rpz-ip CNAME .\n128.7.zz.3.db8.2001.rpz-ip CNAME .\n"
                          b"ns.evil.rpz-nsdname CNAME .\nbad.example FOO bar\nuk CNAME .\n",
    "auto-csv": bytes([AUTO_CSV]) + b"domain,added\nauto.example,2024\n",
    "auto-rpz": bytes([AUTO_RPZ]) + b"$ORIGIN rpz.local.\nzone.example CNAME .\n",
    "rpz-ip-labels": bytes([AUTO_TXT]) + b"128.1.zz.db8.2001",
})


# --- fuzz_sniff: what a client sends first to the sinkhole -------------------
def client_hello(sni, alpn):
    def ext(kind, body):
        return struct.pack("!HH", kind, len(body)) + body
    host = sni.encode()
    server_name = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
    protocols = b"".join(bytes([len(p)]) + p.encode() for p in alpn)
    extensions = ext(0, server_name) + ext(16, struct.pack("!H", len(protocols)) + protocols)
    body = (b"\x03\x03" + bytes(32) + b"\x20" + bytes(32) + b"\x00\x02\x13\x01\x01\x00"
            + struct.pack("!H", len(extensions)) + extensions)
    hello = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hello)) + hello


write("fuzz_sniff", {
    "http-get": b"GET /gate.php?id=42 HTTP/1.1\r\nHost: C2.Evil.Example:8080\r\n"
                b"User-Agent: Mozilla/4.0 (compatible; bot)\r\nAccept: */*\r\n\r\n",
    "http-post-partial": b"POST /upload HTTP/1.0\r\nContent-Length: 5\r\nHo",
    "tls-hello": client_hello("flux.evil.example", ["h2", "http/1.1"]),
    "ssh-banner": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
    "binary": bytes(range(256)),
})


# --- fuzz_fleet_event: messages on the fleet's event channel -----------------
def netstrings(*fields):
    return b"".join(b"%d:%s," % (len(f), f) for f in fields)


write("fuzz_fleet_event", {
    "block": b"block " + netstrings(b"evil.example", b"32.4", b"1732600000", b"detected",
                                    b"fast flux", b'{"domain":"evil.example"}'),
    "block-odd-name": b"block " + netstrings(b"x.test\n\x00,:", b"-0", b"0", b"", b"", b""),
    "unblock": b"unblock " + netstrings(b"evil.example", b"false positive", b"alice"),
    "garbage": b"block 99:abc,",
})
print("seeds written to", HERE / "corpus")
