"""Errors that carry what their handler needs: a location, or an HTTP status.

Worker exit codes are a protocol between worker and master: a worker that
cannot *boot* (privilege drop or seccomp failed) must stop the master instead
of being respawned forever. The error log's levels are httpd's eight, as
logging levels, named as LogLevel names them.
"""

from __future__ import annotations

import enum
import logging
import re

EMERG, ALERT, CRIT, ERROR, WARN, NOTICE, INFO, DEBUG = 58, 55, 50, 40, 30, 25, 20, 10
LEVELS = {
    "emerg": EMERG, "alert": ALERT, "crit": CRIT, "error": ERROR,
    "warn": WARN, "notice": NOTICE, "info": INFO, "debug": DEBUG,
}
for _name, _number in LEVELS.items():
    logging.addLevelName(_number, _name)


class ConfigError(Exception):
    """A configuration problem, with where it is and what to do about it.

    ``where`` is ``file:line`` for Apache syntax or ``file: key.path`` for
    TOML; ``hint`` tells the admin how to fix it.
    """

    def __init__(self, where: str, message: str, hint: str = "") -> None:
        self.where = where
        self.message = message
        self.hint = hint
        #: Later lines of the same file with the very same problem.
        self.same_at: list[int] = []
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        text = f"{text} ({self.hint})" if self.hint else text
        if self.same_at:
            text += f" [the same at line{'s' if len(self.same_at) > 1 else ''} {_line_ranges(self.same_at)}]"
        return text


class ConfigErrors(Exception):
    """Several configuration problems, reported together.

    A problem repeated on many lines of one file (forty AddIcon lines of a
    module itkgw does not implement) is reported once, with the other lines.
    """

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = fold_repeats(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


_FILE_LINE = re.compile(r"(.*):([0-9]+)")


def fold_repeats(errors: list[ConfigError]) -> list[ConfigError]:
    """``errors`` with each repeat of an earlier one in the same file folded into it."""
    first_of: dict[tuple[str, str, str], ConfigError] = {}
    kept = []
    for error in errors:
        place = _FILE_LINE.fullmatch(error.where)
        if place is None:
            kept.append(error)
            continue
        key = (place.group(1), error.message, error.hint)
        first = first_of.get(key)
        if first is None:
            first_of[key] = error
            kept.append(error)
        else:
            first.same_at.append(int(place.group(2)))
    return kept


def _line_ranges(lines: list[int]) -> str:
    """``[3, 4, 5, 9]`` as ``3-5, 9``."""
    runs: list[list[int]] = []
    for line in sorted(lines):
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def loggable(text: str) -> str:
    """``text`` for one error-log line, control characters escaped as httpd's error log has
    them: \\n, \\r, \\t, \\b and \\v by name, any other as \\xHH."""
    return "".join(char if " " <= char != "\x7f" else _LOG_ESCAPES.get(char) or f"\\x{ord(char):02x}"
                   for char in text)


_LOG_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\v": "\\v"}


class HTTPError(Exception):
    """A request that ends in an error response with ``status``.

    ``log`` is what goes to the error log (None: nothing is logged, as for a
    plain 404); the client sees only the status page (or the ErrorDocument).
    """

    def __init__(self, status: int, log: str | None = None,
                 headers: list[tuple[str, str]] | None = None, notes: str = "",
                 cause: OSError | None = None) -> None:
        self.status = status
        self.log = log
        #: The system error behind the answer, which httpd's log line names before the client.
        self.cause = cause
        #: Headers the status page needs (Location of a redirect, Allow of a 405).
        self.headers = headers or []
        #: What httpd's 400 page adds after its sentence (its "error-notes").
        self.notes = notes
        super().__init__(f"{status}: {log or ''}")


class InternalRedirect(Exception):
    """The server answers with another local path instead: a script's ``Location: /path``
    without a Status (RFC 3875 6.2.2), as a GET; a per-directory RewriteRule's new path,
    with the request's own method and body (``keep_method``), as httpd's do. ``fast``:
    httpd's fast redirect (mod_dir's FallbackResource), which sets no REDIRECT_ variables.
    ``vary``: the request headers the rewrite's conditions read, which the answer names in Vary."""

    def __init__(self, location: str, keep_method: bool = False, fast: bool = False,
                 vary: tuple[str, ...] = ()) -> None:
        self.location = location
        self.keep_method = keep_method
        self.fast = fast
        self.vary = vary
        super().__init__(f"internal redirect to {location}")


class CloseConnection(Exception):
    """End the connection without a response (mpm-itk's keep-alive rules).

    The client sees what looks like a keep-alive timeout and retries on a
    fresh connection, which is allowed by RFC 9112 section 9.3.1.
    """


class ClientGone(ConnectionError):
    """The client closed the connection or stopped reading (an OSError, as the socket's own)."""


class ExitCode(enum.IntEnum):
    """How a worker or connection child tells the master why it ended."""

    OK = 0
    #: The worker could not drop privileges or install its sandbox: the
    #: master must stop rather than respawn workers that will fail again.
    BOOT_FAILED = 3
    #: A connection child failed to verify its identity switch.
    IDENTITY_FAILED = 4
