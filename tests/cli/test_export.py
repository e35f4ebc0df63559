"""fluxctl export: the RPZ zone loaded by Debian's stock Unbound blocks the
exported names and pool addresses and nothing else; the STIX bundle is valid
against the official STIX 2.1 JSON schemas; CSV, JSON and passive DNS parse."""

import csv
import io
import json
import os
import time
import unittest
import uuid
from pathlib import Path

import dns.rcode

from clitest import AuthServer, FluxctlTestCase, StockUnbound

NOW = int(time.time()) - 60


class ExportTest(FluxctlTestCase):
    def seed(self):
        self.seed_detected("flux.example", NOW, 32.4, ["198.18.1.5", "198.18.2.6", "2001:db8:3::7"],
                           ns=["ns1.flux.example"])
        self.fluxctl("deny", "evil.example", "--reason", "C2 per ticket 42")
        self.fluxctl("import", "--source", "t", "--expires", "3600", "-",
                     stdin="feed.example\n198.18.4.4\n")
        self.fluxctl("deny", "allowed.example", "--reason", "x")
        self.fluxctl("allow", "allowed.example", "--reason", "ours")

    def test_rpz_zone_loaded_by_stock_unbound(self):
        self.seed()
        zone = self.tmp / "fluxguard.rpz"
        proc = self.fluxctl("export", "--format", "rpz", "--zone", "rpz.fluxguard.test",
                            "--output", str(zone))
        self.assertIn("wrote rpz (3 blocked domains, 4 pool addresses)", proc.stderr)
        text = zone.read_text()
        for line in ["$ORIGIN rpz.fluxguard.test.", "flux.example CNAME .", "*.flux.example CNAME .",
                     "evil.example CNAME .", "feed.example CNAME .", "32.5.1.18.198.rpz-ip CNAME .",
                     "32.4.4.18.198.rpz-ip CNAME .", "128.7.zz.3.db8.2001.rpz-ip CNAME ."]:
            self.assertIn(line + "\n", text)
        self.assertNotIn("allowed.example", text)
        self.assertRegex(text, r"\n@ SOA localhost\. hostmaster\.localhost\. \d+ ")

        auth = AuthServer({
            "flux.example.": ["192.0.2.1"], "www.flux.example.": ["192.0.2.1"],
            "evil.example.": ["192.0.2.2"], "a.b.evil.example.": ["192.0.2.2"],
            "feed.example.": ["192.0.2.3"],
            "allowed.example.": ["192.0.2.4"], "good.example.": ["192.0.2.5"],
            "pooled.example.": ["198.18.4.4"], "pooled6.example.": ["2001:db8:3::7"],
        }).start()
        unbound = StockUnbound(self.tmp, (
            "server:\n"
            "    module-config: \"respip validator iterator\"\n"
            "    domain-insecure: \"example.\"\n"
            "stub-zone:\n"
            "    name: \"example.\"\n"
            "    stub-addr: 127.0.0.1@%d\n"
            "rpz:\n"
            "    name: \"rpz.fluxguard.test.\"\n"
            "    zonefile: \"%s\"\n"
            "    rpz-log: yes\n") % (auth.port, zone))
        try:
            unbound.start()
            for name in ["flux.example", "www.flux.example", "evil.example", "a.b.evil.example",
                         "feed.example", "pooled.example"]:
                response = unbound.query(name)
                self.assertEqual(dns.rcode.to_text(response.rcode()), "NXDOMAIN",
                                 "%s not blocked:\n%s" % (name, unbound.logs()))
            response = unbound.query("pooled6.example", "AAAA")
            self.assertEqual(dns.rcode.to_text(response.rcode()), "NXDOMAIN", unbound.logs())
            for name, address in [("good.example", "192.0.2.5"), ("allowed.example", "192.0.2.4")]:
                response = unbound.query(name)
                self.assertEqual(dns.rcode.to_text(response.rcode()), "NOERROR", unbound.logs())
                self.assertEqual([rr.address for rrset in response.answer for rr in rrset], [address])
            self.assertIn("rpz: applied *.evil.example. rpz-nxdomain", unbound.logs())
            self.assertIn("rpz: applied 198.18.4.4/32 rpz-nxdomain", unbound.logs())
        finally:
            unbound.stop()
            auth.stop()

    def test_stix_bundle_is_valid_stix_2_1(self):
        from jsonschema import Draft202012Validator, RefResolver
        self.seed()
        text = self.fluxctl("export", "--format", "stix").stdout
        bundle = json.loads(text)
        schemas = Path(os.environ["FLUXGUARD_STIX_SCHEMAS"])
        store = {}
        for path in schemas.rglob("*.json"):
            schema = json.loads(path.read_text())
            store[schema["$id"]] = schema
        bundle_schema = json.loads((schemas / "common" / "bundle.json").read_text())
        resolver = RefResolver(base_uri=bundle_schema["$id"], referrer=bundle_schema, store=store)
        Draft202012Validator(bundle_schema, resolver=resolver).validate(bundle)
        indicator_schema = store[[k for k in store if k.endswith("/sdos/indicator.json")][0]]
        indicator_validator = Draft202012Validator(
            indicator_schema, resolver=RefResolver(base_uri=indicator_schema["$id"],
                                                   referrer=indicator_schema, store=store))
        indicators = [o for o in bundle["objects"] if o["type"] == "indicator"]
        for o in indicators:
            indicator_validator.validate(o)
            self.assertEqual(o["spec_version"], "2.1")
            self.assertEqual(o["pattern_type"], "stix")
            if "valid_until" in o:
                self.assertGreater(o["valid_until"], o["valid_from"])
        patterns = sorted(o["pattern"] for o in indicators)
        self.assertEqual(patterns, sorted([
            "[domain-name:value = 'flux.example']", "[domain-name:value = 'evil.example']",
            "[domain-name:value = 'feed.example']", "[ipv4-addr:value = '198.18.1.5']",
            "[ipv4-addr:value = '198.18.2.6']", "[ipv4-addr:value = '198.18.4.4']",
            "[ipv6-addr:value = '2001:db8:3::7']"]))
        # Ids are uuid5 in fluxguard's namespace (cli/README.md): anyone can recompute them.
        ns = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fluxguard:stix")
        flux = [o for o in indicators if "'flux.example'" in o["pattern"]][0]
        valid_from = int(time.mktime(time.strptime(flux["valid_from"][:19], "%Y-%m-%dT%H:%M:%S"))
                         - time.timezone)
        self.assertEqual(flux["id"], "indicator--%s" % uuid.uuid5(ns, "%s@%d" % (flux["pattern"], valid_from)))
        feed = [o for o in indicators if "'feed.example'" in o["pattern"]][0]
        self.assertIn("valid_until", feed)
        # The same data exports to the same bytes.
        self.assertEqual(self.fluxctl("export", "--format", "stix").stdout, text)

    def test_csv_json_pdns(self):
        self.seed()
        rows = list(csv.DictReader(io.StringIO(self.fluxctl("export", "--format", "csv").stdout)))
        self.assertEqual(sorted((r["type"], r["indicator"], r["source"]) for r in rows), sorted([
            ("domain", "flux.example", "detected"), ("domain", "evil.example", "operator"),
            ("domain", "feed.example", "feed:t"), ("ipv4", "198.18.1.5", "pool"),
            ("ipv4", "198.18.2.6", "pool"), ("ipv4", "198.18.4.4", "pool"),
            ("ipv6", "2001:db8:3::7", "pool")]))
        data = json.loads(self.fluxctl("export", "--format", "json").stdout)
        self.assertEqual({d["domain"]: d["score"] for d in data["domains"]},
                         {"flux.example": 32.4, "evil.example": 0.0, "feed.example": 0.0})
        self.assertEqual(len(data["addresses"]), 4)
        lines = self.fluxctl("export", "--format", "pdns").stdout.splitlines()
        records = [json.loads(line) for line in lines]
        self.assertEqual(sorted((r["rrname"], r["rrtype"], r["rdata"]) for r in records), sorted([
            ("flux.example", "A", "198.18.1.5"), ("flux.example", "A", "198.18.2.6"),
            ("flux.example", "AAAA", "2001:db8:3::7"), ("flux.example", "NS", "ns1.flux.example")]))
        for r in records:
            self.assertEqual(set(r), {"rrname", "rrtype", "rdata", "time_first", "time_last", "count"})
            self.assertLessEqual(r["time_first"], r["time_last"])
            self.assertEqual(r["time_last"], NOW)
            self.assertGreaterEqual(r["count"], 1)


if __name__ == "__main__":
    unittest.main()
