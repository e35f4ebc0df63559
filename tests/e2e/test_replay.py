"""fluxctl replay: the module's engine over a trace file. Same input, same
output; malformed lines are reported with their line number and skipped."""

import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from e2e_common import conf_text

FLUXCTL = os.environ["FLUXGUARD_FLUXCTL"]


def resolution(t, name, addresses, ttl=60, ns=None):
    line = {"time": t, "name": name, "type": "A", "rcode": "NOERROR",
            "answers": [{"name": name, "type": "A", "ttl": ttl, "data": a} for a in addresses]}
    if ns:
        line["zone"] = name.split(".", 1)[1]
        line["ns"] = ns
    return json.dumps(line)


def flux_trace():
    """A flux domain rotating through the fixture's ten flux networks every
    150 s (STOP/Djvu's rotation period), interleaved with a static site and
    a CDN-like site with many addresses in one network."""
    lines = []
    for r in range(8):
        t = 1700000000 + 150 * r
        agents = ["198.18.%d.%d" % ((3 * r + k) % 10 + 1, r + 1) for k in range(3)]
        lines.append(resolution(t, "x%d.stop-example.test" % r, agents, ttl=150))
        lines.append(resolution(t + 1, "www.static-example.test", ["192.0.2.10"], ttl=300))
        lines.append(resolution(t + 2, "edge.cdn-example.test",
                                ["198.19.%d.%d" % (r, k) for k in range(4)], ttl=20))
    return "\n".join(lines) + "\n"


def run(conf, trace_text):
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.jsonl"
        trace.write_text(trace_text)
        proc = subprocess.run([FLUXCTL, "replay", "--config", str(conf), str(trace)],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr.replace(str(trace), "TRACE")


class Replay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.conf = Path(cls.tmp.name) / "fluxguard.conf"
        cls.conf.write_text(conf_text("nxdomain"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_flags_flux_and_spares_the_rest(self):
        status, out, err = run(self.conf, flux_trace())
        self.assertEqual(status, 0, err)
        verdicts = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([v["domain"] for v in verdicts], ["stop-example.test"], out)
        v = verdicts[0]
        self.assertAlmostEqual(sum(p["contribution"] for p in v["parts"]), v["score"], places=6)
        self.assertGreater(v["score"], v["threshold"])
        # Flagged within four rotations of its first resolution.
        self.assertLessEqual(v["time"] - 1700000000, 4 * 150)
        self.assertIn("replayed 24 resolutions, 0 malformed lines, 1 verdicts", err)

    def test_same_input_same_output(self):
        first = run(self.conf, flux_trace())
        for _ in range(3):
            self.assertEqual(run(self.conf, flux_trace()), first)

    def test_malformed_lines_reported_and_skipped(self):
        lines = flux_trace().splitlines()
        lines.insert(2, '{"time": 1, "name": "a.test"}')
        lines.insert(4, "not json")
        lines.insert(6, resolution(1700000001, "bad.test", ["1.2.3.4"]).replace('"A", "ttl"', '"AAAA", "ttl"'))
        status, out, err = run(self.conf, "\n".join(lines) + "\n")
        self.assertEqual(status, 1)
        self.assertIn("TRACE:3: missing field 'type' (line skipped)", err)
        self.assertIn("TRACE:5: not a JSON object (line skipped)", err)
        self.assertIn("TRACE:7: field 'data' is not an address of the record's type", err)
        self.assertEqual([json.loads(l)["domain"] for l in out.splitlines()], ["stop-example.test"])

    def test_bad_config_named(self):
        bad = Path(self.tmp.name) / "bad.conf"
        bad.write_text("policy: nxdomain\nbogus: 1\n")
        status, _, err = run(bad, flux_trace())
        self.assertEqual(status, 2)
        self.assertIn("%s:2: unknown key 'bogus'" % bad, err)


if __name__ == "__main__":
    unittest.main()
