#!/usr/bin/python3
"""Authoritative DNS test server for fluxguard's end-to-end tests.

    /usr/bin/python3 tests/e2e/authserver.py --port PORT [--address 127.0.0.1]
                                             [--log FILE]

Serves the small *.test zones defined below over UDP and TCP on a loopback
address, then prints "READY <port>" (flushed) once both sockets are bound.
"--port 0" picks a free port that is free for both UDP and TCP.

Answers in the fast-flux zones are computed from the wall clock, so they
change every few seconds without any state: rotation index r = int(now / 2).

With --log FILE every query appends one line
    <unix time> <qname, lower case, trailing dot> <qtype> <udp|tcp>
so a test can count how often the resolver went upstream.

Stops cleanly (exit status 0) on SIGTERM or SIGINT. Garbage packets are
answered with FORMERR when they carry a DNS header, else dropped.

Needs dnslib (Debian: python3-dnslib); run it with /usr/bin/python3.
"""

import argparse
import errno
import ipaddress
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback

from dnslib import (AAAA, CNAME, EDNS0, NS, QTYPE, RCODE, RR, SOA, A,
                    DNSHeader, DNSRecord)

# --------------------------------------------------------------------------
# Rotating record sets. Each takes the current time and returns rdata strings.
# --------------------------------------------------------------------------

ROTATE_SECONDS = 2  # every dynamic answer changes this often


