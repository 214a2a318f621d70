"""Static files: an open regular file answered as httpd 2.4's default handler does.

The caller has mapped the URL to a file, switched identity, opened the file
and dealt with directories (index files; ``/dir`` -> ``/dir/`` goes through
``redirect_to_slash`` here). What is left is choosing the status from the
method and the conditional and Range headers, and sending the bytes with
sendfile(2).

Rules (order of RFC 9110 section 13.2.2; details as httpd 2.4):
1. OPTIONS: 200 with Allow. POST is answered as GET (httpd's default handler
   serves the file and drops the body). Any other method httpd knows: 405
   with Allow. A method httpd does not know: 501, with Allow too.
2. If-Match (strong comparison) fails: 412. Without If-Match, the file
   changed after If-Unmodified-Since: 412.
3. If-None-Match (weak comparison) matches: 304. Without If-None-Match,
   the file did not change after If-Modified-Since: 304. A 304 carries ETag
   and Last-Modified and never a body.
4. GET with one byte range (``a-b``, ``a-``, ``-n``): 206 with Content-Range,
   unless If-Range names another version of the file (then 200); a range
   that starts past the end: 416 with ``Content-Range: bytes */size``.
5. Several ranges: 206 multipart/byteranges as httpd sends it, overlapping
   or abutting ranges merged first (one left: a plain 206). The whole file
   (200) for a Range header that does not parse or asks for more than 200
   ranges, and for an empty file. A HEAD is answered as its GET would be
   (206, 416), without the body, as httpd's byterange filter answers it.

Validators are httpd 2.4's (FileETag, by default MTime Size): ETag
``"<size hex>-<mtime in microseconds hex>"`` (the inode's first with INode;
none with FileETag None), weak (``W/``) while the file
was modified less than a second ago, since a second write within that
second may leave the mtime as it is; Last-Modified is never later than now.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from itkgw.config.modules.core import DEFAULT_ETAG
from itkgw.errors import HTTPError
from itkgw.http.connection import format_http_date
from itkgw.http.deflate import HELD_INPUT, SMALLEST_COMPRESSED, DeflateRule, GzipStream
from itkgw.http.ranges import RangeNotSatisfiable, byte_ranges, parse_http_date, part_heads
from itkgw.request.mime import MimeTypes
from itkgw.rules.expr import escape_uri

if TYPE_CHECKING:
    from itkgw.http.connection import HTTPConnection, Request

#: What a static file answers to (the header of 405 and OPTIONS responses), as httpd writes it;
#: without TRACE where TraceEnable is off.
ALLOW = "OPTIONS,HEAD,GET,POST,TRACE"
ALLOW_WITHOUT_TRACE = "OPTIONS,HEAD,GET,POST"
#: Methods httpd registers: these get 405 on a file, any other method 501.
KNOWN_METHODS = frozenset({
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
    "VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL",
    "REPORT", "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL", "MERGE",
})
_UINT64 = (1 << 64) - 1
_ENTITY_TAG = re.compile(r'(W/)?"[^"]*"')


@dataclass(frozen=True)
class Validators:
    """What a client compares its cached copy against."""

    etag: str
    #: Seconds since the epoch, never in the future.
    last_modified: int
    #: False while the file changed less than a second ago: then ETag is
    #: weak and a date cannot vouch for the exact bytes either.
    strong: bool

    @classmethod
    def of(cls, st: os.stat_result, now: float, variant_list: str | None = None,
           parts: frozenset[str] = DEFAULT_ETAG) -> Validators:
        """``variant_list``: the validator of the variants a MultiViews answer was chosen
        from, which httpd 2.4 puts in the ETag after a ``;``, losing its closing quote.
        ``parts``: FileETag's (inode, size, mtime, in httpd's order); none: no ETag ("")."""
        mtime_us = st.st_mtime_ns // 1000
        strong = int(now * 1_000_000) - mtime_us > 1_000_000
        last_modified = min(st.st_mtime_ns // 1_000_000_000, int(now))
        numbers = [*([st.st_ino] if "inode" in parts else []), *([st.st_size] if "size" in parts else []),
                   *([mtime_us] if "mtime" in parts else [])]
        if not numbers:
            return cls(etag="", last_modified=last_modified, strong=strong)
        etag = '"' + "-".join(f"{number & _UINT64:x}" for number in numbers) + '"'
        if variant_list is not None:
            strong = strong and not variant_list.startswith("W/")
            etag = etag[:-1] + ";" + variant_list.removeprefix("W/")[1:-1]
        return cls(etag=etag if strong else "W/" + etag, last_modified=last_modified, strong=strong)


def http_date(seconds: float) -> str:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return _http_date(int(seconds))


@functools.lru_cache(maxsize=512)
def _http_date(second: int) -> str:
    """A file's Last-Modified is asked for again on the next request for it."""
    return format_http_date(second)


