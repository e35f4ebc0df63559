"""show, status and hosts over per-domain and per-host keys written in the
documented layouts (store/README.md; the sinkhole's per-host keys)."""

import json
import time
import unittest

from clitest import FluxctlTestCase

NOW = int(time.time()) - 60
EVIDENCE = json.dumps({
    "event": "fluxguard_verdict", "action": "block", "domain": "flux.example",
    "trigger": "www.flux.example", "time": NOW, "first_seen": NOW - 600, "score": 32.4,
    "threshold": 0.0, "resolutions": 5, "min_ttl": 60,
    "parts": [
        {"feature": "distinct_addresses", "value": 3.0, "weight": 1.32, "factor": 0.9, "contribution": 3.564},
        {"feature": "distinct_asns", "value": 3.0, "weight": 18.54, "factor": 0.9, "contribution": 50.058},
        {"feature": "pool_share", "value": 0.6, "weight": 200.0, "factor": 1.0, "contribution": 120.0},
        {"feature": "bias", "value": 1.0, "weight": -142.38, "factor": 1.0, "contribution": -142.38}],
    "addresses": [], "name_servers": ["ns1.flux.example"],
    "names": ["www.flux.example", "cdn.flux.example"]})


class ShowHostsTest(FluxctlTestCase):
    def seed(self):
        # Fixture plan (tests/fixtures/make-test-mmdb.pl): 198.18.N.0/24 and
        # 2001:db8:N::/48 are AS6460N; 1 RU, 2 UA, 3 BR.
        self.seed_detected("flux.example", NOW, 32.4,
                           ["198.18.1.5", "198.18.2.6", "2001:db8:3::7"],
                           asns=[64601, 64602, 64603], ccs=["RU", "UA", "BR"],
                           continents=["EU", "SA"],
                           ns=["ns1.flux.example"], resolutions=5, min_ttl=60, evidence=EVIDENCE)
        self.r("ZADD", "fluxguard:pool:ns", NOW, "ns1.flux.example")
        self.seed_detected("static.example", NOW, None, ["192.0.2.10"], asns=[64800], ccs=["NL"])

    def test_show(self):
        self.seed()
        out = self.fluxctl("show", "flux.example").stdout
        self.assertIn("domain        flux.example\n", out)
        self.assertIn("source detected, score 32.4", out)
        self.assertIn("reason        fast flux: flux.example score 32.4 > 0\n", out)
        self.assertIn("resolutions   5\n", out)
        self.assertIn("min TTL       60 s\n", out)
        self.assertIn("ASNs          64601, 64602, 64603\n", out)
        self.assertIn("continents    EU, SA\n", out)
        self.assertIn("prefixes      198.18.1.0/24, 198.18.2.0/24, 2001:db8:3::/48\n", out)
        self.assertIn("addresses: 3, 3 in the flux pool\n", out)
        rows = {line.split()[0]: line.split() for line in out.splitlines()
                if line.startswith(("198.", "2001:"))}
        self.assertEqual(rows["198.18.1.5"][1:3], ["64601", "RU"])
        self.assertEqual(rows["198.18.2.6"][1:3], ["64602", "UA"])
        self.assertEqual(rows["2001:db8:3::7"][1:3], ["64603", "BR"])
        self.assertEqual(rows["198.18.1.5"][4], "yes,")
        self.assertRegex(out, r"ns1\.flux\.example\s+\S+Z\s+yes, ")
        # Every score part of the stored verdict, and their sum.
        self.assertRegex(out, r"distinct_asns\s+3\.000\s+18\.54\s+0\.900\s+50\.06")
        self.assertRegex(out, r"pool_share\s+0\.600\s+200\.00\s+1\.000\s+120\.00")
        self.assertRegex(out, r"\nscore\s+31\.24\n")
        self.assertIn("names seen    www.flux.example, cdn.flux.example\n", out)

        data = json.loads(self.fluxctl("show", "flux.example", "--json").stdout)
        self.assertEqual(data["block"]["source"], "detected")
        self.assertEqual(data["block"]["evidence"]["parts"][1]["feature"], "distinct_asns")
        self.assertEqual({a["address"]: (a["asn"], a["country"], a["in_pool"]) for a in data["addresses"]},
                         {"198.18.1.5": (64601, "RU", True), "198.18.2.6": (64602, "UA", True),
                          "2001:db8:3::7": (64603, "BR", True)})
        self.assertEqual(data["meta"]["resolutions"], 5)
        self.assertEqual([c["value"] for c in data["countries"]], ["BR", "RU", "UA"])
        self.assertEqual([(c["value"], c["last_seen"]) for c in data["continents"]],
                         [("EU", NOW), ("SA", NOW)])

        # A name below: the registrable domain's state, the covering block.
        out = self.fluxctl("show", "WWW.Flux.Example").stdout
        self.assertIn("domain        www.flux.example (fleet state is kept for flux.example)", out)
        self.assertIn("blocked       through flux.example, since", out)
        # Tracked, not blocked; then nothing at all.
        out = self.fluxctl("show", "static.example").stdout
        self.assertIn("blocked       no\n", out)
        self.assertRegex(out, r"192\.0\.2\.10\s+64800\s+NL\s+\S+Z\s+no")
        out = self.fluxctl("show", "never.example").stdout
        self.assertIn("tracked       no", out)
        self.assertIn("addresses: 0, 0 in the flux pool", out)

    def test_status_counts(self):
        self.seed()
        out = self.fluxctl("status").stdout
        self.assertIn("tracked domains    2\n", out)
        self.assertIn("blocked domains    1 (1 detected)\n", out)
        self.assertIn("flux pool          3 addresses, 1 name servers\n", out)
        self.assertIn("instances          0 with a heartbeat in fluxguard:instances within 90 s\n",
                      out)

    def test_status_lists_instances(self):
        now = int(time.time())
        a = self.seed_instance(b"res1", 4242, now - 3600, now - 5, submitted=1200, dropped=3,
                               errors=1)
        # A host name is not ours to trust: it stays one printable cell.
        b = self.seed_instance(b"evil host\n}{x", 77, now - 60, now)
        # Heard from 2 minutes ago: gone (its hash would have expired too).
        self.seed_instance(b"res2", 99, now - 7200, now - 120)
        # In the set, but its hash already expired: listed with what is known.
        self.r("ZADD", "fluxguard:instances", now, b"res3:5:%d" % now)

        out = self.fluxctl("status").stdout
        self.assertIn("instances          3 with a heartbeat in fluxguard:instances within 90 s\n",
                      out)
        rows = {line.split()[0]: line for line in out.split("\n\n", 1)[1].splitlines()}
        self.assertEqual(rows["INSTANCE"].split(),
                         ["INSTANCE", "HOST", "PID", "HEARTBEAT", "SUBMITTED", "DROPPED", "ERRORS",
                          "VERSION"])
        self.assertRegex(rows[a.decode()],
                         r"^res1:4242:\d+\s+res1\s+4242\s+[5-9] s ago\s+1200\s+3\s+1\s+0\.1\.0$")
        self.assertIn("evil host\\x0a}{x:77:", out)
        self.assertNotIn("res2", out)
        self.assertRegex(out, r"\nres3:5:\d+\s+-\s+\d s ago\s+-\s+-\s+-\s+-\n")

        data = json.loads(self.fluxctl("status", "--json").stdout)
        self.assertEqual(data["instances"], 3)
        listed = {i["id"]: i for i in data["instance_list"]}
        self.assertEqual(set(listed), {a.decode(), b.decode(), "res3:5:%d" % now})
        first = listed[a.decode()]
        self.assertEqual((first["host"], first["pid"], first["started"], first["version"]),
                         ("res1", 4242, now - 3600, "0.1.0"))
        self.assertEqual((first["last_seen"], first["submitted"], first["dropped"],
                          first["errors"]), (now - 5, 1200, 3, 1))
        self.assertGreaterEqual(first["age_s"], 5)
        self.assertEqual(listed[b.decode()]["host"], "evil host\n}{x")
        self.assertEqual(listed["res3:5:%d" % now]["pid"], None)

    def test_hosts(self):
        self.assertEqual(self.fluxctl("hosts").stdout, "no infected hosts in fluxguard:hosts\n")
        for ip, seen, domains, ports in [("192.0.2.7", NOW - 100, ["flux.example"], ["tcp/443", "udp/53"]),
                                         ("2001:db8::99", NOW, ["flux.example", "evil.example"], ["tcp/80"]),
                                         ("192.0.2.8", NOW - 50, ["evil.example"], [])]:
            self.r("ZADD", "fluxguard:hosts", seen, ip)
            self.r("HSET", "fluxguard:host:{%s}" % ip, "first_seen", seen - 1000, "last_seen", seen,
                   "count", 3)
            for d in domains:
                self.r("SADD", "fluxguard:host:{%s}:domains" % ip, d)
            for p in ports:
                self.r("SADD", "fluxguard:host:{%s}:ports" % ip, p)
        out = self.fluxctl("hosts").stdout.splitlines()
        self.assertEqual(out[0].split(), ["HOST", "FIRST", "SEEN", "LAST", "SEEN", "HITS", "DOMAINS", "PORTS"])
        self.assertEqual([l.split()[0] for l in out[1:4]], ["2001:db8::99", "192.0.2.8", "192.0.2.7"])
        self.assertRegex(out[1], r"2001:db8::99\s+\S+Z\s+\S+Z\s+3\s+evil\.example flux\.example\s+tcp/80$")
        self.assertRegex(out[3], r"192\.0\.2\.7 .* flux\.example\s+tcp/443 udp/53$")
        self.assertEqual(out[4], "3 hosts shown, 3 known")
        data = json.loads(self.fluxctl("hosts", "--json", "--domain", "evil.example").stdout)
        self.assertEqual([h["host"] for h in data], ["2001:db8::99", "192.0.2.8"])
        self.assertEqual(data[0]["count"], 3)
        self.assertEqual(data[1]["ports"], [])
        self.assertEqual(len(json.loads(self.fluxctl("hosts", "--json", "--limit", "1").stdout)), 1)


if __name__ == "__main__":
    unittest.main()
