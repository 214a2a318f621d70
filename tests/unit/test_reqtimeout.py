"""RequestReadTimeout: its reading in both syntaxes, and the limits a connection keeps."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from itkgw.config.convert import to_toml
from itkgw.config.modules.reqtimeout import ReqTimeoutSettings, StageTimeout, parse_stage, stage_limits
from itkgw.config.toml_reader import loads_toml
from itkgw.errors import HTTPError
from itkgw.http.connection import HTTPConnection, Limits
from tests.unit.test_conf_apache import load, only, problems, vhost_file


def drip(client: socket.socket, pieces: list[bytes], pause: float) -> threading.Thread:
    """Send ``pieces`` one every ``pause`` seconds from a thread, as a slow client."""

    def run() -> None:
        for piece in pieces:
            try:
                client.sendall(piece)
            except OSError:
                return  # the server gave up, as some tests expect
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- reading the directive -------------------------------------------------------


def test_a_stage_is_a_time_a_cap_and_a_rate() -> None:
    assert parse_stage("20-40,MinRate=500") == StageTimeout(20, 40, 500)
    assert parse_stage("10,minrate=1000") == StageTimeout(10, 0, 1000)
    assert parse_stage("30") == StageTimeout(30)
    assert parse_stage("0") is None
    stage = StageTimeout(2, 4, 100)
    assert stage.extended(10.0, 8.0, 50) == 10.5
    assert stage.extended(10.0, 8.0, 10_000) == 12.0  # never past the cap, 4 s after the start
    assert StageTimeout(2).extended(10.0, 8.0, 10_000) == 10.0  # no rate: no extension


@pytest.mark.parametrize(("line", "message"), [
    ("RequestReadTimeout header=40-20,MinRate=500", "Max timeout must be larger than initial timeout"),
    ("RequestReadTimeout header=20-40", "Must set MinRate option if using timeout range"),
    ("RequestReadTimeout header=soon", "'soon' is not timeout[-maxtimeout][,MinRate=rate]"),
    ("RequestReadTimeout trailer=5", "unknown stage 'trailer'"),
    ("RequestReadTimeout 20", "'20' is not stage=timeout"),
])
def test_a_bad_stage_is_refused_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    error = only(problems(tmp_path, vhost_file(tmp_path, server=line + "\n")))
    assert message in error and "httpd.conf:6" in error


def test_lines_add_their_stages_and_a_vhost_bounds_its_bodies(tmp_path: Path) -> None:
    """Debian's reqtimeout.conf has a line per stage; a vhost's own line names its stages only."""
    loaded = load(tmp_path, vhost_file(tmp_path, server="RequestReadTimeout header=20-40,MinRate=500\n"
                                                        "RequestReadTimeout body=10,MinRate=500\n",
                                       body="RequestReadTimeout body=30"))
    server = loaded.config.modules.get(ReqTimeoutSettings).stages
    own = loaded.config.vhosts[0].modules.get(ReqTimeoutSettings).stages
    assert server == (("header", "20-40,MinRate=500"), ("body", "10,MinRate=500"))
    assert stage_limits((*(server or ()), *(own or ())), "2.4") == {
        "header": StageTimeout(20, 40, 500), "body": StageTimeout(30)}
    assert 'request_read_timeout = { header = "20-40,MinRate=500", body = "10,MinRate=500" }' \
        in to_toml(loaded.config)


def test_the_defaults_are_those_of_the_series_module() -> None:
    """2.4's module bounds head and body unless told otherwise; 2.2's bounds nothing."""
    assert stage_limits(None, "2.4") == {"header": StageTimeout(20, 40, 500),
                                         "body": StageTimeout(20, 0, 500)}
    assert stage_limits(None, "2.2") == {"header": None, "body": None}
    assert stage_limits((("header", "0"), ("handshake", "5")), "2.4")["header"] is None


def test_toml_takes_a_table_of_stages(tmp_path: Path) -> None:
    text = ('user = "daemon"\ngroup = "daemon"\nlisten = ["127.0.0.1:8080"]\n'
            'request_read_timeout = { header = "5-10,MinRate=100" }\n'
            f'[[vhost]]\nserver_name = "a.test"\ndocument_root = "{tmp_path}"\n')
    config = loads_toml(text, "itkgw.toml").config
    assert config.modules.get(ReqTimeoutSettings).stages == (("header", "5-10,MinRate=100"),)
    with pytest.raises(Exception, match="Must set MinRate"):
        loads_toml(text.replace(",MinRate=100", ""), "itkgw.toml")


# -- the limits on a connection ------------------------------------------------------


def test_a_drip_fed_head_is_cut_at_the_stage_s_cap_whatever_timeout_allows(tcp_pair, caplog) -> None:
    """A byte every 0.1 s passes Timeout for ever; header=1-2 at 500 bytes/s does not."""
    server, client = tcp_pair
    drip(client, [b"GET / HTTP/1.1\r\n"] + [b"X"] * 100, 0.1)
    conn = HTTPConnection(server, Limits(timeout=30, header_stage=StageTimeout(1, 2, 500)))
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="itkgw.reqtimeout"), pytest.raises(HTTPError) as caught:
        conn.next_request(first=True)
    assert caught.value.status == 408
    assert 1.0 <= time.monotonic() - started < 3.0
    assert "AH01382: Request header read timeout" in caplog.text


def test_a_client_sending_at_the_minimum_rate_earns_more_time(tcp_pair) -> None:
    """header=1-5,MinRate=100: 60 bytes every 0.3 s (200 bytes/s) outlasts the first second."""
    server, client = tcp_pair
    head = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Pad: " + b"p" * 300 + b"\r\n\r\n"
    drip(client, [head[offset:offset + 60] for offset in range(0, len(head), 60)], 0.3)
    conn = HTTPConnection(server, Limits(timeout=30, header_stage=StageTimeout(1, 5, 100)))
    request = conn.next_request(first=True)
    assert request is not None and request.path == "/"


def test_a_request_line_cut_off_by_the_stage_gets_no_answer(tcp_pair) -> None:
    """As httpd: a 408 only once the request line is whole; before, the connection just ends."""
    server, client = tcp_pair
    client.sendall(b"GET /inde")
    conn = HTTPConnection(server, Limits(timeout=30, header_stage=StageTimeout(1)))
    assert conn.next_request(first=True) is None


def test_a_later_head_s_stage_starts_at_its_first_byte(tcp_pair) -> None:
    """The wait for a keep-alive connection's next request is KeepAliveTimeout's, not the stage's."""
    server, client = tcp_pair
    client.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=30, keep_alive_timeout=5, header_stage=StageTimeout(1)))
    assert conn.next_request(first=True) is not None
    conn.send_response_head(200, [("Content-Length", "0")])
    conn.end_response()
    assert conn.start_next_cycle()
    drip(client, [b"", b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n"], 1.5)
    request = conn.next_request(first=False)
    assert request is not None and request.path == "/two"


def test_a_stalled_body_is_a_408_and_a_short_lingering_close(tcp_pair, caplog) -> None:
    server, client = tcp_pair
    client.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
    limits = Limits(timeout=30, body_stage=StageTimeout(1, 0, 500))
    conn = HTTPConnection(server, limits)
    assert conn.next_request(first=True) is not None
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="itkgw.reqtimeout"), pytest.raises(HTTPError) as caught:
        conn.discard_body()
    assert caught.value.status == 408
    assert 1.0 <= time.monotonic() - started < 2.5
    assert "AH01382: Request body read timeout" in caplog.text
    assert limits.linger_total == limits.linger_quiet


def test_a_discarded_body_of_any_length_keeps_the_connection(tcp_pair) -> None:
    """httpd's default handler reads a body it has no use for before answering: the next
    request on the connection is served, however long the body was."""
    server, client = tcp_pair
    body = b"x" * 600_000
    drip(client, [b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body), body,
                  b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"], 0)
    conn = HTTPConnection(server, Limits(timeout=5))
    assert conn.next_request(first=True) is not None
    conn.discard_body()
    conn.send_response_head(200, [("Content-Length", "0")])
    conn.end_response()
    assert conn.start_next_cycle()
    request = conn.next_request(first=False)
    assert request is not None and request.path == "/next"
