"""The status line of a response, as httpd's header filter writes it.

httpd knows a reason phrase for some codes only (its status_lines table, below).
A code it does not know goes out as ``500 Internal Server Error`` unless the
handler named a status line of its own: a CGI script's ``Status: 452``, PHP's
``header("HTTP/1.1 452 Custom")``. Such a line is kept when it starts with the
code and a space; a bare code gets httpd's phrase when it has one.
"""

from __future__ import annotations

#: httpd 2.4's reason phrases: the codes missing here have none (418, 425, 306...).
REASONS = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
    200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
    205: "Reset Content", 206: "Partial Content", 207: "Multi-Status", 208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
    412: "Precondition Failed", 413: "Request Entity Too Large", 414: "Request-URI Too Long",
    415: "Unsupported Media Type", 416: "Requested Range Not Satisfiable", 417: "Expectation Failed",
    421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency",
    426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
    507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended",
    511: "Network Authentication Required",
}

_UNKNOWN = "500 Internal Server Error"


def status_line(status: int, named: str | None = None) -> str:
    """The code and reason of the line for ``status``. ``named``: the status line the
    handler gave (``"452 Custom"``, ``"404"``), None when it gave none."""
    if named is not None and _fits(named, status):
        if len(named) > 3:
            return named
        reason = REASONS.get(status)
        return f"{status} {reason}" if reason else f"{status} "
    reason = REASONS.get(status)
    return f"{status} {reason}" if reason else _UNKNOWN


def _fits(named: str, status: int) -> bool:
    """httpd's validate_status_line: exactly the code's three digits, then a space or nothing."""
    return named[:3] == str(status) and (len(named) == 3 or named[3] == " ")
