"""mod_status: the server's state, from the scoreboard, for its admin and monitoring tools.

``SetHandler server-status`` in a ``<Location>`` (with ``Require local`` or
``ip``: the page shows every vhost's requests) answers with an HTML page,
``?auto`` with mod_status's machine-readable lines (what munin, collectd and
Netdata read), and ``?refresh=N`` asks the browser to reload. The counts are
those of the processes running now: a process that ended takes its own with
it. The identity column is itkgw's own: who each process serves as.
"""

from __future__ import annotations

import os
import pwd
import time
from html import escape

from itkgw import SERVER_SOFTWARE
from itkgw.http.connection import HTTPConnection, Request
from itkgw.mpm.scoreboard import BUSY_STATES, Scoreboard, SlotRecord, SlotState

#: Each state's letter in the scoreboard line, as mod_status draws it.
MODE = {SlotState.DEAD: ".", SlotState.STARTING: "S", SlotState.READY: "_", SlotState.BUSY_READ: "R",
        SlotState.BUSY_WRITE: "W", SlotState.BUSY_KEEPALIVE: "K", SlotState.CLOSING: "C",
        SlotState.GRACEFUL: "G"}
_KEY = ('"<b><code>_</code></b>" Waiting for Connection, "<b><code>S</code></b>" Starting up, '
        '"<b><code>R</code></b>" Reading Request,<br />\n"<b><code>W</code></b>" Sending Reply, '
        '"<b><code>K</code></b>" Keepalive (read), "<b><code>C</code></b>" Closing connection,<br />\n'
        '"<b><code>G</code></b>" Gracefully finishing, "<b><code>.</code></b>" Open slot with no current '
        "process")


def serve_status(scoreboard: Scoreboard, process_model: str, conn: HTTPConnection, request: Request,
                 server_name: str) -> None:
    """The status page, or its ``?auto`` lines (the handler dispatch calls, the first two
    arguments bound by the process that serves)."""
    now = time.time()
    slots = [scoreboard.slot(index).read() for index in range(len(scoreboard))]
    report = _Report(slots, scoreboard.generation, scoreboard.restarted, now)
    words = request.query.split("&")
    headers: list[tuple[str, str]] = []
    refresh = next((word.partition("=")[2] for word in words if word.startswith("refresh=")), "")
    if refresh.isdigit():
        headers.append(("Refresh", refresh))
    if "auto" in words:
        body = report.auto(server_name, process_model)
        headers.append(("Content-Type", "text/plain; charset=ISO-8859-1"))
    else:
        body = report.page(server_name, request.local_ip, process_model)
        headers.append(("Content-Type", "text/html; charset=ISO-8859-1"))
    data = body.encode("latin-1", "replace")
    conn.send_response_head(200, [*headers, ("Content-Length", str(len(data)))], hold=True)
    conn.send_data(data)
    conn.end_response()


