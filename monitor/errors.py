"""The error tree. Every error the monitor raises on purpose derives from MonitorError.

Bad *data* (a malformed log line, a frame the DBC cannot decode) is not an exception: it is
counted and reported in-band. These classes are for what stops a command: an unreadable
config, a DBC cantools refuses, a log file that does not exist.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of all deliberate gatewatch errors; its message is one line for the user."""


class ConfigError(MonitorError):
    """Bad configuration: e.g. an unknown bus interface name, an invalid option value."""


class PolicyError(ConfigError):
    """A policy file that cannot be loaded; the message names file:line:column."""


class SourceError(MonitorError):
    """A source cannot be opened or read at all: e.g. a missing log file, a bus that will not open."""


class DecodeError(MonitorError):
    """A DBC cannot be loaded or compiled into a decode plan: e.g. cantools rejects the file."""


def where(path: object, line: int | None = None, column: int | None = None) -> str:
    """Format a location as file[:line[:column]] for one-line error messages."""
    text = str(path)
    if line is not None:
        text += f":{line}"
        if column is not None:
            text += f":{column}"
    return text


class OutputError(MonitorError):
    """An output that cannot be written (a full disk, a read-only folder, an I/O error): the
    message names the file, the error and what was and was not written. Commands exit with
    ``cli.Exit.OUTPUT``; the daemon too, after keeping what it could in memory."""

    def __init__(self, message: str, path: object = "", errno: int | None = None) -> None:
        super().__init__(message)
        self.path, self.errno = str(path), errno
