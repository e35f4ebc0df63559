#!/usr/bin/python3
"""Stock Unbound against Unbound + fluxguard, on loopback, with dnsperf.

    /usr/bin/python3 bench/resolver_bench.py [--slices 6] [--seconds 2] ...
    (scripts/bench-resolver.sh builds what it needs and runs this; `make bench`)

The same Unbound binary (build/unbound/install/sbin/unbound) and the same
unbound.conf, except
    (a) stock:     module-config: "validator iterator"
    (b) fluxguard: module-config: "dynlib validator iterator" + dynlib-file
Both resolve the zone "test." from a local NSD (stub-zone), which serves
1,000,000 single-address domains m0000000.test ..., 2 x 1,000 domains of 400
names (w000.s0000.test ... with 4 addresses per domain, w000.c0000.test ...
with one address per name), 1,000 cache-hit names and 200 fast-flux domains
f000.test ... (100 names each, three A records in 198.18.N.0/24, N = 1..10:
the test fixtures map those to ten ASNs and countries, so the module scores
and blocks them).

Workloads; for each, a fresh stock and a fresh fluxguard Unbound run side by
side and dnsperf alternates between them, slice by slice, in ABBA order:
  cache-hit   1,000 names asked over and over (cache warmed first)
  cache-miss  names never asked before, so every query recurses to NSD:
              400 names per domain with 4 addresses (the usual case), 400
              names per domain with ~250 addresses (CDN-like), or a new
              domain each (a new state per answer, and eviction)
  mixed       70 % cache hits, 20 % misses, 10 % fast-flux names (blocked by
              the module within a domain's first few resolutions, NXDOMAIN
              then)
Throughput slices run dnsperf at full speed (100 queries outstanding);
latency slices at a fixed rate well under saturation with dnsperf -v (one
line per response with its latency; p50/p99 are computed from those, since
bookworm's dnsperf 2.10 has no latency histogram). Unbound's CPU time per
query (/proc/PID/stat) is measured too: other load on the machine moves it
much less than QPS.

Memory: each configuration resolves 1,000,000 distinct domains once on a
fresh Unbound; its RSS (/proc/PID/status) is sampled along the way and read
at the end, with `unbound-control stats_noreset` (caches, and
mem.mod.dynlibmod: what the module's get_mem reports).
"""

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISS_NAMES = 1_000_000
HIT_NAMES = 1_000
FLUX_DOMAINS = 200
FLUX_NAMES = 100  # per domain
SHARED_DOMAINS = 1_000
SHARED_NAMES = 400  # per domain


def log(msg):
    print("bench: " + msg, flush=True)


def free_port():
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def dns_ready(port, name="localhost.", timeout=30.0, proc=None):
    """Waits until something on 127.0.0.1:port answers a query."""
    import dns.message
    import dns.query
    deadline = time.monotonic() + timeout
    q = dns.message.make_query(name, "A")
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s" % proc.returncode)
        try:
            dns.query.udp(q, "127.0.0.1", port=port, timeout=0.3)
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("nothing answers on port %d" % port)


def stop(proc, grace=10.0):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------
# Zone and query files
# --------------------------------------------------------------------------

def miss(i):
    return "m%07d.test" % i


def hit(i):
    return "h%04d.hit.test" % i


def flux(d, k):
    return "n%02d.f%03d.test" % (k, d)


def shared(d, k, kind="s"):
    """Name k of domain d: kind "s" domains answer with 4 addresses in all,
    kind "c" (CDN-like) ones with a different address per name."""
    return "w%03d.%s%04d.test" % (k, kind, d)


