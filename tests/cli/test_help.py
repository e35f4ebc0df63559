"""fluxctl's command line: --help everywhere, usage errors, a Redis that is
not there, a configuration without Redis."""

import subprocess
import tempfile
import unittest
from pathlib import Path

from clitest import FLUXCTL, free_port, write_conf

COMMANDS = ["status", "blocked", "show", "hosts", "deny", "unblock", "allow", "import",
            "export", "expire", "watch", "replay", "settings", "block"]


def run(*args):
    return subprocess.run([FLUXCTL, *args], capture_output=True, text=True, timeout=30)


class HelpTest(unittest.TestCase):
    def test_every_command_has_help(self):
        top = run("--help")
        self.assertEqual(top.returncode, 0)
        for command in COMMANDS:
            self.assertIn("  %s " % command, top.stdout)
            for flag in ("--help", "-h"):
                proc = run(command, flag)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertTrue(proc.stdout.startswith("usage: fluxctl %s" % command), proc.stdout)
                if command not in ("settings",):
                    self.assertIn("options:", proc.stdout)
            self.assertEqual(run("help", command).stdout, run(command, "--help").stdout)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run().returncode, 2)
        proc = run("frobnicate")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", proc.stderr)
        proc = run("blocked", "--colour")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown option '--colour'", proc.stderr)
        self.assertIn("usage: fluxctl blocked", proc.stderr)
        proc = run("deny", "evil.example")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--reason TEXT is required", proc.stderr)
        proc = run("import", "--expires", "60", "x.txt")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--source NAME is required", proc.stderr)
        proc = run("export", "--format", "pdf")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("expected rpz, stix, csv, json or pdns", proc.stderr)
        proc = run("hosts", "--limit", "zero")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("expected an integer", proc.stderr)

    def test_redis_down_and_bad_configuration(self):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()  # nothing listens there
            conf = write_conf(Path(tmp) / "fluxguard.conf", port)
            proc = run("status", "--config", str(conf))
            self.assertEqual(proc.returncode, 1)
            self.assertIn("connected   no: cannot connect to Redis at 127.0.0.1:%d" % port, proc.stdout)
            proc = run("status", "--json", "--config", str(conf))
            self.assertEqual(proc.returncode, 1)
            self.assertIn('"connected": false', proc.stdout)
            proc = run("blocked", "--config", str(conf))
            self.assertEqual(proc.returncode, 1)
            self.assertIn("cannot connect to Redis", proc.stderr)

            memory = Path(tmp) / "memory.conf"
            memory.write_text(conf.read_text().replace("store: redis", "store: memory"))
            proc = run("blocked", "--config", str(memory))
            self.assertEqual(proc.returncode, 2)
            self.assertIn("needs 'store: redis'", proc.stderr)
            proc = run("status", "--config", str(Path(tmp) / "missing.conf"))
            self.assertEqual(proc.returncode, 2)
            self.assertIn("cannot read configuration", proc.stderr)


if __name__ == "__main__":
    unittest.main()
