"""Progress on long commands: a bar on a terminal, nothing when piped; import results as they
happen.

Each command runs for real in a child process, once on a pseudo-terminal (`pty`: what a person
at a shell sees) and once with pipes (cron, `| tee`, the scheduler's logs). The calls and JSONL
lines are reconstructed — not captures.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from fundradar.pipeline import db
from fundradar.pipeline.importer import LineResult, import_lines
from fundradar.pipeline.models import CallRow
from tests.pipeline.exports.exports_factory import add_call

CALLS = 1500  # two chunks of the CSV feed: the bar moves


def fundradar(*args: str) -> list[str]:
    return [sys.executable, "-m", "fundradar", *args]


def on_pty(cmd: list[str]) -> tuple[int, str]:
    """Run `cmd` with a terminal (100 columns) as its stdin, stdout and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=dict(os.environ))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(60), b"".join(chunks).decode("utf-8", "replace")


def piped(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)


def store_calls() -> None:
    with db.session_scope() as s:
        for i in range(CALLS):
            add_call(s, i + 1)


# ---------------------------------------------------------------------------------- export


def test_export_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    store_calls()
    tty_file, pipe_file = tmp_path / "tty.csv", tmp_path / "pipe.csv"

    code, screen = on_pty(fundradar("export", "csv", "--all", "-o", str(tty_file)))
    assert code == 0, screen
    assert "export csv:" in screen and f"/{CALLS}" in screen  # the bar, with its total
    assert f"wrote {CALLS} calls to {tty_file}" in screen

    proc = piped(fundradar("export", "csv", "--all", "-o", str(pipe_file)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == f"wrote {CALLS} calls to {pipe_file}\n"  # the summary, no bar
    assert tty_file.read_bytes() == pipe_file.read_bytes()  # the bar never touches the file


def test_export_to_the_terminal_draws_no_bar_over_the_csv() -> None:
    with db.session_scope() as s:
        for i in range(30):
            add_call(s, i + 1)
    code, screen = on_pty(fundradar("export", "csv", "--all"))
    assert code == 0, screen
    assert "score,band,title" in screen and screen.count("Call number") == 30
    assert "export csv:" not in screen and "%|" not in screen


# ---------------------------------------------------------------------------------- import


def jsonl(tmp_path: Path, n: int, name: str) -> Path:
    path = tmp_path / f"{name}.jsonl"
    lines = [
        json.dumps({"title": f"Appel à projets n°{i} — économie bleue ({name})", "funder": "AFD",
                    "url": f"https://example.org/{name}/{i}", "deadline": "2027-03-31"})
        for i in range(1, n + 1)
    ]  # fmt: skip
    lines.insert(5, '{"title": "no link"}')  # one rejected line, on standard error
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    path = jsonl(tmp_path, 40, "tty")
    code, screen = on_pty(fundradar("import", str(path), "--source", "tty"))
    assert code == 1, screen  # one line rejected
    assert "import:" in screen and "/41" in screen  # the bar, over the file's 41 lines
    assert "line 1: new: Appel à projets n°1" in screen
    assert "line 6: rejected: no url" in screen
    assert "41 line(s): 40 stored (40 new), 1 rejected" in screen


def test_import_piped_prints_results_only(tmp_path: Path) -> None:
    proc = piped(fundradar("import", str(jsonl(tmp_path, 40, "piped")), "--source", "piped"))
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "line 1: new: Appel à projets n°1 — économie bleue (piped)"
    assert len(out) == 41 and out[-1].startswith("41 line(s): 40 stored (40 new), 1 rejected")
    assert proc.stderr == "line 6: rejected: no url (the call's page, http or https)\n"
    assert "\r" not in proc.stdout + proc.stderr and "%|" not in proc.stdout + proc.stderr


def test_import_reports_each_line_as_soon_as_it_is_stored(tmp_path: Path) -> None:
    """Line k's result comes while line k is committed and line k+1 not yet read: results
    stream, they are not held back to the end."""
    lines = [
        json.dumps({"title": f"Ocean call {i}", "url": f"https://example.org/o/{i}",
                    "deadline": "2027-03-31"})
        for i in range(1, 6)
    ]  # fmt: skip
    lines.insert(2, "")
    seen: list[tuple[int | None, int]] = []

    def on_line(result: LineResult | None) -> None:
        with db.session_scope() as other:  # another connection sees only committed rows
            stored = other.query(CallRow).count()
        seen.append((result.line if result else None, stored))

    report = import_lines(lines, source="stream", on_line=on_line)
    assert seen == [(1, 1), (2, 2), (None, 2), (4, 3), (5, 4), (6, 5)]
    assert len(report.results) == 5


def test_import_goes_on_when_its_output_fails(tmp_path: Path) -> None:
    """A closed pipe while printing results stops the printing, never the import."""
    calls = 0

    def broken(result: LineResult | None) -> None:
        nonlocal calls
        calls += 1
        raise BrokenPipeError(32, "Broken pipe")

    lines = [json.dumps({"title": f"Call {i}", "url": f"https://example.org/b/{i}"})
             for i in range(3)]  # fmt: skip
    report = import_lines(lines, source="broken", on_line=broken)
    assert calls == 1  # tried once, then left alone
    assert [r.status for r in report.results] == ["new", "new", "new"]
    with db.session_scope() as s:
        assert s.query(CallRow).count() == 3
