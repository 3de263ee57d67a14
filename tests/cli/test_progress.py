"""Progress on a terminal (cli/progress.py): a replay run with stderr on a pseudo-terminal draws
its line there and clears it; --quiet, or stderr not a terminal, draws nothing; stdout is the
same either way. Real processes on a real pty."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading

import pytest

from monitor.cli import progress

from ..builders import run
from ..conftest import PROJECT

SEED = PROJECT / "seeds" / "jt808-untrusted"


def replay_on_a_terminal(out_dir, *options: str) -> tuple[int, str, str]:
    """``gatewatch replay`` with stderr on a pty (stdout a pipe): (status, stdout, what the terminal got)."""
    return on_a_terminal("replay", "--config", str(SEED / "config.yaml"), "-o", str(out_dir), str(SEED / "can.log"),
                         str(SEED / "capture.pcap"), *options)


def on_a_terminal(*argv: str) -> tuple[int, str, str]:
    """``gatewatch ARGV`` with stderr on a pty (stdout a pipe): (status, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    env = {**os.environ, "GATEWATCH_PROGRESS_AFTER": "0"}
    process = subprocess.Popen([sys.executable, "-m", "monitor", *argv],
                               stdout=subprocess.PIPE, stderr=slave, cwd=PROJECT, env=env, text=True)
    os.close(slave)
    screen = bytearray()
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the process closed its side
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    with process.stdout:
        stdout = process.stdout.read()
    return process.wait(timeout=300), stdout, screen.decode()


def test_a_replay_on_a_terminal_draws_its_progress_and_clears_it(tmp_path):
    code, stdout, screen = replay_on_a_terminal(tmp_path / "tty")
    assert code == 0, screen
    assert "\r\x1b[Kgatewatch replay: " in screen and " CAN frames, " in screen and " packets (" in screen
    assert screen.endswith(progress.CLEAR)  # nothing left on the operator's line
    quiet_code, quiet_stdout, quiet_screen = replay_on_a_terminal(tmp_path / "quiet", "--quiet")
    assert (quiet_code, quiet_screen) == (0, "")
    assert stdout.replace(str(tmp_path / "tty"), "X") == quiet_stdout.replace(str(tmp_path / "quiet"), "X")


def test_no_terminal_no_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWATCH_PROGRESS_AFTER", "0")
    code, _, err = run("replay", "--config", str(SEED / "config.yaml"), "-o", str(tmp_path / "out"),
                       str(SEED / "can.log"), str(SEED / "capture.pcap"))
    assert (code, err) == (0, "")


class Terminal(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.wrote = threading.Event()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.wrote.set()
        return super().write(text)


def test_a_status_that_fails_is_said_once_and_the_work_goes_on(monkeypatch):
    monkeypatch.setenv("GATEWATCH_PROGRESS_AFTER", "0")
    terminal, done = Terminal(), []

    def broken() -> str:
        raise KeyError("packets")

    with progress.shown(terminal, "gatewatch x", broken, every_s=0.01):
        assert terminal.wrote.wait(60)
        done.append(True)
    assert done and terminal.getvalue() == f"{progress.CLEAR}gatewatch x: no progress shown (KeyError: 'packets')\n"


def test_the_line_counts_up_while_the_work_runs(monkeypatch):
    monkeypatch.setenv("GATEWATCH_PROGRESS_AFTER", "0")
    terminal, seen = Terminal(), threading.Event()
    counter = iter(range(1_000_000))

    def status() -> str:
        n = next(counter)
        if n == 3:
            seen.set()
        return f"{n} frames"

    with progress.shown(terminal, "gatewatch x", status, every_s=0.001):
        assert seen.wait(60)
    lines = terminal.getvalue().split(progress.CLEAR)
    assert lines[0] == "" and lines[-1] == "" and [line.split(" (")[0] for line in lines[1:4]] == [
        "gatewatch x: 0 frames", "gatewatch x: 1 frames", "gatewatch x: 2 frames"]
    assert not progress.enabled(terminal, quiet=True) and not progress.enabled(io.StringIO())


def test_the_commands_first_output_takes_the_line_away_first(monkeypatch):
    """On one screen (stdout and stderr the same terminal) a report starts on a clean line, and
    no later redraw erases it."""
    monkeypatch.setenv("GATEWATCH_PROGRESS_AFTER", "0")
    screen = Terminal()
    with progress.shown(screen, "gatewatch bench can", lambda: "running", out=screen, every_s=0.001) as out:
        assert screen.wrote.wait(60)
        print("report line 1\nreport line 2", file=out)
    text = screen.getvalue()
    assert text.endswith(progress.CLEAR + "report line 1\nreport line 2\n")
    assert text.count("report") == 2 and text.startswith(progress.CLEAR + "gatewatch bench can: running (")


def test_collect_on_a_terminal_counts_the_messages_it_receives(tmp_path):
    pytest.importorskip("paho.mqtt.client", reason="collect needs gatewatch[fleet]")
    pytest.importorskip("pyarrow", reason="collect needs gatewatch[fleet]")
    from tests.fleet.conftest import _broker

    broker_gen = _broker(tls=False)
    broker = next(broker_gen)
    try:
        code, stdout, screen = on_a_terminal("collect", "--broker", broker.url, "-o", str(tmp_path / "fleet"),
                                             "--idle", "1")
    finally:
        broker_gen.close()
    assert code == 0, screen
    assert "\r\x1b[Kgatewatch collect: 0 messages, 0 records filed, 0 duplicates (" in screen
    assert screen.endswith(progress.CLEAR) and json.loads(stdout)["messages"] == 0
