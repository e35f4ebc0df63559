#!/usr/bin/python3
"""Seeded, deterministic generator of labelled DNS resolution traces.

    /usr/bin/python3 corpus/generate.py --seed 1 --hours 6 --out DIR
      -> DIR/trace.jsonl   one upstream resolution per line, sorted by time
      -> DIR/labels.json   the truth: scenario, label, rotation and family per
                           registrable domain (docs/trace-format.md)

The trace is what one recursive resolver fetches upstream. Clients ask for
each name as a Poisson process with a per-domain rate; the resolver goes
upstream only when a client asks after the cached answer's TTL ran out. So a
popular name with TTL 20 appears about every 20 s, a rarely asked one with
TTL 60 much less often: this is what a detector inside the resolver sees.

Scenarios model published behaviour of fast-flux networks and of their
legitimate look-alikes. Every parameter has its source in a comment next to
it; the reading notes are /work/shared/notes/detection-science.md ("the
notes"). Where no published number was at hand the comment says
"assumption" and gives the reasoning. corpus/README.md summarises them.

Addresses are real: they are drawn from networks of real ASNs and countries
in Debian's libloc database (IPFire location data), and each one is checked
with a libloc lookup, so replaying with the mmdb files that
scripts/build-geo-mmdb.sh builds from the same database yields the intended
ASNs and countries. Domain names are not real: pseudo-words under the
reserved .example and .test TLDs, each its own registrable domain (these TLDs
are not in the Public Suffix List, so libpsl's default rule makes
"<word>.example" registrable).

Determinism: same --seed, same duration and same location.db give
byte-identical output. Every random decision draws from an RNG keyed by
(seed, purpose, names...), never from a shared stream, and only
random.Random.random()/getrandbits() (Mersenne Twister, stable across Python
versions) are used.
"""

import argparse
import bisect
import hashlib
import ipaddress
import json
import math
import os
import random as _random
import sys
import time as _time

import location  # Debian's python3-location (libloc); use /usr/bin/python3

GENERATOR_VERSION = 2  # 2: world-wide round robins ("global") among the volunteer pools
DEFAULT_LOCATION_DB = "/usr/share/libloc-location/location.db"
DEFAULT_START = 1700000000  # 2023-11-14 22:13:20 UTC; any fixed epoch works

# The simulated resolver serves clients in Germany, so geo-DNS services (CDNs,
# the NTP pool) answer with servers near Germany. Assumption: any country
# would do; Germany has many CDN edges and NTP pool servers in libloc.
RESOLVER_COUNTRY = "DE"

# --------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------

# Consumer / residential ISPs per country, for flux agents (compromised home
# machines and routers) and dynamic-DNS home hosts. Fast-flux agents are
# "compromised hosts in many consumer ISP networks and countries" (2025 joint
# CISA/NSA/FBI advisory "Fast Flux: A National Security Threat", as read in
# the notes; Holz et al. NDSS 2008 found agents spread over many ASNs). Every
# ASN below is a well-known incumbent or cable/DSL/mobile operator of that
# country; the generator uses only its libloc networks located in that country.
CONSUMER_ISPS = {
    # Europe (west/central/south)
    "DE": [3320, 3209, 6805, 8881], "FR": [3215, 12322, 15557, 5410],
    "GB": [2856, 5089, 5607], "IT": [3269, 30722, 1267], "ES": [3352, 12479, 12430],
    "NL": [1136, 33915], "BE": [5432, 6848], "AT": [8447], "PT": [3243],
    "PL": [5617, 12741], "CZ": [5610], "HU": [5483], "RO": [8708], "BG": [8866],
    "GR": [1241, 6799],
    # Eastern Europe / Central Asia
    "RU": [12389, 9049, 8359, 8402, 12714], "UA": [15895, 6849, 25229], "BY": [6697],
    "KZ": [9198], "TR": [9121, 47331, 34984],
    # Middle East / Africa
    "IL": [1680, 8551], "EG": [8452, 24863], "MA": [36903], "ZA": [37457, 5713],
    "NG": [29465], "KE": [33771], "SA": [25019], "AE": [5384], "IR": [58224, 197207],
    # Asia / Pacific
    "PK": [17557], "IN": [9829, 24560, 45609, 55836], "CN": [4134, 4837, 9808],
    "TW": [3462], "HK": [4760, 9269], "JP": [4713, 2516, 17676], "KR": [4766, 3786, 9318],
    "VN": [45899, 7552, 18403], "TH": [7470, 23969], "MY": [4788], "ID": [7713],
    "PH": [9299, 132199], "AU": [1221, 4804, 7545], "NZ": [4771],
    # Americas
    "US": [7922, 20115, 7018, 701, 22773], "CA": [812, 577], "MX": [8151],
    "BR": [28573, 18881, 26599], "AR": [7303, 22927], "CO": [10620, 3816], "CL": [7418],
}

REGIONS = {
    "west-eu": ["DE", "FR", "GB", "IT", "ES", "NL", "BE", "AT", "PT"],
    "east-eu": ["PL", "CZ", "HU", "RO", "BG", "GR", "RU", "UA", "BY", "KZ", "TR"],
    "mea": ["IL", "EG", "MA", "ZA", "NG", "KE", "SA", "AE", "IR", "PK"],
    "asia": ["IN", "CN", "TW", "HK", "JP", "KR", "VN", "TH", "MY", "ID", "PH", "AU", "NZ"],
    "americas": ["US", "CA", "MX", "BR", "AR", "CO", "CL"],
}

# Hosting networks for ordinary (static) sites, DNS hosting and volunteer
# servers: (ASN, country). Well-known hosters with libloc networks in that
# country; assumption: a German resolver's background traffic goes mostly to
# sites hosted in DE, elsewhere in Europe and in the US.
HOSTING = [
    (24940, "DE"), (16276, "DE"), (16276, "FR"), (51167, "DE"), (197540, "DE"),
    (6724, "DE"), (680, "DE"), (60781, "NL"), (49981, "NL"), (20857, "NL"),
    (14061, "US"), (63949, "US"), (26496, "US"), (20473, "US"), (47583, "US"),
    (16276, "GB"), (8560, "GB"), (8560, "ES"), (31034, "IT"), (13030, "CH"),
    (16276, "PL"), (9009, "RO"), (34224, "BG"),
]
# The same hosters' networks in Asia, Oceania, Canada and Finland (libloc),
# for round robins that span continents.
GLOBAL_HOSTING = [
    (16276, "SG"), (16276, "CA"), (63949, "SG"), (20473, "JP"), (20473, "AU"),
    (20473, "SG"), (14061, "SG"), (14061, "IN"), (24940, "FI"),
]
# Bulletproof-ish hosting for the flux networks' own (stable) name servers;
# assumption: single-flux operators keep their authoritative servers on a few
# fixed hosts (Holz et al. NDSS 2008 count NS records separately and found
# them far less volatile than A records).
BULLETPROOF = [(49505, "RU"), (9123, "RU"), (197695, "RU"), (9009, "NL"), (49981, "NL")]

CDN_ASNS = (20940, 16625, 54113)          # Akamai (2 ASNs), Fastly
CLOUD_ASNS = (16509, 14618)               # Amazon AWS
BIGSITE_ASNS = (15169, 8075, 32934, 16509)  # Google, Microsoft, Meta, Amazon


def cumulative(weights):
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    return cum


