"""``gatewatch decode --dbc``: a shipped DBC by name, as policies take one; a file of that name
wins; an unknown name is one line listing the shipped ones, exit 2."""

from __future__ import annotations

import os

import pytest

from ..builders import run
from ..conftest import PROJECT

SEED_LOG = PROJECT / "seeds" / "gnss-drive" / "can.log"
GNSS_DBC = PROJECT / "dbc" / "css-electronics" / "gnss.dbc"
SHIPPED = "gateway-telematics, gnss, j1939-vehicle-position, nmea2000-position, tesla_model3_party"


@pytest.mark.parametrize("name", ["gnss", "gnss.dbc", "dbc/css-electronics/gnss.dbc"])
def test_a_shipped_dbc_by_name_decodes_as_its_file_does(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no such file here: the name means the shipped one
    by_file = run("decode", str(SEED_LOG), "--dbc", str(GNSS_DBC))
    by_name = run("decode", str(SEED_LOG), "--dbc", name)
    assert by_name == by_file and by_name[0] == 0
    assert "4024 frames read, 3013 decoded" in by_name[2]


def test_a_file_of_that_name_wins_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gnss").write_text("VERSION \"\"\n")  # a DBC with no messages
    code, out, err = run("decode", str(SEED_LOG), "--dbc", "gnss")
    assert (code, out) == (0, "") and "4024 frames read, 0 decoded" in err


@pytest.mark.parametrize("name", ["gnss2", "no-such.dbc", "dbc/no-such.dbc"])
def test_an_unknown_name_is_one_line_listing_the_shipped_ones_exit_2(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("decode", str(SEED_LOG), "--dbc", name)
    assert (code, out) == (2, "")
    assert err == f"gatewatch decode: --dbc {name!r}: no such file, and no shipped DBC of that name (shipped: {SHIPPED})\n"


def test_a_missing_path_is_still_a_missing_file(tmp_path):
    missing = os.path.join(tmp_path, "nowhere", "x.dbc")
    code, _, err = run("decode", str(SEED_LOG), "--dbc", missing)
    assert code == 1 and err == f"gatewatch decode: error: {missing}: DBC file not found\n"
