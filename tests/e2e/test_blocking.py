"""End to end: real Unbound loading the real module, a real authoritative
server on loopback, real DNS. A fast-flux zone gets blocked (and its cached
names with it); a CDN-like zone and static zones are never touched."""

import ipaddress
import unittest

import dns.rcode
import dns.rdatatype

from e2e_common import EDE_BLOCKED, conf_text, ede, rcode_name, resolve_until, start_resolver
from fluxtest import addresses, query

FLUX_POOL = ipaddress.ip_network("198.18.0.0/16")
CDN_POOL = ipaddress.ip_network("198.19.0.0/16")


def in_pool(response, pool, qtype="A"):
    found = addresses(response, qtype)
    return bool(found) and all(ipaddress.ip_address(a) in pool for a in found)


def drive_until_blocked(test, port, blocked, also=None):
    """resolve_until, checking that every answer before the block is the flux
    zone's own; `also(i)` runs each round."""
    def each(i, response):
        test.assertEqual(rcode_name(response), "NOERROR")
        test.assertTrue(in_pool(response, FLUX_POOL), response.to_text())
        if also:
            also(i)
    resolutions, response = resolve_until(port, blocked, each=each)
    test.assertIsNotNone(response, "flux.test was not blocked")
    return resolutions, response


class NxdomainPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = start_resolver(conf_text("nxdomain"))
        cls.port = cls.env.unbound.port

    @classmethod
    def tearDownClass(cls):
        cls.env.stop(failed=False)

    def tearDown(self):
        # Logs of both processes when a test fails.
        outcome = getattr(self, "_outcome", None)
        if outcome and any(e for _, e in getattr(outcome, "errors", [])):
            print(self.env.logs())

    def assert_untouched(self, name, qtype, expected):
        response = query(name, qtype, self.port)
        self.assertEqual(rcode_name(response), "NOERROR", response.to_text())
        self.assertEqual(addresses(response, qtype), expected, response.to_text())
        self.assertIsNone(ede(response))

    def test_flux_domain_blocked_with_cached_and_chained_names(self):
        port = self.port
        # Before any block: a long-TTL name of the flux domain and a clean
        # name CNAMEd into it are resolved and sit in Unbound's cache.
        self.assert_untouched("mail.flux.test", "A", {"198.18.1.200"})
        before = query("www.alias.test", "A", port)
        self.assertEqual(rcode_name(before), "NOERROR")
        self.assertTrue(in_pool(before, FLUX_POOL))
        self.assertEqual(rcode_name(query("mail.flux.test", "A", port)), "NOERROR")
        self.assertEqual(self.env.auth.count("mail.flux.test", "A"), 1,
                         "second mail.flux.test lookup should be a cache hit")
        # Other types of that name are cached too (as answers or NODATA).
        other_types = ("TXT", "PTR", "NAPTR", "DNAME")
        for qtype in other_types:
            for _ in range(2):
                self.assertEqual(rcode_name(query("mail.flux.test", qtype, port)), "NOERROR")
            self.assertEqual(self.env.auth.count("mail.flux.test", qtype), 1, qtype)

        cdn_seen = []

        def resolve_cdn(i):
            response = query("c%d.cdn.test" % i, "A", port)
            cdn_seen.append(response)

        resolutions, blocked = drive_until_blocked(
            self, port, lambda r: r.rcode() == dns.rcode.NXDOMAIN, also=resolve_cdn)
        # min-resolutions is 2: the first answer can never be blocked.
        self.assertGreaterEqual(resolutions, 2)
        code, text = ede(blocked)
        self.assertEqual(code, EDE_BLOCKED)
        self.assertIn("flux.test", text)
        # The negative answer carries an SOA whose minimum is rewrite-ttl.
        soa = [rrset for rrset in blocked.authority if rrset.rdtype == dns.rdatatype.SOA]
        self.assertEqual(len(soa), 1, blocked.to_text())
        self.assertEqual(soa[0][0].minimum, 30)

        # The CDN-like zone resolved alongside was never rewritten.
        self.assertTrue(cdn_seen)
        for response in cdn_seen:
            self.assertEqual(rcode_name(response), "NOERROR")
            self.assertTrue(in_pool(response, CDN_POOL), response.to_text())

        # Every name below the registrable domain is blocked, decided at the
        # start of the query: the authoritative server never sees it.
        for name in ("flux.test", "deep.sub.flux.test", "fresh.flux.test"):
            response = query(name, "A", port)
            self.assertEqual(rcode_name(response), "NXDOMAIN", name)
            self.assertEqual(ede(response)[0], EDE_BLOCKED, name)
        self.assertEqual(self.env.auth.count("fresh.flux.test"), 0)
        self.assertEqual(self.env.auth.count("deep.sub.flux.test"), 0)

        # The cached long-TTL name is not served from cache any more, and
        # it was not fetched again either.
        response = query("mail.flux.test", "A", port)
        self.assertEqual(rcode_name(response), "NXDOMAIN", response.to_text())
        self.assertEqual(self.env.auth.count("mail.flux.test", "A"), 1)
        for qtype in other_types:
            self.assertEqual(rcode_name(query("mail.flux.test", qtype, port)), "NXDOMAIN", qtype)
            self.assertEqual(self.env.auth.count("mail.flux.test", qtype), 1, qtype)

        # A clean name whose CNAME leads into the blocked domain is blocked.
        self.assertEqual(rcode_name(query("www.alias.test", "A", port)), "NXDOMAIN")

        # Repeated (would-be cache hit) queries stay blocked, for any type.
        for qtype in ("A", "A", "AAAA", "MX", "TXT"):
            self.assertEqual(rcode_name(query("n0.flux.test", qtype, port)), "NXDOMAIN")

        # A client without EDNS gets the block without an OPT record.
        plain = query("flux.test", "A", port, edns=False)
        self.assertEqual(rcode_name(plain), "NXDOMAIN")
        self.assertEqual(plain.edns, -1)

        # The verdict was logged as one JSON line with its evidence.
        log = self.env.unbound.logs()
        self.assertIn('"event":"fluxguard_verdict"', log)
        self.assertIn('"domain":"flux.test"', log)

    def test_static_zones_untouched(self):
        for _ in range(3):
            self.assert_untouched("static.test", "A", {"192.0.2.10"})
            self.assert_untouched("www.static.test", "A", {"192.0.2.10"})
            self.assert_untouched("example-static.test", "A", {"192.0.2.20"})
        nodata = query("example-static.test", "AAAA", self.port)
        self.assertEqual(rcode_name(nodata), "NOERROR")
        self.assertEqual(addresses(nodata, "AAAA"), set())
        self.assertIsNone(ede(nodata))


class SinkholePolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = start_resolver(conf_text(
            "sinkhole", "sinkhole-ipv4: 198.51.100.66\nsinkhole-ipv6: 2001:db8:ffff::66\n"))
        cls.port = cls.env.unbound.port

    @classmethod
    def tearDownClass(cls):
        cls.env.stop(failed=False)

    def test_flux_domain_sinkholed(self):
        port = self.port
        resolutions, blocked = drive_until_blocked(
            self, port, lambda r: addresses(r) == {"198.51.100.66"})
        self.assertGreaterEqual(resolutions, 2)
        self.assertEqual(ede(blocked)[0], EDE_BLOCKED)
        self.assertEqual(blocked.answer[0].ttl, 30)

        self.assertEqual(addresses(query("other.flux.test", "A", port)), {"198.51.100.66"})
        self.assertEqual(addresses(query("other.flux.test", "AAAA", port), "AAAA"),
                         {"2001:db8:ffff::66"})
        mx = query("other.flux.test", "MX", port)
        self.assertEqual(rcode_name(mx), "NOERROR")
        self.assertEqual(len(mx.answer), 0)
        self.assertEqual(ede(mx)[0], EDE_BLOCKED)
        self.assertEqual(addresses(query("www.alias.test", "A", port)), {"198.51.100.66"})
        self.assertEqual(addresses(query("static.test", "A", port)), {"192.0.2.10"})


if __name__ == "__main__":
    unittest.main()
