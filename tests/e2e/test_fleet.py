"""Two real Unbound instances with the module share one real Redis. A flux
domain whose addresses are split between them is blocked only once their
combined evidence crosses the threshold; then both answer blocked (cached
names included) within a second; an operator's unblock reaches both."""

import json
import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import dns.rcode

from e2e_common import conf_text, ede, rcode_name
from fluxtest import AuthServer, Unbound, query, addresses
from redis_server import RedisServer

MODULE = os.environ["FLUXGUARD_MODULE"]
UNBOUND = os.environ["FLUXGUARD_UNBOUND"]
FLUXCTL = os.environ["FLUXGUARD_FLUXCTL"]


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def at_rotation_start():
    """Sleeps until just after the authserver's next 2 s rotation."""
    time.sleep(2.0 - (time.time() % 2.0) + 0.1)


class Fleet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="fluxtest-fleet-"))
        cls.redis = RedisServer().start()
        cls.auth = AuthServer(cls.tmp).start()
        cls.conf = cls.tmp / "fluxguard.conf"
        cls.conf.write_text(conf_text("nxdomain", "store: redis\nredis-server: 127.0.0.1:%d\n"
                                      "record-clients: yes\n" % cls.redis.port))
        cls.resolvers = []
        for name in ("a", "b"):
            workdir = cls.tmp / name
            workdir.mkdir()
            cls.resolvers.append(Unbound(UNBOUND, cls.auth.port, workdir, module_path=MODULE,
                                         env={"FLUXGUARD_CONF": str(cls.conf)}).start())

    @classmethod
    def tearDownClass(cls):
        for r in cls.resolvers:
            r.stop()
        cls.auth.stop()
        cls.redis.stop()

    def logs(self):
        return "\n".join(r.logs() for r in self.resolvers) + self.auth.logs()

    def publish(self, word, *fields):
        """A message on the event channel as any client allowed to PUBLISH
        can send it: the word, then netstrings (str with surrogate escapes
        for raw bytes)."""
        raw = [f.encode(errors="surrogateescape") for f in fields]
        message = word + " " + "".join("%d:%s," % (len(b), f) for b, f in zip(raw, fields))
        self.redis.cli("PUBLISH", "fluxguard:events", message)

    def blocked(self, resolver, name):
        return query(name, "A", resolver.port).rcode() == dns.rcode.NXDOMAIN

    def test_combined_evidence_blocks_everywhere_and_unblock_propagates(self):
        a, b = self.resolvers
        # Both resolvers have a long-TTL name of the domain in their cache.
        for r in (a, b):
            self.assertEqual(addresses(query("mail.flux.test", "A", r.port)), {"198.18.1.200"})
        self.assertEqual(self.auth.count("mail.flux.test", "A"), 2)

        # Resolver a sees one rotation (3 addresses, 3 networks), twice:
        # below the threshold on its own.
        at_rotation_start()
        for i in range(2):
            self.assertEqual(rcode_name(query("a%d.flux.test" % i, "A", a.port)), "NOERROR")
        time.sleep(0.5)
        # (Probing with the cached name adds no evidence.)
        for r in (a, b):
            self.assertFalse(self.blocked(r, "mail.flux.test"), self.logs())

        # Resolver b sees the next two rotations: six networks, below the
        # threshold on its own too; together they have nine networks over
        # four resolutions, and that crosses it.
        for i in range(2):
            at_rotation_start()
            self.assertEqual(rcode_name(query("b%d.flux.test" % i, "A", b.port)), "NOERROR")
        started = time.monotonic()
        for r in (a, b):
            self.assertTrue(wait_for(lambda: self.blocked(r, "x%d.flux.test" % r.port), 1.0),
                            "not blocked within 1 s:\n" + self.logs())
        self.assertLess(time.monotonic() - started, 2.0)
        # Cached names are rewritten too, and were not fetched again.
        for r in (a, b):
            response = query("mail.flux.test", "A", r.port)
            self.assertEqual(rcode_name(response), "NXDOMAIN", r.logs())
            self.assertEqual(ede(response)[0], 15)
        self.assertEqual(self.auth.count("mail.flux.test", "A"), 2)
        self.assertIn("fluxguard:", self.redis.cli("--scan"))

        # Clients that asked for blocked names land in the infected-host view
        # (the layout the sinkhole shares).
        response = query("infected-check.flux.test", "A", b.port, source="127.0.0.2")
        self.assertEqual(rcode_name(response), "NXDOMAIN")
        self.assertTrue(wait_for(lambda: "127.0.0.2" in self.redis.cli("ZRANGE", "fluxguard:hosts", "0", "-1"), 2.0),
                        self.redis.cli("--scan"))
        self.assertIn("infected-check.flux.test",
                      self.redis.cli("SMEMBERS", "fluxguard:host:{127.0.0.2}:domains"))
        self.assertIn("dns", self.redis.cli("SMEMBERS", "fluxguard:host:{127.0.0.2}:ports"))
        self.assertGreaterEqual(int(self.redis.cli("HGET", "fluxguard:host:{127.0.0.2}", "count")), 1)

        # An operator lifts the block; both resolvers follow within a second.
        proc = subprocess.run([FLUXCTL, "unblock", "flux.test", "--config", str(self.conf),
                               "--reason", "test", "--who", "e2e"],
                              capture_output=True, text=True, timeout=20)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for r in (a, b):
            self.assertTrue(wait_for(lambda: not self.blocked(r, "mail.flux.test"), 1.0),
                            "unblock not applied:\n" + self.logs())

    def test_hostile_names_on_the_channel_cannot_forge_log_lines(self):
        # Anyone allowed to PUBLISH can send a block and an unblock for a
        # name with a newline in it; the unblock is logged, escaped (as every
        # line the module logs).
        domain = "x.test\nfluxguard: forged by the channel"
        self.publish("block", domain, "32.4", "1732600000", "operator", "hostile", "")
        time.sleep(0.5)
        self.publish("unblock", domain, "test", "e2e")
        escaped = "x.test\\x0afluxguard: forged by the channel unblocked by the fleet"
        for r in self.resolvers:
            self.assertTrue(wait_for(lambda: escaped in r.logs(), 2.0), r.logs())
            forged = [line for line in r.logs().splitlines() if line.startswith("fluxguard: forged")]
            self.assertEqual(forged, [])

    def test_hostile_reasons_on_the_channel_reach_clients_as_printable_text(self):
        # The reason travels to clients in the Extended DNS Error (RFC 8914:
        # UTF-8 text). Bytes that are not (\xff) or control bytes must not
        # reach them: a client library failing to parse the answer would
        # lose the block's NXDOMAIN with it.
        reason = "bad \udcff\udcfe bytes\x1b[31m and \x01 a SOH"
        self.publish("block", "hostile-reason.test", "32.4", "1732600000", "operator", reason, "")
        a = self.resolvers[0]
        self.assertTrue(wait_for(lambda: self.blocked(a, "www.hostile-reason.test"), 2.0), a.logs())
        code, text = ede(query("www.hostile-reason.test", "A", a.port))
        self.assertEqual(code, 15)
        self.assertTrue(all(" " <= c <= "~" for c in text), repr(text))
        self.assertTrue(text.startswith("bad "), repr(text))
        self.publish("unblock", "hostile-reason.test", "", "")

    def test_status_lists_both_resolvers(self):
        # Each resolver's store registers itself at connect; fluxctl lists
        # both, by the pid of the Unbound that runs it.
        def listed():
            proc = subprocess.run([FLUXCTL, "status", "--json", "--config", str(self.conf)],
                                  capture_output=True, text=True, timeout=20)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return json.loads(proc.stdout)

        pids = {r.proc.pid for r in self.resolvers}
        self.assertTrue(wait_for(lambda: {i["pid"] for i in listed()["instance_list"]} == pids,
                                 5.0), "%s\n%s" % (listed(), self.logs()))
        self.assertEqual(listed()["instances"], 2)


if __name__ == "__main__":
    unittest.main()
