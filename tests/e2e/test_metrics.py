"""The module's Prometheus endpoint (metrics-address), scraped from a real
Unbound after it has observed and blocked a flux domain."""

import unittest
import urllib.request

from e2e_common import conf_text, is_nxdomain, resolve_until, start_resolver
from fluxtest import free_port, query


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


class Metrics(unittest.TestCase):
    def test_counters_follow_what_the_resolver_does(self):
        port = free_port()
        env = start_resolver(conf_text("nxdomain", "metrics-address: 127.0.0.1:%d\n" % port))
        try:
            before = scrape(port)
            self.assertEqual(before["fluxguard_resolutions_observed_total"], 0)
            self.assertEqual(before["fluxguard_domains_blocked"], 0)
            self.assertGreater(before["fluxguard_memory_bytes"], 0)
            resolutions, blocked = resolve_until(env.unbound.port, is_nxdomain, label="m")
            self.assertIsNotNone(blocked, env.logs())
            query("again.flux.test", "A", env.unbound.port)
            after = scrape(port)
            # The last resolution was answered blocked before any recursion;
            # every one before it went upstream and was observed.
            self.assertEqual(after["fluxguard_resolutions_observed_total"], resolutions - 1)
            self.assertEqual(after['fluxguard_answers_rewritten_total{policy="nxdomain"}'], 2)
            self.assertEqual(after["fluxguard_domains_blocked"], 1)
            self.assertEqual(after["fluxguard_verdicts_total"], 1)
            self.assertGreaterEqual(after["fluxguard_domains_tracked"], 1)
            # Scored off the worker threads, nothing dropped at this pace;
            # the memory estimate (also what get_mem reports) grew with the
            # state.
            self.assertEqual(after["fluxguard_resolutions_dropped_total"], 0)
            self.assertEqual(after["fluxguard_scoring_queue"], 0)
            self.assertGreater(after["fluxguard_memory_bytes"], before["fluxguard_memory_bytes"])
        finally:
            env.stop(failed=False)


if __name__ == "__main__":
    unittest.main()
