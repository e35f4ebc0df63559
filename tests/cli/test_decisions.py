"""deny, unblock, allow, expire, blocked, status and watch against a real
Redis, with blocks published through the real store (RedisFleetStore)."""

import json
import subprocess
import threading
import time
import unittest

from clitest import FLUXCTL, FluxctlTestCase, packed

EVIDENCE = json.dumps({"event": "fluxguard_verdict", "action": "block", "domain": "flux.example",
                       "trigger": "www.flux.example", "time": 1700000000, "score": 32.4,
                       "threshold": 0.0, "parts": [], "resolutions": 5, "min_ttl": 60})


class Watcher:
    """`fluxctl watch` in the background; lines collected as they come."""

    def __init__(self, conf, *args):
        self.proc = subprocess.Popen([FLUXCTL, "watch", "--config", str(conf), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.banner = self.proc.stderr.readline()  # printed once subscribed
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_lines(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.lines) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.lines

    def finish(self, timeout=10):
        self.proc.wait(timeout)
        self.reader.join(timeout)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


class DecisionsTest(FluxctlTestCase):
    def test_deny_unblock_blocked_status_and_watch(self):
        watch = Watcher(self.conf, "--json", "--count", "3")
        self.assertIn("following fluxguard:events and fluxguard:sinkhole:hits", watch.banner)
        human = Watcher(self.conf, "--count", "3")

        proc = self.fluxctl("deny", "Evil.Example.", "--reason", "C2 per ticket 42", "--who", "alice")
        self.assertEqual(proc.stdout,
                         "denied evil.example (C2 per ticket 42, by alice): delivered on the event channel\n")
        self.assertIsNotNone(self.r("ZSCORE", "fluxguard:blocked", "evil.example"))
        block = self.r("HGETALL", "fluxguard:block:{evil.example}")
        fields = dict(zip(block[::2], block[1::2]))
        self.assertEqual(fields[b"source"], b"operator")
        self.assertEqual(fields[b"reason"], b"C2 per ticket 42")
        self.assertEqual(fields[b"who"], b"alice")

        proc = self.fluxctl("blocked")
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["DOMAIN", "SCORE", "SINCE", "SOURCE", "EXPIRES", "REASON"])
        self.assertEqual(lines[1].split()[:2], ["evil.example", "0.0"])
        self.assertIn("operator", lines[1])
        self.assertIn("C2 per ticket 42", lines[1])
        self.assertEqual(lines[-1], "1 blocked domain")
        rows = json.loads(self.fluxctl("blocked", "--json").stdout)
        self.assertEqual([(b["domain"], b["source"], b["reason"]) for b in rows],
                         [("evil.example", "operator", "C2 per ticket 42")])

        status = self.fluxctl("status").stdout
        self.assertIn("connected          yes, ping", status)
        self.assertIn("blocked domains    1 (1 operator)", status)
        data = json.loads(self.fluxctl("status", "--json").stdout)
        self.assertEqual(data["blocked_domains"], 1)
        self.assertEqual(data["event_subscribers"], 2)  # the two watchers
        # fluxctl's own stores publish decisions but are no resolvers.
        self.assertEqual(data["instances"], 0)
        self.assertEqual(data["instance_list"], [])

        proc = self.fluxctl("unblock", "evil.example", "--reason", "false positive", "--who", "bob")
        self.assertEqual(proc.stdout, "unblocked evil.example (false positive, by bob): "
                                      "delivered on the event channel\n")
        self.assertIsNone(self.r("ZSCORE", "fluxguard:blocked", "evil.example"))
        self.assertEqual(self.fluxctl("blocked").stdout, "no blocked domains\n")

        # A sinkhole hit, as the sinkhole writes it to its stream.
        self.r("XADD", "fluxguard:sinkhole:hits", "*", "time", "2024-11-26T10:15:03.123Z",
               "transport", "tcp", "client_ip", "192.0.2.77", "local_port", "443",
               "protocol", "tls", "domain", "evil.example")
        self.assertEqual(watch.finish(), 0)
        self.assertEqual(human.finish(), 0)
        events = [json.loads(line) for line in watch.lines]
        self.assertEqual([e["event"] for e in events], ["block", "unblock", "hit"])
        self.assertEqual((events[0]["domain"], events[0]["source"], events[0]["reason"]),
                         ("evil.example", "operator", "C2 per ticket 42"))
        self.assertEqual((events[1]["domain"], events[1]["who"], events[1]["reason"]),
                         ("evil.example", "bob", "false positive"))
        self.assertEqual((events[2]["client_ip"], events[2]["domain"]), ("192.0.2.77", "evil.example"))
        self.assertRegex(human.lines[0], r"^\S+Z  block    evil\.example  score 0  source operator  "
                                         r"reason \"C2 per ticket 42\"$")
        self.assertRegex(human.lines[1], r"  unblock  evil\.example  by bob  reason \"false positive\"$")
        self.assertEqual(human.lines[2], "2024-11-26T10:15:03.123Z  hit      192.0.2.77 -> evil.example  "
                                         "tcp/443 tls")

        audit = self.r("XRANGE", "fluxguard:audit", "-", "+")
        actions = [dict(zip(e[1][::2], e[1][1::2])) for e in audit]
        self.assertEqual([(a[b"action"], a[b"who"], a[b"reason"]) for a in actions],
                         [(b"deny", b"alice", b"C2 per ticket 42"),
                          (b"unblock", b"bob", b"false positive")])

    def test_deny_guards(self):
        proc = self.fluxctl("deny", "co.uk", "--reason", "x", ok=2)
        self.assertIn("'co.uk' is a top-level domain or public suffix", proc.stderr)
        self.fluxctl("deny", "zip", "--reason", "no .zip here", "--force")
        self.assertIsNotNone(self.r("ZSCORE", "fluxguard:blocked", "zip"))
        # A detected block keeps its verdict.
        self.seed_detected("flux.example", 1700000000, 32.4, ["198.18.1.5"], evidence=EVIDENCE)
        proc = self.fluxctl("deny", "flux.example", "--reason", "also ours")
        self.assertIn("already blocked by detection (score 32.4", proc.stdout)
        self.assertEqual(self.r("HGET", "fluxguard:block:{flux.example}", "evidence").decode(), EVIDENCE)
        # A name under a blocked domain is not unblocked alone.
        proc = self.fluxctl("unblock", "www.flux.example", "--reason", "x", ok=1)
        self.assertIn("the block of flux.example covers it", proc.stderr)

    def test_allow(self):
        self.seed_detected("flux.example", 1700000000, 32.4, ["198.18.1.5"], evidence=EVIDENCE)
        self.fluxctl("deny", "cdn.flux.example", "--reason", "x")
        self.fluxctl("deny", "other.example", "--reason", "x")
        proc = self.fluxctl("allow", "flux.example", "--reason", "our CDN", "--who", "carol")
        self.assertEqual(proc.stdout, "allowed flux.example (our CDN, by carol); "
                                      "unblocked flux.example, cdn.flux.example\n")
        blocked = self.r("ZRANGE", "fluxguard:blocked", 0, -1)
        self.assertEqual(blocked, [b"other.example"])
        self.assertIsNotNone(self.r("ZSCORE", "fluxguard:allow", "flux.example"))
        entry = self.r("HGETALL", "fluxguard:allow:{flux.example}")
        entry = dict(zip(entry[::2], entry[1::2]))
        self.assertEqual((entry[b"who"], entry[b"reason"]), (b"carol", b"our CDN"))
        self.assertIn("allowed domains    1\n", self.fluxctl("status").stdout)
        show = self.fluxctl("show", "www.flux.example").stdout
        self.assertIn("allowed       through flux.example, since", show)
        self.assertIn("by carol: our CDN", show)
        # deny of the allowed name itself ends the allow entry.
        proc = self.fluxctl("deny", "flux.example", "--reason", "changed my mind")
        self.assertIn("removed the allow entry of flux.example", proc.stdout)
        self.assertIsNone(self.r("ZSCORE", "fluxguard:allow", "flux.example"))
        self.fluxctl("allow", "safe.example", "--reason", "x")
        proc = self.fluxctl("allow", "safe.example", "--remove", "--reason", "done")
        self.assertEqual(proc.stdout, "removed safe.example from the allow list (done, by %s)\n"
                         % proc.stdout.split("by ")[-1].rstrip(")\n"))
        self.fluxctl("allow", "safe.example", "--remove", "--reason", "again", ok=1)

    def test_expire(self):
        # Expiries are whole seconds from now: 3 s leaves a busy machine two
        # seconds for the first look, before anything may have expired.
        self.fluxctl("deny", "short.example", "--reason", "for a moment", "--expires", "3")
        self.fluxctl("import", "--source", "t", "--expires", "3", "-", stdin="feed.example\n198.18.4.4\n")
        self.seed_detected("flux.example", int(time.time()), 40.0, ["198.18.1.5"])
        self.r("ZADD", "fluxguard:expires", 1, "flux.example")  # a stale entry: detection wins
        self.assertEqual(self.fluxctl("expire", "--dry-run").stdout.count("would unblock"), 0)
        time.sleep(4.1)
        proc = self.fluxctl("expire", "--dry-run")
        self.assertIn("would unblock short.example", proc.stdout)
        self.assertEqual(len(self.r("ZRANGE", "fluxguard:blocked", 0, -1)), 3)
        proc = self.fluxctl("expire")
        self.assertIn("unblocked short.example", proc.stdout)
        self.assertIn("unblocked feed.example", proc.stdout)
        self.assertIn("kept flux.example", proc.stdout)
        self.assertIn("lifted 2 expired blocks, 1 flux pool address", proc.stdout)
        self.assertEqual(self.r("ZRANGE", "fluxguard:blocked", 0, -1), [b"flux.example"])
        self.assertIsNone(self.r("ZSCORE", "fluxguard:pool:addr", packed("198.18.4.4")))
        self.assertIsNotNone(self.r("ZSCORE", "fluxguard:pool:addr", packed("198.18.1.5")))
        self.assertEqual(self.r("ZCARD", "fluxguard:expires"), 0)


if __name__ == "__main__":
    unittest.main()
