"""``gatewatch man``: the manual page, roff (man(7) macros) made from the parser itself.

Every subcommand, and the subcommands below it (``policy check``, ``bench can`` ...), with its
synopsis, description and options comes from the same argparse parsers the command line uses,
so the page cannot fall behind an option. ``gatewatch man > gatewatch.1; man -l gatewatch.1``.
The date is SOURCE_DATE_EPOCH's when set (a reproducible build), else today's.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import TextIO

EXIT_STATUS = (("0", "success"),
               ("1", "an error in the input (a bad file, a failed check or expectation); no alert log found"),
               ("2", "usage: bad arguments, a configuration refused, a missing optional dependency"),
               ("74", "an output could not be written (one line names the file and what was not written)"),
               ("130", "interrupted"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="the page's date (default: SOURCE_DATE_EPOCH's, else today)")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import build_parser

    out.write(manpage(build_parser(), args.date))
    return 0


def manpage(parser: argparse.ArgumentParser, date: str | None = None) -> str:
    from .. import __version__

    lines = [f'.TH GATEWATCH 1 "{date or _date()}" "gatewatch {__version__}" "User Commands"',
             ".nh", ".ad l",  # no hyphenation, ragged right: options stay whole and copyable
             ".SH NAME", r"gatewatch \- " + _text(parser.description or ""),
             ".SH SYNOPSIS", r"\fBgatewatch\fR [\fIOPTIONS\fR] \fICOMMAND\fR [\fIARGS\fR]",
             ".SH OPTIONS", *_options(parser), ".SH COMMANDS"]
    for name, sub in _subcommands(parser):
        lines += _command(f"gatewatch {name}", sub)
    lines += [".SH SHELL COMPLETION", "Bash and zsh, with argcomplete:", ".PP", ".RS",
              r'eval "$(register\-python\-argcomplete gatewatch)"', ".RE",
              ".SH EXIT STATUS"]
    for code, meaning in EXIT_STATUS:
        lines += [".TP", rf"\fB{code}\fR", _text(meaning)]
    lines += [".PP", "Some commands add their own, named in their description above."]
    return "\n".join(lines) + "\n"


def _command(title: str, parser: argparse.ArgumentParser) -> list[str]:
    lines = [f'.SS "{_text(title)}"']
    if parser.description:
        lines += [_text(parser.description), ".PP"]
    usage = parser.format_usage().removeprefix("usage: ").strip()
    lines += [r"\fBSynopsis:\fR " + _text(usage), *_options(parser)]
    for name, sub in _subcommands(parser):
        lines += _command(f"{title} {name}", sub)
    return lines


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    return [(name, sub) for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name, sub in action.choices.items()]


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue
        lines += [".TP", _term(action), _text(_help(action, parser.prog))]
    return lines


def _term(action: argparse.Action) -> str:
    value = "" if action.nargs == 0 else rf" \fI{_text(_metavar(action))}\fR"
    if not action.option_strings:
        return rf"\fI{_text(_metavar(action))}\fR"
    return ", ".join(rf"\fB{_text(option)}\fR{value}" for option in action.option_strings)


def _metavar(action: argparse.Action) -> str:
    if action.metavar is not None:
        return action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    if action.choices is not None:
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    return action.dest.upper() if action.option_strings else action.dest


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%(" in text:  # argparse's own substitutions, as --help would show them
        text = text % {**vars(action), "prog": prog}
    if action.choices is not None and action.metavar is not None:
        text += (" " if text else "") + "(one of: " + ", ".join(str(c) for c in action.choices) + ")"
    return text or r"\&"  # .TP needs a body line


def _text(text: str) -> str:
    """Plain text for roff: backslashes escaped, hyphens as minus signs (options copy-paste),
    and a line that would start with a control character made literal."""
    text = " ".join(str(text).split()).replace("\\", r"\e").replace("-", r"\-")
    return r"\&" + text if text.startswith((".", "'")) else text


def _date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) if epoch and epoch.isdigit() else None))
