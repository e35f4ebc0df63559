"""Start-up through real Unbound: the module loads with the shipped example
configuration and real geo data, and every bad configuration stops Unbound
with one line naming the file, line and key."""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from e2e_common import MODULE, UNBOUND, conf_text
from fluxtest import free_port, unbound_conf

REPO = Path(__file__).resolve().parents[2]


def run_unbound(fluxguard_conf_path, timeout=20):
    """Starts Unbound with the module; returns (exit status or None if it is
    still running after `timeout`, its output)."""
    with tempfile.TemporaryDirectory(prefix="fluxtest-startup-") as tmp:
        conf = Path(tmp) / "unbound.conf"
        conf.write_text(unbound_conf(port=free_port(), auth_port=free_port(),
                                     workdir=tmp, module_path=MODULE))
        env = dict(os.environ, FLUXGUARD_CONF=str(fluxguard_conf_path))
        proc = subprocess.Popen([UNBOUND, "-d", "-c", str(conf)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            return proc.returncode, out
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
            return None, out


class BadConfigurationStopsStartup(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fluxtest-conf-")
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def assert_refused(self, text, expected_line):
        path = self.dir / "fluxguard.conf"
        path.write_text(text)
        status, out = run_unbound(path)
        self.assertIsNotNone(status, "Unbound kept running:\n" + out)
        self.assertNotEqual(status, 0, out)
        self.assertIn(expected_line.format(path=path), out)
        return out

    def test_unknown_key(self):
        self.assert_refused(conf_text("nxdomain") + "flux-treshold: 3\n",
                            "{path}:5: unknown key 'flux-treshold'")

    def test_bad_value(self):
        self.assert_refused(conf_text("nxdomain").replace("rewrite-ttl: 30", "rewrite-ttl: soon"),
                            "{path}:4: key 'rewrite-ttl': bad value 'soon'")

    def test_bad_policy(self):
        self.assert_refused(conf_text("drop"), "{path}:1: key 'policy': bad value 'drop'")

    def test_sinkhole_without_address(self):
        self.assert_refused(conf_text("sinkhole"), "{path}:1: key 'policy': sinkhole needs")

    def test_missing_mmdb(self):
        text = conf_text("nxdomain").replace(
            "asn-database: ", "asn-database: /nonexistent/asn.mmdb\n#")
        self.assert_refused(text, "asn-database '/nonexistent/asn.mmdb'")

    def test_unreadable_file(self):
        status, out = run_unbound(self.dir / "missing.conf")
        self.assertNotEqual(status, 0)
        self.assertIsNotNone(status)
        self.assertIn("%s:0: cannot read configuration" % (self.dir / "missing.conf"), out)


class ExampleConfiguration(unittest.TestCase):
    def test_example_loads_with_real_geo_data(self):
        """fluxguard.conf.example with the mmdb files built from Debian's
        libloc-database (make run/test build them into build/geo)."""
        status, out = run_unbound(REPO / "fluxguard.conf.example", timeout=5)
        self.assertIsNone(status, "Unbound exited:\n" + out)
        self.assertIn("fluxguard: loaded %s" % (REPO / "fluxguard.conf.example"), out)
        self.assertIn("fluxguard-asn.mmdb", out)


if __name__ == "__main__":
    unittest.main()
