"""Before any load: every system answers every file of every vhost correctly.

A server that returns PHP source, an error page or the wrong vhost's file with
a 200 would look fast; this catches it once, and wrk's script then checks
every status during the load.
"""

from __future__ import annotations

import http.client

from itkbench.cells import Cell
from itkbench.sites import EXPECTED_BODY
from itkbench.systems import System

TIMEOUT = 10.0


class PreflightError(Exception):
    """A system does not serve the bench files as expected."""


def get(port: int, host: str, path: str) -> tuple[int, bytes]:
    """One GET on a new connection: the status and the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Host": host, "Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def check(system: System, cells: list[Cell]) -> None:
    """Raise PreflightError unless each file the cells need answers 200 with its body."""
    for file_name in sorted({cell.file_name for cell in cells if system.unsupported(cell) is None}):
        for site in system.sites:
            try:
                status, body = get(system.port, site.server_name, "/" + file_name)
            except OSError as exc:
                raise PreflightError(f"{system.name}: GET /{file_name} on {site.server_name} failed: "
                                     f"{exc}") from exc
            if status != 200 or body != EXPECTED_BODY[file_name]:
                raise PreflightError(
                    f"{system.name}: GET /{file_name} on {site.server_name} answered {status} "
                    f"with {body[:200]!r}, expected 200 with {EXPECTED_BODY[file_name][:60]!r}"
                )
