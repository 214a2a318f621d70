"""Byte ranges as httpd's byterange filter cuts a response: the Range header read, and
the parts of a multipart/byteranges answer framed.

The filter acts on any 200 response it sees whole, a static file's as much as a
mod_php script's output that ended within the first buffer; static.py and the
connection's held responses share these rules.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_tz

from itkgw.errors import HTTPError

_RANGE_SPEC = re.compile(r"(\d*)-(\d*)", re.ASCII)
#: Digits of the largest byte offset (2**63 - 1); longer numbers are not offsets.
_MAX_OFFSET_DIGITS = 19
#: httpd's MaxRanges default: more ranges than this and the whole body is sent.
MAX_RANGES = 200


class RangeNotSatisfiable(HTTPError):
    """No byte of the requested range is in the body. httpd 2.4 answers with its error page
    alone: the Content-Range its byterange filter sets is dropped with the other headers
    (ap_die keeps err_headers_out only), and clients are used to that answer."""

    def __init__(self) -> None:
        super().__init__(416)


def byte_ranges(value: str, size: int) -> list[tuple[int, int]] | None:
    """The ranges a Range header asks for, as httpd's byterange filter takes them: each
    (first, last) within the body, a range that overlaps or abuts the one before merged
    into it; None (send the whole body) for any spec that does not parse or more than
    MaxRanges 200. Ranges that start past the end are dropped; RangeNotSatisfiable when
    none is left."""
    unit, equals, text = value.partition("=")
    if not equals or unit.lower() != "bytes":
        return None
    specs = [spec.strip() for spec in text.split(",") if spec.strip()]
    if not specs or len(specs) > MAX_RANGES:
        return None
    wanted: list[tuple[int, int]] = []
    for spec in specs:
        match = _RANGE_SPEC.fullmatch(spec)
        if match is None or match.group(0) == "-":
            return None
        first_text, last_text = match.groups()
        numbers = [text for text in (first_text, last_text) if text]
        if any(len(text) > _MAX_OFFSET_DIGITS or int(text) >= 2**63 for text in numbers):
            return None  # past any off_t: httpd's parse fails and it sends the whole body
        if not first_text:
            suffix = int(last_text)
            if suffix:
                wanted.append((max(size - suffix, 0), size - 1))
            continue
        first = int(first_text)
        if last_text and int(last_text) < first:
            return None
        if first < size:
            wanted.append((first, min(int(last_text), size - 1) if last_text else size - 1))
    if not wanted:
        raise RangeNotSatisfiable()
    merged = [wanted[0]]
    for first, last in wanted[1:]:
        merged_first, merged_last = merged[-1]
        if first <= merged_last + 1 and last >= merged_first - 1:
            merged[-1] = (min(first, merged_first), max(last, merged_last))
        else:
            merged.append((first, last))
    return merged


def part_heads(ranges: list[tuple[int, int]], size: int, content_type: str | None,
               boundary: str) -> tuple[list[bytes], bytes]:
    """The head of each part of a multipart/byteranges body, as httpd frames it (a CRLF and
    the boundary, the Content-type, the Content-range, a blank line), and its closing line."""
    type_line = f"Content-type: {content_type}\r\n" if content_type else ""
    heads = [(f"\r\n--{boundary}\r\n{type_line}Content-range: bytes {first}-{last}/{size}\r\n\r\n"
              ).encode("latin-1") for first, last in ranges]
    return heads, f"\r\n--{boundary}--\r\n".encode("latin-1")


def parse_http_date(value: str | None) -> int | None:
    """Seconds since the epoch of an HTTP-date in any of its three forms; None if invalid."""
    if value is None:
        return None
    parts = parsedate_tz(value)
    if parts is None:
        return None
    try:
        moment = datetime(*parts[:6], tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) - (parts[9] or 0)


def if_range_holds(value: str | None, headers: list[tuple[str, str]]) -> bool:
    """If-Range absent, or naming the response's own ETag or Last-Modified (httpd's
    ap_condition_if_range on a handler's headers): a script that sent neither gets
    the whole body for any If-Range."""
    if value is None:
        return True
    own = {name.lower(): field for name, field in headers}
    value = value.strip()
    if value.startswith('"'):
        return value == own.get("etag")
    date = parse_http_date(value)
    return date is not None and date == parse_http_date(own.get("last-modified"))
