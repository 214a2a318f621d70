"""The HTTP/1.1 connection driver: the only module that talks to h11.

A connection child owns one blocking socket. It reads the request head itself
first, so the limits Apache enforces (LimitRequestLine, LimitRequestFieldSize,
LimitRequestFields) give their own statuses before any parser sees a byte,
parses it by h11's grammar and rules (head.py), and lets h11 frame a request
body. Responses are written here, by h11's rules (Content-Length, else
chunked for an HTTP/1.1 client, else the end of the connection; no body for
HEAD, 204 and 304), without h11's per-event validation, which cost a quarter
of a small response's time: the headers are checked here once. Each request
with a body gets a fresh h11 connection, handed the bytes the last one had
read ahead. Timeouts: ``timeout`` for every read and for the whole head once
its first byte arrived (slow-loris), ``keep_alive_timeout`` while waiting for
the next request on a persistent connection; the kernel keeps them (SO_RCVTIMEO,
SO_SNDTIMEO), so the socket stays blocking and a read or write is one call.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import re
import secrets
import socket
import struct
import time
from _socket import socket as ClientSocket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Iterator, cast
from urllib.parse import unquote_to_bytes

import h11

from itkgw import SERVER_SOFTWARE
from itkgw.config.model import HeaderRule
from itkgw.config.modules.reqtimeout import StageTimeout
from itkgw.errors import ClientGone, HTTPError, loggable
from itkgw.http.deflate import HELD_INPUT, SMALLEST_COMPRESSED, DeflateRule, GzipStream
from itkgw.http.head import Head, MalformedHead
from itkgw.http.head import parse as parse_head
from itkgw.http.ranges import byte_ranges, if_range_holds, part_heads
from itkgw.http.status_lines import REASONS, status_line

_READ_SIZE = 65536
#: mod_reqtimeout's log lines: httpd logs them at info, as [reqtimeout:info].
_timeout_log = logging.getLogger("itkgw.reqtimeout")
#: How much of an unread request body we read and discard to keep a
#: connection alive; more than this and the connection is closed instead.
_DRAIN_LIMIT = 256 * 1024
#: recv() flags for a look at the next byte without waiting, as a plain number (socket's flags
#: are enum members, whose arithmetic runs in Python).
PEEK_NOW = int(socket.MSG_PEEK) | int(socket.MSG_DONTWAIT)
_ALLOW_STATIC = "OPTIONS,HEAD,GET,POST,TRACE"


#: h11's states of a client whose request, body included, has been read (MUST_CLOSE: it
#: said Connection: close).
_BODY_READ = frozenset({h11.DONE, h11.MUST_CLOSE})
#: A handler's headers the connection writes itself, or never sends.
_NOT_PASSED_ON = frozenset({"date", "server", "connection", "transfer-encoding"})
_NOT_PASSED_ON_BODILESS = _NOT_PASSED_ON | {"content-type", "content-length"}


def apply_header_rules(headers: list[tuple[str, str]], rules: Sequence[HeaderRule],
                       asked: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """mod_headers' set, append, add, merge, setifempty, unset, edit and edit*, in order, and
    echo (the request's headers ``asked`` whose names its regex matches); ``vary`` is the
    Vary of the request headers rules looked at, set before the handler's headers."""
    for rule in rules:
        name = rule.name.lower()
        action = rule.action.lower()
        if action == "note":
            continue  # the request's notes: no header of the answer
        if action == "echo":
            headers = [*headers, *((key, value) for key, value in asked if rule.echoes(key))]
            continue
        if action.startswith("edit"):  # each value of the header on its own, as httpd edits them
            count = 0 if action == "edit*" else 1
            # httpd unsets the header and adds the edited values back: they go last.
            edited = [(key, rule.edited(value, count)) for key, value in headers if key.lower() == name]
            if edited:
                headers = [*(item for item in headers if item[0].lower() != name), *edited]
            continue
        first = next((index for index, (key, _) in enumerate(headers) if key.lower() == name), None)
        if action == "setifempty":
            if first is not None:
                continue
            action = "add"
        if action in ("set", "unset"):
            headers = [(key, value) for key, value in headers if key.lower() != name]
        if action == "vary":  # mod_rewrite's and <If>'s: in headers_out before the handler's
            if first is None:
                headers = [(rule.name, rule.value), *headers]
                continue
            action = "merge"
        if action == "set" or (action == "add") or (action in ("append", "merge") and first is None):
            headers.append((rule.name, rule.value))
        elif action in ("append", "merge") and first is not None:
            # apr_table_merge: into the first header of the name, where it stands; merge checks
            # that one's values alone, as httpd's apr_table_get finds it.
            key, value = headers[first]
            if action == "merge" and rule.value in value.split(", "):
                continue
            headers = [*headers[:first], (key, f"{value}, {rule.value}"), *headers[first + 1:]]
    return headers


def _as_sent(head: bytes) -> list[tuple[str, str]]:
    """A request's header lines with their names as the client spelled them (Header echo's
    regex is matched against those, as httpd keeps them)."""
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(name.strip(), value.strip()) for name, colon, value in (line.partition(":") for line in lines)
            if colon and name.strip()]


