"""A script's response held back whole while it is small: a Content-Length when it ends so,
chunked once it grows or is flushed, and an error page can still replace it before then."""

from __future__ import annotations

from itkgw.http.connection import RESPONSE_BUFFER, HTTPConnection, Request
from tests.unit.wire import exchange


def test_a_small_response_gets_a_content_length() -> None:
    def handler(conn: HTTPConnection, request: Request) -> None:
        conn.send_response_head(200, [("Content-Type", "text/plain")], measure=True)
        conn.send_data(b"hello, ")
        conn.send_data(b"world")
        conn.end_response()

    reply = exchange(handler)
    assert reply.status == 200 and reply.body == b"hello, world"
    assert reply.header("content-length") == "12" and reply.header("transfer-encoding") is None


def test_a_large_or_flushed_response_is_chunked() -> None:
    def large(conn: HTTPConnection, request: Request) -> None:
        conn.send_response_head(200, [], measure=True)
        conn.send_data(b"x" * (RESPONSE_BUFFER + 1))
        conn.end_response()

    def flushed(conn: HTTPConnection, request: Request) -> None:
        conn.send_response_head(200, [], measure=True)
        conn.send_data(b"first")
        conn.flush()
        conn.send_data(b" second")
        conn.end_response()

    for handler, body in ((large, b"x" * (RESPONSE_BUFFER + 1)), (flushed, b"first second")):
        reply = exchange(handler)
        assert reply.header("transfer-encoding") == "chunked" and reply.body == body


def test_an_error_before_anything_went_out_replaces_the_held_response() -> None:
    def handler(conn: HTTPConnection, request: Request) -> None:
        conn.send_response_head(200, [("X-Partial", "1")], measure=True)
        conn.send_data(b"half of it")
        assert not conn.response_started
        conn.send_error(500)

    reply = exchange(handler)
    assert reply.status == 500 and b"half of it" not in reply.body
    assert reply.header("x-partial") is None