class Rng:
    """A private random stream keyed by (seed, purpose, ...). Uses only
    random() and getrandbits(), whose output the Python docs keep stable."""

    def __init__(self, *key):
        digest = hashlib.sha256(repr(key).encode()).digest()
        self._r = _random.Random(int.from_bytes(digest[:8], "big"))

    def random(self):
        return self._r.random()

    def bits(self, n):
        return self._r.getrandbits(n) if n > 0 else 0

    def below(self, n):
        return min(int(self._r.random() * n), n - 1)

    def randint(self, lo, hi):
        return lo + self.below(hi - lo + 1)

    def uniform(self, lo, hi):
        return lo + (hi - lo) * self._r.random()

    def loguniform(self, lo, hi):
        return math.exp(self.uniform(math.log(lo), math.log(hi)))

    def expo(self, mean):
        return -mean * math.log(1.0 - self._r.random())

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def weighted(self, seq, weights):
        return self.weighted_cum(seq, cumulative(weights))

    def weighted_cum(self, seq, cum):
        return seq[min(bisect.bisect_right(cum, self._r.random() * cum[-1]), len(seq) - 1)]

    def sample(self, seq, k):
        """k distinct items, partial Fisher-Yates over a copy."""
        pool = list(seq)
        k = min(k, len(pool))
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]


class Geo:
    """libloc networks of the ASNs the scenarios use, loaded with one search,
    and address picking with a libloc check of every picked address."""

    def __init__(self, path):
        self.db = location.Database(path)
        self.path = path
        asns = set(CDN_ASNS) | set(CLOUD_ASNS) | set(BIGSITE_ASNS)
        asns |= {a for v in CONSUMER_ISPS.values() for a in v}
        asns |= {a for a, _ in HOSTING} | {a for a, _ in BULLETPROOF}
        self.by_asn = {}
        for n in self.db.search_networks(asns=sorted(asns)):
            if n.has_flag(location.NETWORK_FLAG_DROP):
                continue
            text = str(n)
            self.by_asn.setdefault(n.asn, []).append(
                (text, int(text.rsplit("/", 1)[1]), 4 if n.family == 2 else 6, n.country_code or ""))
        self.used = set()  # addresses handed out, so scenarios never collide
        self._nets = {}
        self._cum = {}
        self._by_country = {}

    def networks(self, asn, country=None, version=4, max_prefix=None):
        key = (asn, country, version, max_prefix)
        if key not in self._nets:
            self._nets[key] = self._networks(*key)
        return self._nets[key]

    def _networks(self, asn, country, version, max_prefix):
        out = []
        for text, plen, v, cc in self.by_asn.get(asn, []):
            if v != version or (country and cc != country):
                continue
            if max_prefix is not None and plen > max_prefix:
                continue
            out.append((ipaddress.ip_network(text), asn, cc))
        out.sort(key=lambda x: x[0])
        return out

    def country_asns(self, country, rng, count, exclude=()):
        """`count` distinct ASNs with IPv4 networks located in `country`, each
        with its networks: the long tail of small ISPs, hosters, universities
        and companies that run volunteer servers."""
        if country not in self._by_country:
            self._index_countries([country])
        nets = {a: t for a, t in self._by_country[country].items() if a not in exclude}
        chosen = rng.sample(sorted(nets), count)
        return {a: sorted((ipaddress.ip_network(t), a, country) for t in nets[a]) for a in sorted(chosen)}

    def _index_countries(self, countries):
        """One libloc search for the IPv4 networks (/24 or larger) of all
        `countries`, grouped by country and ASN."""
        for cc in countries:
            self._by_country.setdefault(cc, {})
        for n in self.db.search_networks(country_codes=sorted(countries), family=2):
            if not n.asn:
                continue
            if n.has_flag(location.NETWORK_FLAG_DROP) or n.has_flag(location.NETWORK_FLAG_ANYCAST):
                continue
            text = str(n)
            if int(text.rsplit("/", 1)[1]) > 24:
                continue
            self._by_country[n.country_code].setdefault(n.asn, []).append(text)

    def pick(self, rng, nets, exclusive=True, weight_exp=0.5, required=True):
        """A random host address inside one of `nets` (weighted by size**exp)
        that libloc maps back to the same ASN and country."""
        key = (id(nets), weight_exp)
        if key not in self._cum:
            # Kept with the list itself, so the id cannot be reused.
            self._cum[key] = (nets, cumulative(
                [min(net.num_addresses, 1 << 24) ** weight_exp for net, _, _ in nets]))
        cum = self._cum[key][1]
        for _ in range(200):
            net, asn, cc = rng.weighted_cum(nets, cum)
            addr = self._host(rng, net)
            if exclusive and addr in self.used:
                continue
            hit = self.db.lookup(addr)
            if hit is None or hit.asn != asn or (hit.country_code or "") != cc:
                continue
            if exclusive:
                self.used.add(addr)
            return addr, asn, cc
        if not required:
            return None
        raise RuntimeError("no usable address in %d networks (first %s)" % (len(nets), nets[0][0]))

    def block(self, rng, nets, size):
        """`size` addresses from one /24 (IPv4) or /64 (IPv6) inside one of
        `nets`: a server cluster or an edge site."""
        for _ in range(200):
            net, asn, cc = rng.choice(nets)
            sub = 24 if net.version == 4 else 64
            if net.prefixlen > sub:
                continue
            base = int(net.network_address) + (rng.bits(sub - net.prefixlen) << (net.max_prefixlen - sub))
            width = 1 << (net.max_prefixlen - sub)
            offsets = rng.sample(range(2, min(width, 1 << 16) - 1), size) if net.version == 4 else \
                [rng.randint(2, 0xFFFF) for _ in range(size)]
            out = []
            for off in sorted(set(offsets)):
                addr = str(ipaddress.ip_address(base + off))
                hit = self.db.lookup(addr)
                if hit is None or hit.asn != asn or (hit.country_code or "") != cc or addr in self.used:
                    continue
                out.append(addr)
            if len(out) >= max(1, size // 2):
                self.used.update(out)
                return out, asn, cc
        raise RuntimeError("no usable /24 in %d networks" % len(nets))

    @staticmethod
    def _host(rng, net):
        if net.num_addresses <= 2:
            return str(net.network_address)
        host_bits = net.max_prefixlen - net.prefixlen
        if net.version == 4:
            off = 1 + rng.below(net.num_addresses - 2)
        else:
            off = rng.bits(host_bits) | 1
        return str(ipaddress.ip_address(int(net.network_address) + off))


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

_ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "tr", "st", "pl", "gr", "kr", "sh", "ch"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io"]
_CODAS = ["", "", "", "n", "r", "l", "s", "x", "m"]
TLDS = ("example", "test")


class Names:
    """Unique pseudo-word registrable domains. The TLD is drawn at random for
    every domain of every scenario, so it says nothing about the label."""

    def __init__(self, seed):
        self.seed = seed
        self.taken = set()

    def word(self, rng, syllables=None):
        n = syllables or rng.randint(2, 3)
        return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(n)) + rng.choice(_CODAS)

    def domain(self, *key):
        rng = Rng(self.seed, "name", *key)
        while True:
            d = "%s.%s" % (self.word(rng), rng.choice(TLDS))
            if d not in self.taken:
                self.taken.add(d)
                return d


def registrable(name):
    return ".".join(name.split(".")[-2:])


def rnd_label(rng, lo, hi):
    chars = "abcdefghijklmnopqrstuvwxyz0123456789"
    first = "abcdefghijklmnopqrstuvwxyz"
    n = rng.randint(lo, hi)
    return rng.choice(first) + "".join(rng.choice(chars) for _ in range(n - 1))


# --------------------------------------------------------------------------
# The resolver: demand, cache and the lines it writes
# --------------------------------------------------------------------------

