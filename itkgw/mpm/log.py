"""Error and access logs in Apache 2.4's formats.

The master (root) opens every log file; workers and connection children
inherit the descriptors, so a child that runs as a vhost's user still writes
to a root-owned log, as in httpd. Descriptors are close-on-exec: a CGI script
never holds one. Each line is one ``os.write`` on an O_APPEND descriptor, so
lines of concurrent children do not interleave.
"""

from __future__ import annotations

import faulthandler
import functools
import logging
import os
import time
from dataclasses import dataclass, field

from itkgw.config.model import ServerConfig
from itkgw.errors import LEVELS, NOTICE, WARN

#: Apache's LogFormat nicknames.
FORMATS = {
    "common": '%h %l %u %t "%r" %>s %b',
    "combined": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
}

STDERR = "-"


def open_log(path: str) -> int:
    """Open a log file for appending (close-on-exec), creating it 0640."""
    if path == STDERR:
        return os.dup(2)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)


@dataclass
class ClientContext:
    """What the error log's ``[client ...]`` field shows for this process."""

    client: str = ""
    fd: int = -1


_context = ClientContext()


def set_client(address: str) -> None:
    _context.client = address


def set_vhost_fd(fd: int) -> None:
    """Route this process's error lines to a vhost's own ErrorLog (-1: server's)."""
    _context.fd = fd


class ApacheFormatter(logging.Formatter):
    """``[Tue Nov 24 13:11:11.123456 2026] [mpm_itk:error] [pid 42] [client ip:port] msg``."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = int(record.created)
        micros = int((record.created - seconds) * 1_000_000)
        stamp = time.strftime("%a %b %d %H:%M:%S", time.localtime(seconds))
        year = time.strftime("%Y", time.localtime(seconds))
        module = record.name.rsplit(".", 1)[-1]
        # httpd's [pid:tid]: each of these processes has one thread, whose id is the pid.
        parts = [f"[{stamp}.{micros:06d} {year}]", f"[{module}:{record.levelname}]",
                 f"[pid {record.process}:tid {record.process}]"]
        status = getattr(record, "apr_status", "")
        if status:  # httpd's "(13)Permission denied:", before the client
            parts.append(f"{status}:")
        if _context.client:
            parts.append(f"[client {_context.client}]")
        text = " ".join(parts) + " " + record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text.replace("\n", "\n\t")


class FdHandler(logging.Handler):
    """Writes each record with one write(2) to the server or vhost log."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.setFormatter(ApacheFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + "\n").encode("utf-8", "backslashreplace")
            os.write(_context.fd if _context.fd >= 0 else self.fd, line)
        except Exception:  # noqa: BLE001 - logging must never take the server down
            self.handleError(record)


@dataclass
class LogFiles:
    """Every log descriptor of one configuration, opened by the master."""

    error_fd: int
    vhost_error_fds: dict[str, int] = field(default_factory=dict)
    access_fds: dict[str, int] = field(default_factory=dict)

    @classmethod
    def open_all(cls, config: ServerConfig) -> LogFiles:
        files = cls(error_fd=open_log(config.error_log))
        by_path: dict[str, int] = {}

        def shared(path: str) -> int:
            if path not in by_path:
                by_path[path] = open_log(path)
            return by_path[path]

        for vhost in config.vhosts:
            if vhost.error_log:
                files.vhost_error_fds[vhost.server_name] = shared(vhost.error_log)
            if vhost.access_log:
                files.access_fds[vhost.server_name] = shared(vhost.access_log)
        if config.access_log:
            files.access_fds[""] = shared(config.access_log)
        return files

    def close(self) -> None:
        fds = {self.error_fd, *self.vhost_error_fds.values(), *self.access_fds.values()}
        for fd in fds:
            os.close(fd)


