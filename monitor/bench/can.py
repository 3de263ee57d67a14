"""``gatewatch bench can``: gatewatch's CAN path against python-can + cantools, in one run.

The workload is a candump -L text file of N frames of the DBC's messages, with payloads that
cantools itself encoded (random raw values, a random multiplexer branch), so every frame
decodes without error on both sides. Each contender runs on the same file / frames:

  cantools_decode             Database.decode_message(decode_choices=False) per frame
  python_can_reader           can.CanutilsLogReader over the file
  python_can_reader+cantools  the two together (what people loop over today)
  gatewatch_parse             columnar candump parse
  gatewatch_decode            vectorized decode of the parsed batch
  gatewatch_end_to_end        parse + decode: candump text to decoded columns
  python_can_{asc,blf}+cantools / gatewatch_{asc,blf}_end_to_end: the first FILE_FRAMES frames as
                              Vector ASC and BLF files, read to decoded values (canfiles.py)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import native
from ..canbus.candump import read_candump
from ..canbus.dbc import load_dbc
from ..canbus.decode import decode_batch
from ..canbus.frames import FrameBatch
from ..canbus.plan import compile_plan
from ..testing.oracle import encoded_payloads
from . import canfiles

POOL = 64  # distinct cantools-encoded payloads per message
FILE_FRAMES = 100_000  # frames of the workload written as ASC and BLF (python-can's writers are slow)


@dataclass
class Result:
    name: str
    frames: int
    seconds: float

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def make_workload(db, frames: int, seed: int = 0) -> bytes:
    """candump -L text of ``frames`` frames cycling randomly over the DBC's messages."""
    rng = np.random.default_rng(seed)
    messages = [m for m in db.messages if not m.is_container]
    pools = [[p.hex().upper() for p in encoded_payloads(m, rng, POOL)] for m in messages]
    pick = rng.integers(0, len(messages), frames)
    variant = rng.integers(0, POOL, frames)
    lines = []
    for i, (m, v) in enumerate(zip(pick.tolist(), variant.tolist())):
        message = messages[m]
        ident = f"{message.frame_id:08X}" if message.is_extended_frame else f"{message.frame_id:03X}"
        sep = "##0" if message.length > 8 else "#"
        lines.append(f"({1700000000 + i * 1e-4:.6f}) can0 {ident}{sep}{pools[m][v]}")
    return ("\n".join(lines) + "\n").encode()


