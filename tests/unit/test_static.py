"""Static files through the real connection driver, the response parsed by h11 as a client would."""

from __future__ import annotations

import os
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from itkgw.config.model import Address, VHost
from itkgw.config.modules.core import ETagWords, RequestSettings, etag_parts
from itkgw.errors import ConfigError
from itkgw.handlers.static import ALLOW, redirect_to_slash, serve_file
from itkgw.http.connection import HTTPConnection, Request
from itkgw.request import canonical
from itkgw.request.mime import MimeTypes
from tests.unit.wire import Reply, exchange

CONTENT = bytes(range(256)) * 4 + b"tail"  # 1028 bytes, every offset distinct enough
SIZE = len(CONTENT)
#: A fixed past mtime with sub-second digits: 2020-09-13 12:26:40.123456789 UTC.
MTIME_NS = 1_600_000_000_123_456_789
MTIME = MTIME_NS // 10**9
ETAG = '"%x-%x"' % (SIZE, MTIME_NS // 1000)
LAST_MODIFIED = formatdate(MTIME, usegmt=True)
BEFORE = formatdate(MTIME - 1, usegmt=True)
FUTURE = formatdate(time.time() + 3600, usegmt=True)


@pytest.fixture
def mime() -> MimeTypes:
    return MimeTypes.load("/nonexistent/mime.types")


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.txt"
    path.write_bytes(CONTENT)
    os.utime(path, ns=(MTIME_NS, MTIME_NS))
    return path


def get(path: Path, mime: MimeTypes, method: str = "GET",
        headers: list[tuple[str, str]] | None = None) -> Reply:
    def handler(conn: HTTPConnection, request: Request) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            serve_file(conn, str(path), os.fstat(fd), fd, mime)
        finally:
            os.close(fd)

    reply = exchange(handler, "/" + path.name, method, list(headers or []), host="www.example.test")
    assert reply.complete
    return reply


def test_get_whole_file(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime)
    assert reply.status == 200
    assert reply.body == CONTENT
    assert reply.after_head == CONTENT
    assert reply.header("content-length") == str(SIZE)
    assert reply.header("content-type") == "text/plain"
    assert reply.header("accept-ranges") == "bytes"
    assert reply.header("last-modified") == LAST_MODIFIED
    assert reply.header("etag") == ETAG


def test_etag_is_apache_size_mtime_form(page: Path, mime: MimeTypes) -> None:
    # FileETag MTime Size: size and mtime in microseconds, lower-case hex.
    assert get(page, mime).header("etag") == '"404-5af3107a5e240"'


def test_head_has_the_headers_of_get_but_no_body(page: Path, mime: MimeTypes) -> None:
    get_reply = get(page, mime)
    head_reply = get(page, mime, "HEAD")
    assert head_reply.status == 200
    assert head_reply.after_head == b""
    for name in ("content-length", "content-type", "etag", "last-modified", "accept-ranges"):
        value = get_reply.header(name)
        assert value is not None and head_reply.header(name) == value


def test_unknown_type_has_no_content_type(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "LICENSE"
    path.write_bytes(b"free\n")
    reply = get(path, mime)
    assert reply.status == 200
    assert reply.header("content-type") is None
    assert reply.body == b"free\n"


def test_recently_modified_file_has_weak_etag(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "fresh.html"
    path.write_bytes(b"<p>new</p>")
    etag = get(path, mime).header("etag")
    assert etag is not None and etag.startswith('W/"a-')
    # A weak ETag cannot make a range request conditional.
    ranged = get(path, mime, headers=[("Range", "bytes=0-2"), ("If-Range", etag)])
    assert ranged.status == 200
    assert ranged.body == b"<p>new</p>"


def test_future_mtime_is_not_announced(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "future.txt"
    path.write_bytes(b"x")
    later = time.time() + 86400
    os.utime(path, (later, later))
    reply = get(path, mime)
    assert reply.header("last-modified") != formatdate(int(later), usegmt=True)
    etag = reply.header("etag")
    assert etag is not None and etag.startswith("W/")


CONDITIONS = [
    # If-None-Match (weak comparison) and If-Modified-Since.
    ([("If-None-Match", "{etag}")], 304),
    ([("If-None-Match", "W/{etag}")], 304),
    ([("If-None-Match", '"other"')], 200),
    ([("If-None-Match", '"other", {etag}')], 304),
    ([("If-None-Match", '"other"'), ("If-None-Match", "{etag}")], 304),
    ([("If-None-Match", "*")], 304),
    ([("If-Modified-Since", "{lm}")], 304),
    ([("If-Modified-Since", "Sunday, 13-Sep-20 12:26:40 GMT")], 304),
    ([("If-Modified-Since", "Sun Sep 13 12:26:40 2020")], 304),
    ([("If-Modified-Since", "{before}")], 200),
    ([("If-Modified-Since", "{future}")], 200),
    ([("If-Modified-Since", "yesterday")], 200),
    # If-None-Match present: If-Modified-Since is not looked at.
    ([("If-None-Match", '"other"'), ("If-Modified-Since", "{lm}")], 200),
    ([("If-None-Match", "{etag}"), ("If-Modified-Since", "{before}")], 304),
    # If-Match (strong comparison) and If-Unmodified-Since.
    ([("If-Match", "{etag}")], 200),
    ([("If-Match", '"a", {etag}')], 200),
    ([("If-Match", "*")], 200),
    ([("If-Match", '"other"')], 412),
    ([("If-Match", "W/{etag}")], 412),
    ([("If-Unmodified-Since", "{lm}")], 200),
    ([("If-Unmodified-Since", "{before}")], 412),
    ([("If-Unmodified-Since", "not a date")], 200),
    # If-Match present: If-Unmodified-Since is not looked at.
    ([("If-Match", "{etag}"), ("If-Unmodified-Since", "{before}")], 200),
    # Preconditions that fail win over a 304.
    ([("If-Match", '"other"'), ("If-None-Match", "{etag}")], 412),
    ([("If-Unmodified-Since", "{before}"), ("If-None-Match", "{etag}")], 412),
    ([("If-Match", "{etag}"), ("If-None-Match", "{etag}")], 304),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("headers", "status"), CONDITIONS)
def test_conditional_requests(page: Path, mime: MimeTypes, method: str,
                              headers: list[tuple[str, str]], status: int) -> None:
    values = {"etag": ETAG, "lm": LAST_MODIFIED, "before": BEFORE, "future": FUTURE}
    sent = [(name, value.format(**values)) for name, value in headers]
    reply = get(page, mime, method, sent)
    assert reply.status == status
    if status == 200:
        assert reply.body == (CONTENT if method == "GET" else b"")


def test_not_modified_has_validators_and_no_body(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("If-None-Match", ETAG)])
    assert reply.status == 304
    assert reply.header("etag") == ETAG
    assert reply.header("last-modified") == LAST_MODIFIED
    assert reply.after_head == b""
    assert reply.header("content-type") is None
    assert reply.header("accept-ranges") == "bytes"  # as httpd's: set before the conditions are judged


def test_a_failed_precondition_is_the_file_s_head_with_no_body(page: Path, mime: MimeTypes) -> None:
    """httpd's default handler answers 412 itself: the file's headers, Content-Length 0."""
    reply = get(page, mime, headers=[("If-Match", '"other"')])
    assert reply.status == 412
    assert (reply.header("etag"), reply.header("last-modified")) == (ETAG, LAST_MODIFIED)
    assert (reply.header("content-length"), reply.after_head) == ("0", b"")
    assert reply.header("content-type") == "text/plain"  # the file's (page.txt), as httpd's


RANGES = [
    ("bytes=0-9", 0, 9),
    ("bytes=1000-", 1000, SIZE - 1),
    ("bytes=-4", SIZE - 4, SIZE - 1),
    ("bytes=1020-99999", 1020, SIZE - 1),
    ("bytes=-99999", 0, SIZE - 1),
    ("bytes=5-5", 5, 5),
    ("Bytes=3-4", 3, 4),
    ("bytes= 2-3 ,", 2, 3),
]


@pytest.mark.parametrize(("value", "first", "last"), RANGES)
def test_single_range_is_partial_content(page: Path, mime: MimeTypes, value: str,
                                         first: int, last: int) -> None:
    reply = get(page, mime, headers=[("Range", value)])
    assert reply.status == 206
    assert reply.header("content-range") == f"bytes {first}-{last}/{SIZE}"
    assert reply.header("content-length") == str(last - first + 1)
    assert reply.body == CONTENT[first : last + 1]
    assert reply.after_head == CONTENT[first : last + 1]


def test_several_ranges_are_multipart_byteranges(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("Range", "bytes=0-1,5-6,-2")])
    assert reply.status == 206
    content_type = reply.header("content-type") or ""
    assert content_type.startswith("multipart/byteranges; boundary=")
    boundary = content_type.rsplit("=", 1)[1].encode()
    parts = ((0, 1), (5, 6), (SIZE - 2, SIZE - 1))
    expected = b"".join(b"\r\n--" + boundary + b"\r\nContent-type: text/plain\r\n"
                        + f"Content-range: bytes {first}-{last}/{SIZE}\r\n\r\n".encode()
                        + CONTENT[first:last + 1] for first, last in parts)
    assert reply.body == expected + b"\r\n--" + boundary + b"--\r\n"
    assert reply.header("content-length") == str(len(reply.body))


def test_overlapping_ranges_merge_into_one(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("Range", "bytes=0-3,2-5,6-7")])
    assert reply.status == 206 and reply.header("content-range") == f"bytes 0-7/{SIZE}"
    assert reply.body == CONTENT[:8]


@pytest.mark.parametrize("value", [
    "bytes=0-1,x-6",      # one spec that does not parse: the whole file
    "bytes=" + ",".join(f"{n * 2}-{n * 2}" for n in range(201)),  # over MaxRanges
    "bytes=9-2",          # last before first: invalid
    "bytes=abc",
    "bytes=-",
    "bytes=",
    "bytes=1-2-3",
    "bytes=0x1-5",
    "items=0-5",
    "0-5",
])
def test_ranges_served_whole(page: Path, mime: MimeTypes, value: str) -> None:
    reply = get(page, mime, headers=[("Range", value)])
    assert reply.status == 200
    assert reply.header("content-range") is None
    assert reply.body == CONTENT


@pytest.mark.parametrize("value", [f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=99999-", "bytes=-0"])
def test_unsatisfiable_range(page: Path, mime: MimeTypes, value: str) -> None:
    reply = get(page, mime, headers=[("Range", value)])
    assert reply.status == 416
    assert reply.header("content-range") is None  # as httpd 2.4.71 answers: its error page alone
    assert CONTENT not in reply.body


@pytest.mark.parametrize(("if_range", "status"), [
    ("{etag}", 206),
    ('"other"', 200),
    ("W/{etag}", 200),
    ("{lm}", 206),
    ("{before}", 200),
    ("garbage", 200),
])
def test_if_range(page: Path, mime: MimeTypes, if_range: str, status: int) -> None:
    value = if_range.format(etag=ETAG, lm=LAST_MODIFIED, before=BEFORE)
    reply = get(page, mime, headers=[("Range", "bytes=0-3"), ("If-Range", value)])
    assert reply.status == status
    assert reply.body == (CONTENT[:4] if status == 206 else CONTENT)


def test_if_range_mismatch_ignores_even_an_unsatisfiable_range(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("Range", "bytes=99999-"), ("If-Range", '"other"')])
    assert reply.status == 200
    assert reply.body == CONTENT


def test_range_is_checked_after_preconditions(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("Range", "bytes=0-3"), ("If-None-Match", ETAG)])
    assert reply.status == 304


def test_head_is_answered_as_its_get_without_the_body(page: Path, mime: MimeTypes) -> None:
    """As httpd's byterange filter answers a HEAD: 206 with the range's length, 416."""
    reply = get(page, mime, "HEAD", [("Range", "bytes=0-3")])
    assert (reply.status, reply.header("content-length")) == (206, "4")
    assert reply.header("content-range") == f"bytes 0-3/{SIZE}"
    assert reply.after_head == b""
    several = get(page, mime, "HEAD", [("Range", "bytes=0-1,5-6")])
    assert several.status == 206 and several.after_head == b""
    assert several.header("content-type").startswith("multipart/byteranges; boundary=")
    assert get(page, mime, "HEAD", [("Range", f"bytes={SIZE + 5}-")]).status == 416


def test_empty_file(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    plain = get(path, mime)
    assert (plain.status, plain.header("content-length"), plain.body) == (200, "0", b"")
    ranged = get(path, mime, headers=[("Range", "bytes=0-")])
    assert (ranged.status, ranged.body) == (200, b"")


def test_large_file_through_sendfile(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    path.write_bytes(data)
    whole = get(path, mime)
    assert whole.body == data
    assert whole.header("content-type") is None
    middle = get(path, mime, headers=[("Range", "bytes=1000000-2999999")])
    assert middle.status == 206
    assert middle.body == data[1000000:3000000]


def test_options_lists_allowed_methods(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, "OPTIONS")
    assert reply.status == 200
    assert reply.header("allow") == ALLOW
    assert reply.header("content-length") == "0"
    assert reply.body == b""


def test_post_is_answered_as_get(page: Path, mime: MimeTypes) -> None:
    """httpd's default handler serves a file to a POST (and drops the body)."""
    reply = get(page, mime, "POST")
    assert reply.status == 200 and reply.body == CONTENT


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PROPFIND"])
def test_other_methods_not_allowed(page: Path, mime: MimeTypes, method: str) -> None:
    reply = get(page, mime, method)
    assert reply.status == 405
    assert reply.header("allow") == ALLOW
    assert CONTENT not in reply.body


def test_unknown_method_not_implemented(page: Path, mime: MimeTypes) -> None:
    assert get(page, mime, "BREW").status == 501


VHOST = VHost(server_name="canonical.example.test", document_root="/srv/www", listen=(Address("*", 80),))


def to_slash(conn: HTTPConnection, request: Request) -> None:
    redirect_to_slash(conn, request, canonical.authority(request, VHOST, RequestSettings()))


def redirect(target: str, host: str, raw_request: bytes | None = None) -> Reply:
    reply = exchange(to_slash, target, host=host, raw_request=raw_request)
    assert reply.complete
    return reply


@pytest.mark.parametrize(("target", "host", "location"), [
    ("/docs", "www.example.test", "http://www.example.test/docs/"),
    ("/docs", "WWW.Example.TEST", "http://www.example.test/docs/"),
    ("/docs?a=1&b=%20", "www.example.test:8080", "http://www.example.test:8080/docs/?a=1&b=%20"),
    ("/docs", "www.example.test:80", "http://www.example.test/docs/"),
    # Escaped again as ap_escape_uri escapes: lower-case hex, ";" as it is.
    ("/a%20b/%C3%A9t%C3%A9", "www.example.test", "http://www.example.test/a%20b/%c3%a9t%c3%a9/"),
    ("/a%3Bb/~user/x%2By", "www.example.test", "http://www.example.test/a;b/~user/x+y/"),
    ("/docs", "[::1]:8443", "http://[::1]:8443/docs/"),
])
def test_redirect_to_slash(target: str, host: str, location: str) -> None:
    reply = redirect(target, host)
    assert reply.status == 301
    assert reply.header("location") == location


def test_redirect_without_host_names_the_server_name() -> None:
    reply = redirect("/docs?x", "unused", b"GET /docs?x HTTP/1.0\r\n\r\n")
    assert reply.status == 301
    assert reply.header("location") == "http://canonical.example.test/docs/?x"


# Measured on Apache 2.4.71, in an .htaccess under sections without FileETag: httpd applies
# +/- words to the unset parts around them (nothing), and nothing left is the default.
@pytest.mark.parametrize(("words", "parts"), [
    ((), {"mtime", "size"}), (("None",), set()), (("All",), {"inode", "mtime", "size"}),
    (("-INode",), {"mtime", "size"}), (("+INode",), {"inode"}), (("-MTime",), {"mtime", "size"}),
    (("INode",), {"inode"}), (("MTime", "Size"), {"mtime", "size"}), (("All", "-INode"), {"mtime", "size"}),
    (("INode", "-INode"), {"mtime", "size"}), (("None", "+Size"), set()),
    (("Size", "All"), {"inode", "mtime", "size"}),
])
def test_file_etag_words_read_as_httpd_reads_them(words: tuple[str, ...], parts: set[str]) -> None:
    assert etag_parts(words) == parts


@pytest.mark.parametrize("words", [["Digest"], ["+All"], ["-None"]])
def test_file_etag_refuses_what_it_cannot_make(words: list[str]) -> None:
    with pytest.raises(ConfigError, match="FileETag"):
        ETagWords().from_args(words, "x.conf:1")
