"""fluxctl import: lists, hosts files, CSV and RPZ zones; malformed lines
reported with file:line and skipped; the root, TLDs and public suffixes
refused; allowed and detected domains left alone; expiries recorded."""

import json
import time
import unittest

from clitest import FluxctlTestCase, packed

LIST = """# a plain list
bad1.example
BAD2.Example.
198.18.3.7
2001:db8:3::7
co.uk
com
http://x.example/path
foo bar
*.wild.example
0.0.0.0
10.1.2.3
fe80::1
"""

HOSTS = """# hosts-file blocklist
127.0.0.1 localhost
0.0.0.0 hosts1.example hosts2.example   # two names
not-an-ip hosts3.example
::1 ip6-localhost ip6-loopback
0.0.0.0 github.io
"""

CSV = """# abuse feed
# id,domain,first_seen
1,csv1.example,2024-11-01
2,"csv2.example",2024-11-02
3
4,"unbalanced.example,2024
5,192.0.2.1,2024
"""

RPZ = """$TTL 300
@ SOA localhost. root.localhost. ( 1 3600
        600 86400 60 )
  NS localhost.
rpz1.example CNAME .
*.rpz1.example CNAME .
rpz2.example 300 IN CNAME *.
drop.example CNAME rpz-drop.
ok.example CNAME rpz-passthru.
32.9.3.18.198.rpz-ip CNAME .
24.0.3.18.198.rpz-ip CNAME .
128.7.zz.3.db8.2001.rpz-ip CNAME .
ns.evil.rpz-nsdname CNAME .
bad.example FOO bar
uk CNAME .
outside.other. CNAME .
"""


