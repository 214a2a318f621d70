"""What every benchmarked server is: a config in a work directory, a port, its processes."""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from pathlib import Path

from itkbench.cells import Cell
from itkbench.processes import Launched
from itkbench.sites import Site

START_TIMEOUT = 15.0
#: The same prefork sizing for Apache and itkgw: 64 busy connections plus
#: spares without spawning during a cell.
START_SERVERS = 80
MIN_SPARE = 16
MAX_SPARE = 80
MAX_WORKERS = 96
#: The same keep-alive rules everywhere (Apache's defaults).
KEEP_ALIVE_TIMEOUT = 5
MAX_KEEP_ALIVE_REQUESTS = 100


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class System(ABC):
    """One server under test, serving every site on its own 127.0.0.1 port."""

    #: The row label in the tables.
    name: str
    #: The name --systems selects it by (itkgw variants share ``itkgw``).
    kind: str

    def __init__(self, workdir: Path, sites: list[Site]) -> None:
        self.workdir = workdir
        self.sites = sites
        self.port = free_port()
        self.launched: list[Launched] = []

    @property
    def sessions(self) -> list[int]:
        return [process.session for process in self.launched]

    @abstractmethod
    def launch(self) -> None:
        """Write the config into ``workdir`` and start the processes (into ``launched``)."""

    def unsupported(self, cell: Cell) -> str | None:
        """Why this system cannot serve ``cell``, or None when it can."""
        return None

    def start(self) -> None:
        """Launch, then wait until the port accepts connections."""
        self.workdir.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        self.launch()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            for process in self.launched:
                process.check_running()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} does not accept connections on port {self.port}"
                                       f" after {START_TIMEOUT}s") from None
                time.sleep(0.1)

    def stop(self) -> list[int]:
        """Stop every process, last started first; returns the pids that needed SIGKILL."""
        killed: list[int] = []
        for process in reversed(self.launched):
            killed += process.stop()
        return killed
