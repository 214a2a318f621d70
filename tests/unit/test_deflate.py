"""mod_deflate's rules, on their own: who accepts gzip, what the headers become, the stream."""

from __future__ import annotations

import gzip

import pytest

from itkgw.config.modules.deflate import DeflateSettings
from itkgw.http.deflate import GZIP_HEADER, DeflateRule, GzipStream, accepts_gzip

HTML = frozenset({"text/html"})


@pytest.mark.parametrize(("value", "accepted"), [
    ("gzip", True), ("GZIP", True), ("deflate, gzip", True), ("gzip;q=0.5", True),
    ("br, gzip ;q=0.001", True),
    (None, False), ("", False), ("deflate", False), ("x-gzip", False), ("gzip;q=0", False),
    ("br, gzip ;q=0.000", False), ("*", False),
])
def test_gzip_is_accepted_when_named_without_q_0(value: str | None, accepted: bool) -> None:
    assert accepts_gzip(value) is accepted


@pytest.mark.parametrize(("status", "headers", "takes"), [
    (200, [("Content-Type", "text/html; charset=UTF-8")], True),
    (200, [("Content-Type", "text/html;charset=UTF-8")], True),
    (200, [("Content-Type", "text/plain")], False),
    (200, [("Content-Type", "TEXT/HTML")], False),
    (200, [], False),
    (204, [("Content-Type", "text/html")], False),
    (304, [("Content-Type", "text/html")], False),
    (206, [("Content-Type", "text/html"), ("Content-Range", "bytes 0-1/10")], False),
    (200, [("Content-Type", "text/html"), ("Content-Encoding", "br")], False),
    (200, [("Content-Type", "text/html"), ("Content-Encoding", "identity")], True),
])
def test_the_filter_takes_responses_of_its_types_not_yet_encoded(status: int, headers: list[tuple[str, str]],
                                                                 takes: bool) -> None:
    assert DeflateRule(HTML, DeflateSettings(), accepted=True).takes(status, headers) is takes


def test_no_gzip_and_set_output_filter() -> None:
    refused = DeflateRule(HTML, DeflateSettings(), True, refused=True)
    assert not refused.takes(200, [("Content-Type", "text/html")])
    assert DeflateRule(None, DeflateSettings(), True).takes(200, [("Content-Type", "image/png")])


def test_a_compressed_response_s_headers() -> None:
    headers = [("Content-Type", "text/html"), ("Content-Length", "5000"), ("ETag", '"5c3b-661c7f"'),
               ("Vary", "Cookie")]
    assert DeflateRule(HTML, DeflateSettings(), accepted=True).headers_for(headers) == [
        ("Content-Type", "text/html"), ("ETag", '"5c3b-661c7f-gzip"'), ("Vary", "Cookie, Accept-Encoding"),
        ("Content-Encoding", "gzip")]
    assert DeflateRule(HTML, DeflateSettings(), accepted=False).headers_for(headers) == [
        *headers[:3], ("Vary", "Cookie, Accept-Encoding")]
    removed = DeflateRule(HTML, DeflateSettings(alter_etag="remove"), accepted=True).headers_for(headers)
    assert "ETag" not in dict(removed)
    kept = DeflateRule(HTML, DeflateSettings(alter_etag="nochange"), accepted=True).headers_for(headers)
    assert dict(kept)["ETag"] == '"5c3b-661c7f"'


def test_the_stream_is_one_gzip_member_with_httpd_s_header_and_sync_flushes() -> None:
    stream = GzipStream(DeflateSettings(compression_level=9))
    pieces = [stream.compress(b"hello " * 100), stream.flush(), stream.compress(b"world"), stream.finish()]
    body = b"".join(pieces)
    assert body.startswith(GZIP_HEADER) and body.count(GZIP_HEADER) == 1
    assert pieces[1].endswith(b"\x00\x00\xff\xff"), "a sync flush ends in an empty stored block"
    assert gzip.decompress(body) == b"hello " * 100 + b"world"
    assert stream.consumed == 605


def test_gzip_only_text_html_takes_html_alone() -> None:
    rule = DeflateRule(None, DeflateSettings(), accepted=True, html_only=True)
    assert rule.takes(200, [("Content-Type", "text/html; charset=UTF-8")])
    assert not rule.takes(200, [("Content-Type", "text/css")])