class Trace:
    def __init__(self, seed, start, duration):
        self.seed, self.start, self.duration = seed, start, duration
        self.end = start + duration
        self.events = []           # (time, name, type, line dict)
        self.labels = {}           # registrable -> label dict
        self.touch = {}            # registrable -> [times]
        self.ns_cache = {}         # zone -> (expiry, ns entries)

    def label(self, domain, scenario, flux, rotation, family):
        self.labels[domain] = {
            "scenario": scenario,
            "label": "flux" if flux else "benign",
            "rotation_seconds": rotation,
            "family": family,
        }

    def ns_field(self, zone, t, fetch):
        """The delegation as the resolver's cache holds it at t: fetched
        (fetch(t) -> (ttl, [(name, [addresses])])) when first needed and again
        once the NS TTL ran out; TTLs shown as remaining seconds. Must be
        called in time order (write() does)."""
        entry = self.ns_cache.get(zone)
        if entry is None or t >= entry[0]:
            ttl, servers = fetch(t)
            entry = (t + ttl, servers)
            self.ns_cache[zone] = entry
        expiry, servers = entry
        remaining = max(1, int(expiry - t))
        return [{"name": n, "ttl": remaining, "addresses": list(a)} for n, a in servers]

    def emit(self, t, qname, qtype, rcode, answers, zone=None, ns_fetch=None):
        """Records one upstream resolution. The zone's NS field is filled in
        by write(), in time order, because scenarios emit name by name."""
        line = {"time": round(t, 3), "name": qname, "type": qtype, "rcode": rcode,
                "answers": [{"name": n, "type": ty, "ttl": ttl, "data": d} for n, ty, ttl, d in answers]}
        if zone is not None:
            line["zone"] = zone
            line["ns"] = ns_fetch
        self.events.append((line["time"], qname, qtype, line))
        touched = {registrable(qname)} | {registrable(a[0]) for a in answers}
        for d in sorted(touched):
            self.touch.setdefault(d, []).append(line["time"])

    def demand(self, rng, start, end, rate, resolve):
        """Client queries for one (name, type) as a Poisson process of `rate`
        per second from `start` (the first client query) to `end`. By
        memorylessness the first query after the cache expired comes an
        exponential wait after the expiry; only those go upstream.
        resolve(t, k) writes the line(s) and returns the cache lifetime."""
        t, k = start, 0
        end = min(end, self.end)
        while t < end:
            t = round(t, 3)
            ttl = resolve(t, k)
            k += 1
            t += max(ttl, 1) + rng.expo(1.0 / rate)

    def write(self, out_dir, meta):
        os.makedirs(out_dir, exist_ok=True)
        self.events.sort(key=lambda e: (e[0], e[1], e[2]))
        tmp = os.path.join(out_dir, ".trace.jsonl.tmp")
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            for _, _, _, line in self.events:
                if "zone" in line:
                    line["ns"] = self.ns_field(line["zone"], line["time"], line["ns"])
                f.write(json.dumps(line, separators=(",", ":")) + "\n")
        os.replace(tmp, os.path.join(out_dir, "trace.jsonl"))

        domains = {}
        for d in sorted(self.labels):
            lab = dict(self.labels[d])
            times = sorted(self.touch.get(d, []))
            if not times:
                continue   # never resolved (e.g. a CDN that no customer picked)
            lab["first_resolution"] = times[0]
            lab["resolutions"] = len(times)
            if lab["label"] == "flux":
                lab["resolution_times"] = times
            domains[d] = lab
        labels = {"seed": self.seed, "start": self.start, "duration": self.duration}
        labels.update(meta)
        labels["domains"] = domains
        tmp = os.path.join(out_dir, ".labels.json.tmp")
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            json.dump(labels, f, indent=1, sort_keys=False)
            f.write("\n")
        os.replace(tmp, os.path.join(out_dir, "labels.json"))
        return domains


# --------------------------------------------------------------------------
# Flux agent pools (shared by the domains of one family)
# --------------------------------------------------------------------------

