"""Errors that carry what their handler needs: a location, or an HTTP status.

Worker exit codes are a protocol between worker and master: a worker that
cannot *boot* (privilege drop or seccomp failed) must stop the master instead
of being respawned forever.
"""

from __future__ import annotations

import enum


class ConfigError(Exception):
    """A configuration problem, with where it is and what to do about it.

    ``where`` is ``file:line`` for Apache syntax or ``file: key.path`` for
    TOML; ``hint`` tells the admin how to fix it.
    """

    def __init__(self, where: str, message: str, hint: str = "") -> None:
        self.where = where
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ConfigErrors(Exception):
    """Several configuration problems, reported together."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class HTTPError(Exception):
    """A request that ends in an error response with ``status``.

    ``log`` is what goes to the error log (None: nothing is logged, as for a
    plain 404); the client sees only the status page (or the ErrorDocument).
    """

    def __init__(self, status: int, log: str | None = None,
                 headers: list[tuple[str, str]] | None = None) -> None:
        self.status = status
        self.log = log
        #: Headers the status page needs (Location of a redirect, Allow of a 405).
        self.headers = headers or []
        super().__init__(f"{status}: {log or ''}")


class CloseConnection(Exception):
    """End the connection without a response (mpm-itk's keep-alive rules).

    The client sees what looks like a keep-alive timeout and retries on a
    fresh connection, which is allowed by RFC 9112 section 9.3.1.
    """


class ExitCode(enum.IntEnum):
    """How a worker or connection child tells the master why it ended."""

    OK = 0
    #: The worker could not drop privileges or install its sandbox: the
    #: master must stop rather than respawn workers that will fail again.
    BOOT_FAILED = 3
    #: A connection child failed to verify its identity switch.
    IDENTITY_FAILED = 4