class ImportTest(FluxctlTestCase):
    def write(self, name, text):
        path = self.tmp / name
        path.write_text(text)
        return str(path)

    def test_every_format_and_every_problem_reported(self):
        files = [self.write("list.txt", LIST), self.write("feed.hosts", HOSTS),
                 self.write("feed.csv", CSV), self.write("feed.rpz", RPZ)]
        proc = self.fluxctl("import", "--source", "test", "--expires", "3600", *files, ok=1)
        err = proc.stderr
        expected = [
            "list.txt:6: refused: 'co.uk' is a public suffix (Public Suffix List): a feed cannot block it",
            "list.txt:7: refused: 'com' is a top-level domain: a feed cannot block it",
            "list.txt:8: malformed: 'http://x.example/path' is a URL or path, expected a domain",
            "list.txt:9: malformed: expected one domain or address per line, got 'foo bar'",
            "list.txt:11: refused: '0.0.0.0' is not a public address (unspecified ('this network')): "
            "a feed cannot put it in the flux pool",
            "list.txt:12: refused: '10.1.2.3' is not a public address (private (RFC 1918))",
            "list.txt:13: refused: 'fe80::1' is not a public address (link-local)",
            "feed.hosts:4: malformed: expected 'ADDRESS NAME...' (hosts file), got 'not-an-ip hosts3.example'",
            "feed.hosts:6: refused: 'github.io' is a public suffix",
            "feed.csv:5: malformed: 1 fields, but the header (line 2) puts the indicator in field 2",
            "feed.csv:6: malformed: unbalanced quotes in a CSV line",
            "feed.csv:7: malformed: '192.0.2.1' is an address, expected a domain",
            "feed.rpz:9: skipped: 'ok.example' is a rpz-passthru rule, not a block",
            "feed.rpz:11: skipped: '24.0.3.18.198.rpz-ip': a /24 network",
            "feed.rpz:13: skipped: 'ns.evil.rpz-nsdname': rpz-nsdname triggers are not imported",
            "feed.rpz:14: malformed: unknown record type 'FOO'",
            "feed.rpz:15: refused: 'uk' is a top-level domain",
            "feed.rpz:16: malformed: 'outside.other.' is outside the zone",
        ]
        for line in expected:
            self.assertIn(line, err)
        self.assertEqual(err.count("(line skipped)"), len(expected), err)

        blocked = json.loads(self.fluxctl("blocked", "--json").stdout)
        domains = sorted(b["domain"] for b in blocked)
        self.assertEqual(domains, sorted([
            "bad1.example", "bad2.example", "wild.example", "hosts1.example", "hosts2.example",
            "csv1.example", "csv2.example", "rpz1.example", "rpz2.example", "drop.example"]))
        now = time.time()
        for b in blocked:
            self.assertEqual(b["source"], "feed:test")
            self.assertEqual(b["reason"], "listed by feed test")
            self.assertAlmostEqual(b["expires"], now + 3600, delta=30)
        pool = self.r("ZRANGE", "fluxguard:pool:addr", 0, -1)
        self.assertEqual(sorted(pool), sorted([packed("198.18.3.7"), packed("2001:db8:3::7"),
                                               packed("198.18.3.9")]))
        self.assertEqual(self.r("ZCARD", "fluxguard:expires:addr"), 3)
        summary = proc.stdout.splitlines()
        self.assertEqual(summary[0].split(), ["FILE", "FORMAT", "DOMAINS", "ADDRESSES", "MALFORMED",
                                              "REFUSED", "SKIPPED"])
        self.assertRegex(summary[1], r"list\.txt\s+list\s+3\s+2\s+2\s+5\s+0$")
        self.assertRegex(summary[4], r"feed\.rpz\s+rpz\s+4\s+2\s+2\s+1\s+3$")
        self.assertIn("feed:test: 10 domains blocked", summary[5])
        self.assertIn("3 addresses in the flux pool", summary[5])
        audit = self.r("XRANGE", "fluxguard:audit", "-", "+")
        fields = dict(zip(audit[-1][1][::2], audit[-1][1][1::2]))
        self.assertEqual((fields[b"action"], fields[b"source"], fields[b"blocked"]),
                         (b"import", b"feed:test", b"10"))

    def test_clean_feed_existing_blocks_allow_and_dry_run(self):
        path = self.write("clean.txt", "one.example\ntwo.example\nflux.example\nsafe.example\n")
        proc = self.fluxctl("import", "--source", "x", "--expires", "60", "--dry-run", path)
        self.assertIn("dry run: 4 domains and 0 addresses would be imported as feed:x", proc.stdout)
        self.assertEqual(self.r("ZCARD", "fluxguard:blocked"), 0)

        self.seed_detected("flux.example", int(time.time()), 40.0, ["198.18.1.5"])
        self.fluxctl("allow", "safe.example", "--reason", "ours")
        proc = self.fluxctl("import", "--source", "x", "--expires", "60", "--json", path)
        report = json.loads(proc.stdout)
        self.assertEqual((report["blocked"], report["kept"], report["allowed"], report["refreshed"]),
                         (2, 1, 1, 0))
        self.assertIn("clean.txt:4: safe.example is allowed: not blocked", proc.stderr)
        self.assertEqual(self.r("HGET", "fluxguard:block:{flux.example}", "source"), b"detected")
        # Again, later and for longer: the feed's blocks are extended, not re-published.
        before = int(self.r("ZSCORE", "fluxguard:expires", "one.example"))
        report = json.loads(self.fluxctl("import", "--source", "x", "--expires", "7200", "--json",
                                         path).stdout)
        self.assertEqual((report["blocked"], report["refreshed"]), (0, 2))
        self.assertGreater(int(self.r("ZSCORE", "fluxguard:expires", "one.example")), before + 7000)
        # Standard input, an explicit format, and no expiry.
        self.fluxctl("import", "--source", "y", "--expires", "0", "--format", "hosts", "-",
                     stdin="0.0.0.0 three.example\n")
        self.assertIsNone(self.r("ZSCORE", "fluxguard:expires", "three.example"))
        self.assertEqual(self.r("HGET", "fluxguard:block:{three.example}", "source"), b"feed:y")

    def test_unreadable_file_writes_nothing(self):
        good = self.write("good.txt", "good.example\n")
        proc = self.fluxctl("import", "--source", "x", "--expires", "60", good,
                            str(self.tmp / "missing.txt"), ok=2)
        self.assertIn("missing.txt: cannot read", proc.stderr)
        self.assertEqual(self.r("ZCARD", "fluxguard:blocked"), 0)
        proc = self.fluxctl("import", "--source", "bad name", "--expires", "60", good, ok=2)
        self.assertIn("--source NAME is required", proc.stderr)


if __name__ == "__main__":
    unittest.main()