def write_zone(path):
    with open(path, "w") as f:
        f.write("$ORIGIN test.\n$TTL 300\n"
                "@ 3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n"
                "@ 3600 IN NS ns.test.\nns 3600 IN A 127.0.0.1\n")
        # Single-address domains, TTL 300: evidence for the scorer (under its
        # ttl-ceiling), each its own registrable domain ("test" is no public
        # suffix, so libpsl's default rule makes m0000001.test one).
        f.writelines("m%07d IN A 192.0.2.%d\n" % (i, i % 254 + 1) for i in range(MISS_NAMES))
        f.writelines("h%04d.hit 3600 IN A 192.0.2.%d\n" % (i, i % 254 + 1)
                     for i in range(HIT_NAMES))
        # Many names in fewer domains (400 each), as most cache misses are:
        # names of domains the resolver has seen before. s-domains use 4
        # addresses between their names; c-domains (CDN-like) a different one
        # per name, so the module ends up holding ~250 addresses for each
        # (its per-domain cap is 256).
        f.writelines("w%03d.s%04d IN A 192.0.2.%d\n" % (k, d, (4 * d + k % 4) % 254 + 1)
                     for d in range(SHARED_DOMAINS) for k in range(SHARED_NAMES))
        f.writelines("w%03d.c%04d IN A 192.0.2.%d\n" % (k, d, (k + d) % 254 + 1)
                     for d in range(SHARED_DOMAINS) for k in range(SHARED_NAMES))
        # Fast flux: three /24s of 198.18.0.0/16 per name, moving on by three
        # from one name to the next, TTL 60.
        for d in range(FLUX_DOMAINS):
            for k in range(FLUX_NAMES):
                for j in range(3):
                    n = (3 * k + j + d) % 10 + 1
                    f.write("n%02d.f%03d 60 IN A 198.18.%d.%d\n" % (k, d, n, k % 250 + 1))


def write_queries(path, names):
    with open(path, "w") as f:
        f.writelines(n + " A\n" for n in names)


def chunks(names, count, prefix, work):
    """Splits names into `count` query files; returns their paths."""
    size = len(names) // count
    paths = []
    for i in range(count):
        path = work / ("%s-%d.txt" % (prefix, i))
        write_queries(path, names[i * size:(i + 1) * size])
        paths.append(path)
    return paths


def make_query_files(work, args):
    """{workload: (throughput files, latency files)}, one file per slice.
    Slice i of stock and slice i of fluxguard read the same file."""
    rng = random.Random(1)
    files = {}
    hits = [hit(i) for i in range(HIT_NAMES)]
    rng.shuffle(hits)
    write_queries(work / "q-hit.txt", hits)
    files["warm"] = work / "q-hit.txt"
    # cache-hit: the 1,000 names in random order, repeated by dnsperf.
    files["hit"] = ([files["warm"]] * args.slices, [files["warm"]] * args.latency_slices)
    # cache-miss, names of 1,000 domains: throughput from names 0-339 of
    # each domain, latency from names 340-399. Every name is asked once per
    # Unbound, so every query is a cache miss.
    for workload, kind in (("shared", "s"), ("cdn", "c")):
        tput = [shared(d, k, kind) for d in range(SHARED_DOMAINS) for k in range(340)]
        lat = [shared(d, k, kind) for d in range(SHARED_DOMAINS)
               for k in range(340, SHARED_NAMES)]
        rng.shuffle(tput)
        rng.shuffle(lat)
        files[workload] = (chunks(tput, args.slices, "q-" + workload, work),
                           chunks(lat, args.latency_slices, "q-%s-latency" % workload, work))
    # cache-miss, a new domain per name: throughput from [0, 600k), latency
    # from [600k, 700k).
    tput = [miss(i) for i in range(600_000)]
    lat = [miss(i) for i in range(600_000, 700_000)]
    rng.shuffle(tput)
    rng.shuffle(lat)
    files["miss"] = (chunks(tput, args.slices, "q-miss", work),
                     chunks(lat, args.latency_slices, "q-miss-latency", work))
    # mixed: 70 % hits, 20 % misses (names of the 1,000 domains), 10 % flux
    # names (200 domains, each blocked by the module within a few resolutions).
    fluxes = [flux(d, k) for d in range(FLUX_DOMAINS) for k in range(FLUX_NAMES)]
    misses = [shared(d, k) for d in range(SHARED_DOMAINS) for k in range(SHARED_NAMES)]
    rng.shuffle(misses)
    m = 0

    def mixed(count):
        nonlocal m
        out = []
        for _ in range(count):
            r = rng.random()
            if r < 0.70:
                out.append(rng.choice(hits))
            elif r < 0.90:
                out.append(misses[m % len(misses)])
                m += 1
            else:
                out.append(rng.choice(fluxes))
        return out

    files["mixed"] = (chunks(mixed(200_000 * args.slices), args.slices, "q-mixed", work),
                      chunks(mixed(15_000 * args.latency_slices), args.latency_slices,
                             "q-mixed-latency", work))
    allm = [miss(i) for i in range(args.memory_names)]
    rng.shuffle(allm)
    files["memory"] = work / "q-memory.txt"
    write_queries(files["memory"], allm)
    return files


