"""Tests mirror the package: a module of monitor/ with more than LOGIC_LINES lines of logic has
its own test module, ``monitor/<package>/<module>.py`` → ``tests/<package>/test_<module>.py``
(``monitor/<module>.py`` → ``tests/test_<module>.py``; a package's ``__init__.py`` →
``tests/<package>/test_<package>.py``), or an entry in COVERED_BY naming the test that covers it.

Lines of logic are the lines inside function bodies that carry code: docstrings, comments and
blank lines do not count, nor module-level tables (pure data needs no test of its own).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from .conftest import PROJECT

PACKAGE = PROJECT / "monitor"
TESTS = PROJECT / "tests"
LOGIC_LINES = 40

#: Modules whose tests are named after a feature, an integration or a command rather than the
#: module: module (relative to monitor/) → the test module that covers it. Each entry is a
#: debt the day that test is split by module; a module whose own test file appears, or that
#: goes away, must leave this list (the second test below says so).
COVERED_BY = {
    # canbus: the native decode's plan flattening and column building, compared with the numpy decode.
    "canbus/decode_flat.py": "tests/native/test_can_decode_equivalence.py",
    "canbus/decode_native.py": "tests/native/test_can_decode_equivalence.py",
    "net/flowcolumns.py": "tests/native/test_flows_equivalence.py",  # the native record writer's columns
    "net/fragwalk.py": "tests/native/test_fragments_equivalence.py",  # the native fragment walk, twinned with the reference
    "net/streamwalk.py": "tests/native/test_streams_equivalence.py",  # the native segment walk, twinned with the reference
    # alerts: the log is written by every replay and read back by the review commands.
    "alerts/bounded.py": "tests/alerts/test_read.py",  # hostile lines, a million bad ones
    "alerts/episodes.py": "tests/alerts/test_records.py",
    "alerts/files.py": "tests/alerts/test_read.py",  # the readers, through the review commands
    "alerts/head.py": "tests/alerts/test_chain.py",  # the head file that seals the chain
    "alerts/log.py": "tests/alerts/test_records.py",
    "alerts/logfiles.py": "tests/alerts/test_records.py",
    "alerts/record.py": "tests/alerts/test_records.py",  # the envelope against its JSON Schema
    "alerts/summary.py": "tests/alerts/test_review.py",  # gatewatch alerts --summary
    "alerts/tally.py": "tests/alerts/test_markup.py",
    # bench: on-target timing; the tests check each report's shape, never a figure.
    "bench/can.py": "tests/cli/test_bench.py",
    "bench/canlive.py": "tests/test_wheel.py",  # only listed in the wheel: no test runs it
    "bench/contenders.py": "tests/cli/test_bench.py",  # the python-can/cantools rows of bench can
    "bench/daemon.py": "tests/test_wheel.py",  # only listed in the wheel: no test runs it
    "bench/fleet.py": "tests/fleet/test_queries.py",
    "bench/net.py": "tests/cli/test_flows.py",  # test_bench_net_json_has_the_documented_shape
    # canbus
    "canbus/blfcheck.py": "tests/canbus/test_logs.py",  # BLF files read through read_log
    "canbus/candump_fields.py": "tests/canbus/test_candump.py",
    "canbus/dbccheck.py": "tests/config/test_policy.py",  # policy check loads the DBCs it names
    "canbus/export.py": "tests/cli/test_decode.py",  # gatewatch decode's JSONL and CSV
    "canbus/frames.py": "tests/canbus/test_decode.py",  # FrameBatch under every decode test
    "canbus/isotp.py": "tests/detect/test_can_detectors.py",  # UDS over ISO-TP on a virtual bus
    "canbus/recvmmsg.py": "tests/canbus/test_rawsocket.py",
    "canbus/swar.py": "tests/canbus/test_candump.py",  # candump's hex parsing
    # cli: each subcommand module is driven through gatewatch by the tests named.
    "cli/decodecheck.py": "tests/cli/test_demo.py",
    "cli/output.py": "tests/hostile/test_output_errors.py",
    "cli/policy.py": "tests/config/test_for_run.py",  # gatewatch policy check/try
    "cli/replay.py": "tests/alerts/test_review.py",  # test_replay_gates_a_pipeline_on_findings
    "cli/run.py": "tests/config/test_for_run.py",
    # config: the loader's sections, through the files that use them.
    "config/alerts.py": "tests/config/test_policy.py",
    "config/load.py": "tests/config/test_policy.py",
    "config/signals.py": "tests/hostile/test_crafted_inputs.py",
    "config/sources.py": "tests/config/test_for_run.py",
    "config/yamlfile.py": "tests/config/test_policy.py",  # file:line:column errors
    # daemon: a real service started and stopped.
    "daemon/preflight.py": "tests/config/test_for_run.py",
    "daemon/privileges.py": "tests/hostile/test_least_privilege.py",
    "daemon/service.py": "tests/daemon/test_service_life.py",
    "daemon/status.py": "tests/cli/test_status.py",
    # detect: detectors judged on recordings, one family per feature test.
    "detect/base.py": "tests/detect/test_isolation_and_config.py",
    "detect/behaviour.py": "tests/detect/test_net_detectors.py",  # beacon- and mapping-like uploads
    "detect/signatures.py": "tests/detect/test_isolation_and_config.py",
    "detect/uds.py": "tests/detect/test_can_detectors.py",
    "detect/wire/gbt32960.py": "tests/detect/wire/test_scan.py",  # the public decoder vectors
    "detect/wire/jsonpos.py": "tests/detect/test_worldwide.py",
    "detect/wire/jt808.py": "tests/detect/wire/test_scan.py",
    "detect/wire/match.py": "tests/detect/wire/test_scan.py",
    "detect/wire/teltonika.py": "tests/detect/wire/test_downlink.py",  # codec 12 and 14 commands
    "detect/wire/text.py": "tests/detect/test_defects.py",  # NMEA dates, plaintext positions
    "detect/wire/upload.py": "tests/detect/test_defects.py",  # mapping uploads
    # enforce: nftables rules and the DNS forwarder in network namespaces.
    "enforce/dnsforward.py": "tests/enforce/test_enforce_netns.py",
    "enforce/enforcer.py": "tests/enforce/test_ruleset.py",
    # fleet
    "fleet/quarantine.py": "tests/fleet/test_collector.py",
    "fleet/rows.py": "tests/fleet/test_queries.py",
    # net: the application parsers on segmented streams and under hypothesis.
    "net/app/dns.py": "tests/net/test_names.py",
    "net/app/gquic.py": "tests/net/test_protocols.py",
    "net/app/h2.py": "tests/net/test_protocols.py",
    "net/app/http.py": "tests/net/test_protocols.py",
    "net/app/inspect.py": "tests/net/test_protocols.py",
    "net/app/tls.py": "tests/net/test_protocols.py",
    "net/flowbatch.py": "tests/net/test_flowjson.py",
    "net/flowkeys.py": "tests/net/test_community_id.py",
    "net/flowrecord.py": "tests/net/test_flowjson.py",
    "net/packets.py": "tests/net/test_capture.py",
    "net/pcapng.py": "tests/net/test_capture.py",
    "net/pipeline.py": "tests/net/test_oracle.py",  # every corpus capture against Suricata
    "net/view.py": "tests/detect/test_memory.py",
    # the top of the stack: seeds and the recordings they replay.
    "recordings.py": "tests/test_seeds.py",  # every seed replayed from its recordings
    "scenarios.py": "tests/test_determinism.py",
    # testing: the test kit itself, exercised by every test that builds with it.
    "testing/drive.py": "tests/alerts/test_chain.py",  # via tests/alerts/conftest.py
    "testing/episodes.py": "tests/detect/test_bench_detect.py",  # lab.generate's drives
    "testing/episodes_remote.py": "tests/detect/test_bench_detect.py",
    "testing/frames.py": "tests/net/test_tunnels.py",
    "testing/mosquitto.py": "tests/fleet/test_uplink.py",  # via tests/fleet/conftest.py
    "testing/oracle.py": "tests/canbus/test_decode.py",
    "testing/scene.py": "tests/detect/test_taint.py",
    "testing/vehicle.py": "tests/detect/test_worldwide.py",
}


def logic_lines(path: Path) -> int:
    """Lines inside function bodies that carry code, docstrings left out."""
    text = path.read_text()
    tree = ast.parse(text)
    code: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
            code.update(range(tok.start[0], tok.end[0] + 1))
    bodies: set[int] = set()
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bodies.update(range(node.lineno, node.end_lineno + 1))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    return len((bodies & code) - docstrings)


def mirror_of(module: Path) -> Path:
    """monitor/a/b.py → tests/a/test_b.py; monitor/a/__init__.py → tests/a/test_a.py."""
    rel = module.relative_to(PACKAGE)
    folder = rel.parent
    name = folder.name if module.name == "__init__.py" else module.stem
    return TESTS / folder / f"test_{name}.py"


def modules_with_logic() -> dict[str, Path]:
    found = {}
    for module in sorted(PACKAGE.rglob("*.py")):
        if module.name != "__main__.py" and logic_lines(module) > LOGIC_LINES:
            found[module.relative_to(PACKAGE).as_posix()] = module
    return found


def test_every_module_with_logic_has_its_test_module_or_a_named_covering_test():
    missing = [f"monitor/{name}: no {mirror_of(module).relative_to(PROJECT)}"
               for name, module in modules_with_logic().items()
               if not mirror_of(module).exists() and name not in COVERED_BY]
    assert missing == [], ("write the test module, or add the covering test to COVERED_BY:\n"
                           + "\n".join(missing))


def test_the_allow_list_names_tests_that_exist_and_only_modules_that_need_it():
    modules = modules_with_logic()
    stale = []
    for name, test in COVERED_BY.items():
        if not (PROJECT / test).exists():
            stale.append(f"{name}: the covering test {test} does not exist")
        elif name not in modules:
            stale.append(f"{name}: gone, or {LOGIC_LINES} lines of logic or fewer")
        elif mirror_of(modules[name]).exists():
            stale.append(f"{name}: has {mirror_of(modules[name]).relative_to(PROJECT)} now")
    assert stale == [], "COVERED_BY entries to remove or correct:\n" + "\n".join(stale)


def test_the_line_count_leaves_out_docstrings_comments_and_tables(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Doc."""\nTABLE = {\n    1: 2,\n}\n\n\ndef f(x):\n'
                      '    """Doc\n    more."""\n    # why\n\n    y = x + 1\n    return (y,\n            x)\n')
    assert logic_lines(module) == 4  # def line, y =, and the two lines of the return
