"""mod_status's page and ?auto lines, drawn from a scoreboard."""

from __future__ import annotations

import os
import socket

from itkgw.http.connection import HTTPConnection, Limits
from itkgw.mpm.scoreboard import Scoreboard, SlotState
from itkgw.mpm.status import serve_status


def board_with_traffic() -> Scoreboard:
    board = Scoreboard.create(4)
    board.generation = 3
    busy, idle = board.slot(0), board.slot(1)
    busy.pid, busy.uid, busy.state = 4242, os.getuid(), SlotState.BUSY_WRITE
    busy.vhost, busy.request = "alice.test:80", "GET /<b>report</b> HTTP/1.1"
    idle.pid, idle.state = 4243, SlotState.READY
    for sent in (1000, 2048, 100):
        busy.count_request(sent)
    idle.count_request(24)
    return board


def answer(tcp_pair, query: str) -> tuple[str, bytes]:
    server, client = tcp_pair
    client.sendall(f"GET /server-status{query} HTTP/1.1\r\nHost: status.test\r\n\r\n".encode())
    conn = HTTPConnection(server, Limits(timeout=5))
    request = conn.next_request(first=True)
    assert request is not None
    serve_status(board_with_traffic(), "pool", conn, request, "status.test")
    server.shutdown(socket.SHUT_WR)
    client.settimeout(5)
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode(), body


def test_auto_gives_the_lines_monitoring_tools_read(tcp_pair) -> None:
    head, body = answer(tcp_pair, "?auto")
    assert "Content-Type: text/plain; charset=ISO-8859-1" in head
    lines = body.decode().splitlines()
    assert lines[0] == "status.test"
    values = dict(line.split(": ", 1) for line in lines[1:])
    assert (values["ServerMPM"], values["ParentServerConfigGeneration"]) == ("pool", "3")
    assert (values["Total Accesses"], values["Total kBytes"]) == ("4", "3")
    assert (values["BusyWorkers"], values["IdleWorkers"], values["Scoreboard"]) == ("1", "1", "W_..")
    assert values["BytesPerReq"] == "793"


def test_the_page_lists_each_process_escaped_with_its_identity(tcp_pair) -> None:
    head, body = answer(tcp_pair, "?refresh=5")
    assert "Refresh: 5" in head and "Content-Type: text/html; charset=ISO-8859-1" in head
    page = body.decode()
    assert "<h1>itkgw Server Status for status.test (via 127.0.0.1)</h1>" in page
    assert "<td>4242</td><td>3/0</td><td><b>W</b>" in page
    assert "GET /&lt;b&gt;report&lt;/b&gt; HTTP/1.1" in page and "<b>report</b>" not in page
    assert "<pre>W_..\n</pre>" in page and "4 - Total Traffic: 3 kB" in page
