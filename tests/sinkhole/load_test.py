#!/usr/bin/python3
"""Load test of fluxguard-sinkhole (run by hand, not by ctest).

Starts a redis-server and the sinkhole on loopback, opens --idle idle
connections (5,000 by default) and keeps them open, then for --seconds runs
--workers client processes that each connect, send an HTTP request, read the
block page and close, as fast as they can. Prints:

  - connections per second handled (answered and recorded), and the
    sinkhole's CPU time per connection, since on a small machine the
    clients compete with the sinkhole for the same cores;
  - the sinkhole's RSS before, with the idle connections open, and its peak
    (VmHWM) at the end;
  - that every connection was recorded (records file and Redis stream).

    FLUXGUARD_SINKHOLE=build/cmake/sinkhole/fluxguard-sinkhole \\
        /usr/bin/python3 tests/sinkhole/load_test.py [--idle 5000] [--seconds 10]
"""

import argparse
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sinkhole_harness import RedisServer, Sinkhole, raise_nofile, wait_until  # noqa: E402

REQUEST = b"GET /load HTTP/1.1\r\nHost: load.flux.example\r\nUser-Agent: load-test\r\n\r\n"


def status_kib(pid, field):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(port, host, stop_at, results):
    """Sequential connect / request / read block page / close until stop_at."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    done = failed = 0
    while time.monotonic() < stop_at:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((host, port))
            s.sendall(REQUEST)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"HTTP/1.1 403"):
                done += 1
            else:
                failed += 1
        except OSError:
            failed += 1
        finally:
            s.close()
    results.put((done, failed))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=int, default=5000, help="idle connections held open")
    parser.add_argument("--seconds", type=float, default=10, help="length of the rate phase")
    parser.add_argument("--workers", type=int, default=4, help="client processes in the rate phase")
    parser.add_argument("--no-redis", action="store_true", help="records to the file only")
    args = parser.parse_args()
    if not os.environ.get("FLUXGUARD_SINKHOLE"):
        sys.exit("set FLUXGUARD_SINKHOLE to the fluxguard-sinkhole binary")

    limit = raise_nofile(args.idle + 1000)
    if limit < args.idle + 100:
        sys.exit("descriptor limit %d is too low for %d idle connections" % (limit, args.idle))

    with tempfile.TemporaryDirectory(prefix="sinkhole-load-") as tmp:
        redis = None if args.no_redis else RedisServer().start()
        sinkhole = Sinkhole(tmp, redis_port=redis.port if redis else None,
                            idle_timeout=600, max_connection_time=900,
                            max_connections=args.idle + 10000, max_records_per_second=0,
                            queue_size=1000000)
        sinkhole.start()
        pid = sinkhole.proc.pid
        try:
            rss_start = status_kib(pid, "VmRSS")

            idle = []
            t0 = time.monotonic()
            for i in range(args.idle):
                host = "127.0.0.1" if i % 2 == 0 else "::1"
                s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
                s.connect((host, sinkhole.tcp_port))
                idle.append(s)
            open_time = time.monotonic() - t0
            time.sleep(1)
            rss_idle = status_kib(pid, "VmRSS")

            cpu_before = cpu_seconds(pid)
            results = multiprocessing.Queue()
            stop_at = time.monotonic() + args.seconds
            procs = [multiprocessing.Process(
                target=worker,
                args=(sinkhole.tls_port if w % 2 else sinkhole.tcp_port,
                      "::1" if w % 2 else "127.0.0.1", stop_at, results))
                for w in range(args.workers)]
            started = time.monotonic()
            for p in procs:
                p.start()
            totals = [results.get(timeout=args.seconds + 60) for _ in procs]
            for p in procs:
                p.join(30)
            elapsed = time.monotonic() - started
            cpu_used = cpu_seconds(pid) - cpu_before
            done = sum(t[0] for t in totals)
            failed = sum(t[1] for t in totals)

            still_open = sum(1 for s in idle if s.fileno() >= 0)
            rss_after = status_kib(pid, "VmRSS")
            rss_peak = status_kib(pid, "VmHWM")
            for s in idle:
                s.close()

            wait_until(lambda: len(sinkhole.records_raw().splitlines()) >= done + args.idle, 120,
                       interval=0.5, what="every connection recorded")
            status = sinkhole.stop(signal.SIGTERM, timeout=120)
            lines = len(sinkhole.records_raw().splitlines())
            stream = None
            if redis:
                r = redis.client()
                stream = r("XLEN", "fluxguard:sinkhole:hits")
                r.close()
        finally:
            if sinkhole.proc.poll() is None:
                sinkhole.stop(signal.SIGKILL)
            if redis:
                redis.stop()

    print("fluxguard-sinkhole load test (%d CPUs, %d client processes, Redis %s)"
          % (os.cpu_count(), args.workers, "off" if args.no_redis else "on"))
    print("  idle connections opened:     %d in %.1f s (%d held open during the rate phase)"
          % (args.idle, open_time, still_open))
    print("  RSS at start:                %6.1f MiB" % (rss_start / 1024))
    print("  RSS with %d idle open:     %6.1f MiB  (%.0f bytes per idle connection)"
          % (args.idle, rss_idle / 1024, (rss_idle - rss_start) * 1024 / max(1, args.idle)))
    print("  RSS after the rate phase:    %6.1f MiB" % (rss_after / 1024))
    print("  peak RSS (VmHWM):            %6.1f MiB" % (rss_peak / 1024))
    print("  connections handled:         %d in %.1f s = %.0f per second (%d client errors)"
          % (done, elapsed, done / elapsed, failed))
    print("  sinkhole CPU:                %.2f s = %.0f%% of one core, %.0f us per connection"
          % (cpu_used, 100 * cpu_used / elapsed, 1e6 * cpu_used / max(1, done)))
    print("  records in file:             %d (expected %d)" % (lines, done + args.idle))
    if stream is not None:
        print("  entries in Redis stream:     %d" % stream)
    print("  exit status after SIGTERM:   %s" % status)
    return 0 if status == 0 and lines == done + args.idle and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
