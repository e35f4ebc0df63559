"""A real redis-server on a free loopback port for end-to-end tests."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from fluxtest import free_port, stop_process


class RedisServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="fluxtest-redis-"))
        self.port = free_port()
        self.proc = None

    def start(self, timeout=10.0):
        with open(self.dir / "redis.log", "w") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.cli("PING").strip() == "PONG":
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start:\n" + (self.dir / "redis.log").read_text())

    def cli(self, *args):
        proc = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
                              capture_output=True, text=True, timeout=10)
        return proc.stdout

    def stop(self):
        if self.proc:
            stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)