def etag_matches(values: list[str], etag: str, weak: bool) -> bool:
    """Whether an If-Match / If-None-Match field names ``etag`` (or is ``*``)."""
    field = ",".join(values).strip()
    if field == "*" or field == etag or (weak and field.removeprefix("W/") == etag.removeprefix("W/")):
        return True  # a negotiated answer's ETag lacks its closing quote: the pattern misses it
    for tag in _ENTITY_TAG.finditer(field):
        if weak and tag.group(0).removeprefix("W/") == etag.removeprefix("W/"):
            return True
        if not weak and not etag.startswith("W/") and tag.group(0) == etag:
            return True
    return False


def not_modified(request: Request, validators: Validators, now: float) -> bool:
    """True when the client's copy is current (304); raises HTTPError(412) for a failed precondition.

    Only for GET and HEAD, where a matching If-None-Match means 304.
    """
    if_match = request.header_values("if-match")
    if if_match:
        if not etag_matches(if_match, validators.etag, weak=False):
            raise HTTPError(412)
    else:
        unmodified_since = parse_http_date(request.header("if-unmodified-since"))
        if unmodified_since is not None and validators.last_modified > unmodified_since:
            raise HTTPError(412)
    if_none_match = request.header_values("if-none-match")
    if if_none_match:
        return etag_matches(if_none_match, validators.etag, weak=True)
    modified_since = parse_http_date(request.header("if-modified-since"))
    # A date in the future says nothing about the file: ignored, as httpd does.
    return modified_since is not None and validators.last_modified <= modified_since <= now


def _if_range_holds(value: str | None, validators: Validators) -> bool:
    """If-Range absent, or naming this very version with a strong validator."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return validators.strong and value == validators.etag
    return validators.strong and parse_http_date(value) == validators.last_modified


def _wanted_ranges(request: Request, validators: Validators, size: int) -> list[tuple[int, int]] | None:
    value = request.header("range")
    if value is None or size == 0:
        return None
    if not _if_range_holds(request.header("if-range"), validators):
        return None
    return byte_ranges(value, size)


def answer_other_method(conn: HTTPConnection, method: str, allow: str = ALLOW,
                        content_type: str | None = None) -> None:
    """httpd's default handler to a method other than GET, HEAD and POST, whether or not the
    file exists: OPTIONS is answered with Allow (and the Content-Type the path's file has or
    would have), a method httpd knows is 405, another 501, both raised as HTTPError for the
    vhost's ErrorDocument. The request body is read and dropped first, as that handler does."""
    conn.discard_body()
    if method == "OPTIONS":
        # OPTIONS * asks about the server, not a resource: httpd names no methods then.
        whole_server = conn.request is not None and conn.request.target == "*"
        if whole_server:
            conn.header_rules = []  # no URL, no section: no Header rule applies either
        typed = [("Content-Type", content_type)] if content_type and not whole_server else []
        conn.send_response_head(200, [*([] if whole_server else [("Allow", allow)]), ("Content-Length", "0"),
                                      *typed])
        conn.end_response()
    elif method in KNOWN_METHODS:
        raise HTTPError(405, None, [("Allow", allow)])
    else:
        line = conn.request.request_line if conn.request is not None else method
        raise HTTPError(501, f"AH00135: Invalid method in request {line}", [("Allow", allow)])


