"""Redis faults under a real Unbound with the module: absent at start, killed
mid-run and restarted, paused, slowed, out of memory, wrong password. In
every case answers keep flowing without delay, flux is still blocked by
local scoring, and the resolver reconnects when Redis is back."""

import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path


from e2e_common import conf_text, is_nxdomain, rcode_name, resolve_until
from fluxtest import AuthServer, Unbound, query
from redis_server import RedisServer

MODULE = os.environ["FLUXGUARD_MODULE"]
UNBOUND = os.environ["FLUXGUARD_UNBOUND"]


class RedisFaults(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="fluxtest-faults-"))
        self.auth = AuthServer(self.tmp).start()
        self.redis = RedisServer()
        self.unbound = None

    def tearDown(self):
        if self.unbound:
            self.unbound.stop()
        self.auth.stop()
        self.redis.stop()

    def start_resolver(self, extra=""):
        conf = self.tmp / "fluxguard.conf"
        conf.write_text(conf_text("nxdomain", "store: redis\nredis-server: 127.0.0.1:%d\n%s"
                                  % (self.redis.port, extra)))
        self.unbound = Unbound(UNBOUND, self.auth.port, self.tmp, module_path=MODULE,
                               env={"FLUXGUARD_CONF": str(conf)}).start()
        return self.unbound.port

    def assert_answers_flow(self, port, label, rounds=6):
        """Static names answer at once; returns the slowest answer time."""
        slowest = 0.0
        for i in range(rounds):
            started = time.monotonic()
            response = query("static.test", "A", port, timeout=2.0)
            slowest = max(slowest, time.monotonic() - started)
            self.assertEqual(rcode_name(response), "NOERROR", label)
            fresh = query("f%d-%s.example-static.test" % (i, label), "A", port, timeout=2.0)
            self.assertIn(rcode_name(fresh), ("NOERROR", "NXDOMAIN"), label)
        # A resolver thread waiting on Redis would show here (command
        # timeouts are 500 ms); answers from cache take microseconds.
        self.assertLess(slowest, 0.25, "%s: an answer took %.3f s" % (label, slowest))

    def assert_flux_blocked_locally(self, port):
        _, blocked = resolve_until(port, is_nxdomain, max_seconds=30)
        self.assertIsNotNone(blocked, "flux.test not blocked by local scoring:\n" +
                             self.unbound.logs())

    def wait_connected(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "fluxguard:events" in self.redis.cli("PUBSUB", "CHANNELS"):
                return True
            time.sleep(0.1)
        return False

    def test_absent_at_start_then_appears(self):
        port = self.start_resolver()          # nothing listens on the port yet
        self.assert_answers_flow(port, "absent")
        self.assert_flux_blocked_locally(port)
        self.redis.start()
        self.assertTrue(self.wait_connected(15), self.unbound.logs())
        self.assertIn("connected", self.unbound.logs())

    def test_killed_restarted_paused_slow(self):
        self.redis.start()
        port = self.start_resolver()
        self.assertTrue(self.wait_connected(), self.unbound.logs())
        self.assert_answers_flow(port, "up")

        self.redis.proc.kill()
        self.redis.proc.wait()
        self.assert_answers_flow(port, "killed")
        self.redis.start()
        self.assertTrue(self.wait_connected(20), self.unbound.logs())

        self.redis.cli("CLIENT", "PAUSE", "1500")
        self.assert_answers_flow(port, "paused")
        sleeper = subprocess.Popen(["redis-cli", "-p", str(self.redis.port), "DEBUG", "SLEEP",
                                    "1.5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assert_answers_flow(port, "slow")
        sleeper.wait(timeout=10)
        self.assert_flux_blocked_locally(port)
        self.assertTrue(self.wait_connected(20), self.unbound.logs())

    def test_out_of_memory(self):
        self.redis.start()
        self.redis.cli("CONFIG", "SET", "maxmemory", "1mb")
        self.redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
        self.redis.cli("DEBUG", "POPULATE", "20000", "filler", "100")
        port = self.start_resolver()
        self.assert_answers_flow(port, "oom")
        self.assert_flux_blocked_locally(port)
        self.assertIn("OOM", self.unbound.logs())

    def test_wrong_password(self):
        self.redis.start()
        self.redis.cli("CONFIG", "SET", "requirepass", "right-password")
        port = self.start_resolver("redis-password: wrong-password\n")
        self.assert_answers_flow(port, "auth")
        self.assert_flux_blocked_locally(port)
        logs = self.unbound.logs()
        self.assertNotIn("wrong-password", logs)
        self.assertRegex(logs, "(?i)auth|password|WRONGPASS")


if __name__ == "__main__":
    unittest.main()
