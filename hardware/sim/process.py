"""An emulated servo bus in its own process, for a device whose `port` is `sim`.

`EmulatorProcess("so101_follower").start()` runs `python -m hardware.sim.serve so101_follower
--quit-on-eof` with PYTHONPATH set to this checkout, returns the port path it prints, and
`stop()` ends it. `command("overheat 3")` injects a fault through its control channel.
The child runs in its own session, so a Ctrl-C meant for the console does not kill it before the
arm has been made safe; it exits by itself if this process dies (its stdin closes).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path

from hardware.errors import DeviceError

ROOT = Path(__file__).resolve().parents[2]


class EmulatorProcess:
    def __init__(self, arm_type: str):
        self.arm_type = arm_type
        self.port = ""
        self._proc: subprocess.Popen | None = None
        self._stderr = tempfile.TemporaryFile()

    def start(self, timeout_s: float = 15.0) -> str:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "hardware.sim.serve", self.arm_type, "--quit-on-eof"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        line = self._readline(timeout_s)
        if not line.startswith("/"):
            self._proc.kill()
            self._proc.wait()
            self._stderr.seek(0)
            detail = self._stderr.read().decode(errors="replace").strip().splitlines()
            self.stop()
            raise DeviceError(
                f"the {self.arm_type} emulator did not start "
                f"({detail[-1] if detail else 'no output'})"
            )
        self.port = line
        return line

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def command(self, line: str, timeout_s: float = 5.0) -> str:
        """Send one fault command; returns the emulator's answer line."""
        if self._proc is None or self._proc.poll() is not None:
            raise DeviceError(f"the {self.arm_type} emulator is not running")
        self._proc.stdin.write(line.strip() + "\n")
        self._proc.stdin.flush()
        return self._readline(timeout_s)

    def _readline(self, timeout_s: float) -> str:
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
        return self._proc.stdout.readline().strip() if ready else ""

    def stop(self) -> None:
        if self._proc is None:
            self._stderr.close()
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()
        self._proc = None
