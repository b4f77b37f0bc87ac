"""A child process whose stderr is read live, for tests that wait for what it logs (the
scheduler as systemd runs it, two servers on one database)."""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Any


class LoggedProcess:
    def __init__(self, cmd: list[str], **popen: Any) -> None:
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until the process has logged `text`; fails with its log if it ends or times out."""
        deadline = time.monotonic() + timeout
        while text not in self.log:
            assert self.proc.poll() is None or text in self.log, self.log
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.log}"
            time.sleep(0.05)
