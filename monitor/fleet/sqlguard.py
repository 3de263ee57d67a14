"""``fleet query --sql``: only one query, never a statement that changes anything.

Neither engine has a read-only session over an in-memory catalogue of views (DuckDB opens only
a database file read-only; Spark has no such mode), so the text is checked before it runs:
exactly one statement, starting with SELECT, WITH, FROM, VALUES or TABLE, and none of the
keywords that write, change settings or load code (INSERT, COPY, CREATE, SET, ATTACH, INSTALL,
Spark's ``reflect`` ...) outside string literals, quoted identifiers and comments. On DuckDB its
own parser must also call it a SELECT. This guards the fleet's files against a slip, not against
a hostile user: the SQL runs with the permissions of whoever runs gatewatch, and may read any
file they can (``read_csv('...')``).
"""

from __future__ import annotations

import re

from ..errors import ConfigError

STARTS = frozenset({"SELECT", "WITH", "FROM", "VALUES", "TABLE"})
REFUSED = frozenset({
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "TRUNCATE", "CREATE", "DROP", "ALTER", "RENAME",
    "COPY", "EXPORT", "IMPORT", "ATTACH", "DETACH", "INSTALL", "LOAD", "SET", "RESET", "PRAGMA", "CALL",
    "CHECKPOINT", "VACUUM", "USE", "GRANT", "REVOKE", "REFRESH", "CACHE", "UNCACHE", "MSCK", "ADD", "DIRECTORY",
    "ANALYZE", "COMMENT", "REFLECT", "JAVA_METHOD", "TRY_REFLECT",
})
# string literals, quoted identifiers, comments: their words are data, not keywords
_INERT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|--[^\n]*|/\*.*?\*/", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def check(sql: str) -> str:
    """The query without a trailing semicolon, or a one-line ConfigError saying why not."""
    text = _INERT.sub(" ", sql)
    if re.search(r"'|\"|`|/\*", text):
        raise ConfigError("--sql: an unterminated string, quoted name or comment")
    body = text.strip().rstrip(";").strip()
    if not body:
        raise ConfigError("--sql: no query")
    if ";" in body:
        raise ConfigError("--sql: one query only (a ';' separates statements)")
    words = [w.upper() for w in _WORD.findall(body)]
    if not words or words[0] not in STARTS:
        raise ConfigError(f"--sql: a query starts with {', '.join(sorted(STARTS))}; "
                          f"this starts with {words[0] if words else body[:20]!r}")
    refused = sorted(set(words) & REFUSED)
    if refused:
        raise ConfigError(f"--sql: read-only: {', '.join(refused)} is not allowed "
                          "(a column of that name can be quoted: \"set\")")
    return sql.strip().rstrip(";").strip()


def check_duckdb(con, sql: str) -> None:
    """DuckDB's own parser agrees that it is one SELECT."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise ConfigError(f"--sql: {first_line(error)}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise ConfigError("--sql: read-only: one SELECT query")


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
