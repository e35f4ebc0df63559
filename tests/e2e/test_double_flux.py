"""Double flux through real Unbound: dflux.test rotates its NS set, whose
glue spreads over many networks, while its address answer stays in one
network. It must be blocked on the name-server evidence alone (the resolver
learns the NS set and glue from NS answers, as it does from referrals on the
internet)."""

import json
import unittest


from e2e_common import conf_text, is_nxdomain, rcode_name, resolve_until, start_resolver
from fluxtest import query


def verdicts(log):
    out = []
    for line in log.splitlines():
        start = line.find('{"')
        if start >= 0 and '"fluxguard_verdict"' in line:
            out.append(json.loads(line[start:]))
    return out


class DoubleFlux(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = start_resolver(conf_text("nxdomain"))
        cls.port = cls.env.unbound.port

    @classmethod
    def tearDownClass(cls):
        cls.env.stop(failed=False)

    def test_double_flux_blocked_with_name_server_evidence(self):
        # Clients (and the resolver itself on the internet) ask for the NS
        # set; its glue rotates every 2 s.
        _, blocked = resolve_until(
            self.port, is_nxdomain, label="h", domain="dflux.test",
            before=lambda i: query("dflux.test", "NS", self.port),
            each=lambda i, r: self.assertEqual(rcode_name(r), "NOERROR"))
        self.assertIsNotNone(blocked, "dflux.test was not blocked:\n" + self.env.logs())

        found = [v for v in verdicts(self.env.unbound.logs()) if v["domain"] == "dflux.test"]
        self.assertEqual(len(found), 1, self.env.unbound.logs())
        verdict = found[0]
        parts = {p["feature"]: p for p in verdict["parts"]}
        self.assertGreaterEqual(len(verdict["name_servers"]), 2, verdict)
        self.assertTrue(all(n.endswith(".dflux.test") for n in verdict["name_servers"]))
        self.assertGreaterEqual(parts["ns_distinct_asns"]["value"], 2, verdict)
        self.assertGreater(parts["ns_distinct_asns"]["contribution"], 0, verdict)
        self.assertAlmostEqual(sum(p["contribution"] for p in verdict["parts"]),
                               verdict["score"], places=6)
        self.assertEqual(rcode_name(query("anything.dflux.test", "A", self.port)), "NXDOMAIN")


if __name__ == "__main__":
    unittest.main()