def one_vary(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """httpd's header filter (fixup_vary): the Vary headers of a response become one, in the
    place of the first, naming each header once (case aside) in the order first named,
    separated by bare commas."""
    tokens: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == "vary":
            for token in value.split(","):
                token = token.strip()
                if token:
                    tokens.setdefault(token.lower(), token)
    if not tokens:
        return headers
    merged, out = ",".join(tokens.values()), []
    for name, value in headers:
        if name.lower() != "vary":
            out.append((name, value))
        elif merged:
            out.append((name, merged))
            merged = ""
    return out


@dataclass(init=False)
class Limits:
    """The request limits a connection enforces (from ServerConfig); its ``__init__`` is
    written out, as Request's is: a front and a worker each make two per connection."""

    request_line: int
    field_size: int
    fields: int
    body: int
    timeout: float
    keep_alive_timeout: float
    #: Lingering close, as httpd's (SECONDS_TO_LINGER, MAX_SECS_TO_LINGER): how long
    #: the client may stay silent, and how long it may keep sending in all.
    linger_quiet: float
    linger_total: float
    #: RequestReadTimeout's limits on a whole head and a whole body (None: Timeout's alone).
    header_stage: StageTimeout | None
    body_stage: StageTimeout | None

    def __init__(self, request_line: int = 8190, field_size: int = 8190, fields: int = 100,
                 body: int = 1 << 30, timeout: float = 60.0, keep_alive_timeout: float = 5.0,
                 linger_quiet: float = 2.0, linger_total: float = 30.0,
                 header_stage: StageTimeout | None = None, body_stage: StageTimeout | None = None) -> None:
        self.request_line = request_line
        self.field_size = field_size
        self.fields = fields
        self.body = body
        self.timeout = timeout
        self.keep_alive_timeout = keep_alive_timeout
        self.linger_quiet = linger_quiet
        self.linger_total = linger_total
        self.header_stage = header_stage
        self.body_stage = body_stage

    def copy(self) -> Limits:
        """A connection's own copy, which its requests may change (a shallow one); made field
        by field, as each new connection makes one (dataclasses.replace() is slower)."""
        return Limits(self.request_line, self.field_size, self.fields, self.body, self.timeout,
                      self.keep_alive_timeout, self.linger_quiet, self.linger_total, self.header_stage,
                      self.body_stage)


@dataclass(init=False)
class Request:
    """One parsed request; ``path`` is safe to map onto a document root.

    Its ``__init__`` is written out: the one a dataclass gets is made at import and runs as
    Python even in the compiled build, once per request."""

    method: str
    target: str
    path: str
    query: str
    http_version: str
    headers: list[tuple[str, str]]
    host: str
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    content_length: int | None
    chunked: bool
    received: float
    #: Who logged in with the request's Authorization (None: no one), and how ("Basic").
    remote_user: str | None
    auth_type: str | None
    #: The port the Host header (or an absolute-form target) names, if it names one.
    host_port: int | None
    #: The request line and header lines as received (what TRACE echoes).
    head: bytes
    #: The path as the target spelled it, before decoding. ``path`` keeps an encoded slash
    #: as %2F until the vhost's AllowEncodedSlashes says what it is (decode_path).
    raw_path: str
    #: A refused head's request line as it came (HTTPConnection.refused_request), which the
    #: method, target and protocol above cannot spell again.
    refused_line: str

    def __init__(self, method: str, target: str, path: str, query: str, http_version: str,
                 headers: list[tuple[str, str]], host: str, local_ip: str, local_port: int, remote_ip: str,
                 remote_port: int, content_length: int | None = None, chunked: bool = False,
                 received: float | None = None, remote_user: str | None = None, auth_type: str | None = None,
                 host_port: int | None = None, head: bytes = b"", raw_path: str = "/",
                 refused_line: str = "") -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.http_version = http_version
        self.headers = headers
        self.host = host
        self.local_ip = local_ip
        self.local_port = local_port
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self.content_length = content_length
        self.chunked = chunked
        self.received = time.time() if received is None else received
        self.remote_user = remote_user
        self.auth_type = auth_type
        self.host_port = host_port
        self.head = head
        self.raw_path = raw_path
        self.refused_line = refused_line

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    @property
    def request_line(self) -> str:
        if self.refused_line:
            return self.refused_line
        if self.http_version == SIMPLE_VERSION:
            return f"{self.method} {self.target}"  # as the client sent it, without a protocol
        return f"{self.method} {self.target} HTTP/{self.http_version}"


def decode_path(raw_path: str, encoded_slashes: str = "off", merge_slashes: bool = True) -> str:
    """Percent-decode and normalise a request path, refusing what could escape.

    Rules, as Apache's: a bad escape is 400, an encoded NUL 404, ``..`` that climbs above
    ``/`` is 400; ``.`` and ``..`` inside the tree are resolved, repeated slashes merged
    (unless MergeSlashes is off). An encoded ``/`` is, as AllowEncodedSlashes says, 404
    ("off"), decoded ("on") or kept as it is ("nodecode").
    """
    if not raw_path.startswith("/"):
        raise HTTPError(400, f"invalid URI path {raw_path!r}")
    if "%" not in raw_path and "/." not in raw_path and "//" not in raw_path and "\0" not in raw_path \
            and raw_path.isascii():
        return raw_path  # nothing to decode, merge or refuse: the path as it came
    return _decoded(raw_path, encoded_slashes, merge_slashes)


def has_encoded_slash(raw_path: str) -> bool:
    return _ENCODED_SLASH.search(raw_path) is not None


_ENCODED_SLASH = re.compile("(%2[fF])")


def _decoded(raw_path: str, encoded_slashes: str, merge_slashes: bool) -> str:
    """decode_path's work on a path that has escapes, dot segments or empty ones."""
    for index in range(len(raw_path)):
        if raw_path[index] == "%":
            escape_ = raw_path[index + 1 : index + 3]
            if len(escape_) != 2 or any(c not in "0123456789abcdefABCDEF" for c in escape_):
                raise HTTPError(400, f"AH10244: invalid URI path ({raw_path})")  # a bad escape
            if escape_.lower() == "2f" and encoded_slashes == "off":
                raise HTTPError(404, f"AH00026: found %2f (encoded '/') in URI path ({raw_path}), "
                                "returning 404")
    if encoded_slashes == "nodecode":
        pieces = _ENCODED_SLASH.split(raw_path)  # every other piece is an escape kept as sent
        decoded = b"".join(piece.encode("latin-1") if index % 2 else unquote_to_bytes(piece.encode("latin-1"))
                           for index, piece in enumerate(pieces))
    else:
        decoded = unquote_to_bytes(raw_path.encode("latin-1"))  # the bytes as sent, unescaped ones too
    if b"\0" in decoded:  # httpd's unescaping refuses it as it refuses an encoded slash
        raise HTTPError(404, f"NUL byte in URI {raw_path!r}")
    segments: list[bytes] = []
    parts = decoded[1:].split(b"/")
    last = len(parts) - 1
    for index, segment in enumerate(parts):
        if segment == b"." or (segment == b"" and (merge_slashes or index == last)):
            continue
        if segment == b"..":
            if not segments:
                raise HTTPError(400, f"AH10244: invalid URI path ({raw_path})")  # climbs above the root
            segments.pop()
            continue
        segments.append(segment)
    trailing = decoded.endswith(b"/") or decoded.endswith(b"/.") or decoded.endswith(b"/..")
    path = b"/" + b"/".join(segments)
    if trailing and segments:
        path += b"/"
    return path.decode("utf-8", "surrogateescape")


def _split_host(value: str) -> tuple[str, int | None]:
    """The Host header lower-cased without port, and its port; 400 when it is not a host."""
    host = value.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise HTTPError(400, f"bad Host header {value!r}")
        name, rest = host[: end + 1], host[end + 1:]
    else:
        name, colon, port = host.rpartition(":")
        name, rest = (name, colon + port) if colon else (host, "")
    if rest and not (rest[1:].isascii() and rest[1:].isdigit() and int(rest[1:]) <= 65535):
        raise HTTPError(400, f"bad Host header {value!r}")
    name = name.rstrip(".")
    if _NOT_IN_HOST.search(name) or ".." in name or (":" in name and not name.startswith("[")):
        raise HTTPError(400, f"bad Host header {value!r}")
    return name, int(rest[1:]) if rest else None


#: What httpd 2.4's canned error pages say after their heading, line breaks and quirks
#: included, so clients and monitoring see the texts they know. ``{method}`` is the
#: request's method; a status not here gets the 500 text, as in httpd.
_ERROR_TEXTS = {
    400: "<p>Your browser sent a request that this server could not understand.<br />\n</p>\n",
    401: "<p>This server could not verify that you\nare authorized to access the document\nrequested.  "
         "Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't "
         "understand how to supply\nthe credentials required.</p>\n",
    403: "<p>You don't have permission to access this resource.</p>\n",
    404: "<p>The requested URL was not found on this server.</p>\n",
    405: "<p>The requested method {method} is not allowed for this URL.</p>\n",
    406: "<p>An appropriate representation of the requested resource could not be found on this "
         "server.</p>\n",
    408: "<p>Server timeout waiting for the HTTP request from the client.</p>\n",
    410: "<p>The requested resource is no longer available on this server and there is no forwarding "
         "address.\nPlease remove all references to this resource.</p>\n",
    411: "<p>A request of the requested method {method} requires a valid Content-length.<br />\n</p>\n",
    412: "<p>The precondition on the request for this URL evaluated to false.</p>\n",
    413: "The requested resource does not allow request data with {method} requests, or the amount of "
         "data provided in\nthe request exceeds the capacity limit.\n",
    414: "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n</p>\n",
    415: "<p>The supplied request data is not in a format\nacceptable for processing by this "
         "resource.</p>\n",
    416: "<p>None of the range-specifier values in the Range\nrequest-header field overlap the current "
         "extent\nof the selected resource.</p>\n",
    417: "<p>No expectation was seen, the Expect request-header \nfield was not presented by the "
         "client.\n</p><p>Only the 100-continue expectation is supported.</p>\n",
    421: "<p>The client needs a new connection for this\nrequest as the requested host name does not "
         "match\nthe Server Name Indication (SNI) in use for this\nconnection.</p>\n",
    422: "<p>The server understands the media type of the\nrequest entity, but was unable to process "
         "the\ncontained instructions.</p>\n",
    423: "<p>The requested resource is currently locked.\nThe lock must be released or proper "
         "identification\ngiven before the method can be applied.</p>\n",
    424: "<p>The method could not be performed on the resource\nbecause the requested action depended "
         "on another\naction and that other action failed.</p>\n",
    426: "<p>The requested resource can only be retrieved\nusing SSL.  The server is willing to upgrade "
         "the current\nconnection to SSL, but your client doesn't support it.\nEither upgrade your "
         "client, or try requesting the page\nusing https://\n",
    428: "<p>The request is required to be conditional.</p>\n",
    429: "<p>The user has sent too many requests\nin a given amount of time.</p>\n",
    431: "<p>The server refused this request because\nthe request header fields are too large.</p>\n",
    451: "<p>Access to this URL has been denied for legal reasons.<br />\n</p>\n",
    500: "<p>The server encountered an internal error or\nmisconfiguration and was unable to "
         "complete\nyour request.</p>\n<p>Please contact the server administrator at \n {admin} to "
         "inform them of the time this error occurred,\n and the actions you performed just before "
         "this error.</p>\n<p>More information about this error may be available\nin the server error "
         "log.</p>\n",
    501: "<p>{method} not supported for current URL.<br />\n</p>\n",
    502: "<p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n</p>\n",
    503: "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or "
         "capacity\nproblems. Please try again later.</p>\n",
    504: "<p>The gateway did not receive a timely response\nfrom the upstream server or "
         "application.</p>\n",
    506: "<p>A variant for the requested resource\n<pre>\n\n</pre>\nis itself a negotiable resource. "
         "This indicates a configuration error.</p>\n",
    507: "<p>The method could not be performed on the resource\nbecause the server is unable to store "
         "the\nrepresentation needed to successfully complete the\nrequest.  There is insufficient free "
         "space left in\nyour storage allocation.</p>\n",
    508: "<p>The server terminated an operation because\nit encountered an infinite loop.</p>\n",
    510: "<p>A mandatory extension policy in the request is not\naccepted by the server for this "
         "resource.</p>\n",
    511: "<p>The client needs to authenticate to gain\nnetwork access.</p>\n",
}
#: The contact httpd names on its 500 page where no ServerAdmin is set.
NO_ADMIN = "[no address given]"


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_http_date(second: float) -> str:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), as email.utils.formatdate writes
    it with usegmt; here, as that one runs as Python in every connection child the itk model
    forks, on the first date each child writes."""
    t = time.gmtime(second)
    return (f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


@functools.lru_cache(maxsize=4)
def _http_date_of_second(second: int) -> str:
    return format_http_date(second)


def http_now() -> str:
    """The Date header of a response sent now; formatted once a second, not per request."""
    return _http_date_of_second(int(time.time()))


def _html(text: str) -> str:
    """Text for a page as httpd's ap_escape_html writes it: <, >, & and " escaped."""
    return escape(text, quote=False).replace('"', "&quot;")