def setup_error_log(fd: int, level: str) -> logging.Logger:
    """Point the ``itkgw`` logger tree at ``fd`` with LogLevel ``level``."""
    root = logging.getLogger("itkgw")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = FdHandler(fd)
    threshold = LEVELS.get(level, WARN)
    # As in httpd, notices (start, restart, stop) are logged whatever LogLevel says.
    handler.addFilter(lambda record: record.levelno >= threshold or record.levelno == NOTICE)
    root.addHandler(handler)
    root.setLevel(min(threshold, NOTICE))
    root.propagate = False
    # A process that crashes (SIGSEGV, SIGBUS, SIGABRT...) writes where it was in Python to the
    # same log before it dies, for the line its parent then logs.
    faulthandler.enable(file=fd)
    return root


def _format_time(when: float) -> str:
    return _format_second(int(when))


@functools.lru_cache(maxsize=4)
def _format_second(second: int) -> str:
    """%t of the access log, formatted once a second, not per request."""
    return time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second))


def format_access(fmt: str, fields: dict[str, object], headers: dict[str, str]) -> str:
    """Expand an Apache LogFormat string for one request.

    ``fields`` holds a value per format letter (h, r, s, b, t, v, p, D, T, u, O, I...), and
    for ``%{local}p``/``%{remote}p``, ``%{Name}o`` and ``%{NAME}e`` the entries "p local",
    "p remote", "o" (the response headers, a list of pairs) and "e" (the request's variables);
    ``headers`` the request headers (lower-case names) for ``%{Name}i``.
    """
    fmt = FORMATS.get(fmt, fmt)
    out: list[str] = []
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%" or index + 1 >= len(fmt):
            out.append(char)
            index += 1
            continue
        index += 1
        argument = ""
        if fmt[index] == "{":
            close = fmt.find("}", index)
            argument, index = fmt[index + 1 : close], close + 1
        while index < len(fmt) and fmt[index] in "<>":
            index += 1
        code = fmt[index] if index < len(fmt) else ""
        index += 1
        out.append(_expand(code, argument, fields, headers))
    return "".join(out)


def _expand(code: str, argument: str, fields: dict[str, object], headers: dict[str, str]) -> str:
    if code == "i":
        header = headers.get(argument.lower())
        return "-" if header is None else _escape(header)
    if code == "t":
        return _format_time(float(fields.get("t", time.time())))  # type: ignore[arg-type]
    if code == "%":
        return "%"
    if code == "b":
        size = fields.get("b", 0)
        return str(size) if size else "-"
    if code == "o":  # mod_log_config's: the first header of the name (Set-Cookie: all), a type's own
        wanted = argument.lower()
        values = [value for name, value in fields.get("o", ()) if name.lower() == wanted]  # type: ignore[attr-defined]
        if not values:
            return "-"
        if wanted == "content-type":
            return _escape(values[0].split(";", 1)[0].rstrip(" \t"))
        return _escape(", ".join(values) if wanted == "set-cookie" else values[0])
    if code == "e":
        variable = fields.get("e", {}).get(argument)  # type: ignore[attr-defined]
        return "-" if variable is None else _escape(variable)
    if code == "p" and argument in ("local", "remote"):
        return str(fields.get(f"p {argument}", "-"))
    if code == "l":
        return "-"
    if code == "u":  # mod_log_config: "-" for no user, "" quoted for an empty name
        user = fields.get("u")
        return "-" if user is None else _escape(str(user)) if user else '""'
    value = fields.get(code)
    return _escape(str(value)) if value is not None else "-"


def _escape(value: str) -> str:
    """Escape quotes, backslashes, control bytes and bytes past ASCII as ap_escape_logitem
    does. Values are text of the bytes sent (latin-1); a character past latin-1 is text
    decoded from UTF-8, whose bytes are escaped."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 32 or 127 <= ord(char) < 256:
            out.append("\\x%02x" % ord(char))
        elif ord(char) > 255:
            out.extend("\\x%02x" % byte for byte in char.encode("utf-8", "surrogateescape"))
        else:
            out.append(char)
    return "".join(out)


def as_sent(path: str) -> str:
    """A decoded path or file name as the text of its bytes (latin-1), as _escape reads values."""
    return os.fsencode(path).decode("latin-1") if not path.isascii() else path


def write_access(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode("utf-8", "backslashreplace"))
