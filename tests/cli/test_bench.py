"""``gatewatch bench``: the JSON report has the documented shape."""

from __future__ import annotations

import json

from monitor import native

from ..builders import run


def test_bench_can_json_has_the_documented_shape():
    code, out, err = run("bench", "can", "--frames", "3000", "--repeat", "1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["frames"] == 3000 and report["dbc"].endswith("tesla_model3_party.dbc")
    ours = {"gatewatch_parse", "gatewatch_decode", "gatewatch_end_to_end", "gatewatch_asc_end_to_end", "gatewatch_blf_end_to_end"}
    suffixes = [""] + (["@numpy"] if native.kernels is not None else [])  # the numpy reference beside the native core
    assert report["core"] == native.DESCRIPTION and report["cores"][0] == native.CORE
    assert set(report["results"]) == {"cantools_decode", "python_can_reader", "python_can_reader+cantools",
                                      "python_can_asc+cantools", "python_can_blf+cantools"} | {
                                          name + suffix for name in ours for suffix in suffixes}
    assert all(r["frames_per_s"] > 0 for r in report["results"].values())
    assert report["results"]["gatewatch_asc_end_to_end"]["frames"] == 3000  # every frame of the file read
    assert report["results"]["gatewatch_blf_end_to_end"]["frames"] == 3000
    assert set(report["ratios"]) == {name + suffix for suffix in suffixes for name in (
        "decode_vs_cantools", "end_to_end_vs_python_can_cantools",
        "asc_end_to_end_vs_python_can_cantools", "blf_end_to_end_vs_python_can_cantools")}