class _Report:
    """What the page and the ``?auto`` lines say, from one read of every slot."""

    def __init__(self, slots: list[SlotRecord], generation: int, restarted: float, now: float) -> None:
        self.slots = slots
        self.generation = generation
        self.restarted = restarted or now
        self.now = now
        self.uptime = max(1, int(now - self.restarted))
        self.accesses = sum(slot.requests for slot in slots if slot.state is not SlotState.DEAD)
        self.traffic = sum(slot.bytes for slot in slots if slot.state is not SlotState.DEAD)
        self.busy = sum(slot.state in BUSY_STATES and slot.state is not SlotState.GRACEFUL for slot in slots)
        self.graceful = sum(slot.state is SlotState.GRACEFUL for slot in slots)
        self.idle = sum(slot.state is SlotState.READY for slot in slots)
        self.line = "".join(MODE[slot.state] for slot in slots)

    def auto(self, server_name: str, process_model: str) -> str:
        load = os.getloadavg()
        lines = [
            server_name,
            f"ServerVersion: {SERVER_SOFTWARE}",
            f"ServerMPM: {process_model}",
            f"CurrentTime: {_when(self.now)}",
            f"RestartTime: {_when(self.restarted)}",
            f"ParentServerConfigGeneration: {self.generation}",
            f"ServerUptimeSeconds: {self.uptime}",
            f"ServerUptime:{_duration(self.uptime)}",
            f"Load1: {load[0]:.2f}", f"Load5: {load[1]:.2f}", f"Load15: {load[2]:.2f}",
            f"Total Accesses: {self.accesses}",
            f"Total kBytes: {self.traffic // 1024}",
            f"Uptime: {self.uptime}",
            f"ReqPerSec: {_number(self.accesses / self.uptime)}",
            f"BytesPerSec: {_number(self.traffic / self.uptime)}",
            f"BytesPerReq: {_number(self.traffic / self.accesses if self.accesses else 0)}",
            f"BusyWorkers: {self.busy}",
            f"GracefulWorkers: {self.graceful}",
            f"IdleWorkers: {self.idle}",
            f"Scoreboard: {self.line}",
        ]
        return "\n".join(lines) + "\n"

    def page(self, server_name: str, local_ip: str, process_model: str) -> str:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        per_request = self.traffic / self.accesses if self.accesses else 0
        parts = [
            '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
            "<html><head>\n<title>itkgw Status</title>\n</head><body>\n",
            f"<h1>itkgw Server Status for {escape(server_name)} (via {escape(local_ip)})</h1>\n\n",
            f"<dl><dt>Server Version: {SERVER_SOFTWARE}</dt>\n<dt>Server MPM: {process_model}</dt>\n"
            "</dl><hr /><dl>\n",
            f"<dt>Current Time: {_when(self.now)}</dt>\n<dt>Restart Time: {_when(self.restarted)}</dt>\n",
            f"<dt>Parent Server Config. Generation: {self.generation}</dt>\n",
            f"<dt>Server uptime: {_duration(self.uptime)}</dt>\n<dt>Server load: {load}</dt>\n",
            f"<dt>Total accesses: {self.accesses} - Total Traffic: {self.traffic // 1024} kB</dt>\n",
            f"<dt>{_number(self.accesses / self.uptime)} requests/sec - "
            f"{_number(self.traffic / self.uptime)} B/second - {_number(per_request)} B/request</dt>\n",
            f"<dt>{self.busy} requests currently being processed, {self.graceful} workers gracefully "
            f"restarting, {self.idle} idle workers</dt>\n</dl>",
            "<pre>" + "".join(self.line[start:start + 64] + "\n" for start in range(0, len(self.line), 64))
            + "</pre>\n",
            f"<p>Scoreboard Key:<br />\n{_KEY}</p>\n\n",
            '<table border="0"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>SS</th>'
            "<th>Identity</th><th>VHost</th><th>Request</th></tr>\n\n",
            *(self._row(index, slot) for index, slot in enumerate(self.slots)
              if slot.state is not SlotState.DEAD),
            "</table>\n <hr /> <table>\n <tr><th>Srv</th><td>Process slot - generation</td></tr>\n"
            " <tr><th>PID</th><td>OS process ID</td></tr>\n"
            " <tr><th>Acc</th><td>Number of accesses this process / its connections</td></tr>\n"
            " <tr><th>M</th><td>Mode of operation</td></tr>\n"
            " <tr><th>SS</th><td>Seconds since the process last changed state</td></tr>\n"
            " <tr><th>Identity</th><td>The user the process serves as</td></tr>\n"
            " </table>\n</body></html>\n",
        ]
        return "".join(parts)

    def _row(self, index: int, slot: SlotRecord) -> str:
        mode = MODE[slot.state]
        mode = f"<b>{mode}</b>" if slot.state in BUSY_STATES else mode
        since = max(0, int(self.now - slot.last_used)) if slot.last_used else 0
        return (f"<tr><td><b>{index}-{slot.generation}</b></td><td>{slot.pid}</td>"
                f"<td>{slot.requests}/{slot.connections}</td><td>{mode}\n</td><td>{since}</td>"
                f"<td>{escape(_user(slot.uid))}</td><td nowrap>{escape(slot.vhost)}</td>"
                f"<td nowrap>{escape(slot.request)}</td></tr>\n\n")


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _when(stamp: float) -> str:
    """mod_status's time: Thursday, 03-Dec-2026 22:19:40 UTC."""
    return time.strftime("%A, %d-%b-%Y %H:%M:%S %Z", time.localtime(stamp))


def _duration(seconds: int) -> str:
    """mod_status's uptime, each unit with a space before it: " 2 minutes 24 seconds"."""
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    return "".join(f" {value} {unit}{'' if value == 1 else 's'}"
                   for value, unit in ((days, "day"), (hrs, "hour"), (mins, "minute"), (secs, "second"))
                   if value)


def _number(value: float) -> str:
    """A rate as mod_status prints one: %g, without a leading zero (.0248834)."""
    text = f"{value:g}"
    return text[1:] if text.startswith("0.") else text