def _timed(name: str, frames: int | None, action: Callable[[], object], repeat: int) -> Result:
    """Best of ``repeat`` runs: the least disturbed by other load on a shared machine. With
    ``frames`` None the action returns how many frames it read."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    if frames is None:
        assert isinstance(result, int), f"{name} must return the frames it read"
        frames = result
    return Result(name, frames, best)


def run(dbc: Path, frames: int, directory: Path, log: Path | None = None, repeat: int = 1) -> dict:
    """Time every contender; the generated workload and the ASC/BLF files are written in
    ``directory`` (the user's --out folder, or a temporary one)."""
    db = load_dbc(dbc)
    plan = compile_plan([(db, str(dbc))])
    path = log or directory / f"can-workload-{frames}.log"
    if log is None:
        path.write_bytes(make_workload(db, frames))
    return _run_on(db, plan, path, dbc, repeat, directory)


def _run_on(db, plan, path: Path, dbc: Path, repeat: int, directory: Path) -> dict:
    import can

    batch = FrameBatch.concat([b for b, _ in read_candump(path)])
    n = len(batch)
    ids = batch.arbitration_id.tolist()
    ext = batch.is_extended.tolist()
    payloads = [batch.payload(i) for i in range(n)]
    logging.getLogger("cantools").setLevel(logging.ERROR)

    def cantools_decode() -> None:
        decode = db.decode_message
        for frame_id, is_ext, data in zip(ids, ext, payloads):
            decode(frame_id, data, decode_choices=False, force_extended_id=is_ext)

    def python_can_reader() -> None:
        for _ in can.CanutilsLogReader(str(path)):
            pass

    def python_can_cantools() -> None:
        decode = db.decode_message
        for msg in can.CanutilsLogReader(str(path)):
            decode(msg.arbitration_id, msg.data, decode_choices=False, force_extended_id=msg.is_extended_id)

    def gatewatch_parse() -> None:
        for _ in read_candump(path):
            pass

    def gatewatch_end_to_end() -> None:
        for chunk, _ in read_candump(path):
            decode_batch(plan, chunk)

    contenders = [("cantools_decode", cantools_decode), ("python_can_reader", python_can_reader),
                  ("python_can_reader+cantools", python_can_cantools)]
    ours = [("gatewatch_parse", gatewatch_parse), ("gatewatch_decode", lambda: decode_batch(plan, batch)),
            ("gatewatch_end_to_end", gatewatch_end_to_end)]
    results = [_timed(name, n, action, repeat) for name, action in contenders]
    results += [_timed(name, n, action, repeat) for name, action in _on_every_core(ours)]
    report: dict = {"frames": n, "dbc": str(dbc), "repeat": repeat, "core": native.DESCRIPTION, "cores": _cores(),
                    "results": {r.name: _row(r) for r in results}, "ratios": {}}
    fps = {r.name: r.frames_per_s for r in results}
    for suffix in _core_suffixes():
        report["ratios"]["decode_vs_cantools" + suffix] = fps["gatewatch_decode" + suffix] / fps["cantools_decode"]
        report["ratios"]["end_to_end_vs_python_can_cantools" + suffix] = (
            fps["gatewatch_end_to_end" + suffix] / fps["python_can_reader+cantools"])
    for kind, file in canfiles.write_files(batch, directory, FILE_FRAMES).items():  # the same frames, python-can's writers
        actions = canfiles.contenders(db, plan, file)
        theirs_name = f"python_can_{kind}+cantools"
        theirs = _timed(theirs_name, None, actions.pop(theirs_name), repeat)
        timed = [theirs] + [_timed(name, None, action, repeat) for name, action in _on_every_core(list(actions.items()))]
        report["results"].update({r.name: _row(r) for r in timed})
        for r in timed[1:]:
            suffix = r.name.removeprefix(f"gatewatch_{kind}_end_to_end")
            report["ratios"][f"{kind}_end_to_end_vs_python_can_cantools{suffix}"] = r.frames_per_s / theirs.frames_per_s
    return report


def _row(r: Result) -> dict:
    return {"frames": r.frames, "frames_per_s": r.frames_per_s, "seconds": r.seconds}


def _cores() -> list[str]:
    """The cores gatewatch's contenders run on, the one in use first."""
    return ["native", "numpy"] if native.kernels is not None else ["numpy"]


def _core_suffixes() -> list[str]:
    """Result-name suffixes: none for the core in use, ``@numpy`` for the reference beside it."""
    return ["", "@numpy"] if native.kernels is not None else [""]


def _on_every_core(actions: list[tuple[str, Callable[[], object]]]) -> list[tuple[str, Callable[[], object]]]:
    """Each of gatewatch's actions on the core in use and, where that is native, on the numpy
    reference too (named ``...@numpy``): the two side by side in one run."""
    out = list(actions)
    if native.kernels is not None:
        out += [(name + "@numpy", _numpy(action)) for name, action in actions]
    return out


def _numpy(action: Callable[[], object]) -> Callable[[], object]:
    def on_numpy() -> object:
        with native.use_numpy():
            return action()
    return on_numpy


def format_table(report: dict) -> str:
    lines = [f"frames: {report['frames']}   dbc: {report['dbc']}   best of {report['repeat']} runs   core: {report['core']}",
             "(gatewatch_*@numpy: the numpy reference core, in the same run)" if "numpy" in report["cores"][1:] else "", ""]
    lines.append(f"{'contender':<36}{'frames/s':>14}{'seconds':>10}")
    for name, r in report["results"].items():
        lines.append(f"{name:<36}{r['frames_per_s']:>14,.0f}{r['seconds']:>10.3f}")
    lines.append("")
    for name, ratio in report["ratios"].items():
        lines.append(f"{name:<48}{ratio:>8.1f}x")
    return "\n".join(lines)
