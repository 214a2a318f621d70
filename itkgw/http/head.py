"""A request head parsed by RFC 9112's grammar, with h11's rules and answers.

h11 reads a head through its connection's state machine and event objects,
a sixth of the time of a small keep-alive request; a request without a body
needs none of that machinery. This module applies the grammar h11 applies
(request line, header fields, obsolete line folding) and the checks it makes
(one Host, required in HTTP/1.1; one Content-Length value; Transfer-Encoding
chunked only), with the statuses it hints. The connection still hands a head
that announces a body to h11, which frames that body.
"""

from __future__ import annotations

import re
from typing import NamedTuple, TypeVar

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
#: The target is visible characters and obs-text, as httpd's strict parser takes it (a client
#: may send a path's UTF-8 unescaped); h11 would take visible characters alone.
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e\x80-\xff]+) HTTP/([0-9]\.[0-9])")
#: A field value holds no control character but HTAB (httpd's HttpProtocolOptions Strict).
_FIELD = re.compile(rb"(" + _TOKEN + rb"):[ \t]*((?:[^\x00-\x20\x7f]+(?:[ \t]+[^\x00-\x20\x7f]+)*)?)[ \t]*")
_DIGITS = re.compile(rb"[0-9]+")
#: The longest Content-Length accepted (h11's CONTENT_LENGTH_MAX_DIGITS).
_LENGTH_DIGITS = 20
#: httpd's apr_off_t: the largest length it reads.
_LARGEST_LENGTH = 2**63 - 1


class MalformedHead(Exception):
    """A head the grammar or its rules refuse; ``status`` is the answer (400, or 501)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Head(NamedTuple):
    """A parsed request head: names lower-cased, bytes as latin-1 text."""

    method: str
    target: str
    http_version: str
    headers: list[tuple[str, str]]
    #: Content-Length or Transfer-Encoding is present: a body follows, for h11 to frame.
    framed: bool


def parse(head: bytes) -> Head:
    """The request line and header fields of ``head`` (ending in an empty CRLF line)."""
    if not head.endswith(b"\r\n\r\n"):
        raise MalformedHead("request head not ended by an empty line")
    lines = head[:-4].split(b"\r\n")
    line = _REQUEST_LINE.fullmatch(lines[0])
    if line is None:
        raise MalformedHead(f"illegal request line: {lines[0]!r}")
    method, target, version = line.groups()
    fields = [_field(raw) for raw in _unfolded(lines[1:])]  # the grammar first, for every line
    headers: list[tuple[str, str]] = []
    hosts = 0
    length: bytes | None = None
    chunked = False
    for name, value, text in fields:
        if name == b"host":
            hosts += 1
            if not value and version >= b"1.1":
                raise MalformedHead("client sent HTTP/1.1 request without hostname")
        elif name == b"content-length":
            value = _one_length(value, length)
            if length is not None:
                continue  # the same length again: one header, as h11 keeps it
            length = value
            text = (text[0], value.decode("latin-1"))
        elif name == b"transfer-encoding":
            if chunked:
                raise MalformedHead("multiple Transfer-Encoding headers")
            value = value.lower()
            if value != b"chunked" and value.rsplit(b",", 1)[-1].strip() != b"chunked":
                raise MalformedHead(f"unknown Transfer-Encoding {value.decode('latin-1')!r}: only a body "
                                    "whose last coding is chunked is read (httpd answers 400)")
            chunked = True
            text = (text[0], "chunked")
        headers.append(text)
    if version >= b"1.1" and hosts == 0:  # HTTP/1.2 and above too, read as 1.1 (httpd)
        raise MalformedHead("Missing mandatory Host: header")
    if hosts > 1:
        raise MalformedHead("Found multiple Host: headers")
    return Head(method.decode("ascii"), target.decode("latin-1"), version.decode("ascii"), headers,
                length is not None or chunked)


def _unfolded(lines: list[bytes]) -> list[bytes]:
    """Header lines with obsolete folding undone: a line starting with blanks continues the
    one before, joined by one space."""
    joined: list[bytes] = []
    for line in lines:
        if not line.startswith(_BLANKS):
            joined.append(line)
        elif not joined:
            raise MalformedHead("continuation line at start of headers")
        else:
            joined[-1] = joined[-1] + b" " + line.lstrip(b" \t")
    return joined


_BLANKS = (b" ", b"\t")
#: A header line read: its lower-cased name and its value, as bytes and as text.
_Field = tuple[bytes, bytes, tuple[str, str]]


def _field(raw: bytes) -> _Field:
    """One header line by the grammar; a line seen before (a client sends the same ones on
    every request) is answered from memory."""
    known = _fields_seen.get(raw)
    if known is not None:
        return known
    field = _FIELD.fullmatch(raw)
    if field is None:
        raise MalformedHead(f"illegal header line: {bytes(raw)!r}")
    name, value = field.group(1).lower(), field.group(2)
    return remember(_fields_seen, raw, (name, value, (name.decode("latin-1"), value.decode("latin-1"))))


_fields_seen: dict[bytes, _Field] = {}
T = TypeVar("T")


def remember(memory: dict[bytes, T], line: bytes, answer: T) -> T:
    """``answer``, kept in ``memory`` for ``line`` when the line is short; a full memory is
    emptied first. Bounded, as the lines are whatever a client or a script sends."""
    if len(line) <= _KEPT_LINE_BYTES:
        if len(memory) >= _KEPT_LINES:
            memory.clear()
        memory[line] = answer
    return answer


#: Lines a memory keeps, and the longest it keeps.
_KEPT_LINES = 1024
_KEPT_LINE_BYTES = 512


def _one_length(value: bytes, seen: bytes | None) -> bytes:
    """A Content-Length field's value: digits alone, as httpd's ap_parse_strict_length reads
    them (a list, even of equal values, or a length past 2**63 - 1 is its 400)."""
    if b"," in value:
        raise MalformedHead("conflicting Content-Length headers")
    length = value.strip()
    if _DIGITS.fullmatch(length) is None or len(length) > _LENGTH_DIGITS or int(length) > _LARGEST_LENGTH:
        raise MalformedHead("bad Content-Length")
    if seen is not None and seen != length:
        raise MalformedHead("conflicting Content-Length headers")
    return length