class AgentPool:
    """The compromised hosts of one flux family. Each agent is online from
    `join` to `leave`; part of the pool is online at the start and the rest
    joins during the trace, so new addresses keep appearing (FluxBuster's
    "address growth ratio" feature, Perdisci et al. ACSAC 2009 / TDSC)."""

    def __init__(self, geo, seed, family, size, regions, online_at_start, lifetime_mean, tr):
        rng = Rng(seed, "pool", family)
        countries, cweights = [], []
        for region, w in regions.items():
            for cc in REGIONS[region]:
                countries.append(cc)
                cweights.append(w / len(REGIONS[region]))
        self.agents = []
        for i in range(size):
            cc = rng.weighted(countries, cweights)
            asn = rng.choice(CONSUMER_ISPS[cc])
            nets = geo.networks(asn, country=cc, max_prefix=24)
            if not nets:
                nets = geo.networks(CONSUMER_ISPS[cc][0], country=cc, max_prefix=24)
            addr, asn, cc = geo.pick(rng, nets)
            if rng.random() < online_at_start:
                join = tr.start - rng.uniform(0, lifetime_mean)
            else:
                join = tr.start + rng.uniform(0, tr.duration)
            leave = join + lifetime_mean * (0.25 + rng.expo(0.75))
            if join < tr.start and leave < tr.start + 600:
                leave = tr.start + 600 + rng.uniform(0, lifetime_mean)
            self.agents.append((addr, join, leave))
        self._cache = {}
        self.seen = []   # (time, address) of every A answer, for pool-overlap

    def online(self, t):
        key = int(t // 60)
        got = self._cache.get(key)
        if got is None:
            tt = key * 60
            got = [a for a, j, l in self.agents if j <= tt < l]
            if len(got) < 16:   # never let a family run dry
                got = [a for a, j, l in sorted(self.agents, key=lambda x: abs(x[1] - tt))[:16]]
            self._cache[key] = got
        return got

    def answer(self, rng, t, k):
        addrs = rng.sample(self.online(t), k)
        for a in addrs:
            self.seen.append((t, a))
        return addrs


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

def dns_hosts(geo, seed, count):
    """Ordinary DNS hosting providers: a provider domain with 2-3 name
    servers at fixed addresses, in one hosting network, or for a third of
    the providers with the last server in a second one for redundancy; NS
    TTL 86400. Assumptions: the common one-day NS TTL and provider layout."""
    out = []
    for i in range(count):
        rng = Rng(seed, "dnshost", i)
        dom = "dns%s.example" % chr(ord("a") + i)
        servers = []
        n = rng.choice([2, 2, 2, 3])
        first = rng.choice(HOSTING)
        second = rng.choice(HOSTING) if rng.random() < 1 / 3 else first
        for j in range(n):
            asn, cc = second if j == n - 1 else first
            addr, _, _ = geo.pick(rng, geo.networks(asn, cc, max_prefix=24))
            servers.append(("ns%d.%s" % (j + 1, dom), [addr]))
        out.append((86400, servers))
    return out


class Builder:
    def __init__(self, seed, hours, geo, start):
        self.seed, self.geo = seed, geo
        self.tr = Trace(seed, start, int(round(hours * 3600)))
        self.names = Names(seed)
        self.hosts = dns_hosts(geo, seed, 6)
        self.pools = {}
        self.bp_cache = {}

    # -- helpers ----------------------------------------------------------
    def D(self, frac):
        return self.tr.start + frac * self.tr.duration

    def stable_ns(self, servers_ttl):
        ttl, servers = servers_ttl
        return lambda t: (ttl, servers)

    def benign_zone(self, rng):
        return self.stable_ns(rng.choice(self.hosts))

    def flux_pool(self, family, **kw):
        if family not in self.pools:
            self.pools[family] = AgentPool(self.geo, self.seed, family, tr=self.tr, **kw)
        return self.pools[family]

    # -- 1. STOP/Djvu ------------------------------------------------------
    STOP = dict(
        domains=12,
        # "STOP ransomware rotated every 150 s through 800+ addresses" (2025
        # joint fast-flux advisory, as read in the notes).
        rotation=150,
        pool=850,
        # Assumption: one address at a time (the advisory describes a
        # rotation of "the" address); TTL 60, "short TTL" per the brief and
        # below the rotation so caches follow every rotation.
        per_answer=1,
        ttl=60,
        # Agents: compromised hosts in consumer ISPs of many countries (the
        # advisory); spread evenly over the regions (assumption).
        regions={"west-eu": 1, "east-eu": 1, "mea": 1, "asia": 1, "americas": 1},
        online_at_start=0.7, lifetime=6 * 3600,   # assumption
        # Client demand (assumption): infected hosts and victims fetching
        # payloads and keys, one query per 30 s to 10 min per domain.
        rate=(1 / 600, 1 / 30),
        start=(0.0, 0.5),
    )

    def stop_djvu(self):
        p = self.STOP
        pool = self.flux_pool("stop-djvu", size=p["pool"], regions=p["regions"],
                              online_at_start=p["online_at_start"], lifetime_mean=p["lifetime"])
        bp = self.bulletproof_ns("stop-djvu")
        for i in range(p["domains"]):
            dom = self.names.domain("stop-djvu", i)
            self.tr.label(dom, "stop-djvu", True, p["rotation"], "stop-djvu")
            self.epoch_flux(dom, "stop-djvu", pool, p, Rng(self.seed, "stop", dom), bp)

    def epoch_flux(self, dom, scenario, pool, p, rng, ns_fetch, start=None, first=None):
        """A flux domain whose answer changes on a timer (every `rotation`
        seconds, random phase), one draw from the family's online agents."""
        qname = rng.choice(["", "www.", "api.", "cdn."]) + dom
        phase = rng.uniform(0, p["rotation"])
        rate = rng.loguniform(*p["rate"])
        t0 = start if start is not None else self.D(rng.uniform(*p["start"]))
        memo = {}

        def resolve(t, k):
            e = int((t - phase) // p["rotation"])
            if k == 0 and first is not None:
                addrs = first(t, p["per_answer"])
            elif e in memo:
                addrs = memo[e]
            else:
                addrs = pool.answer(Rng(self.seed, scenario, dom, "epoch", e), t, p["per_answer"])
            memo.setdefault(e, addrs)
            ans = [(qname, "A", p["ttl"], a) for a in addrs]
            self.tr.emit(t, qname, "A", "NOERROR", ans, dom, ns_fetch)
            return p["ttl"]

        self.tr.demand(rng, t0, self.tr.end, rate, resolve)

    def bulletproof_ns(self, family):
        """Single-flux operators' own name servers: 2 names under a domain of
        the operator, fixed addresses in bulletproof hosting. NS TTL 3600
        (assumption)."""
        if family in self.bp_cache:
            return self.bp_cache[family]
        rng = Rng(self.seed, "bpns", family)
        nsdom = self.names.domain("bpns", family)
        servers = []
        for j in range(2):
            asn, cc = rng.choice(BULLETPROOF)
            addr, _, _ = self.geo.pick(rng, self.geo.networks(asn, cc, max_prefix=24))
            servers.append(("ns%d.%s" % (j + 1, nsdom), [addr]))
        self.bp_cache[family] = lambda t: (3600, servers)
        return self.bp_cache[family]

    # -- 2. single-flux botnets -------------------------------------------
    # Classic single flux as measured by Holz et al. (NDSS 2008) and the
    # FluxBuster work (Perdisci et al. ACSAC 2009 / TDSC), in the brief's
    # reading: about 5 A records per answer, TTLs of 0-300 s (e.g. 180),
    # agents in many ASNs and countries, pools of hundreds of addresses.
    # The notes: Holz's score counts distinct addresses and ASNs over
    # lookups one TTL apart; FluxBuster keeps answers of >= 3 addresses with
    # TTL <= 3 h and measures the growth of the address set, i.e. new agents
    # keep joining. Three families with different TTLs and geographies.
    BOTNETS = {
        "botnet-a": dict(domains=10, pool=400, per_answer=5, ttl=180,
                         regions={"west-eu": 1, "east-eu": 1, "mea": 1, "asia": 1, "americas": 1}),
        "botnet-b": dict(domains=10, pool=300, per_answer=5, ttl=300,
                         regions={"west-eu": 1, "east-eu": 3, "mea": 0.5, "asia": 0.5, "americas": 0.5}),
        "botnet-c": dict(domains=10, pool=600, per_answer=4, ttl=60,
                         regions={"west-eu": 0.3, "east-eu": 0.5, "mea": 1, "asia": 3, "americas": 2}),
    }
    BOTNET_COMMON = dict(
        # Assumption: home machines stay online a few hours at a time; half
        # the pool is online when the trace starts, the rest joins later.
        online_at_start=0.5, lifetime=3 * 3600,
        rate=(1 / 600, 1 / 20),   # assumption: spam/phishing landing pages, C2 polls
        start=(0.0, 0.5),
    )

    def botnets(self):
        c = self.BOTNET_COMMON
        for fam, p in self.BOTNETS.items():
            pool = self.flux_pool(fam, size=p["pool"], regions=p["regions"],
                                  online_at_start=c["online_at_start"], lifetime_mean=c["lifetime"])
            ns = self.bulletproof_ns(fam)
            for i in range(p["domains"]):
                dom = self.names.domain(fam, i)
                # The flux DNS answers each query with a fresh random set, so
                # the answer changes with every upstream fetch: once per TTL.
                self.tr.label(dom, "botnet-single-flux", True, p["ttl"], fam)
                self.query_flux(dom, "botnet-single-flux", pool, dict(p, **c), Rng(self.seed, fam, dom), ns)

    def query_flux(self, dom, scenario, pool, p, rng, ns_fetch, start=None, first=None):
        qname = rng.choice(["", "www.", "", "login.", "secure."]) + dom
        rate = rng.loguniform(*p["rate"])
        t0 = start if start is not None else self.D(rng.uniform(*p["start"]))

        def resolve(t, k):
            if k == 0 and first is not None:
                addrs = first(t, p["per_answer"])
            else:
                addrs = pool.answer(Rng(self.seed, scenario, dom, "q", k), t, p["per_answer"])
            ans = [(qname, "A", p["ttl"], a) for a in addrs]
            self.tr.emit(t, qname, "A", "NOERROR", ans, dom, ns_fetch)
            return p["ttl"]

        self.tr.demand(rng, t0, self.tr.end, rate, resolve)

    # -- 3. double flux ---------------------------------------------------
    # The 2009 double-flux captures in the notes: A answers of 8 addresses
    # with TTL 180 s; NS host names fixed for hours while their glue
    # addresses keep changing, dozens of glue addresses per NS host over
    # days (one new glue address per host about every hour gives ~48 in two
    # days). ICANN SSAC SAC025: the name service itself runs on the flux
    # agents, so glue comes from the same agent pool as the A records.
    DFLUX = {
        "dflux-a": dict(domains=8, pool=300,
                        regions={"west-eu": 1, "east-eu": 2, "mea": 1, "asia": 1, "americas": 1}),
        "dflux-b": dict(domains=8, pool=250,
                        regions={"west-eu": 1, "east-eu": 1, "mea": 0.5, "asia": 2, "americas": 1}),
    }
    DFLUX_COMMON = dict(
        per_answer=8, ttl=180,                 # the notes (2009 captures)
        ns_hosts=(2, 3),                       # assumption: 2-3 NS names per zone
        ns_ttl=1800,                           # assumption: below the glue change interval
        glue_change=(2400, 5400),              # per NS host, ~1 h (dozens over days)
        ns_names_change=(8 * 3600, 16 * 3600),  # NS names "stable for hours"
        online_at_start=0.5, lifetime=3 * 3600,
        rate=(1 / 600, 1 / 20), start=(0.0, 0.5),
    )

    def double_flux(self):
        c = self.DFLUX_COMMON
        for fam, p in self.DFLUX.items():
            pool = self.flux_pool(fam, size=p["pool"], regions=p["regions"],
                                  online_at_start=c["online_at_start"], lifetime_mean=c["lifetime"])
            for i in range(p["domains"]):
                dom = self.names.domain(fam, i)
                self.tr.label(dom, "double-flux", True, c["ttl"], fam)
                rng = Rng(self.seed, fam, dom)
                self.query_flux(dom, "double-flux", pool, dict(p, **c), rng,
                                self.flux_ns(dom, fam, pool, c, rng))

    def flux_ns(self, dom, fam, pool, c, rng):
        count = rng.randint(*c["ns_hosts"])
        names_period = rng.uniform(*c["ns_names_change"])
        names_phase = rng.uniform(0, names_period)
        glue = [(rng.uniform(*c["glue_change"]), rng.uniform(0, 5400)) for _ in range(count)]

        def fetch(t):
            ne = int((t - names_phase) // names_period)
            servers = []
            for j in range(count):
                idx = ne * count + j + 1          # ns1..nsN, then nsN+1.. after a change
                period, phase = glue[j]
                ge = int((t - phase) // period)
                r = Rng(self.seed, fam, dom, "glue", idx, ge)
                servers.append(("ns%d.%s" % (idx, dom), r.sample(pool.online(t), 1)))
            return c["ns_ttl"], servers

        return fetch

    # -- 4. Gamaredon-style throw-away subdomains ---------------------------
    # The 2025 advisory names Gamaredon among fast-flux users (per the notes
    # and press coverage of it); its infrastructure is known for many
    # throw-away random-looking subdomains under a handful of registered
    # domains, each pointing at changing addresses with a low TTL. Numbers
    # below are assumptions, not measurements: 6 registrable domains, a new
    # subdomain every ~4 min per domain, each asked for ~10 min, TTL 60, the
    # wildcard answer (1 address) changing every 300 s.
    GAMAREDON = dict(domains=6, pool=200, per_answer=1, ttl=60, rotation=300,
                     sub_rate=1 / 240, sub_life=600, sub_query_rate=1 / 120,
                     regions={"west-eu": 1, "east-eu": 2, "mea": 0.5, "asia": 0.5, "americas": 1},
                     online_at_start=0.6, lifetime=4 * 3600, start=(0.0, 0.5))

    def gamaredon(self):
        p = self.GAMAREDON
        pool = self.flux_pool("gamaredon", size=p["pool"], regions=p["regions"],
                              online_at_start=p["online_at_start"], lifetime_mean=p["lifetime"])
        ns = self.benign_zone(Rng(self.seed, "gamaredon-ns"))   # a registrar's DNS
        for i in range(p["domains"]):
            dom = self.names.domain("gamaredon", i)
            self.tr.label(dom, "gamaredon-subdomains", True, p["rotation"], "gamaredon")
            rng = Rng(self.seed, "gamaredon", dom)
            self.subdomain_flux(dom, "gamaredon-subdomains", pool, p, rng, ns,
                                self.D(rng.uniform(*p["start"])))

    def subdomain_flux(self, dom, scenario, pool, p, rng, ns_fetch, t0, first=None):
        phase = rng.uniform(0, p["rotation"])
        memo = {}
        t, n = t0, 0
        while t < self.tr.end:
            label = rnd_label(rng, 6, 12)
            qname = "%s.%s" % (label, dom)
            life = rng.expo(p["sub_life"])
            sub_rng = Rng(self.seed, scenario, dom, "sub", n)
            is_first = (n == 0)

            def resolve(tq, k, qname=qname, is_first=is_first):
                e = int((tq - phase) // p["rotation"])
                if is_first and k == 0 and first is not None:
                    addrs = first(tq, p["per_answer"])
                    memo.setdefault(e, addrs)
                elif e in memo:
                    addrs = memo[e]
                else:
                    addrs = memo[e] = pool.answer(Rng(self.seed, scenario, dom, "epoch", e), tq, p["per_answer"])
                ans = [(qname, "A", p["ttl"], a) for a in addrs]
                self.tr.emit(tq, qname, "A", "NOERROR", ans, dom, ns_fetch)
                return p["ttl"]

            self.tr.demand(sub_rng, t, t + life, p["sub_query_rate"], resolve)
            n += 1
            t += rng.expo(1.0 / p["sub_rate"])

    # -- 5. pool overlap --------------------------------------------------
    # Notos (Antonakakis et al., USENIX Security 2010) flags new domains by
    # relating them to addresses already seen serving bad domains;
    # FluxBuster clusters domains that share addresses. Model: new domains
    # of a known family appear between 25% and 85% of the trace, and their
    # first answer holds only addresses that earlier domains of the family
    # returned at least 30 min before (so a detector that blocked those
    # domains knows the pool). Later answers behave like the family's.
    OVERLAP = [("stop-djvu", 4), ("botnet-a", 2), ("botnet-b", 2), ("botnet-c", 2),
               ("dflux-a", 2), ("dflux-b", 1), ("gamaredon", 1)]
    OVERLAP_START = (0.25, 0.85)
    OVERLAP_MIN_AGE = 1800

    def pool_overlap(self):
        for fam, count in self.OVERLAP:
            pool = self.pools[fam]
            seen = sorted(pool.seen)
            times = [s[0] for s in seen]
            # Short traces: the known addresses may be younger than 30 min.
            min_age = min(self.OVERLAP_MIN_AGE, 0.1 * self.tr.duration)
            # When the family first has 8 known addresses (enough for any answer).
            distinct, ready = set(), self.tr.end
            for t, a in seen:
                distinct.add(a)
                if len(distinct) >= 8:
                    ready = t + min_age + 1
                    break
            for i in range(count):
                dom = self.names.domain("overlap", fam, i)
                rng = Rng(self.seed, "overlap", dom)
                t0 = round(max(self.D(rng.uniform(*self.OVERLAP_START)), ready), 3)
                if t0 >= self.tr.end:
                    continue   # the trace is too short for this family to be known

                def first(t, k, rng=rng, min_age=min_age):
                    cut = bisect.bisect_right(times, t - min_age)
                    known = sorted({a for _, a in seen[:cut]})
                    if len(known) < k:
                        raise RuntimeError("family %s has too few known addresses at %s" % (fam, t))
                    return rng.sample(known, k)

                if fam == "stop-djvu":
                    p = self.STOP
                    rot = p["rotation"]
                    self.epoch_flux(dom, "pool-overlap", pool, p, rng, self.bulletproof_ns(fam + "-new"),
                                    start=t0, first=first)
                elif fam.startswith("botnet"):
                    p = dict(self.BOTNETS[fam], **self.BOTNET_COMMON)
                    rot = p["ttl"]
                    self.query_flux(dom, "pool-overlap", pool, p, rng, self.bulletproof_ns(fam + "-new"),
                                    start=t0, first=first)
                elif fam.startswith("dflux"):
                    p = dict(self.DFLUX[fam], **self.DFLUX_COMMON)
                    rot = p["ttl"]
                    self.query_flux(dom, "pool-overlap", pool, p, rng, self.flux_ns(dom, fam, pool, p, rng),
                                    start=t0, first=first)
                else:
                    p = self.GAMAREDON
                    rot = p["rotation"]
                    self.subdomain_flux(dom, "pool-overlap", pool, p, rng,
                                        self.benign_zone(Rng(self.seed, "gamaredon-ns")), t0, first=first)
                self.tr.label(dom, "pool-overlap", True, rot, fam)

    # -- 6. CDN -----------------------------------------------------------
    # Look-alike named by every public detector's exclusion list (Akamai,
    # Coral; the notes): short TTLs and many addresses, but few ASNs, and
    # geo-DNS maps a resolver to nearby edges, so a domain's addresses sit
    # in one or two countries. Parameters (assumptions based on commonly
    # observed answers, not a paper): Akamai-style edge hostnames answer 2
    # addresses with TTL 20 from an edge cluster near the resolver, Akamai
    # spans AS20940 and AS16625; Fastly-style answers hold 2-4 addresses of
    # AS54113 with TTL 30. Customers either CNAME into the CDN's domain
    # (CNAME TTL 300-3600) or let the CDN's DNS answer for their own name
    # ("zone apex mapping": A records under the customer's name, TTL 20).
    CDN = dict(cname_customers=18, apex_customers=8,
               rate=(1 / 1200, 1 / 60), cname_ttls=(300, 600, 1800, 3600),
               aaaa_share=0.5)
    CDN_PROVIDERS = [
        # (key, ASNs, edge countries with weight, ttl, addresses per answer,
        #  edge clusters per customer, addresses per cluster). Akamai-style:
        # edge servers in many /24s near the resolver; Fastly-style: a few
        # anycast addresses per customer (assumption from observed answers).
        ("edge-1", (20940, 16625), {"DE": 8, "AT": 1, "EU": 1}, 20, (2, 2), (2, 5), (8, 24)),
        ("edge-2", (54113,), {"US": 3, "SE": 1}, 30, (2, 4), (1, 2), (4, 8)),
    ]

    def cdn(self):
        p = self.CDN
        providers = []
        for key, asns, countries, ttl, per, n_clusters, c_size in self.CDN_PROVIDERS:
            dom = self.names.domain("cdn", key)
            self.tr.label(dom, "cdn", False, ttl, None)
            v4 = {cc: [n for a in asns for n in self.geo.networks(a, cc, max_prefix=24)] for cc in countries}
            v4 = {cc: n for cc, n in v4.items() if n}
            v6 = [n for a in asns for n in self.geo.networks(a, version=6, max_prefix=64)]
            providers.append((key, dom, v4, countries, v6, ttl, per, n_clusters, c_size))
        ns_rng = Rng(self.seed, "cdn-ns")
        cdn_ns = {}
        for key, dom, v4, *_ in providers:
            servers = []
            for j in range(4):
                cc = sorted(v4)[0]
                addr, _, _ = self.geo.pick(ns_rng, v4[cc])
                servers.append(("ns%d.%s" % (j + 1, dom), [addr]))
            cdn_ns[key] = lambda t, s=servers: (86400, s)

        n_c, n_a = p["cname_customers"], p["apex_customers"]
        for i in range(n_c + n_a):
            apex = i >= n_c
            rng = Rng(self.seed, "cdn-customer", i)
            cust = self.names.domain("cdn-customer", i)
            key, pdom, v4, countries, v6, ttl, per, n_clusters, c_size = \
                providers[0] if apex else rng.choice(providers)
            self.tr.label(cust, "cdn", False, ttl, None)
            # Edge clusters this resolver is mapped to for this customer.
            clusters = []
            ccs = [cc for cc in countries if cc in v4]
            for _ in range(rng.randint(*n_clusters)):
                cc = rng.weighted(ccs, [countries[c] for c in ccs])
                addrs, _, _ = self.geo.block(rng, v4[cc], rng.randint(*c_size))
                clusters.append(addrs)
            clusters6 = []
            if v6:
                for _ in range(2):
                    addrs, _, _ = self.geo.block(rng, v6, c_size[1])
                    clusters6.append(addrs)
            k = rng.randint(*per)
            label = rnd_label(rng, 3, 5)
            target = "%s%d.%s" % (label[0], rng.randint(100, 9999), pdom)
            qname = ("www." if rng.random() < 0.8 else "static.") + cust
            owner = qname if apex else target
            zone_fetch = cdn_ns[key] if apex else self.benign_zone(rng)
            cname_ttl = rng.choice(p["cname_ttls"])
            rate = rng.loguniform(*p["rate"])
            t0 = self.D(rng.uniform(0, 0.3))
            self.cdn_name(cust, qname, owner, apex, "A", clusters, k, ttl, cname_ttl, zone_fetch, rng, t0, rate)
            if clusters6 and rng.random() < p["aaaa_share"]:
                self.cdn_name(cust, qname, owner, apex, "AAAA", clusters6, k, ttl, cname_ttl, zone_fetch,
                              Rng(self.seed, "cdn-aaaa", i), t0 + rng.uniform(0, 1), rate)

    def cdn_name(self, cust, qname, owner, apex, qtype, clusters, k, ttl, cname_ttl, zone_fetch, rng, t0, rate):
        state = {"cname_exp": -1.0, "cluster": 0}

        def resolve(t, n):
            r = Rng(self.seed, "cdn-answer", qname, qtype, n)
            # Mostly the primary cluster; the mapping moves now and then
            # (load, maintenance): assumption, 10% of answers elsewhere.
            c = clusters[0] if r.random() < 0.9 or len(clusters) == 1 else r.choice(clusters[1:])
            addrs = r.sample(c, k)
            ans = []
            if not apex:
                if t >= state["cname_exp"]:
                    state["cname_exp"] = t + cname_ttl
                ans.append((qname, "CNAME", max(1, int(state["cname_exp"] - t)), owner))
            ans += [(owner, qtype, ttl, a) for a in addrs]
            self.tr.emit(t, qname, qtype, "NOERROR", ans, cust, zone_fetch)
            life = ttl if apex else min(ttl, max(1, state["cname_exp"] - t))
            return life

        self.tr.demand(rng, t0, self.tr.end, rate, resolve)

    # -- 7. cloud load balancer --------------------------------------------
    # AWS Elastic Load Balancing: the balancer's DNS answer holds the
    # addresses of its current nodes; "nodes may be replaced or additional
    # nodes may be added" as it scales, and clients should re-resolve at
    # least once a minute (AWS re:Post answer and ELB documentation).
    # Customers point their own name at it with a Route 53 alias record,
    # which answers A records under the customer's name with a "fixed TTL
    # of 60 seconds" (Route 53 FAQ). All addresses in one
    # provider: AS16509 (eu-central-1 in DE, eu-west-1 in IE) or AS14618
    # (us-east-1). Assumptions: 2-8 addresses per answer from 10-40 nodes,
    # node lifetime ~4 h.
    CLOUD = dict(domains=20, ttl=60, per_answer=(2, 8), nodes=(10, 40), node_life=4 * 3600,
                 regions=[((16509, "DE"), 6), ((16509, "IE"), 2.5), ((14618, "US"), 1.5)],
                 rate=(1 / 900, 1 / 30), aaaa_share=0.4)

    def cloud_lb(self):
        p = self.CLOUD
        for i in range(p["domains"]):
            rng = Rng(self.seed, "cloud", i)
            dom = self.names.domain("cloud", i)
            self.tr.label(dom, "cloud-lb", False, p["ttl"], None)
            (asn, cc) = rng.weighted([r for r, _ in p["regions"]], [w for _, w in p["regions"]])
            nets = self.geo.networks(asn, cc, max_prefix=24)
            nodes = []
            for _ in range(rng.randint(*p["nodes"])):
                addr, _, _ = self.geo.pick(rng, nets, weight_exp=1.0)
                start = self.tr.start - rng.uniform(0, p["node_life"])
                nodes.append((addr, start, start + p["node_life"] * (0.2 + rng.expo(0.8))))
            # Replacements keep the node count steady.
            extra = []
            for addr, s, e in nodes:
                while e < self.tr.end:
                    a2, _, _ = self.geo.pick(rng, nets, weight_exp=1.0)
                    s2, e = e, e + p["node_life"] * (0.2 + rng.expo(0.8))
                    extra.append((a2, s2, e))
            nodes += extra
            k = rng.randint(*p["per_answer"])
            qname = rng.choice(["api.", "app.", "www.", "shop."]) + dom
            zone = self.benign_zone(rng)

            def resolve(t, n, nodes=nodes, k=k, qname=qname, dom=dom, zone=zone):
                live = [a for a, s, e in nodes if s <= t < e]
                addrs = Rng(self.seed, "cloud-answer", qname, n).sample(live, k)
                ans = [(qname, "A", p["ttl"], a) for a in addrs]
                self.tr.emit(t, qname, "A", "NOERROR", ans, dom, zone)
                return p["ttl"]

            self.tr.demand(rng, self.D(rng.uniform(0, 0.3)), self.tr.end, rng.loguniform(*p["rate"]), resolve)

    # -- 8. volunteer pools -------------------------------------------------
    # The NTP pool (in every public detector's exclusion list, the notes):
    # volunteer servers in many hosting and access networks. Its GeoDNS
    # answers the base name with servers from the client's country or
    # continent, "picks up to 5 random servers" per answer weighted by each
    # server's configured netspeed, and splits a zone's servers between the
    # numbered names 0-3 (NTP pool DNS design notes, 2007); today an answer
    # holds 4 addresses ("each time you query ... you get a different list
    # of four servers"), TTL ~130-150 s (the brief); servers must keep a
    # static address for a long time (ntppool.org news). AAAA records only
    # on the "2." names, as the pool long served IPv6 (assumption: newer
    # GeoDNS mixes families differently). Moura et al., "Deep
    # Dive into NTP Pool's Popularity and Mapping" (2024): 4k+ servers, a
    # country's clients mapped to a subset of them (551 for the US), so the
    # same few hundred addresses keep coming back; servers are long-lived.
    NTP = dict(servers=360, home_share=0.85, ttl=150, per_answer=4, home_asns=90,
               other=["NL", "AT", "CH", "FR", "PL", "CZ", "GB", "DK", "SE", "BE"],
               names=["pool", "0.pool", "1.pool", "2.pool", "3.pool", "de.pool",
                      "0.vendor-a.pool", "2.vendor-a.pool"],
               rate=(1 / 300, 1 / 10))
    # Mirror pools and IRC round-robin networks, also on the exclusion lists
    # (the notes). Assumptions: a few dozen servers each at universities and
    # hosters across Europe and North America, 4-8 addresses per answer,
    # TTL 300-600, static membership. "global": the same without geo-DNS
    # and with servers on every continent (assumption: some IRC networks and
    # mirror lists answer every client from one world-wide round robin); the
    # look-alike a continent-aware score must spare.
    RR_POOLS = [("mirror", 3, (30, 60), (4, 8), 600, HOSTING),
                ("irc", 3, (10, 25), (3, 6), 300, HOSTING),
                ("global", 3, (12, 30), (4, 8), 300, HOSTING + GLOBAL_HOSTING)]

    def volunteer_pool(self):
        p = self.NTP
        rng = Rng(self.seed, "ntp")
        dom = self.names.domain("ntp")
        self.tr.label(dom, "volunteer-pool", False, p["ttl"], None)
        self.geo._index_countries([RESOLVER_COUNTRY] + p["other"])
        # Where the servers of the resolver's country zone run. Assumption
        # (no published breakdown at hand): about half at the big hosters,
        # some on home lines, the rest spread over the long tail of small
        # ISPs, companies and universities; 15% in neighbouring countries.
        hosters = [(a, cc) for a, cc in HOSTING if cc == RESOLVER_COUNTRY]
        isps = CONSUMER_ISPS[RESOLVER_COUNTRY]
        tail = self.geo.country_asns(RESOLVER_COUNTRY, rng, p["home_asns"],
                                     exclude=set(isps) | {a for a, _ in hosters})
        other = {}
        for cc in p["other"]:
            other.update({(cc, a): n for a, n in
                          self.geo.country_asns(cc, Rng(self.seed, "ntp", cc), 8).items()})
        servers, servers6 = [], []
        for i in range(p["servers"]):
            got = None
            while got is None:   # a few long-tail networks are all sub-allocated
                r = rng.random()
                if r >= p["home_share"]:
                    nets = other[rng.choice(sorted(other))]
                elif r < 0.45:
                    nets = self.geo.networks(*rng.choice(hosters), max_prefix=24)
                elif r < 0.55:
                    nets = self.geo.networks(rng.choice(isps), RESOLVER_COUNTRY, max_prefix=24)
                else:
                    nets = tail[rng.choice(sorted(tail))]
                got = self.geo.pick(rng, nets, weight_exp=0.3, required=False)
            addr, asn, cc = got
            # netspeed weight: lognormal (assumption), so some servers get
            # most of the answers.
            weight = math.exp(rng.uniform(-1.5, 1.5) + rng.uniform(-1.5, 1.5))
            servers.append((addr, weight, i % 4))
            # About a third of the servers are dual-stack (Wikipedia's 2022
            # count: 3,126 IPv4 and 1,534 IPv6 servers): give those an IPv6
            # address in the same ASN when libloc has one there.
            v6 = self.geo.networks(asn, cc, version=6, max_prefix=48)
            if v6 and rng.random() < 0.5:
                servers6.append((self.geo.pick(rng, v6, weight_exp=0.1)[0], weight, 2))
        zone = self.benign_zone(rng)
        for name in p["names"]:
            qname = "%s.%s" % (name, dom)
            sub = int(name[0]) if name[0].isdigit() else None
            types = ["A", "AAAA"] if sub == 2 else ["A"]
            for qtype in types:
                nrng = Rng(self.seed, "ntp-name", qname, qtype)
                pool = servers6 if qtype == "AAAA" else servers
                members = [(a, w) for a, w, s in pool if sub is None or s == sub or qtype == "AAAA"]

                def resolve(t, n, qname=qname, qtype=qtype, members=members):
                    r = Rng(self.seed, "ntp-answer", qname, qtype, n)
                    chosen = []
                    cand = list(members)
                    for _ in range(min(p["per_answer"], len(cand))):
                        a = r.weighted(cand, [w for _, w in cand])
                        chosen.append(a[0])
                        cand.remove(a)
                    ans = [(qname, qtype, p["ttl"], a) for a in chosen]
                    self.tr.emit(t, qname, qtype, "NOERROR", ans, dom, zone)
                    return p["ttl"]

                self.tr.demand(nrng, self.D(nrng.uniform(0, 0.05)), self.tr.end,
                               nrng.loguniform(*p["rate"]), resolve)

        for kind, count, size, per, ttl, hosting in self.RR_POOLS:
            for i in range(count):
                rng = Rng(self.seed, kind, i)
                dom = self.names.domain(kind, i)
                self.tr.label(dom, "volunteer-pool", False, ttl, None)
                members = []
                for _ in range(rng.randint(*size)):
                    asn, cc = rng.choice(hosting)
                    addr, _, _ = self.geo.pick(rng, self.geo.networks(asn, cc, max_prefix=24))
                    members.append(addr)
                k = rng.randint(*per)
                qname = ("%s." % rng.choice(["rsync", "distfiles", "download"]) if kind == "mirror"
                         else "irc." if kind == "irc" else "pool.") + dom
                zone = self.benign_zone(rng)

                def resolve(t, n, qname=qname, members=members, k=k, ttl=ttl, dom=dom, zone=zone):
                    addrs = Rng(self.seed, "rr-answer", qname, n).sample(members, k)
                    ans = [(qname, "A", ttl, a) for a in addrs]
                    self.tr.emit(t, qname, "A", "NOERROR", ans, dom, zone)
                    return ttl

                self.tr.demand(rng, self.D(rng.uniform(0, 0.5)), self.tr.end,
                               rng.loguniform(1 / 3600, 1 / 60), resolve)

    # -- 9. dynamic DNS home hosts ----------------------------------------
    # A home server (NAS, camera, VPN) behind a residential line whose
    # address the ISP changes; the owner's DDNS client updates one A record
    # with TTL 60 (the brief; the usual dynamic-DNS TTL). Assumptions: the
    # address changes every 4 h to 3 days (German DSL lines were long
    # re-dialled every 24 h), within the same ISP; 75% of the hosts in the
    # resolver's country. Real DDNS suffixes are in the Public Suffix List's
    # private section, so every customer name is its own registrable domain:
    # modelled by giving each host its own domain.
    DYNDNS = dict(domains=24, ttl=60, change=(4 * 3600, 72 * 3600), home_share=0.75,
                  other=["AT", "NL", "FR", "PL", "GB", "US", "IT", "ES"], rate=(1 / 3600, 1 / 120))

    def dyndns(self):
        p = self.DYNDNS
        for i in range(p["domains"]):
            rng = Rng(self.seed, "dyndns", i)
            dom = self.names.domain("dyndns", i)
            cc = RESOLVER_COUNTRY if rng.random() < p["home_share"] else rng.choice(p["other"])
            asn = rng.choice(CONSUMER_ISPS[cc])
            nets = self.geo.networks(asn, cc, max_prefix=24)
            period = rng.loguniform(*p["change"])
            phase = rng.uniform(0, period)
            self.tr.label(dom, "dyndns-home", False, round(period), None)
            qname = rng.choice(["", "home.", "nas.", "vpn.", "cam."]) + dom
            zone = self.benign_zone(rng)
            memo = {}

            def resolve(t, n, qname=qname, nets=nets, period=period, phase=phase, memo=memo, dom=dom, zone=zone):
                e = int((t - phase) // period)
                if e not in memo:
                    memo[e] = self.geo.pick(Rng(self.seed, "dyndns-addr", dom, e), nets)[0]
                ans = [(qname, "A", p["ttl"], memo[e])]
                self.tr.emit(t, qname, "A", "NOERROR", ans, dom, zone)
                return p["ttl"]

            self.tr.demand(rng, self.D(rng.uniform(0, 0.5)), self.tr.end, rng.loguniform(*p["rate"]), resolve)

    # -- 10. big sites ----------------------------------------------------
    # Large sites answering from many addresses of their own ASN (the brief:
    # e.g. Google AS15169, TTL 300, 4-16 addresses per answer); assumption:
    # each site rotates through 1-4 /24s of its ASN, k addresses per answer.
    BIG = dict(domains=8, ttl=300, per_answer=(4, 16), blocks=(1, 4), block_size=(12, 40),
               rate=(1 / 60, 1 / 2), aaaa_share=0.7)

    def big_sites(self):
        p = self.BIG
        for i in range(p["domains"]):
            rng = Rng(self.seed, "big", i)
            dom = self.names.domain("big", i)
            self.tr.label(dom, "big-site", False, p["ttl"], None)
            asn = BIGSITE_ASNS[i % len(BIGSITE_ASNS)]
            nets = self.geo.networks(asn, "US", max_prefix=24)
            k = rng.randint(*p["per_answer"])
            pool4 = []
            for _ in range(rng.randint(*p["blocks"])):
                addrs, _, _ = self.geo.block(rng, nets, rng.randint(*p["block_size"]))
                pool4 += addrs
            k = min(k, len(pool4))
            v6 = self.geo.networks(asn, version=6, max_prefix=48)
            pool6 = self.geo.block(rng, v6, 16)[0] if v6 else []
            qname = rng.choice(["www.", "", "m.", "mail."]) + dom
            zone = self.benign_zone(rng)
            for qtype, pool in (("A", pool4), ("AAAA", pool6)):
                if not pool or (qtype == "AAAA" and rng.random() > p["aaaa_share"]):
                    continue
                kk = min(k, len(pool))

                def resolve(t, n, qname=qname, qtype=qtype, pool=pool, kk=kk, dom=dom, zone=zone):
                    addrs = Rng(self.seed, "big-answer", qname, qtype, n).sample(pool, kk)
                    ans = [(qname, qtype, p["ttl"], a) for a in addrs]
                    self.tr.emit(t, qname, qtype, "NOERROR", ans, dom, zone)
                    return p["ttl"]

                qrng = Rng(self.seed, "big-demand", qname, qtype)
                self.tr.demand(qrng, self.D(qrng.uniform(0, 0.02)), self.tr.end,
                               qrng.loguniform(*p["rate"]), resolve)

    # -- 11. static background -------------------------------------------
    # Ordinary sites: 1-2 fixed addresses at one hoster, TTL 300-86400
    # (the brief); some answer through a www CNAME, some have AAAA, the
    # rest answer AAAA queries with NODATA (negative TTL = SOA minimum,
    # RFC 2308), and a few queries hit names that do not exist (NXDOMAIN).
    # Assumptions: demand from one query in two hours to one every 30 s.
    STATIC = dict(domains=160, ttls=(300, 600, 1800, 3600, 3600, 14400, 86400), cname_share=0.4,
                  aaaa_share=0.3, aaaa_ask=0.6, neg_ttl=(300, 900, 3600), nx_rate=1 / 5400,
                  rate=(1 / 7200, 1 / 30))

    def static(self):
        p = self.STATIC
        for i in range(p["domains"]):
            rng = Rng(self.seed, "static", i)
            dom = self.names.domain("static", i)
            self.tr.label(dom, "static", False, None, None)
            asn, cc = rng.choice(HOSTING)
            nets = self.geo.networks(asn, cc, max_prefix=24)
            addrs = [self.geo.pick(rng, nets)[0] for _ in range(rng.choice([1, 1, 1, 2]))]
            v6n = self.geo.networks(asn, cc, version=6, max_prefix=64)
            has6 = bool(v6n) and rng.random() < p["aaaa_share"]
            addrs6 = [self.geo.pick(rng, v6n)[0]] if has6 else []
            ttl = rng.choice(p["ttls"])
            cname = rng.random() < p["cname_share"]
            qname = "www." + dom if cname or rng.random() < 0.5 else dom
            owner = dom if cname else qname
            cname_ttl = rng.choice(p["ttls"])
            neg = rng.choice(p["neg_ttl"])
            zone = self.benign_zone(rng)
            rate = rng.loguniform(*p["rate"])
            t0 = self.D(rng.uniform(0, 0.8))
            for qtype in ("A", "AAAA"):
                if qtype == "AAAA" and rng.random() > p["aaaa_ask"]:
                    continue
                data = addrs if qtype == "A" else addrs6

                def resolve(t, n, qname=qname, qtype=qtype, data=data, ttl=ttl, owner=owner, cname=cname,
                            cname_ttl=cname_ttl, neg=neg, dom=dom, zone=zone, state={"exp": -1.0}):
                    # NODATA is cached for the negative TTL (RFC 2308); a
                    # cached CNAME is served with its remaining TTL.
                    life = ttl if data else neg
                    ans = []
                    if cname:
                        if t >= state["exp"]:
                            state["exp"] = t + cname_ttl
                        left = max(1, int(state["exp"] - t))
                        ans.append((qname, "CNAME", left, owner))
                        life = min(life, left)
                    ans += [(owner, qtype, ttl, a) for a in data]
                    self.tr.emit(t, qname, qtype, "NOERROR", ans, dom, zone)
                    return life

                qrng = Rng(self.seed, "static-demand", qname, qtype)
                self.tr.demand(qrng, t0 + (0 if qtype == "A" else qrng.uniform(0, 0.05)), self.tr.end,
                               rate, resolve)
            # Typos and stale links: names that do not exist.
            nx = Rng(self.seed, "static-nx", dom)
            t = t0 + nx.expo(1 / p["nx_rate"])
            while t < self.tr.end:
                q = "%s.%s" % (rnd_label(nx, 3, 8), dom)
                self.tr.emit(round(t, 3), q, "A", "NXDOMAIN", [], dom, zone)
                t += nx.expo(1 / p["nx_rate"])

    def build(self):
        # Order matters only for which scenario gets an address first; it is
        # fixed, so output is deterministic.
        self.stop_djvu()
        self.botnets()
        self.double_flux()
        self.gamaredon()
        self.pool_overlap()
        self.cdn()
        self.cloud_lb()
        self.volunteer_pool()
        self.dyndns()
        self.big_sites()
        self.static()
        return self.tr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--hours", type=float, default=6.0, help="simulated time in hours (default 6)")
    ap.add_argument("--start", type=int, default=DEFAULT_START,
                    help="trace start, seconds since the epoch (default %d)" % DEFAULT_START)
    ap.add_argument("--location-db", default=DEFAULT_LOCATION_DB, help="libloc database")
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args(argv)
    if args.hours <= 0:
        ap.error("--hours must be positive")

    began = _time.monotonic()
    geo = Geo(args.location_db)
    tr = Builder(args.seed, args.hours, geo, args.start).build()
    meta = {
        "generator_version": GENERATOR_VERSION,
        "resolver_country": RESOLVER_COUNTRY,
        "location_db": {"created_at": geo.db.created_at, "vendor": geo.db.vendor},
    }
    domains = tr.write(args.out, meta)
    n_flux = sum(1 for v in domains.values() if v["label"] == "flux")
    print("generate: %d resolutions, %d domains (%d flux, %d benign) -> %s/trace.jsonl, "
          "%s/labels.json in %.1f s" % (len(tr.events), len(domains), n_flux, len(domains) - n_flux,
                                         args.out, args.out, _time.monotonic() - began), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
