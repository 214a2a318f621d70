"""The benchmark matrix: what is requested, how, and by how many connections."""

from __future__ import annotations

from dataclasses import dataclass

from itkbench.sites import deep_path

#: content -> (file in every docroot, label in the tables)
CONTENTS: dict[str, tuple[str, str]] = {
    "1k": ("1k.txt", "1 KiB static"),
    "100k": ("100k.txt", "100 KiB static"),
    "php": ("hello.php", "hello.php"),
    "cgi": ("hello.cgi", "CGI (sh)"),
}
#: The same files four directories deep, with an .htaccess per level read (``ht``)
#: or not opened (``deep``, AllowOverride None): what .htaccess costs each request.
OVERRIDE_CONTENTS: dict[str, tuple[str, str]] = {
    "ht1k": (deep_path("all", "1k.txt"), "1 KiB static, 4 .htaccess levels"),
    "deep1k": (deep_path("none", "1k.txt"), "1 KiB static, 4 levels, AllowOverride None"),
    "htphp": (deep_path("all", "hello.php"), "hello.php, 4 .htaccess levels"),
    "deepphp": (deep_path("none", "hello.php"), "hello.php, 4 levels, AllowOverride None"),
}
CONTENTS.update(OVERRIDE_CONTENTS)


@dataclass(frozen=True)
class Cell:
    """One measurement: a file, keep-alive or not, a number of connections.

    ``mixed`` cells send consecutive requests to alternating vhosts, so every
    request needs another identity: each on a new connection, or, with
    ``keep_alive``, on the same connections (which mpm-itk closes at each
    switch of identity, and itkgw's pool model keeps).
    """

    content: str
    keep_alive: bool
    connections: int
    mixed: bool = False

    @property
    def file_name(self) -> str:
        return CONTENTS[self.content][0]

    @property
    def path(self) -> str:
        return "/" + self.file_name

    @property
    def key(self) -> str:
        """A short name for --cells: ``php-ka-64``, ``1k-close-8``, ``php-mixed-64``."""
        mode = "ka" if self.keep_alive else "close"
        if self.mixed:
            mode = "mixedka" if self.keep_alive else "mixed"
        return f"{self.content}-{mode}-{self.connections}"

    @property
    def label(self) -> str:
        mode = "keep-alive" if self.keep_alive else "close"
        if self.mixed:
            mode = f"alternating vhosts, {mode}"
        return f"{CONTENTS[self.content][1]}, {mode}, {self.connections} conn"


def full_matrix() -> list[Cell]:
    """Every content x {keep-alive, close} x {8, 64}, the mixed-vhost cells (new connections and
    keep-alive), then the .htaccess cells."""
    cells = [
        Cell(content, keep_alive, connections)
        for content in CONTENTS
        if content not in OVERRIDE_CONTENTS
        for keep_alive in (True, False)
        for connections in (8, 64)
    ]
    cells += [Cell("php", False, connections, mixed=True) for connections in (8, 64)]
    cells += [Cell(content, True, 8, mixed=True) for content in ("1k", "php")]
    cells += [Cell(content, True, 8) for content in OVERRIDE_CONTENTS]
    return cells


def quick_matrix() -> list[Cell]:
    """The smoke test's matrix: each handler once, keep-alive and close, 8 connections."""
    return [
        Cell("1k", True, 8),
        Cell("1k", False, 8),
        Cell("php", True, 8),
        Cell("cgi", False, 8),
        Cell("php", False, 8, mixed=True),
    ]


def select(cells: list[Cell], keys: list[str]) -> list[Cell]:
    """The cells named by ``keys`` (see :attr:`Cell.key`), in the order given."""
    by_key = {cell.key: cell for cell in full_matrix() + cells}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        raise ValueError(f"unknown cells {unknown}; known: {', '.join(by_key)}")
    return [by_key[key] for key in keys]