def error_page(status: int, location: str | None = None, method: str = "GET", admin: str = NO_ADMIN,
               notes: str = "", failed_document: int = 0, signature: str = "") -> bytes:
    """The HTML page httpd answers an error or redirect status with, byte for byte; a 400's
    ``notes`` go after its sentence, as httpd's add_optional_notes puts them.
    ``failed_document``: the status an ErrorDocument for it failed with, which httpd adds.
    ``signature``: ServerSignature's line, under a rule."""
    phrase = REASONS.get(status, "Error")
    if location is not None and status == 303:
        text = f'<p>The answer to your request is located <a href="{_html(location)}">here</a>.</p>\n'
    elif location is not None:
        text = f'<p>The document has moved <a href="{_html(location)}">here</a>.</p>\n'
    else:
        text = _ERROR_TEXTS.get(status, _ERROR_TEXTS[500]).format(method=_html(method), admin=_html(admin))
        if status == 400 and notes:
            text = text.removesuffix("</p>\n") + f"{notes}</p>\n"
        elif status == 417 and notes:  # the value the client sent (its notes), as httpd shows it
            text = ("<p>The expectation given in the Expect request-header\nfield could not be met by "
                    f"this server.\nThe client sent<pre>\n    Expect: {notes}\n</pre>\n</p><p>Only the "
                    "100-continue expectation is supported.</p>\n")
        elif status == 406:
            text += notes  # the variants MultiViews had, listed
    if failed_document:
        text += (f"<p>Additionally, a {failed_document} {REASONS.get(failed_document, 'Error')}\nerror was "
                 "encountered while trying to use an ErrorDocument to handle the request.</p>\n")
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
        f"<html><head>\n<title>{status} {escape(phrase)}</title>\n</head><body>\n"
        f"<h1>{escape(phrase)}</h1>\n{text}{_ruled(signature)}</body></html>\n"
    ).encode("latin-1", "replace")


def _ruled(signature: str) -> str:
    return f"<hr>\n{signature}" if signature else ""


#: Files up to this size go out in one write with their response head.
_COALESCE_BYTES = 64 * 1024
#: A measured response (a script's) is held whole up to this size, to go out with a Content-Length.
RESPONSE_BUFFER = 8192
#: Bytes of a file read at a time for the gzip stream.
_COMPRESS_READ = 65536


#: A header name: an RFC 9110 token.
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
#: Header names seen valid, so each is checked once per process.
_VALID_NAMES: set[str] = set()
#: How a response body is framed: no body, by Content-Length, chunked, or by closing.
_NO_BODY, _LENGTH, _CHUNKED, _UNTIL_CLOSE = "none", "length", "chunked", "close"


def _data_of(event: h11.Data) -> bytes:
    """A Data event's data as bytes: h11 hands it on as a bytearray, though typed bytes
    (which compiled code would take at its word: see itkgw.native)."""
    return bytes(cast(Any, event).data)


def _read_past(parser: h11.Connection) -> bytes:
    """What the parser read past the message, as bytes (a bytearray, typed bytes as above)."""
    return bytes(cast(Any, parser).trailing_data[0])


def _new_parser() -> h11.Connection:
    return h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 20)


#: The parser of every connection until a request announces a body: never fed, so always
#: idle with nothing buffered. A connection makes its own only for a body to frame (most
#: requests have none, and making one costs as much as parsing a small head).
_UNFED = _new_parser()


