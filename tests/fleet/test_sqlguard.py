"""The read-only guard of ``fleet query --sql``: one query that reads, never a statement that
writes, changes settings or loads code, whatever case, comments or quoting hide it; keywords
inside strings, quoted names and comments are data. DuckDB's own parser is asked too."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.fleet.sqlguard import check, check_duckdb

ALLOWED = [
    "SELECT 1",
    "  select * from alerts;  ",
    "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
    "FROM alerts SELECT vehicle",
    "SELECT 'insert; drop' AS s, \"set\" FROM alerts -- delete\n",
    "SELECT /* copy into */ 1",
    "SELECT `create` FROM alerts",
]
REFUSED = [
    ("INSERT INTO alerts VALUES (1)", "starts with 'INSERT'"),
    ("insert into alerts values (1)", "starts with 'INSERT'"),
    ("/* hidden */ DROP VIEW alerts", "starts with 'DROP'"),
    ("SELECT 1; DELETE FROM alerts", "one query only"),
    ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", "INSERT is not allowed"),
    ("SELECT reflect('java.lang.System', 'exit', 0)", "REFLECT is not allowed"),
    ("SELECT 1 FROM alerts WHERE x = 'it''s' AND 1 = (SELECT 1); SET threads = 1", "one query only"),
    ("SELECT 'open", "unterminated"),
    ("SELECT 1 /* open", "unterminated"),
    ("", "no query"),
    (" ; ", "no query"),
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_a_query_passes_as_it_is_without_its_semicolon(sql: str) -> None:
    assert check(sql) == sql.strip().rstrip(";").strip()


@pytest.mark.parametrize(("sql", "says"), REFUSED)
def test_anything_else_is_one_line_saying_why(sql: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        check(sql)
    assert says in str(error.value) and "\n" not in str(error.value)


def test_duckdb_s_parser_agrees_it_is_one_select() -> None:
    duckdb = pytest.importorskip("duckdb", reason="DuckDB is in the fleet extra")
    with duckdb.connect() as con:
        for sql in ALLOWED[:4]:
            check_duckdb(con, check(sql).replace("alerts", "(SELECT 1 AS vehicle)"))
        for sql in ("CREATE TABLE t (x INT)", "SELECT 1; SELECT 2"):
            with pytest.raises(ConfigError, match="one SELECT"):
                check_duckdb(con, sql)
        with pytest.raises(ConfigError, match="syntax error"):
            check_duckdb(con, "SELEC 1")
