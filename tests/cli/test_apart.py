"""run_apart: a pass run in a forked child gives back its result or raises its exception as the
same pass run here would; where the child cannot send it, the pass runs here."""

from __future__ import annotations

import os
import threading

import pytest

from monitor.cli import apart
from monitor.cli.apart import run_apart
from monitor.errors import SourceError


def _pid_and(value):
    return os.getpid(), value


def test_the_result_comes_from_another_process():
    pid, value = run_apart(_pid_and, {"offset_s": 0.6, "lines": ["x"]})
    assert value == {"offset_s": 0.6, "lines": ["x"]}
    assert pid != os.getpid()


def _fails(message):
    raise SourceError(message)


def test_the_exception_is_raised_here_with_its_type_and_message():
    with pytest.raises(SourceError, match="cannot open capture"):
        run_apart(_fails, "x.pcap: cannot open capture")


def _unpicklable():
    return os.getpid(), threading.Lock()  # a lock does not pickle


def test_a_result_that_cannot_be_sent_is_made_here():
    pid, lock = run_apart(_unpicklable)
    assert pid == os.getpid() and hasattr(lock, "acquire")


def test_a_child_that_dies_leaves_the_pass_to_this_process(monkeypatch):
    calls = []

    def dies_in_child():
        calls.append(os.getpid())
        if os.getpid() != parent:
            os._exit(3)
        return "made here"

    parent = os.getpid()
    assert run_apart(dies_in_child) == "made here"
    assert calls == [parent]  # the child's call died with it; this one ran here


def test_without_fork_the_pass_runs_here(monkeypatch):
    monkeypatch.delattr(apart.os, "fork")
    assert run_apart(_pid_and, 1) == (os.getpid(), 1)