class HTTPConnection:
    """A server-side HTTP/1.1 connection on a blocking socket.

    The socket may be the C type itself (ClientSocket, the base of socket.socket): the
    servers make theirs so, since socket.py's layer (accept, __init__, close, detach) runs
    as Python at every connection."""

    def __init__(self, sock: ClientSocket, limits: Limits, pending: bytes = b"") -> None:
        self.sock = sock
        self.limits = limits
        #: When the connection began: the first head's RequestReadTimeout counts from here.
        self._opened = time.monotonic()
        #: The current request's body stage: when its first read began, and its deadline.
        self._body_started = 0.0
        self._body_deadline = 0.0
        self.h11 = _UNFED
        local = sock.getsockname()
        remote = sock.getpeername()
        self.local_ip, self.local_port = str(local[0]), int(local[1])
        self.remote_ip, self.remote_port = str(remote[0]), int(remote[1])
        self.requests_served = 0
        self.request: Request | None = None
        #: The last head read, refused or not (refused_request's).
        self.head_read = b""
        self.response_started = False
        #: A response head held back to go out with the first body bytes (one packet).
        self._held_head = b""
        #: A response held whole while it is small (status, headers, body pieces): it goes
        #: out with a Content-Length if it ends so, else chunked once it grows or is flushed.
        self._held_response: tuple[int, list[tuple[str, str]], list[bytes], str | None] | None = None
        #: The response in hand answers in HTTP/1.0 (send_response_head's ``http10``).
        self._answer_http10 = False
        #: The request in hand is HTTP/0.9's one-line GET: its answer is the body alone.
        self._simple_answer = False
        #: The response in hand is cut to a Range if held whole (send_response_head's ``byteranges``).
        self._byteranges = False
        #: A local ErrorDocument is being served (its internal redirect): an answer its handler
        #: gives as 200 keeps the error's status, and the error's own headers (a 401's challenge).
        self.error_document: tuple[int, list[tuple[str, str]]] | None = None
        self.status = 0
        self.bytes_sent = 0
        #: What the access log tells of the response: every byte written for it, head and
        #: framing included (%O), its headers (%{Name}o), and the file and handler that
        #: answered (%f, %R), which the handler names.
        self.wire_bytes = 0
        self.response_headers: list[tuple[str, str]] = []
        self.filename = ""
        self.handler = ""
        #: The handler the access log names (%R) when not the last one's: the request's as it
        #: came, before an internal redirect or an ErrorDocument (None: ``handler``).
        self.logged_handler: str | None = None
        #: The request's variables of PROTOCOL_VARIABLES that are set (BrowserMatch's of old
        #: clients, SetEnvIf's), which change how the response is spoken.
        self.protocol_variables: frozenset[str] = frozenset()
        #: Bytes read from the client and not parsed yet (``pending``: read by another process).
        self._pending = pending
        self._keep_alive_allowed = True
        #: The response's framing, the bytes its Content-Length still allows, whether it
        #: is complete, and whether the connection ends after it.
        self._framing = _NO_BODY
        self._length_left = 0
        self._response_done = False
        self._close_after = False
        self._continue_sent = False
        #: The client's Connection header asked for keep-alive: the response says
        #: whether it is kept, with a Keep-Alive header, as httpd's does.
        self._keep_alive_asked = False
        #: An HTTP/1.0 client that asked for keep-alive: h11 is told it speaks
        #: HTTP/1.1 (it keeps no HTTP/1.0 connection), then its version is put back.
        self._http10_kept = False
        #: mod_headers rules of the current request, applied to its response.
        self.header_rules: list[HeaderRule] = []
        #: What the current request's handler adds to a response that is not an error, before
        #: the Header rules see it (mod_expires' filter).
        self.success_headers: Callable[[list[tuple[str, str]]], list[tuple[str, str]]] | None = None
        #: What MultiViews says of the current request's answer (Content-Location, Vary, TCN),
        #: ahead of its handler's headers, as mod_negotiation sets them before the handler runs.
        self.negotiated: list[tuple[str, str]] = []
        #: The languages mod_mime gives the current request's file (AddLanguage, DefaultLanguage):
        #: httpd's header filter puts them first in its answer's Content-Language.
        self.languages: tuple[str, ...] = ()
        #: mod_deflate's rule for the current request (None: no DEFLATE filter where it goes);
        #: the gzip stream of a response it compresses; a measured response whose small size
        #: may yet spare it the filter (deflate.SMALLEST_COMPRESSED).
        self.deflate: DeflateRule | None = None
        self._gzip: GzipStream | None = None
        self._deflate_deferred = False
        #: ServerAdmin of the current request's vhost, named on error pages.
        self.server_admin = NO_ADMIN
        #: ServerSignature's line for the current request ("" when off), under httpd's own pages,
        #: and the banner it names the server with.
        self.signature = ""
        self.server_banner = SERVER_SOFTWARE
        #: AddDefaultCharset of the current request: the charset a text/plain or text/html
        #: response without one is labelled with ("off": none).
        self.default_charset = "off"
        #: The current request announced a body: its head went to h11 too, which frames it.
        self._h11_fed = False
        #: The socket stays blocking; its timeouts are the kernel's (SO_RCVTIMEO, SO_SNDTIMEO),
        #: so a read or write is one system call, not a poll and the call. None: not set yet.
        if sock.gettimeout() is not None:
            sock.settimeout(None)
        self._read_timeout_set: float | None = None
        #: Called once when the wait for the next request has lasted ``idle_after`` seconds
        #: (a FastCGI process held for it goes back), then dropped; the wait goes on.
        self.on_idle: Callable[[], None] | None = None
        self.idle_after = 0.0
        self._send_timeout_set: float | None = None
        #: When the connection was parked between two requests (0: it is not parked).
        self.parked_since = 0.0

    # -- reading -------------------------------------------------------

    def _recv(self, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self._set_read_timeout(min(remaining, self.limits.timeout))
        try:
            return self.sock.recv(_READ_SIZE)
        except BlockingIOError:
            raise TimeoutError("no bytes from the client in time") from None

    def _set_read_timeout(self, seconds: float) -> None:
        """SO_RCVTIMEO, rounded up to 10 ms and set only when that changes: a keep-alive
        connection's every wait for its next request gets the same value, and no call."""
        seconds = max(math.ceil(seconds * 100) / 100, 0.01)
        if seconds != self._read_timeout_set:
            set_kernel_timeout(self.sock, socket.SO_RCVTIMEO, seconds)
            self._read_timeout_set = seconds

    def _short_linger(self) -> None:
        """After a RequestReadTimeout, the lingering close lasts its quiet time at most, as
        mod_reqtimeout asks of httpd's: a slow client must not hold the process 30 s more."""
        self.limits.linger_total = min(self.limits.linger_total, self.limits.linger_quiet)

    def _arm_send_timeout(self) -> None:
        """SO_SNDTIMEO at Timeout, set when that changes: a client that stops reading for
        that long is gone."""
        if self._send_timeout_set != self.limits.timeout:
            set_kernel_timeout(self.sock, socket.SO_SNDTIMEO, max(self.limits.timeout, 0.01))
            self._send_timeout_set = self.limits.timeout

    def _read_head(self, first: bool) -> bytes | None:
        """Raw bytes of the next request head, or None if the client left or timed out
        before its request line was whole (httpd closes then without an answer)."""
        buffer = self._pending
        self._pending = b""
        idle_timeout = self.limits.timeout if first else self.limits.keep_alive_timeout
        # A parked connection's wait began when it was parked (KeepAliveTimeout counts from there).
        waiting_since = self.parked_since or time.monotonic()
        self.parked_since = 0.0
        deadline = waiting_since + idle_timeout
        started = False
        stage = self.limits.header_stage
        # The first head's stage counts from the connection's start; a later one's from its
        # first byte (KeepAliveTimeout bounds the wait for that), as mod_reqtimeout's.
        stage_started = self._opened
        stage_deadline = stage_started + stage.seconds if stage is not None and first else math.inf
        received = len(buffer)
        idle_deadline = waiting_since + self.idle_after if self.on_idle is not None else math.inf
        while True:
            buffer = buffer.lstrip(b"\r\n")
            if buffer:
                simple = _simple_request_end(buffer)
                if simple > 0:  # HTTP/0.9's one line: no header follows it
                    self._pending = buffer[simple:]
                    return buffer[:simple]
                if not started:
                    self.on_idle = None  # not idle: whatever it was kept for goes on
                    started = True
                    now = time.monotonic()
                    deadline = now + self.limits.timeout
                    if stage is not None and not first:
                        stage_started, stage_deadline, received = now, now + stage.seconds, len(buffer)
                end = self._head_end(buffer)
                self._check_head_limits(buffer if end < 0 else buffer[:end])
                if end >= 0:
                    self._pending = buffer[end:]
                    return buffer[:end]
            if stage is not None and received:  # MinRate's extension, for the bytes read so far
                stage_deadline = stage.extended(stage_deadline, stage_started, received)
                received = 0
            try:
                data = self._recv(min(deadline, stage_deadline, idle_deadline))
            except (socket.timeout, TimeoutError):
                if self.on_idle is not None and time.monotonic() >= idle_deadline:
                    idle, self.on_idle, idle_deadline = self.on_idle, None, math.inf
                    idle()
                    continue
                self._head_timed_out(buffer, time.monotonic() >= stage_deadline)
                return None
            except (ConnectionError, OSError):
                return None
            if not data:
                if started:
                    raise HTTPError(400, "client closed the connection in the request head")
                return None
            received = len(data)
            buffer += data

    def holds_unread(self) -> bool:
        """Whether bytes of the next request were read already (pipelined behind the last):
        such a connection is served on, since its socket has nothing left to wake a poll."""
        return bool(self._pending)

    def park(self) -> None:
        """Between two requests, nothing sent yet: the wait for the next one goes on
        elsewhere (a pool worker's epoll, among its other connections) and counts from now."""
        self.parked_since = time.monotonic()
        self.on_idle = None

    def _head_timed_out(self, buffer: bytes, by_stage: bool) -> None:
        """httpd's answer to a head that did not arrive in time: 408 once the request line is
        whole; else none, and the caller closes the connection."""
        if by_stage:
            _timeout_log.info("AH01382: Request header read timeout")
            self._short_linger()
        if b"\n" in buffer:
            raise HTTPError(408, None if by_stage else "timeout reading the request head")

    @staticmethod
    def _head_end(buffer: bytes) -> int:
        crlf = buffer.find(b"\r\n\r\n")
        lf = buffer.find(b"\n\n")
        ends = [pos + size for pos, size in ((crlf, 4), (lf, 2)) if pos >= 0]
        return min(ends) if ends else -1

    def _check_head_limits(self, head: bytes) -> None:
        lines = head.split(b"\n")
        complete = lines[:-1]
        line_limit = self.limits.request_line
        if not complete:
            if len(lines[0]) > line_limit + 1:
                raise HTTPError(414, "request line longer than LimitRequestLine %d" % line_limit)
            return
        if len(complete[0].rstrip(b"\r")) > line_limit:
            raise HTTPError(414, "request line longer than LimitRequestLine %d" % line_limit)
        fields = [line for line in lines[1:] if line.strip(b"\r")]
        # httpd answers both limits with a 400 that says which (not RFC 6585's 431).
        if len(fields) > self.limits.fields:
            raise HTTPError(400, "more than LimitRequestFields %d header fields" % self.limits.fields,
                            notes="The number of request header fields exceeds this server's limit.")
        for line in lines[1:]:
            if len(line.rstrip(b"\r")) > self.limits.field_size:
                limit = self.limits.field_size
                raise HTTPError(400, f"header field longer than LimitRequestFieldSize {limit}",
                                notes="Size of a request header field exceeds server limit.")

    def redirect(self, location: str, keep_method: bool = False, keep_body: bool = False) -> Request:
        """The current request re-aimed at a local ``location`` (an internal redirect): a GET
        without a body, the same headers otherwise, or (``keep_method``) the same method and
        body still to read, or (``keep_body``, an ErrorDocument's) a GET (a HEAD stays one)
        with the headers and the body still to read, as httpd's ErrorDocument leaves them.
        Its path is decoded as any request's; the request line stays the client's, as
        REQUEST_URI and the access log show it under httpd."""
        request = self.request
        assert request is not None
        raw_path, _, query = location.partition("?")
        if keep_method or keep_body:
            method = request.method if keep_method or request.method == "HEAD" else "GET"
            self.request = dataclasses.replace(request, method=method, path=decode_path(raw_path),
                                               query=query)
            return self.request
        if self.h11.their_state is h11.SEND_BODY:
            self._drain_body()  # the body was the first target's; the redirect has none
        dropped = ("content-length", "content-type", "transfer-encoding")
        self.request = dataclasses.replace(
            request, method="GET", path=decode_path(raw_path), query=query,
            headers=[(name, value) for name, value in request.headers if name not in dropped],
            content_length=None, chunked=False)
        return self.request

    def next_request(self, first: bool) -> Request | None:
        """Read and parse the next request head; None when the client is done.

        Raises HTTPError for anything a client gets a status for.
        """
        self.head_read = b""  # a head that fails while read is none to log (not the last one's)
        head = self._read_head(first)
        if head is None:
            return None
        self.head_read = head
        simple = _SIMPLE_REQUEST.fullmatch(head)
        if simple is not None:
            parsed = Head(simple[1].decode("ascii"), simple[2].decode("latin-1"), SIMPLE_VERSION, [], False)
            self._keep_alive_asked = self._http10_kept = False
        else:
            _check_framing(head)
            self._keep_alive_asked = bool(_KEEP_ALIVE_TOKEN.search(head))
            self._http10_kept = self._keep_alive_asked and _HTTP10_LINE.match(head) is not None
            try:
                parsed = parse_head(head)
            except MalformedHead as exc:
                raise HTTPError(exc.status, f"malformed request: {exc}") from None
            if parsed.http_version.startswith("0."):
                raise HTTPError(400, f"unsupported HTTP protocol 'HTTP/{parsed.http_version}'")
        self._h11_fed = parsed.framed
        if parsed.framed:
            self._start_body(head)
        self.request = self._make_request(parsed.method, parsed.target, parsed.http_version, parsed.headers)
        self.request.head = head
        self.error_document = None
        self.response_started = False
        self._held_head = b""
        self._held_response = None
        self._gzip, self._deflate_deferred = None, False
        self.status = 0
        self.bytes_sent = 0
        self.wire_bytes = 0
        self.response_headers = []
        self.filename = self.handler = ""
        self.logged_handler = None
        self.protocol_variables = frozenset()
        self._framing, self._response_done, self._continue_sent = _NO_BODY, False, False
        self._body_started = 0.0
        # httpd's Allow0.9: a GET of one line is answered with the body alone, and the
        # connection ends after it; another method so is a 400, in HTTP/1.1.
        self._simple_answer = simple is not None and parsed.method == "GET"
        if simple is not None:
            self._keep_alive_allowed = False
            if not self._simple_answer:
                raise HTTPError(400, "HTTP/0.9 request with a method other than GET")
        if "#" in parsed.target:
            raise HTTPError(400, f"request target with a fragment: {parsed.target}")
        expect = self.request.header("expect")
        if expect is not None and expect.lower() != "100-continue":
            raise HTTPError(417, f"client sent an unrecognized expectation value of Expect: {expect}",
                            notes=_html(expect))
        return self.request

    def _start_body(self, head: bytes) -> None:
        """Hand a head that announces a body to h11, which frames the body after it."""
        self.h11 = _new_parser()
        framed = head
        if _OTHER_CODINGS.search(head):
            # "gzip, chunked": httpd frames it by its last coding and leaves the others to the
            # handler; h11 reads chunked alone.
            framed = _OTHER_CODINGS.sub(rb"\1chunked\r\n", head, 1)
        if self._http10_kept:
            # h11 frames a kept HTTP/1.0 head read as HTTP/1.1, which needs a Host: one that has
            # none gets a stand-in, seen by h11 alone (the request was parsed already).
            framed = _HTTP10_LINE.sub(rb"\1HTTP/1.1", head, 1)
            if _HOST_LINE.search(head) is None:
                line, newline, rest = framed.partition(b"\n")
                framed = line + newline + b"Host: http10\r\n" + rest
        line_end = framed.find(b"\r\n")
        if not framed[:line_end].isascii():
            # obs-text in the target (parsed already), which h11 refuses: it frames the body alone.
            method, _, rest = framed[:line_end].partition(b" ")
            framed = method + b" / " + rest.rpartition(b" ")[2] + framed[line_end:]
        self.h11.receive_data(framed)
        try:
            event = self.h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise HTTPError(exc.error_status_hint, f"malformed request: {exc}") from None
        if not isinstance(event, h11.Request):
            raise HTTPError(400, "malformed request head")
        if self._http10_kept:
            # Framing as for HTTP/1.0: a response without a length ends the connection.
            self.h11.their_http_version = b"1.0"
        if self._pending:
            self.h11.receive_data(self._pending)
            self._pending = b""

    def _make_request(self, method: str, target: str, http_version: str,
                      headers: list[tuple[str, str]]) -> Request:
        host_header, length, chunked = "", None, False
        for name, value in headers:  # the head's parser left one Host and one Content-Length
            if name == "host":
                host_header = value
            elif name == "content-length":
                length = value
            elif name == "transfer-encoding":
                chunked = True
        raw = target
        if method == "OPTIONS" and target == "*":
            raw = "/"
        elif (scheme := _SCHEME.match(target)) is not None and (method != "CONNECT" or "://" in target):
            # absolute-form: the authority in the target wins over Host (a path alone after the
            # scheme is the path); httpd, no proxy, serves http and https alone, and logs nothing.
            if scheme[1].lower() not in ("http", "https"):
                raise HTTPError(400, None)
            rest = target[scheme.end():]
            if rest.startswith("//"):
                authority, _, rest = rest[2:].partition("/")
                host_header, headers = authority, _with_host(headers, authority)
                raw = "/" + rest
            elif rest.startswith("/"):
                raw = rest
        elif method == "CONNECT" and not target.startswith("/"):
            # authority-form (RFC 9112 3.2.3): httpd takes its host and serves "/" to it (its
            # handler answers; a static one with 405), having no proxy to open a tunnel with.
            host_header, headers = target, _with_host(headers, target)
            raw = "/"
        raw_path, _, query = raw.partition("?")
        request = Request(
            method=method,
            target=target,
            path="/",
            query=query,
            http_version=http_version,
            headers=headers,
            host="",
            local_ip=self.local_ip,
            local_port=self.local_port,
            remote_ip=self.remote_ip,
            remote_port=self.remote_port,
        )
        self.request = request
        if chunked:
            request.chunked = True
            if length is not None:
                # RFC 9112 6.1: the body is chunked, and the connection must close after the
                # response, since a front that read Content-Length sees another request boundary.
                self._keep_alive_allowed = False
        else:
            request.content_length = int(length) if length is not None else None
        if host_header:
            request.host, request.host_port = _split_host(host_header)
        request.raw_path = raw_path
        # An encoded slash waits for the vhost's AllowEncodedSlashes (ConnectionChild).
        request.path = decode_path(raw_path, "nodecode")
        return request

    def discard_body(self) -> None:
        """Read and drop the request body before an answer that has no use for it, as httpd's
        default handler does: a body over LimitRequestBody is a 413, one too slow a 408, and
        however long, the connection stays open for the next request."""
        if self._h11_fed:
            for _ in self.body_chunks():
                pass

    def body_chunks(self) -> Iterator[bytes]:
        """The request body piece by piece, within LimitRequestBody and Timeout."""
        request = self.request
        assert request is not None
        limit = self.limits.body
        if limit and request.content_length is not None and request.content_length > limit:
            self._keep_alive_allowed = False
            raise HTTPError(413, "request body of %d bytes exceeds LimitRequestBody %d" % (
                request.content_length, limit))
        if not self._h11_fed or self.h11.their_state in _BODY_READ:
            return  # none announced, or read already (an internal redirect has no body of its own)
        if self.h11.client_is_waiting_for_100_continue and not self._continue_sent:
            self._continue_sent = True
            self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
        received = 0
        while True:
            event = self._next_body_event()
            if isinstance(event, h11.Data):
                data = _data_of(event)
                received += len(data)
                if limit and received > limit:
                    self._keep_alive_allowed = False
                    raise HTTPError(413, "request body exceeds LimitRequestBody %d" % limit)
                yield data
            elif isinstance(event, h11.EndOfMessage):
                return

    def _next_body_event(self) -> object:
        deadline = time.monotonic() + self.limits.timeout
        stage = self.limits.body_stage
        if stage is not None and not self._body_started:  # the body's stage starts at its first read
            self._body_started = time.monotonic()
            self._body_deadline = self._body_started + stage.seconds
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                self._keep_alive_allowed = False
                raise HTTPError(400, f"malformed request body: {exc}") from None
            if event is not h11.NEED_DATA:
                return event
            stage_deadline = self._body_deadline if stage is not None else math.inf
            try:
                data = self._recv(min(deadline, stage_deadline))
            except (socket.timeout, TimeoutError):
                self._keep_alive_allowed = False
                if time.monotonic() >= stage_deadline:
                    _timeout_log.info("AH01382: Request body read timeout")
                    self._short_linger()
                    raise HTTPError(408, None) from None
                raise HTTPError(408, "timeout reading the request body") from None
            except OSError as failed:
                raise ClientGone(str(failed)) from None
            if stage is not None:
                self._body_deadline = stage.extended(self._body_deadline, self._body_started, len(data))
            self.h11.receive_data(data)
            if not data and self.h11.their_state is not h11.DONE:
                self._keep_alive_allowed = False
                raise HTTPError(400, "client closed the connection in the request body")

    # -- writing -------------------------------------------------------

    def _send(self, data: bytes | None) -> None:
        if self._held_head:
            data, self._held_head = self._held_head + (data or b""), b""
        if not data:
            return
        try:
            self._arm_send_timeout()
            self.sock.sendall(data)
            self.wire_bytes += len(data)
        except BlockingIOError:
            self._close_after = True
            raise ClientGone(f"client read nothing for {self.limits.timeout:g} seconds") from None
        except OSError as exc:
            self._close_after = True
            raise ClientGone(str(exc)) from None

    @property
    def _body_suppressed(self) -> bool:
        return (self.request is not None and self.request.method == "HEAD") or self.status in (204, 304)

    def keep_alive_wanted(self) -> bool:
        """Whether this response may leave the connection open (KeepAlive rules)."""
        if not (self._keep_alive_allowed and self._keep_alive_enabled):
            return False
        limit = self._max_requests
        return limit == 0 or self.requests_served < limit

    _max_requests = 100
    _keep_alive_enabled = True

    def configure_keep_alive(self, enabled: bool, max_requests: int) -> None:
        """KeepAlive and MaxKeepAliveRequests of the current request's vhost."""
        self._keep_alive_enabled = enabled
        self._max_requests = max_requests

    def send_response_head(self, status: int, headers: list[tuple[str, str]], hold: bool = False,
                           measure: bool = False, named: str | None = None, generated: bool = False,
                           http10: bool = False, byteranges: bool = False) -> None:
        """Status line and headers; Date, Server and framing are added here. ``hold``: the
        body follows at once, so the head waits to leave in the same write. ``measure``: the
        body comes in pieces of unknown total; while it stays under RESPONSE_BUFFER and is not
        flushed, the response is held whole and gets a Content-Length, as Apache's
        content-length filter gives one to a response complete in its first brigade.
        ``named``: the status line a script gave (status_lines.status_line says what of it is
        kept), None for httpd's own line of the status.
        ``generated``: the server's own error or redirect page, which keeps only the "always"
        header rules (httpd sends such a page with err_headers_out alone); a response a handler
        made gets them all, whatever its status (a script's 404, an ErrorDocument file).
        ``http10``: answered in HTTP/1.0, unchunked, and the connection ends after it (a PHP
        script's HTTP/1.0 status line, as mod_php has httpd answer it).
        ``byteranges``: a measured 200 that ends while held is cut to the request's Range, as
        httpd's byterange filter cuts mod_php's output it sees whole."""
        self._answer_http10 = http10
        self._byteranges = byteranges
        if self.error_document is not None and status == 200 and not generated:
            status, kept = self.error_document
            headers = [*kept, *headers]
            named = None
        # httpd's header filter: a 204 or a 304 has no body, so no type or length of one either.
        not_passed = _NOT_PASSED_ON_BODILESS if status in (204, 304) else _NOT_PASSED_ON
        out = [("Date", http_now()), ("Server", SERVER_SOFTWARE)]
        if self.negotiated and not generated:
            out += self.negotiated
        for name, value in headers:
            if name not in _VALID_NAMES:
                if not _TOKEN.fullmatch(name):
                    raise HTTPError(500, f"response header name {name!r} is not a token")
                _VALID_NAMES.add(name)
            if "\r" in value or "\n" in value or "\0" in value:
                raise HTTPError(500, f"response header {name!r} contains CR, LF or NUL")
            if name.lower() in not_passed:
                continue
            out.append((name, value))
        if self.success_headers is not None and status < 400 and not generated:
            out = self.success_headers(out)
        if self.languages and not generated:
            out = _with_languages(out, self.languages)
        self.status = status
        self._held_response = None  # an error page replaces a response held back whole
        self._gzip, self._deflate_deferred = None, False
        # mod_rewrite's Vary, in headers_out before the handler ran; then DEFLATE, then
        # mod_headers' rules, which see what it did (its Vary, the ETag's -gzip), as httpd's
        # filters run. A choice DEFLATE defers waits for them (_settle_deflate).
        varied = [rule for rule in self.header_rules if rule.action == "vary"]
        if varied and not generated:
            out = apply_header_rules(out, varied, [])
        if self.deflate is not None and not generated and self.deflate.takes(status, out):
            out, measure = self._deflate_head(out, measure)
        if not self._deflate_deferred:
            out = self._ruled(out, generated)
        if measure and not self._body_suppressed:
            # Nothing is sent yet: until it is, an error can still answer instead. A length the
            # handler gave is replaced by the body's own if the body ends while held, as httpd's
            # content-length filter does with a response it sees whole.
            self._held_response = (status, out, [], named)
            return
        self.response_started = True
        data = self._head_bytes(status, out, named)
        if hold:
            self._held_head += data
        else:
            self._send(data)

    def _ruled(self, headers: list[tuple[str, str]], generated: bool) -> list[tuple[str, str]]:
        """The head's last touches, once the filters before them are done: the Header rules,
        then AddDefaultCharset; what the access log names of it."""
        if self.header_rules:
            headers = self._apply_header_rules(headers, generated)
            headers = self._checked_rule_values(headers, generated)
        if self.default_charset != "off":
            charset = self.default_charset
            headers = [(name, _with_charset(value, charset) if name.lower() == "content-type" else value)
                       for name, value in headers]
        self.response_headers = headers
        return headers

    @staticmethod
    def _checked_rule_values(headers: list[tuple[str, str]], generated: bool) -> list[tuple[str, str]]:
        """httpd's check of the headers its rules made (a value with a CR, LF or NUL in it,
        from mod_headers' \\n or a variable): a 500 instead of the response, and on the server's
        own page, which may not fail again, the header left out."""
        bad = [(name, value) for name, value in headers if "\r" in value or "\n" in value or "\0" in value]
        if not bad:
            return headers
        if not generated:
            name, value = bad[0]
            raise HTTPError(500, f"AH02430: Response header '{name}' value of '{loggable(value)}' contains "
                            "invalid characters, aborting request")
        return [item for item in headers if item not in bad]

    def _apply_header_rules(self, headers: list[tuple[str, str]], generated: bool) -> list[tuple[str, str]]:
        """mod_headers on a response. httpd keeps a handler's headers (headers_out) apart from
        those that go out on any answer (err_headers_out): a plain rule acts on the first, an
        "always" rule on the second alone, so "Header always unset" leaves a script's header
        be, and "Header always set" adds a second one beside it. httpd's own pages are sent
        with err_headers_out alone, which here holds what the page needs (its Location or
        challenge): "always" rules act on those."""
        always = [rule for rule in self.header_rules if rule.always]
        asked = _as_sent(self.request.head) if self.request is not None and any(
            rule.action == "echo" for rule in self.header_rules) else []
        if generated:
            if not always:
                return headers
            # httpd's page goes out with err_headers_out, where the rules' headers come first
            ruled = apply_header_rules(headers, always, asked)
            added = [item for item in ruled if item not in headers]
            return [*added, *(item for item in ruled if item in headers)]
        own = [rule for rule in self.header_rules if not rule.always and rule.action != "vary"]
        if own:
            headers = apply_header_rules(headers, own, asked)
        if always:
            added = apply_header_rules([], always, asked)
            if any(rule.action.lower() == "set" and rule.name.lower() == "content-type" for rule in always):
                # mod_headers sets the response's own type with it: one Content-Type goes out
                headers = [(name, value) for name, value in headers if name.lower() != "content-type"]
            headers = [*added, *headers]  # httpd lays headers_out over err_headers_out
        return headers

    def _deflate_head(self, headers: list[tuple[str, str]],
                      measure: bool) -> tuple[list[tuple[str, str]], bool]:
        """The head of a response the DEFLATE filter may take, and whether to hold it. A
        length known decides now; a measured response waits until its size is known or
        it outgrows the smallest worth compressing."""
        rule = self.deflate
        assert rule is not None
        length = next((value for name, value in headers if name.lower() == "content-length"), None)
        if length is None and measure and not self._body_suppressed:
            self._deflate_deferred = True
            return headers, True
        if length is not None and length.isdigit() and int(length) < SMALLEST_COMPRESSED:
            return headers, measure
        if rule.accepted and not self._body_suppressed:
            self._gzip = GzipStream(rule.settings)
            return rule.headers_for(headers), True
        return rule.headers_for(headers), measure

    def _settle_deflate(self, headers: list[tuple[str, str]], pieces: list[bytes],
                        complete: bool) -> tuple[list[tuple[str, str]], list[bytes]]:
        """A deferred response's head and body once the filter's choice is made, the Header
        rules applied after it."""
        self._deflate_deferred = False
        rule = self.deflate
        assert rule is not None
        if complete and sum(map(len, pieces)) < SMALLEST_COMPRESSED:
            return self._ruled(headers, False), pieces
        headers = self._ruled(rule.headers_for(headers), False)
        if not rule.accepted:
            return headers, pieces
        self._gzip = GzipStream(rule.settings)
        compressed = [self._gzip.compress(piece) for piece in pieces]
        if complete:
            compressed.append(self._gzip.finish())
            self._gzip = None
        return headers, [piece for piece in compressed if piece]

    def _connection_headers(self, kept: bool) -> list[tuple[str, str]]:
        """Whether the connection stays open after this response, said as httpd says it: a
        client that asked for keep-alive is told the timeout and the requests left."""
        if not kept:
            return [("Connection", "close")]
        if not self._keep_alive_asked:
            return []
        keep_alive = "timeout=%d" % self.limits.keep_alive_timeout
        if self._max_requests:
            keep_alive += ", max=%d" % (self._max_requests - self.requests_served)
        return [("Keep-Alive", keep_alive), ("Connection", "Keep-Alive")]

    def _client_keeps(self) -> bool:
        """Whether the client lets the connection stay: not with Connection: close, nor as
        HTTP/1.0 (downgrade-1.0 makes it one) unless it asked for keep-alive; not at all
        under nokeepalive."""
        request = self.request
        if request is None or "nokeepalive" in self.protocol_variables:
            return False
        if request.http_version < "1.1" and not self._http10_kept:
            return False
        if self._downgraded and not self._keep_alive_asked:
            return False
        return "close" not in _connection_tokens(request)

    @property
    def _downgraded(self) -> bool:
        """downgrade-1.0 (or force-no-vary) has the request read as HTTP/1.0."""
        return bool(self.protocol_variables & _DOWNGRADING)

    def _answers_http10(self) -> bool:
        """The status line says HTTP/1.0: a script's own, or force-response-1.0 (force-no-vary
        implies it) for a request read as HTTP/1.0, as httpd's header filter decides."""
        request = self.request
        read_as_10 = request is not None and (request.http_version < "1.1" or self._downgraded)
        return self._answer_http10 or (read_as_10 and bool(self.protocol_variables & _FORCING_10))

    def _head_bytes(self, status: int, headers: list[tuple[str, str]], named: str | None = None) -> bytes:
        """The status line and headers, with the framing h11 would give the response: its
        Content-Length, else chunked for an HTTP/1.1 client, else the end of the connection."""
        if not 200 <= status <= 999:
            raise HTTPError(500, f"cannot send a response with status {status}")
        if self._simple_answer:  # HTTP/0.9: no status line, no header; the end of the body closes
            self._framing, self._close_after = _UNTIL_CLOSE, True
            return b""
        length = next((value for name, value in headers if name.lower() == "content-length"), None)
        bodiless_status = status in (204, 304)
        head = self.request is not None and self.request.method == "HEAD"
        chunked = False
        if length is not None:
            if not length.isdigit():
                raise HTTPError(500, f"cannot send a response with Content-Length {length!r}")
            framing = _LENGTH
            self._length_left = int(length)
        elif bodiless_status:
            framing = _NO_BODY
        elif self.request is not None and self.request.http_version >= "1.1" and not self._answer_http10 \
                and not self._downgraded:
            framing, chunked = _CHUNKED, True  # (an HTTP/1.0 client kept alive: "1.0")
        else:
            framing = _UNTIL_CLOSE  # which ends the connection, but after a HEAD, which sends none
        self._framing = _NO_BODY if head or bodiless_status else framing
        http10 = self._answers_http10()
        kept = (self.keep_alive_wanted() and self._client_keeps() and not http10
                and not (framing == _UNTIL_CLOSE and not head))
        self._close_after = not kept
        headers = [*headers, *self._connection_headers(kept)]
        if chunked and not head:  # httpd frames no HEAD response: it announces no chunks either
            headers.append(("Transfer-Encoding", "chunked"))
        headers = _in_httpd_order(headers, bool(self.languages) and not self.handler)  # a file's: last
        line = status_line(status, named)
        if "\r" in line or "\n" in line:
            raise HTTPError(500, "response reason phrase contains CR or LF")
        if "force-no-vary" in self.protocol_variables:
            headers = [(name, value) for name, value in headers if name.lower() != "vary"]
        elif any(name.lower() == "vary" for name, _ in headers):
            headers = one_vary(headers)
        lines = [f"{name}: {value}\r\n" for name, value in headers]
        version = "1.0" if http10 else "1.1"
        return f"HTTP/{version} {line}\r\n{''.join(lines)}\r\n".encode("latin-1", "replace")

    def _body_bytes(self, size: int) -> int:
        """How many of ``size`` body bytes the framing lets out: those beyond a Content-Length
        are dropped, and the connection ends after such a response."""
        if self._framing != _LENGTH:
            return size
        if size > self._length_left:
            self._close_after = True
            size = self._length_left
        self._length_left -= size
        return size

    def flush(self) -> None:
        """Send what the response holds: a measured one's head, without a length, and its
        body so far; what a gzip stream holds, as a sync flush."""
        self._release_held()
        if self._gzip is not None:
            self._pass_body(self._gzip.flush())
            self._send(b"")

    def _release_held(self) -> None:
        if self._held_response is None:
            return
        status, headers, pieces, named = self._held_response
        self._held_response = None
        if self._deflate_deferred:
            headers, pieces = self._settle_deflate(headers, pieces, complete=False)
        self.response_started = True
        self._held_head = self._head_bytes(status, headers, named)
        for piece in pieces:
            self._pass_body(piece)
        if not pieces:
            self._send(b"")

    def send_raw(self, data: bytes) -> None:
        """Bytes that are the response as they are (an nph- script's status line, headers and
        body); the connection ends after it, since nothing here knows where it ends."""
        if not self.response_started:
            self.response_started = True
            self._keep_alive_allowed = False
            status = data.split(b" ", 2)[1:2]
            self.status = int(status[0]) if status and status[0].isdigit() else 200
        self.bytes_sent += len(data)
        self._send(data)

    def send_data(self, data: bytes) -> None:
        if not data or self._body_suppressed:
            return
        if self._gzip is not None:
            data = self._gzip.compress(data)
        self._pass_body(data)

    def _pass_body(self, data: bytes) -> None:
        """Body bytes as they go out (compressed already, if they are): held while the
        response is measured, else framed and sent."""
        if self._held_response is not None:
            pieces = self._held_response[2]
            if data:
                pieces.append(data)
            if self._gzip is not None:  # DEFLATE holds the compressed response while it is short
                overflows = self._gzip.consumed > HELD_INPUT
            else:
                accepted = self._deflate_deferred and self.deflate is not None and self.deflate.accepted
                overflows = sum(map(len, pieces)) > (HELD_INPUT if accepted else RESPONSE_BUFFER)
            if overflows:
                self._release_held()
            return
        if not data or self._framing == _NO_BODY:
            return
        size = self._body_bytes(len(data))
        if size < len(data):
            data = data[:size]
        if not data:
            return
        self.bytes_sent += len(data)
        if self._framing == _CHUNKED:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self._send(data)

    def send_file(self, fd: int, offset: int, count: int) -> None:
        """Body bytes straight from a file with sendfile(2), or read and compressed."""
        if self._gzip is not None:
            self._send_file_compressed(fd, offset, count)
            return
        if count <= 0 or self._framing == _NO_BODY:
            return
        count = self._body_bytes(count)
        if count <= 0:
            return
        if self._framing == _CHUNKED:
            self._send(b"%x\r\n" % count)
        self._sendfile(fd, offset, count)
        if self._framing == _CHUNKED:
            self._send(b"\r\n")
        self.bytes_sent += count

    def _send_file_compressed(self, fd: int, offset: int, count: int) -> None:
        while count > 0:
            try:
                data = os.pread(fd, min(count, _COMPRESS_READ), offset)
            except OSError as exc:
                raise HTTPError(500, f"cannot read the file: {exc.strerror}") from None
            if not data:
                raise ClientGone("file ended before its length")
            self.send_data(data)
            offset += len(data)
            count -= len(data)

    def _sendfile(self, fd: int, offset: int, count: int) -> None:
        """sendfile(2) the range, waiting up to Timeout whenever the socket is full. A small
        range goes out with a held head in one write instead."""
        if self._held_head and count <= _COALESCE_BYTES:
            try:
                data = os.pread(fd, count, offset)
            except OSError as exc:
                raise HTTPError(500, f"cannot read the file: {exc.strerror}") from None
            if len(data) != count:
                raise ClientGone("file ended before its length")
            self._send(data)
            return
        if self._held_head:
            self._send(b"")
        remaining = count
        self._arm_send_timeout()
        try:
            while remaining > 0:
                try:
                    sent = os.sendfile(self.sock.fileno(), fd, offset, remaining)
                except BlockingIOError:
                    raise TimeoutError(f"client read nothing for {self.limits.timeout:g} seconds") from None
                if sent == 0:
                    raise ClientGone("file ended before its length")
                offset += sent
                remaining -= sent
                self.wire_bytes += sent
        except OSError as exc:
            self._close_after = True
            raise ClientGone(str(exc)) from None

    def end_response(self) -> None:
        if self._gzip is not None:
            tail, self._gzip = self._gzip.finish(), None
            if self._held_response is not None:
                self._held_response[2].append(tail)  # held whole: it ends here, with a length
            else:
                self._pass_body(tail)
        if self._held_response is not None:
            status, headers, pieces, named = self._held_response
            self._held_response = None
            headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
            if self._deflate_deferred:
                headers, pieces = self._settle_deflate(headers, pieces, complete=True)
            body = b"".join(pieces)
            if self._byteranges and status == 200:
                status, headers, body = self._cut_to_ranges(headers, body)
            self.response_started = True
            self._held_head = self._head_bytes(status, [*headers, ("Content-Length", str(len(body)))], named)
            self._pass_body(body)
        if self._framing == _CHUNKED:
            self._send(b"0\r\n\r\n")
        else:
            if self._framing == _LENGTH and self._length_left:
                self._close_after = True  # shorter than its Content-Length: the client must see the end
            self._send(b"")  # a head still held goes out
        self._response_done = True

    def _cut_to_ranges(self, headers: list[tuple[str, str]],
                       body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """A whole 200 body cut to the request's Range, as httpd's byterange filter (see
        ap_set_byterange): a 206 of one range, or multipart/byteranges of several; as it was
        when the request asks for none or the response rules it out. Raises
        RangeNotSatisfiable when no range starts within the body."""
        request = self.request
        if request is None or not body:
            return 200, headers, body
        wanted = request.header("range") or request.header("request-range")
        if not wanted or wanted[:6].lower() != "bytes=":
            return 200, headers, body
        names = {name.lower(): value for name, value in headers}
        if "content-range" in names or names.get("content-type", "").lower().startswith(
                ("multipart/byteranges", "multipart/x-byteranges")):
            return 200, headers, body
        if not if_range_holds(request.header("if-range"), headers):
            return 200, headers, body
        ranges = byte_ranges(wanted, len(body))
        if ranges is None:
            return 200, headers, body
        size = len(body)
        if len(ranges) == 1:
            (first, last), = ranges
            return 206, [*headers, ("Content-Range", f"bytes {first}-{last}/{size}")], body[first:last + 1]
        boundary = secrets.token_hex(8)
        heads, closing = part_heads(ranges, size, names.get("content-type"), boundary)
        parts = b"".join(head + body[first:last + 1]
                         for head, (first, last) in zip(heads, ranges, strict=True))
        kept = [(name, value) for name, value in headers if name.lower() != "content-type"]
        return 206, [*kept, ("Content-Type", f"multipart/byteranges; boundary={boundary}")], parts + closing

    def send_error(self, status: int, headers: list[tuple[str, str]] | None = None, notes: str = "",
                   failed_document: int = 0) -> None:
        """A complete error response; client errors end the connection. ``failed_document``:
        see error_page."""
        if status in (400, 408, 413, 414, 417, 431) or status >= 500:
            self._keep_alive_allowed = False
        location = next((value for name, value in headers or [] if name.lower() == "location"), None)
        method = self.request.method if self.request is not None else "GET"
        body = error_page(status, location, method, self.server_admin, notes, failed_document, self.signature)
        if status == 405 and not headers:
            headers = [("Allow", _ALLOW_STATIC)]
        error_type = "text/html" if "suppress-error-charset" in self.protocol_variables \
            else "text/html; charset=iso-8859-1"
        all_headers = [*(headers or []), ("Content-Type", error_type)]
        if method != "HEAD":  # httpd makes no page for a HEAD, so names no length of one
            all_headers.append(("Content-Length", str(len(body))))
        if self.request is None:
            # No parsed request: answer by hand, h11 has no request to pair with.
            self.status = status
            self._send_raw_error(status, all_headers, body)
            return
        self.send_response_head(status, all_headers, generated=True)
        self.send_data(body)
        self.end_response()

    def _send_raw_error(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        lines = [f"HTTP/1.1 {status_line(status)}"]
        lines += [f"{name}: {value}" for name, value in _in_httpd_order(
            [("Date", http_now()), ("Server", SERVER_SOFTWARE), *headers, ("Connection", "close")], False)]
        try:
            self._arm_send_timeout()
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        except OSError:
            raise ClientGone("client went away before the error response") from None
        self.bytes_sent = len(body)
        self.response_headers = headers  # for the access log, as a response sent otherwise
        self.response_started = True

    # -- between requests ----------------------------------------------

    def refused_request(self) -> Request | None:
        """What the access log names of a head refused before it made a request (a request line
        or a field the grammar refuses), as httpd fills r for its log: the line's first three
        words (any run of blanks splits them) as its method, target and protocol, HTTP/1.0
        when the third is none, the line made of those three again."""
        if not self.head_read:
            return None
        line = self.head_read.split(b"\r\n", 1)[0]
        words = [word.decode("latin-1") for word in _BLANKS.split(line) if word]
        method = words[0] if words else ""
        target = words[1] if len(words) > 1 else "/"
        protocol = _PROTOCOL.fullmatch(words[2]) if len(words) > 2 else None
        path, _, query = target.partition("?")
        path = os.fsdecode(path.encode("latin-1"))  # as a parsed one's, text of its bytes decoded
        return Request(method, target, path, query, protocol[1] if protocol else "1.0", [], "",
                       self.local_ip, self.local_port, self.remote_ip, self.remote_port,
                       refused_line=" ".join(words[:3]))

    def keeps_alive(self) -> bool:
        """Whether the connection stays open after the response just sent (%X's "+")."""
        return self._response_done and not self._close_after and self._keep_alive_allowed

    def start_next_cycle(self) -> bool:
        """Prepare for the next request; False when the connection must close."""
        self.requests_served += 1
        if not self._response_done or self._close_after:
            return False
        request = self.request
        bodiless = request is not None and not request.has_body and request.content_length is None
        if not bodiless and self.h11.their_state is h11.SEND_BODY:
            self._drain_body()
        if not (bodiless or self.h11.their_state is h11.DONE) or not self._keep_alive_allowed:
            return False
        self.request = None
        if self._h11_fed:
            # Bytes of the next request that h11 already buffered go to the next one's parser.
            self._pending = _read_past(self.h11)
            self.h11 = _UNFED
            self._h11_fed = False
        return True

    def _client_done(self) -> bool:
        """Whether the client sends nothing more and all it sent is read: its request, answered
        in full, asked to close (Connection: close, or HTTP/1.0 without keep-alive), came
        whole, and no byte waits past it (nginx's lingering_close auto does not linger then)."""
        request = self.request
        if request is None or not self._response_done or self._pending:
            return False
        if request.has_body and not (self._h11_fed and self.h11.their_state is h11.DONE):
            return False  # a body not read to its end
        if self._h11_fed and _read_past(self.h11):
            return False
        if not (request.http_version < "1.1" and not self._keep_alive_asked) \
                and "close" not in _connection_tokens(request):
            return False
        try:
            return not self.sock.recv(1, PEEK_NOW)  # an end of file: the client has closed
        except BlockingIOError:
            return True  # nothing waiting
        except OSError:
            return False

    def _drain_body(self) -> None:
        drained = 0
        try:
            for chunk in self.body_chunks():
                drained += len(chunk)
                if drained > _DRAIN_LIMIT:
                    self._keep_alive_allowed = False
                    return
        except (HTTPError, ClientGone):
            return

    def unread(self) -> bytes:
        """The current request's head and every byte read after it: what another process
        needs to serve this request and the connection's next ones."""
        assert self.request is not None
        return self.request.head + _read_past(self.h11) + self._pending

    def release(self) -> None:
        """Close this process's descriptor of a connection that lives on in another."""
        self.sock.close()

    def close(self) -> None:
        """Close as httpd's lingering close: stop sending, then read and drop what
        the client still sends, so that a reset does not destroy the response in
        flight, until it is quiet for ``linger_quiet`` seconds or
        ``linger_total`` have passed: a client dribbling bytes cannot hold the
        process longer. A client that has said it sends nothing more, and whose
        every byte is read, leaves nothing to reset: that connection closes at once."""
        if self._client_done():
            self.sock.close()
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + self.limits.linger_total
            while (remaining := deadline - time.monotonic()) > 0:
                self.sock.settimeout(min(self.limits.linger_quiet, remaining))
                if not self.sock.recv(_READ_SIZE):
                    break
        except OSError:
            pass  # The peer is gone or quiet: nothing left to wait for.
        finally:
            self.sock.close()


def _connection_tokens(request: Request) -> Iterator[str]:
    """The options of the request's Connection headers, lower-cased."""
    return (token.strip() for name, value in request.headers if name == "connection"
            for token in value.lower().split(","))


def _with_host(headers: list[tuple[str, str]], authority: str) -> list[tuple[str, str]]:
    """``headers`` with the target's authority as Host, as httpd replaces it for everything after."""
    if any(name == "host" for name, _ in headers):
        return [(name, authority if name == "host" else value) for name, value in headers]
    return [*headers, ("host", authority)]


#: Request variables that change how httpd speaks to a client (mod_setenvif's special ones).
PROTOCOL_VARIABLES = ("nokeepalive", "downgrade-1.0", "force-response-1.0", "force-no-vary",
                      "suppress-error-charset")
_DOWNGRADING = frozenset({"downgrade-1.0", "force-no-vary"})
_FORCING_10 = frozenset({"force-response-1.0", "force-no-vary"})
#: What splits a refused request line into its words, and the protocol word (refused_request).
_BLANKS = re.compile(rb"[ \t\x0b\x0c\r]+")
_PROTOCOL = re.compile(r"HTTP/([0-9]\.[0-9])")
_NOT_IN_HOST = re.compile(r"[/\\ \t@]")
_KEEP_ALIVE_TOKEN = re.compile(rb"^connection[ \t]*:[^\r\n]*\bkeep-alive\b", re.IGNORECASE | re.MULTILINE)
_HTTP10_LINE = re.compile(rb"^([^\r\n]* )HTTP/1\.0(?=\r?\n)")
_HOST_LINE = re.compile(rb"^host[ \t]*:", re.IGNORECASE | re.MULTILINE)
#: An absolute-form request target starts with a scheme (RFC 9112 3.2.2).
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_BARE_LF = re.compile(rb"(?<!\r)\n")
#: HTTP/0.9's request: a method and a target, no protocol, ended by CRLF.
_SIMPLE_REQUEST = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+)\r\n")
#: The http_version of such a request (SERVER_PROTOCOL HTTP/0.9, as httpd says it).
SIMPLE_VERSION = "0.9"


def _simple_request_end(buffer: bytes) -> int:
    """Where an HTTP/0.9 request line at the start of ``buffer`` ends; -1 for none (a
    request line with a protocol, or not whole yet)."""
    end = buffer.find(b"\r\n")
    if end < 0 or buffer.count(b" ", 0, end) != 1:
        return -1
    return end + 2 if _SIMPLE_REQUEST.fullmatch(buffer, 0, end + 2) else -1
_CONTENT_LENGTH_LINE = re.compile(rb"^content-length[ \t]*:", re.IGNORECASE | re.MULTILINE)


#: What httpd's header filter sets after every other header: the response's type, then the
#: file's languages (a script's own Content-Language stays where it is).
_SET_LAST = {"content-type": 1, "content-language": 2}


def _in_httpd_order(headers: list[tuple[str, str]], file_languages: bool) -> list[tuple[str, str]]:
    """``headers`` in the order httpd sends them: Date and Server first, then the others as
    they came (the connection's and the framing's last), then Content-Type and the file's
    Content-Language, which its header filter adds after them all."""
    first: list[tuple[str, str]] = []
    middle: list[tuple[str, str]] = []
    last: list[tuple[str, str]] = []
    for item in headers:
        name = item[0].lower()
        if name == "date" or name == "server":
            first.append(item)
        elif name == "content-type" or (file_languages and name == "content-language"):
            last.append(item)
        else:
            middle.append(item)
    if len(last) > 1:
        last.sort(key=lambda item: _SET_LAST[item[0].lower()])
    return [*first, *middle, *last]


def _with_languages(headers: list[tuple[str, str]], languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """Content-Language as httpd's header filter makes it: the file's languages, then those
    the handler named that are not among them, joined by bare commas."""
    named = [token.strip() for name, value in headers if name.lower() == "content-language"
             for token in value.split(",") if token.strip()]
    merged = list(languages)
    merged += [token for token in named if token.lower() not in {language.lower() for language in merged}]
    joined = ("Content-Language", ",".join(merged))
    if not named:
        return [*headers, joined]
    # In the place of the handler's own (apr_table_setn), the others of the name dropped.
    first = next(index for index, item in enumerate(headers) if item[0].lower() == "content-language")
    rest = (item for item in headers[first + 1:] if item[0].lower() != "content-language")
    return [*headers[:first], joined, *rest]


def _with_charset(content_type: str, charset: str) -> str:
    """AddDefaultCharset as httpd applies it: to text/plain and text/html without a charset."""
    lower = content_type.lower()
    if lower.startswith(("text/plain", "text/html")) and "charset=" not in lower:
        return f"{content_type}; charset={charset}"
    return content_type


#: A Transfer-Encoding line with codings before its last, chunked one.
_OTHER_CODINGS = re.compile(rb"(?im)^(transfer-encoding:)[ \t]*[^\r\n]*,[ \t]*chunked[ \t]*\r\n")


def _check_framing(head: bytes) -> None:
    """What httpd's strict parsing refuses with 400 before a request is read:
    lines ended by a bare LF, and more than one Content-Length (h11 merges
    equal ones; a front that kept the other would frame the body otherwise)."""
    if head.count(b"\n") != head.count(b"\r\n") and _BARE_LF.search(head):
        raise HTTPError(400, "request header line ends in a bare LF (HttpProtocolOptions Strict)")
    if head.lower().count(b"content-length") > 1 and len(_CONTENT_LENGTH_LINE.findall(head)) > 1:
        raise HTTPError(400, "more than one Content-Length header")


def set_kernel_timeout(sock: ClientSocket, option: int, seconds: float) -> None:
    """A socket's SO_RCVTIMEO or SO_SNDTIMEO (a struct timeval): a blocking call on it
    fails with EAGAIN (BlockingIOError) once it has waited that long."""
    whole = int(seconds)
    sock.setsockopt(socket.SOL_SOCKET, option, struct.pack("@ll", whole, int((seconds - whole) * 1_000_000)))