def rotation(now, offset=0):
    return int(now // ROTATE_SECONDS) + offset


def flux_a(offset=0):
    """3 addresses from the 198.18.N.H pool (N=1..10: ten ASNs/countries in
    the test mmdb, H=1..9). Each rotation takes three different /24s, and the
    next rotation moves on to the next three /24s."""
    def rdata(now):
        r = rotation(now, offset)
        return ["198.18.%d.%d" % ((3 * r + i) % 10 + 1, r % 9 + 1)
                for i in range(3)]
    return rdata


def flux_aaaa(offset=0):
    """2 addresses 2001:db8:N::H, same N/H scheme as flux_a (N written with
    the same decimal digits, e.g. 2001:db8:10::9)."""
    def rdata(now):
        r = rotation(now, offset)
        return ["2001:db8:%d::%d" % ((3 * r + i) % 10 + 1, r % 9 + 1)
                for i in range(2)]
    return rdata


def dflux_ns(now):
    """2 of the 8 names ns1..ns8.dflux.test, moving on by two every rotation."""
    r = rotation(now)
    return ["ns%d.dflux.test." % ((2 * r + i) % 8 + 1) for i in range(2)]


def dflux_glue(k):
    """nsK.dflux.test sits in the K-th /27 of 203.0.113.0/24 (a distinct ASN
    per /27 in the test mmdb). Static per name; the NS set is what rotates."""
    return ["203.0.113.%d" % (32 * (k - 1) + 10)]


def cdn_pool_address(i):
    # 200 addresses: 198.19.0.1-100 and 198.19.1.1-100, all one ASN.
    return "198.19.%d.%d" % (i // 100, i % 100 + 1)


def cdn_a(now):
    """4 addresses, walking through the 200-address pool 4 at a time."""
    r = rotation(now)
    return [cdn_pool_address((4 * r + i) % 200) for i in range(4)]


def cdn_aaaa(now):
    """2 addresses from 2001:db8:cd::/48, same walk."""
    r = rotation(now)
    return ["2001:db8:cd::%x" % ((2 * r + i) % 200 + 1) for i in range(2)]


# --------------------------------------------------------------------------
# Zones. Owner names are relative to the zone ("@" = apex). A record set is
# (ttl, rdata), rdata being a list of strings or a function of the time.
# "ns" is the apex NS set; its glue comes from the zone's own A records.
# "wildcard" (optional) answers every name at or below the apex that is not
# listed in "names"; without it such names are NXDOMAIN.
# Every zone gets an SOA (negative TTL 30) made from its first NS name.
# --------------------------------------------------------------------------

NEGATIVE_TTL = 30

ZONES = {
    # (a) Fast flux: many short-lived A/AAAA records spread over many ASNs and
    # countries, changing every 2 s. The thing fluxguard must detect.
    "flux.test": {
        "ns": (300, ["ns1.flux.test.", "ns2.flux.test."]),
        "names": {
            "ns1": {"A": (300, ["203.0.113.1"])},
            "ns2": {"A": (300, ["203.0.113.33"])},
            # A stable, long-TTL name: it sits in the resolver's cache when
            # the domain gets blocked, and must not be served from there.
            "mail": {"A": (3600, ["198.18.1.200"])},
        },
        "wildcard": {"A": (2, flux_a()), "AAAA": (2, flux_aaaa())},
    },
    # (b) Double flux: the NS set rotates through name servers in eight
    # networks, TTL 2. The address answer stays in one network, so only the
    # name-server evidence can block it.
    "dflux.test": {
        "ns": (2, dflux_ns),
        "names": {"ns%d" % k: {"A": (2, dflux_glue(k))} for k in range(1, 9)},
        "wildcard": {"A": (2, ["198.18.6.77", "198.18.6.78"])},
    },
    # (c) CDN-like: rotating addresses too, but all in one ASN with a sane
    # TTL. Must NOT be flagged (false-positive check).
    "cdn.test": {
        "ns": (3600, ["ns1.cdn.test.", "ns2.cdn.test."]),
        "names": {
            "ns1": {"A": (3600, ["198.19.255.1"])},
            "ns2": {"A": (3600, ["198.19.255.2"])},
        },
        "wildcard": {"A": (20, cdn_a), "AAAA": (20, cdn_aaaa)},
    },
    # (d) Ordinary static zones: answers fluxguard must pass through untouched,
    # including a CNAME inside the zone and a NODATA (no AAAA).
    "static.test": {
        "ns": (3600, ["ns.static.test."]),
        "names": {
            "@": {"A": (3600, ["192.0.2.10"])},
            "www": {"CNAME": (3600, ["static.test."])},
            "ns": {"A": (3600, ["192.0.2.53"])},
        },
    },
    "example-static.test": {
        "ns": (3600, ["ns.example-static.test."]),
        "names": {
            "@": {"A": (300, ["192.0.2.20"])},
            "ns": {"A": (3600, ["192.0.2.53"])},
        },
    },
    # (e) A clean zone whose name CNAMEs into the flux zone: the flux must be
    # detected on the CNAME target, not only on the queried name.
    "alias.test": {
        "ns": (3600, ["ns.alias.test."]),
        "names": {
            "www": {"CNAME": (60, ["edge.flux.test."])},
            "ns": {"A": (3600, ["192.0.2.53"])},
        },
    },
}

# --------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------

RDATA_CLASSES = {"A": A, "AAAA": AAAA, "NS": NS, "CNAME": CNAME}
MAX_CNAME_HOPS = 8
UDP_PAYLOAD = 1232  # our EDNS0 buffer size


def find_zone(qname):
    """(zone name, relative owner) of the closest enclosing zone, or None."""
    labels = qname.rstrip(".").split(".")
    for i in range(len(labels)):
        zone = ".".join(labels[i:])
        if zone in ZONES:
            return zone, ".".join(labels[:i]) or "@"
    return None


def soa_rr(zone, now):
    primary = ns_names(zone, now)[0]
    return RR(zone + ".", QTYPE.SOA, ttl=NEGATIVE_TTL, rdata=SOA(
        primary, "hostmaster.%s." % zone,
        (1, 3600, 600, 86400, NEGATIVE_TTL)))


def ns_names(zone, now):
    ttl, rdata = ZONES[zone]["ns"]
    return rdata(now) if callable(rdata) else list(rdata)


def rrsets_at(zone, rel, now):
    """{qtype name: [RR, ...]} at owner rel in zone; None if no such name."""
    data = ZONES[zone]
    sets = data["names"].get(rel)
    if sets is None:
        sets = data.get("wildcard")
    if sets is None and rel != "@":
        return None
    owner = zone + "." if rel == "@" else "%s.%s." % (rel, zone)
    out = {}
    for qtype, (ttl, rdata) in (sets or {}).items():
        values = rdata(now) if callable(rdata) else rdata
        out[qtype] = [RR(owner, getattr(QTYPE, qtype), ttl=ttl,
                         rdata=RDATA_CLASSES[qtype](v)) for v in values]
    if rel == "@":
        ttl = data["ns"][0]
        out["NS"] = [RR(owner, QTYPE.NS, ttl=ttl, rdata=NS(n))
                     for n in ns_names(zone, now)]
        out["SOA"] = [soa_rr(zone, now)]
    return out


def glue(names, now):
    """A/AAAA records for the given host names, where we serve them."""
    out = []
    for name in names:
        found = find_zone(name.lower())
        sets = found and rrsets_at(found[0], found[1], now)
        for qtype in ("A", "AAAA"):
            out.extend((sets or {}).get(qtype, []))
    return out


def resolve(qname, qtype, now):
    """Answer (qname, qtype). Returns (rcode, aa, answer, authority, additional).

    qname is lower case with a trailing dot; qtype is a QTYPE name."""
    found = find_zone(qname)
    if found is None:
        return RCODE.REFUSED, False, [], [], []
    first_zone = found[0]
    answer = []
    for _ in range(MAX_CNAME_HOPS):
        zone, rel = found
        sets = rrsets_at(zone, rel, now)
        if sets is None:
            return RCODE.NXDOMAIN, True, answer, [soa_rr(zone, now)], []
        if "CNAME" in sets and qtype not in ("CNAME", "ANY"):
            cname = sets["CNAME"]
            answer.extend(cname)
            target = str(cname[0].rdata.label).lower()
            found = find_zone(target)
            if found is None:  # leaves our zones: the resolver carries on
                break
            continue  # in-server target: add its records (as BIND does)
        if qtype == "ANY":
            picked = [rr for rrs in sets.values() for rr in rrs]
        else:
            picked = sets.get(qtype, [])
        if not picked:
            return RCODE.NOERROR, True, answer, [soa_rr(zone, now)], []
        answer.extend(picked)
        break
    # Positive answer: the first zone's NS set in AUTHORITY, glue in ADDITIONAL
    # (unless the answer already is that NS set).
    names = ns_names(first_zone, now)
    has_ns = any(rr.rtype == QTYPE.NS and str(rr.rname).lower() ==
                 first_zone + "." for rr in answer)
    authority = [] if has_ns else rrsets_at(first_zone, "@", now)["NS"]
    in_answer = {(str(rr.rname).lower(), str(rr.rdata)) for rr in answer}
    additional = [rr for rr in glue(names, now)
                  if (str(rr.rname).lower(), str(rr.rdata)) not in in_answer]
    return RCODE.NOERROR, True, answer, authority, additional


# --------------------------------------------------------------------------
# Wire handling
# --------------------------------------------------------------------------

def formerr(packet):
    """Header-only FORMERR for an unparseable packet, or None to drop it."""
    if len(packet) < 12 or packet[2] & 0x80:  # too short, or not a query
        return None
    ident, flags = struct.unpack("!HH", packet[:4])
    flags = 0x8000 | (flags & 0x7900) | RCODE.FORMERR  # QR, opcode, RD
    return struct.pack("!HHHHHH", ident, flags, 0, 0, 0, 0)


def handle(packet, transport, log):
    """Response bytes for one query packet, or None to stay silent.
    Never raises: a bug here is reported on stderr and answered SERVFAIL."""
    try:
        query = DNSRecord.parse(packet)
    except Exception:
        return formerr(packet)
    try:
        return answer_query(query, transport, log)
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        reply = DNSRecord(DNSHeader(id=query.header.id, qr=1,
                                    rcode=RCODE.SERVFAIL), q=query.q)
        return reply.pack()


def answer_query(query, transport, log):
    if query.header.qr:  # a response, not a query: never answer it
        return None
    header = DNSHeader(id=query.header.id, qr=1, opcode=query.header.opcode,
                       rd=query.header.rd)
    edns = next((rr for rr in query.ar if rr.rtype == QTYPE.OPT), None)
    reply = DNSRecord(header)
    if len(query.questions) != 1 or query.header.opcode != 0:
        header.rcode = (RCODE.NOTIMP if query.header.opcode != 0
                        else RCODE.FORMERR)
    else:
        question = query.questions[0]
        reply.add_question(question)
        qname = str(question.qname).lower()
        qtype = QTYPE.get(question.qtype)
        if not isinstance(qtype, str):  # a type dnslib has no name for
            qtype = "TYPE%d" % question.qtype
        if log:
            log.write(qname, qtype, transport)
        if question.qclass not in (1, 255):  # IN, ANY
            header.rcode = RCODE.REFUSED
        else:
            rcode, aa, answer, authority, additional = resolve(
                qname, qtype, time.time())
            header.rcode, header.aa = rcode, int(aa)
            for rr in answer:
                if str(rr.rname).lower() == qname:  # keep the client's case
                    rr.rname = question.qname
                reply.add_answer(rr)
            for rr in authority:
                reply.add_auth(rr)
            for rr in additional:
                reply.add_ar(rr)
    if edns is not None:
        reply.add_ar(EDNS0(udp_len=UDP_PAYLOAD))
    wire = reply.pack()
    if transport == "udp":
        limit = max(512, min(edns.edns_len, UDP_PAYLOAD)) if edns else 512
        if len(wire) > limit:  # header + question only, TC set
            short = DNSRecord(header, q=reply.q if reply.questions else None)
            short.header.tc = 1
            if edns is not None:
                short.add_ar(EDNS0(udp_len=UDP_PAYLOAD))
            wire = short.pack()
    return wire


class QueryLog:
    def __init__(self, path):
        self._file = open(path, "a", buffering=1)
        self._lock = threading.Lock()

    def write(self, qname, qtype, transport):
        with self._lock:
            if not self._file.closed:
                self._file.write("%.3f %s %s %s\n" % (
                    time.time(), qname, qtype, transport))

    def close(self):
        with self._lock:
            self._file.close()


def serve_tcp_connection(conn, log, stopping):
    """Answer length-prefixed queries on one TCP connection until the client
    closes it, it idles for 10 s, or the server stops."""
    def recv_exactly(n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    conn.settimeout(10)
    try:
        with conn:
            while not stopping.is_set():
                prefix = recv_exactly(2)
                if prefix is None:
                    return
                packet = recv_exactly(struct.unpack("!H", prefix)[0])
                if packet is None:
                    return
                wire = handle(packet, "tcp", log)
                if wire is None:
                    return
                conn.sendall(struct.pack("!H", len(wire)) + wire)
    except OSError:
        pass  # timeout, reset: just drop the connection


def bind_sockets(address, port):
    """UDP and TCP sockets bound to the same (address, port). With port 0,
    UDP takes a free port and TCP follows it; retried if TCP finds it taken."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for _ in range(100 if port == 0 else 1):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((address, port))
        real_port = udp.getsockname()[1]
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((address, real_port))
        except OSError as e:
            udp.close()
            tcp.close()
            if port == 0 and e.errno == errno.EADDRINUSE:
                continue
            raise
        tcp.listen(64)
        return udp, tcp, real_port
    raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True,
                        help="port for UDP and TCP; 0 picks a free one")
    parser.add_argument("--address", default="127.0.0.1",
                        help="loopback address to listen on")
    parser.add_argument("--log", help="append one line per query to this file")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.address).is_loopback:
        parser.error("--address must be a loopback address")

    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        udp, tcp, port = bind_sockets(args.address, args.port)
    except OSError as e:
        print("authserver: cannot listen on %s port %d: %s"
              % (args.address, args.port, e.strerror), file=sys.stderr)
        return 1
    log = QueryLog(args.log) if args.log else None
    print("READY %d" % port, flush=True)

    # UDP queries are answered inline (each takes well under a millisecond);
    # every TCP connection gets its own thread.
    udp.setblocking(False)
    tcp.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ)
    sel.register(tcp, selectors.EVENT_READ)
    while not stopping.is_set():
        for key, _ in sel.select(timeout=0.2):
            try:
                if key.fileobj is udp:
                    packet, peer = udp.recvfrom(65535)
                    wire = handle(packet, "udp", log)
                    if wire is not None:
                        udp.sendto(wire, peer)
                else:
                    conn, _ = tcp.accept()
                    conn.setblocking(True)
                    threading.Thread(target=serve_tcp_connection,
                                     args=(conn, log, stopping),
                                     daemon=True).start()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:  # e.g. ICMP unreachable from a gone client
                print("authserver: %s" % e, file=sys.stderr, flush=True)
            except Exception:  # a bug: report it, keep serving
                traceback.print_exc()
                sys.stderr.flush()
    sel.close()
    udp.close()
    tcp.close()
    if log:
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