class Nsd:
    def __init__(self, work, zone):
        self.work, self.zone = work, zone
        self.port = free_port()
        self.proc = None

    def start(self):
        conf = self.work / "nsd.conf"
        conf.write_text(f"""server:
    ip-address: 127.0.0.1@{self.port}
    username: ""
    chroot: ""
    zonesdir: "{self.work}"
    database: ""
    zonelistfile: "{self.work}/nsd.zonelist"
    xfrdfile: "{self.work}/nsd.xfrd"
    pidfile: "{self.work}/nsd.pid"
    logfile: "{self.work}/nsd.log"
    server-count: 1
    verbosity: 1
    hide-version: yes
remote-control:
    control-enable: no
zone:
    name: "test."
    zonefile: "{self.zone.name}"
""")
        self.proc = subprocess.Popen(["nsd", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.work / "nsd.stderr", "w"))
        dns_ready(self.port, "m0000000.test.", timeout=120, proc=self.proc)
        return self

    def stop(self):
        stop(self.proc)


class Unbound:
    def __init__(self, args, work, nsd_port, with_module):
        self.args, self.work = args, work
        self.with_module = with_module
        self.nsd_port = nsd_port
        self.name = "fluxguard" if with_module else "stock"
        self.proc = None

    def start(self):
        self.port = free_port()
        self.control_port = free_port()
        while self.control_port == self.port:
            self.control_port = free_port()
        self.conf = self.work / ("unbound-%s.conf" % self.name)
        modules = "dynlib validator iterator" if self.with_module else "validator iterator"
        text = f"""server:
    interface: 127.0.0.1
    port: {self.port}
    num-threads: {self.args.threads}
    module-config: "{modules}"
    do-not-query-localhost: no
    chroot: ""
    username: ""
    directory: "{self.work}"
    pidfile: "{self.work}/unbound-{self.name}.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    extended-statistics: yes
    # Unbound serves "test." itself (RFC 6761); the stub-zone below is used instead.
    local-zone: "test." nodefault
    domain-insecure: "test."
remote-control:
    control-enable: yes
    control-interface: 127.0.0.1
    control-port: {self.control_port}
    control-use-cert: no
stub-zone:
    name: "test."
    stub-addr: 127.0.0.1@{self.nsd_port}
"""
        if self.with_module:
            text += f'dynlib:\n    dynlib-file: "{self.args.module}"\n'
        self.conf.write_text(text)
        env = dict(os.environ)
        env["FLUXGUARD_CONF"] = str(self.args.fluxguard_conf)
        if self.with_module:
            # Its own copy with a metrics endpoint: how many answers went unscored.
            self.metrics_port = free_port()
            conf = self.work / ("fluxguard-%s.conf" % self.name)
            conf.write_text(self.args.fluxguard_conf.read_text() +
                            "metrics-address: 127.0.0.1:%d\n" % self.metrics_port)
            env["FLUXGUARD_CONF"] = str(conf)
        self.log_path = self.work / ("unbound-%s.log" % self.name)
        self.proc = subprocess.Popen([self.args.unbound, "-d", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"),
                                     env=env)
        dns_ready(self.port, proc=self.proc)
        if self.with_module and "fluxguard: loaded" not in self.log_path.read_text():
            raise RuntimeError("fluxguard did not load:\n" + self.log_path.read_text())
        return self

    def stop(self):
        stop(self.proc)

    def rss_kb(self):
        """(VmRSS, VmHWM) in KiB."""
        status = Path("/proc/%d/status" % self.proc.pid).read_text()
        get = lambda key: int(re.search(r"^%s:\s+(\d+) kB" % key, status, re.M).group(1))
        return get("VmRSS"), get("VmHWM")

    def cpu_seconds(self, thread=None):
        """User + system CPU time of all of Unbound's threads so far, or of
        the threads named `thread` (the module's "fg-scoring")."""
        stats = []
        if thread is None:
            stats.append(Path("/proc/%d/stat" % self.proc.pid))
        else:
            for task in Path("/proc/%d/task" % self.proc.pid).iterdir():
                if (task / "comm").read_text().strip() == thread:
                    stats.append(task / "stat")
        total = 0
        for stat in stats:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stats(self):
        out = subprocess.run([self.args.unbound_control, "-c", str(self.conf), "stats_noreset"],
                             capture_output=True, text=True, check=True).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def scoring_counts(self):
        """(answers handed to the module, answers dropped unscored) so far;
        (0, 0) for stock Unbound."""
        if not self.with_module:
            return 0, 0
        url = "http://127.0.0.1:%d/metrics" % self.metrics_port
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        value = lambda name: float(re.search(r"^%s (\S+)$" % name, text, re.M).group(1))
        return (value("fluxguard_resolutions_observed_total"),
                value("fluxguard_resolutions_dropped_total"))

    def verdicts(self):
        return sum(1 for line in self.log_path.read_text(errors="replace").splitlines()
                   if '"fluxguard_verdict"' in line)


# --------------------------------------------------------------------------
# dnsperf
# --------------------------------------------------------------------------

def dnsperf(port, datafile, seconds, *, rate=None, once=False, runs=None, verbose=False,
            clients=4):
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(datafile),
           "-l", str(seconds), "-c", str(clients), "-q", "100", "-t", "5"]
    if once or runs:
        cmd += ["-n", str(runs or 1)]
    if rate:
        cmd += ["-Q", str(rate)]
    if verbose:
        cmd += ["-v"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    latencies, summary = [], []
    for line in proc.stdout:
        if line.startswith("> "):
            parts = line.split()
            if len(parts) >= 5 and parts[1] != "T":
                latencies.append(float(parts[-1]))
        else:
            summary.append(line)
    proc.wait()
    text = "".join(summary)
    if proc.returncode != 0:
        raise RuntimeError("dnsperf failed:\n" + text)

    def num(pattern, default=None):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else default

    rcodes = dict((k, int(v)) for k, v in
                  re.findall(r"([A-Z]+) (\d+) \(", (re.search(r"Response codes:(.*)", text)
                                                     or [None, ""])[1]))
    return {
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "sent": num(r"Queries sent:\s+(\d+)", 0),
        "completed": num(r"Queries completed:\s+(\d+)", 0),
        "lost": num(r"Queries lost:\s+(\d+)", 0),
        "avg": num(r"Average Latency \(s\):\s+([\d.]+)"),
        "rcodes": rcodes,
        "latencies": latencies,
    }


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# --------------------------------------------------------------------------
# The runs
# --------------------------------------------------------------------------

def run_workload(args, work, nsd, files, workload):
    """Both Unbounds up at once, each fresh; throughput slices and then
    latency slices alternate between them in ABBA order (stock first in
    even slices, fluxguard first in odd ones), so that drift and other
    load on the machine fall on both alike."""
    pair = {"stock": Unbound(args, work, nsd.port, False),
            "fluxguard": Unbound(args, work, nsd.port, True)}
    out = {cfg: {"qps": [], "cpu_us": [], "scoring_us": [], "latencies": [], "lost": 0,
                 "rcodes": {}, "answers": 0, "unscored": 0}
           for cfg in pair}
    try:
        for u in pair.values():
            u.start()
            if workload in ("hit", "mixed"):
                dnsperf(u.port, files["warm"], 30, runs=2)  # the hit names, cached
        tput, lat = files[workload]

        def order(i):
            return ("stock", "fluxguard") if i % 2 == 0 else ("fluxguard", "stock")

        for i, path in enumerate(tput):
            for cfg in order(i):
                u = pair[cfg]
                cpu0, scoring0 = u.cpu_seconds(), u.cpu_seconds("fg-scoring")
                seen0, dropped0 = u.scoring_counts()
                t = dnsperf(u.port, path, args.seconds, once=(workload != "hit"))
                cpu = u.cpu_seconds() - cpu0
                scoring = u.cpu_seconds("fg-scoring") - scoring0
                seen, dropped = u.scoring_counts()
                o = out[cfg]
                o["answers"] += seen - seen0
                o["unscored"] += dropped - dropped0
                o["qps"].append(t["qps"])
                o["cpu_us"].append(cpu / max(t["completed"], 1) * 1e6)
                o["scoring_us"].append(scoring / max(t["completed"], 1) * 1e6)
                o["lost"] += t["lost"]
                for k, v in t["rcodes"].items():
                    o["rcodes"][k] = o["rcodes"].get(k, 0) + v
        for i, path in enumerate(lat):
            for cfg in order(i):
                t = dnsperf(pair[cfg].port, path, args.latency_seconds, rate=args.latency_qps,
                            verbose=True, once=(workload != "hit"))
                out[cfg]["latencies"].extend(t["latencies"])
                out[cfg]["lost"] += t["lost"]
        for cfg, u in pair.items():
            stats = u.stats()
            out[cfg]["cachemiss"] = int(stats.get("total.num.cachemiss", 0))
            out[cfg]["queries"] = int(stats.get("total.num.queries", 0))
            out[cfg]["verdicts"] = u.verdicts()
    finally:
        for u in pair.values():
            u.stop()
    for o in out.values():
        o["p50"] = percentile(o["latencies"], 50)
        o["p99"] = percentile(o["latencies"], 99)
        o["samples"] = len(o["latencies"])
        del o["latencies"]
    out["ratios"] = [b / a for a, b in zip(out["stock"]["qps"], out["fluxguard"]["qps"]) if a]
    return out


def memory_run(args, work, nsd, files, with_module):
    u = Unbound(args, work, nsd.port, with_module).start()
    samples = []
    done = threading.Event()

    def sample():
        start = time.monotonic()
        while not done.wait(1.0):
            try:
                st = u.stats()
                samples.append((time.monotonic() - start, int(st.get("total.num.queries", 0)),
                                u.rss_kb()[0]))
            except Exception:
                pass

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        base = u.rss_kb()[0]
        cpu0 = u.cpu_seconds()
        t = dnsperf(u.port, files["memory"], 600, once=True)
        cpu = u.cpu_seconds() - cpu0
        done.set()
        sampler.join()
        time.sleep(0.5)
        rss, hwm = u.rss_kb()
        stats = u.stats()
    finally:
        done.set()
        u.stop()
    return {
        "qps": t["qps"], "lost": t["lost"], "start_rss": base, "rss": rss, "hwm": hwm,
        "cpu_us": cpu / max(t["completed"], 1) * 1e6,
        "queries": int(stats.get("total.num.queries", 0)),
        "cachemiss": int(stats.get("total.num.cachemiss", 0)),
        "mem_module": int(stats.get("mem.mod.dynlibmod", 0)),
        "mem_msg": int(stats.get("mem.cache.message", 0)),
        "mem_rrset": int(stats.get("mem.cache.rrset", 0)),
        "samples": samples,
    }


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def busy_seconds():
    """CPU seconds all CPUs spent busy since boot (/proc/stat)."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    """CPU seconds of this script and its finished children (Unbound, NSD,
    dnsperf, unbound-control)."""
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": mem / 1024 / 1024,
            "kernel": platform.release(), "load": os.getloadavg()}


def tool_versions(args):
    def first_line(cmd, pattern):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True).stdout + \
                subprocess.run(cmd, capture_output=True, text=True).stderr
        except OSError:
            return "?"
        m = re.search(pattern, out)
        return m.group(1) if m else "?"
    return {
        "unbound": first_line([args.unbound, "-V"], r"Version (\S+)"),
        "dnsperf": first_line(["dnsperf", "-h"], r"Version (\S+)"),
        "nsd": first_line(["nsd", "-v"], r"NSD version (\S+)"),
    }


def report(args, results, memory, mach, versions, elapsed):
    names = {"hit": "cache-hit", "miss": "cache-miss, a new domain each",
             "shared": "cache-miss, 400 names per domain (4 addresses)",
             "cdn": "cache-miss, 400 names per domain (~250 addresses, CDN-like)",
             "mixed": "mixed, 10 % fast flux"}
    qps_target = {"hit": 0.97, "miss": 0.95, "shared": 0.95, "cdn": 0.95, "mixed": None}
    fmt_n = "{:,.0f}".format
    out = []
    out.append("| workload | stock QPS | fluxguard QPS | fluxguard / stock (IQR of the slices) | target "
               "| Unbound CPU µs per query, stock / fluxguard (of which the scoring thread) "
               "| of that, added on the worker threads "
               "| answers left unscored "
               "| latency p50 / p99 (ms), stock | fluxguard | p99 added (ms) | target |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in args.workloads:
        r = results[w]
        a, b = r["stock"], r["fluxguard"]
        ratio = median(r["ratios"])
        tq = qps_target[w]
        target_q = ("≥ %d %%: %s" % (tq * 100, "met" if ratio >= tq else "**not met**")
                    if tq else "none")
        ca, cb = median(a["cpu_us"]), median(b["cpu_us"])
        added = (b["p99"] - a["p99"]) * 1e3
        target_l = "< 0.1: %s" % ("met" if added < 0.1 else "**not met**")
        q1, q3 = percentile(r["ratios"], 25), percentile(r["ratios"], 75)
        scoring = median(b["scoring_us"]) if b.get("scoring_us") else float("nan")
        # What the resolver's own threads pay: the process's CPU without the
        # scoring thread's, slice by slice (on a machine with a core to
        # spare, the part that competes with resolution).
        workers = (median([c - s for c, s in zip(b["cpu_us"], b["scoring_us"])])
                   if b.get("scoring_us") else cb)
        worker_added = "%+.1f µs (%+.0f %%)" % (workers - ca, (workers / ca - 1) * 100 if ca else float("nan"))
        unscored = ("%.1f %% of %s" % (100.0 * b["unscored"] / b["answers"], fmt_n(b["answers"]))
                    if b.get("answers") else "–")
        out.append("| %s | %s | %s | %.1f %% (%.0f–%.0f %%) | %s | %.1f / %.1f (%+.0f %%; %.1f) "
                   "| %s | %s | %.3f / %.3f | %.3f / %.3f | %+.3f | %s |" % (
                       names[w], fmt_n(median(a["qps"])), fmt_n(median(b["qps"])), ratio * 100,
                       q1 * 100, q3 * 100, target_q, ca, cb, (cb / ca - 1) * 100 if ca else float("nan"),
                       scoring, worker_added, unscored,
                       a["p50"] * 1e3, a["p99"] * 1e3, b["p50"] * 1e3, b["p99"] * 1e3, added,
                       target_l))
    if memory:
        a, b = memory["stock"], memory["fluxguard"]
        mib = lambda kb: kb / 1024
        out.append("")
        out.append("| %s distinct domains, each asked once (cache misses) | stock | fluxguard "
                   "| difference |" % fmt_n(args.memory_names))
        out.append("|---|---|---|---|")
        out.append("| Unbound RSS at the end (MiB) | %.1f | %.1f | %+.1f |" % (
            mib(a["rss"]), mib(b["rss"]), mib(b["rss"] - a["rss"])))
        out.append("| Unbound peak RSS, VmHWM (MiB) | %.1f | %.1f | %+.1f |" % (
            mib(a["hwm"]), mib(b["hwm"]), mib(b["hwm"] - a["hwm"])))
        out.append("| RSS after start-up (MiB) | %.1f | %.1f | %+.1f |" % (
            mib(a["start_rss"]), mib(b["start_rss"]), mib(b["start_rss"] - a["start_rss"])))
        out.append("| message + rrset cache, unbound-control (MiB) | %.1f | %.1f | |" % (
            (a["mem_msg"] + a["mem_rrset"]) / 2**20, (b["mem_msg"] + b["mem_rrset"]) / 2**20))
        out.append("| mem.mod.dynlibmod: the module's get_mem (bytes) | | %d | |" % b["mem_module"])
        out.append("| queries / cache misses | %s / %s | %s / %s | |" % (
            fmt_n(a["queries"]), fmt_n(a["cachemiss"]), fmt_n(b["queries"]),
            fmt_n(b["cachemiss"])))
        out.append("| QPS, Unbound CPU µs per query | %s, %.1f | %s, %.1f | |" % (
            fmt_n(a["qps"]), a["cpu_us"], fmt_n(b["qps"]), b["cpu_us"]))
        marks = sorted({m for m in (100_000, 250_000, 500_000, 750_000) if m < args.memory_names}
                       | {args.memory_names})
        out.append("")
        out.append("RSS (MiB) during that run, by queries answered:")
        out.append("")
        out.append("| queries | " + " | ".join(fmt_n(m) for m in marks) + " |")
        out.append("|---|" + "---|" * len(marks))
        for name, r in (("stock", a), ("fluxguard", b)):
            row = []
            for m in marks:
                s = [rss for _, q, rss in r["samples"] if q >= m]
                row.append("%.1f" % mib(s[0] if s else r["rss"]))
            out.append("| %s | %s |" % (name, " | ".join(row)))
    table = "\n".join(out)

    detail = []
    for w in args.workloads:
        r = results[w]
        for cfg in ("stock", "fluxguard"):
            o = r[cfg]
            detail.append("%-7s %-9s QPS %s | CPU µs/q %s | scoring thread µs/q %s | p50 %.3f "
                          "p99 %.3f ms (%d samples) | lost %d | rcodes %s | cache misses %d | "
                          "verdicts %d" % (
                              w, cfg, " ".join("%.0f" % q for q in o["qps"]),
                              " ".join("%.1f" % c for c in o["cpu_us"]),
                              " ".join("%.1f" % c for c in o.get("scoring_us", [])) or "-",
                              o["p50"] * 1e3, o["p99"] * 1e3, o["samples"], o["lost"],
                              ",".join("%s:%d" % kv for kv in sorted(o["rcodes"].items())),
                              o["cachemiss"], o["verdicts"]))
        detail.append("%-7s ratios    %s" % (w, " ".join("%.3f" % x for x in r["ratios"])))
    m = mach
    header = (
        "Machine: %d CPUs (nproc), %s, %.1f GiB RAM, Linux %s; load average %.2f before the "
        "run, and other processes kept %.2f of the %d CPUs busy during it. Unbound %s (build/unbound), "
        "NSD %s, dnsperf %s, all on loopback; Unbound num-threads %d. Per workload %d "
        "throughput slices of up to %d s (dnsperf, 100 queries outstanding) and %d latency "
        "slices of %d s at %d queries/s (dnsperf -v, p50/p99 over all responses), alternating "
        "stock/fluxguard in ABBA order; QPS and CPU are medians of the slices, the ratio is the "
        "median of the per-slice ratios. Run time %.0f s.\n\nCommand: `%s`"
        % (m["nproc"], m["cpu"], m["mem_gib"], m["kernel"], m["load"][0],
           m["others"], m["nproc"], versions["unbound"], versions["nsd"], versions["dnsperf"],
           args.threads, args.slices, args.seconds, args.latency_slices, args.latency_seconds,
           args.latency_qps, elapsed, args.command))
    return table, "\n".join(detail), header


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unbound", default=str(ROOT / "build/unbound/install/sbin/unbound"))
    ap.add_argument("--unbound-control", default=str(ROOT / "build/unbound/install/sbin/unbound-control"))
    ap.add_argument("--module", default=str(ROOT / "build/cmake/module/libfluxguard.so"))
    ap.add_argument("--fixtures", default=str(ROOT / "build/cmake/tests/fixtures"))
    ap.add_argument("--work", default=str(ROOT / "build/bench"))
    ap.add_argument("--slices", type=int, default=10, help="throughput slices per configuration")
    ap.add_argument("--seconds", type=int, default=2, help="throughput slice length (at most)")
    ap.add_argument("--latency-slices", type=int, default=4)
    ap.add_argument("--latency-seconds", type=int, default=2)
    ap.add_argument("--latency-qps", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=2, help="Unbound num-threads")
    ap.add_argument("--workloads", default="hit,shared,cdn,miss,mixed")
    ap.add_argument("--memory-names", type=int, default=MISS_NAMES)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--command", default="make bench")
    ap.add_argument("--readme", help="replace the table between the markers in this file")
    ap.add_argument("--from-json", help="no runs: print (and --readme) the report of a "
                    "resolver.json an earlier run wrote")
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        for key, value in saved["args"].items():
            setattr(args, key, value)
        finish(args, saved["results"], saved["memory"], saved["machine"], saved["versions"],
               saved["elapsed"], Path(args.from_json).parent, save=False)
        return
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.memory_names = min(args.memory_names, MISS_NAMES)
    t0 = time.monotonic()
    busy0, own0 = busy_seconds(), own_seconds()
    mach = machine()
    versions = tool_versions(args)

    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    for stale in list(work.glob("unbound-*")) + list(work.glob("q-*.txt")):
        stale.unlink()
    args.fluxguard_conf = work / "fluxguard.conf"
    fixtures = Path(args.fixtures)
    # The module's configuration: defaults (max-domains 100000, 256 addresses
    # per domain), the unit tests' mmdb fixtures (198.18.N.0/24 -> ASN 64600+N).
    args.fluxguard_conf.write_text(
        "policy: nxdomain\nasn-database: %s\ncountry-database: %s\n"
        % (fixtures / "test-asn.mmdb", fixtures / "test-country.mmdb"))

    zone = work / "test.zone"
    stamp = work / "test.zone.v4"
    if not stamp.exists():
        log("writing the zone (%d names)" % (MISS_NAMES + HIT_NAMES + FLUX_DOMAINS * FLUX_NAMES
                                               + 2 * SHARED_DOMAINS * SHARED_NAMES))
        write_zone(zone)
    stamp.touch()
    log("writing the query files")
    files = make_query_files(work, args)

    nsd = Nsd(work, zone).start()
    log("NSD on 127.0.0.1:%d serves test. (%s)" % (nsd.port, zone))
    results = {}
    memory = {}
    try:
        for w in args.workloads:
            log("%s: stock and fluxguard, %d + %d slices each" % (w, args.slices,
                                                                  args.latency_slices))
            r = results[w] = run_workload(args, work, nsd, files, w)
            for cfg in ("stock", "fluxguard"):
                o = r[cfg]
                log("%-6s %-9s %8.0f QPS  %5.1f CPU µs/q  p50 %.3f ms  p99 %.3f ms  lost %d  %s%s"
                    % (w, cfg, median(o["qps"]), median(o["cpu_us"]), o["p50"] * 1e3,
                       o["p99"] * 1e3, o["lost"],
                       " ".join("%s %d" % kv for kv in sorted(o["rcodes"].items())),
                       ("  verdicts %d" % o["verdicts"]) if cfg == "fluxguard" else ""))
            log("%-6s fluxguard/stock QPS %.1f %%" % (w, 100 * median(r["ratios"])))
        if not args.no_memory:
            for with_module in (False, True):
                cfg = "fluxguard" if with_module else "stock"
                log("memory: %s, %s distinct domains" % (cfg, "{:,}".format(args.memory_names)))
                memory[cfg] = memory_run(args, work, nsd, files, with_module)
                log("memory: %s RSS %.1f MiB (peak %.1f), %.0f QPS" % (
                    cfg, memory[cfg]["rss"] / 1024, memory[cfg]["hwm"] / 1024, memory[cfg]["qps"]))
    finally:
        nsd.stop()
    # What the rest of the machine used meanwhile: the benchmark's figures
    # are only as good as this is small.
    elapsed = time.monotonic() - t0
    mach["others"] = max(0.0, (busy_seconds() - busy0) - (own_seconds() - own0)) / elapsed

    finish(args, results, memory, mach, versions, elapsed, work)


def finish(args, results, memory, mach, versions, elapsed, work, save=True):
    table, detail, header = report(args, results, memory, mach, versions, elapsed)
    text = "%s\n\n%s\n" % (header, table)
    if save:
        (work / "resolver.md").write_text(text + "\nPer slice:\n\n```\n" + detail + "\n```\n")
        kept = ("slices", "seconds", "latency_slices", "latency_seconds", "latency_qps",
                "threads", "workloads", "memory_names", "command")
        (work / "resolver.json").write_text(json.dumps(
            {"machine": mach, "versions": versions, "results": results, "memory": memory,
             "elapsed": elapsed, "args": {k: getattr(args, k) for k in kept}},
            indent=1, default=str))
    print()
    print("Per slice (throughput slices in order; ratios fluxguard/stock):")
    print(detail)
    print()
    print(text)
    if args.readme:
        readme = Path(args.readme)
        body = readme.read_text()
        begin, end = "<!-- bench-resolver:begin -->", "<!-- bench-resolver:end -->"
        if begin in body and end in body:
            pre, rest = body.split(begin, 1)
            _, post = rest.split(end, 1)
            readme.write_text(pre + begin + "\n" + text + end + post)
            log("table written into %s" % readme)


if __name__ == "__main__":
    main()