def serve_file(conn: HTTPConnection, path: str, st: os.stat_result, fd: int, mime: MimeTypes,
               content_type: str | None = None, allow: str = ALLOW, encoding: str | None = None,
               languages: tuple[str, ...] = (), variant_list: str | None = None,
               etag_parts: frozenset[str] = DEFAULT_ETAG) -> None:
    """Answer the current request with the open regular file ``fd`` (``st`` is its fstat).

    ``path`` is the file's name, for its Content-Type unless ``content_type``
    (mod_mime's, "" for none) says otherwise. The caller keeps ``fd`` and closes it.
    Raises HTTPError for 501.
    """
    request = conn.request
    assert request is not None, "serve_file needs a current request"
    if content_type is None:
        content_type = mime.content_type(path)
    content_type = content_type or None
    if request.method not in ("GET", "HEAD", "POST"):
        answer_other_method(conn, request.method, allow, content_type)
        return
    now = time.time()
    validators = Validators.of(st, now, variant_list, etag_parts)
    headers = [("Last-Modified", http_date(validators.last_modified)),
               *([("ETag", validators.etag)] if validators.etag else []), ("Accept-Ranges", "bytes")]
    try:
        unchanged = not_modified(request, validators, now)
    except HTTPError as failed:
        # httpd's default handler answers a failed precondition itself: the file's headers and
        # no body, not an error page.
        typed = [("Content-Type", content_type)] if content_type is not None else []
        conn.send_response_head(failed.status, [*headers, *typed, ("Content-Length", "0")])
        conn.end_response()
        return
    if unchanged:
        conn.send_response_head(304, headers)
        conn.end_response()
        return
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    if encoding is not None:
        headers.append(("Content-Encoding", encoding))
    if languages:
        headers.append(("Content-Language", ",".join(languages)))
    size = st.st_size
    rule = conn.deflate
    if (rule is not None and rule.accepted and size >= SMALLEST_COMPRESSED and rule.takes(200, headers)
            and (request.method == "HEAD" or request.header("range") is not None)):
        # mod_deflate comes before the byte ranges and the length: they are the gzip's.
        whole = _gzipped_whole(fd, size, rule)
        if whole is None:  # too big to hold: httpd streams it whole, without a length
            if request.method != "HEAD":
                conn.send_response_head(200, headers, hold=True)
                conn.send_file(fd, 0, size)
            else:
                conn.send_response_head(200, headers)
            conn.end_response()
            return
        conn.deflate = None  # compressed here, once
        _send_bytes(conn, request, rule.headers_for(headers), validators, whole)
        return
    try:
        wanted = _wanted_ranges(request, validators, size)
    except RangeNotSatisfiable as exc:
        conn.send_error(exc.status, exc.headers)
        return
    if wanted is not None and len(wanted) > 1:
        _send_ranges(conn, headers, fd, wanted, size)
        return
    ranged: list[tuple[str, str]] = []
    if wanted is None:
        status, first, length = 200, 0, size
    else:
        (first, last), = wanted
        status, length = 206, last - first + 1
        ranged.append(("Content-Range", f"bytes {first}-{last}/{size}"))
    # The length first: httpd's handler sets it before its byterange filter adds the range.
    headers += [("Content-Length", str(length)), *ranged]
    conn.send_response_head(status, headers, hold=True)
    if request.method != "HEAD":
        conn.send_file(fd, first, length)
    conn.end_response()


def _gzipped_whole(fd: int, size: int, rule: DeflateRule) -> bytes | None:
    """The file gzipped, when it is small enough to be held whole; None when not."""
    if size > HELD_INPUT:
        return None
    stream = GzipStream(rule.settings)
    data = os.pread(fd, size, 0)
    return stream.compress(data) + stream.finish()


def _send_bytes(conn: HTTPConnection, request: Request, headers: list[tuple[str, str]],
                validators: Validators, body: bytes) -> None:
    """A representation held in memory (a file's gzip), whole or the one range asked for."""
    try:
        wanted = _wanted_ranges(request, validators, len(body))
    except RangeNotSatisfiable as exc:
        conn.send_error(exc.status, exc.headers)
        return
    status, first, last, ranged = 200, 0, len(body) - 1, []
    if wanted is not None and len(wanted) == 1:
        (first, last), = wanted
        status, ranged = 206, [("Content-Range", f"bytes {first}-{last}/{len(body)}")]
    conn.send_response_head(status, [*headers, ("Content-Length", str(last - first + 1)), *ranged], hold=True)
    conn.send_data(body[first:last + 1])
    conn.end_response()


def _send_ranges(conn: HTTPConnection, headers: list[tuple[str, str]], fd: int,
                 ranges: list[tuple[int, int]], size: int) -> None:
    """206 multipart/byteranges, each part as httpd frames it: a CRLF and the boundary, its
    Content-type (the file's) and Content-range, a blank line, the bytes."""
    boundary = secrets.token_hex(8)
    content_type = next((value for name, value in headers if name == "Content-Type"), None)
    kept = [(name, value) for name, value in headers if name != "Content-Type"]
    heads, closing = part_heads(ranges, size, content_type, boundary)
    length = sum(map(len, heads)) + sum(last - first + 1 for first, last in ranges) + len(closing)
    conn.send_response_head(206, [*kept, ("Content-Length", str(length)),
                                  ("Content-Type", f"multipart/byteranges; boundary={boundary}")], hold=True)
    for head, (first, last) in zip(heads, ranges, strict=True):
        conn.send_data(head)
        conn.send_file(fd, first, last - first + 1)
    conn.send_data(closing)
    conn.end_response()


def redirect_to_slash(conn: HTTPConnection, request: Request, authority: str) -> None:
    """301 from a directory's URL without its trailing slash to the one with it.

    As mod_dir's DirectorySlash: the Location is absolute, on the server's
    ``authority`` (host[:port], as UseCanonicalName names it), the path
    re-escaped, the query string kept. Relative links in the directory's
    index page only work below the slash.
    """
    path = escape_uri(request.path.rstrip("/") + "/")
    location = f"http://{authority}{path}"
    if request.query:
        location += "?" + request.query
    conn.send_error(301, [("Location", location)])
