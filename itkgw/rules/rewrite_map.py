"""RewriteMap: the maps a vhost's rewrite rules look values up in, ``${name:key|default}``.

The types mod_rewrite reads that need nothing beyond the map itself:

- ``txt:/path`` (a path without a type too): a text file of ``key value`` lines.
  Lines starting with ``#`` or white space are skipped, the first line of a key
  wins, and its value is the word after the key (the rest of the line is not read).
- ``rnd:/path``: the same, each value a list of alternatives separated by ``|``,
  one of which is picked at random for each lookup.
- ``int:name``: httpd's functions ``toupper`` and ``tolower`` (ASCII letters),
  ``escape`` (%-escaping as ap_escape_uri) and ``unescape`` (%-decoding).

A file is read at its first lookup and again once its modification time or size
changes, as httpd's map cache checks the time; it is read by the process that
looks it up, as the identity it runs as then (the vhost's rules run before the
switch, a directory's after it), so a map should be readable by the vhost's users.
A key the map does not hold, a map that cannot be read or one no RewriteMap line
names gives the lookup's default, or nothing.

Refused when read: ``dbm`` (httxt2dbm's files: name the text file they are made
from as txt:), ``prg`` (a program the server would have to keep running for
every process), ``dbd`` and ``fastdbd`` (mod_dbd, which itkgw does not have).
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from itkgw.errors import ConfigError
from itkgw.rules import expr

log = logging.getLogger("itkgw.rewrite")

#: The int: maps, as httpd registers them.
INTERNAL = ("toupper", "tolower", "escape", "unescape")
#: Why the other types are refused, by type.
_REFUSED = {
    "dbm": "convert the map back to a text file (key value lines) and name it as txt:/path",
    "prg": "write the mapping as a txt: map, or as RewriteRules",
    "dbd": "write the mapping as a txt: map (itkgw has no mod_dbd)",
    "fastdbd": "write the mapping as a txt: map (itkgw has no mod_dbd)",
}
_TYPE = re.compile(r"([A-Za-z]+)(?:=[^:]*)?:(.*)", re.DOTALL)
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class RewriteMap:
    """One RewriteMap line: its name, type (txt, rnd or int) and file or function."""

    name: str
    kind: str
    source: str

    @property
    def spec(self) -> str:
        """The map as RewriteMap's second argument writes it."""
        return f"{self.kind}:{self.source}"


def parse_map(name: str, spec: str, where: str) -> RewriteMap:
    """A RewriteMap line's map; ConfigError for a type itkgw refuses, an internal map httpd
    does not have, or a file that is not there (httpd's checks when it starts)."""
    if not name:
        raise ConfigError(where, "RewriteMap: the map has no name", "write RewriteMap NAME txt:/path")
    typed = _TYPE.fullmatch(spec)
    kind, source = (typed.group(1).lower(), typed.group(2)) if typed else ("txt", spec)
    if kind in _REFUSED:
        raise ConfigError(where, f"RewriteMap {name}: {kind} maps are not supported", _REFUSED[kind])
    if kind == "int":
        if source not in INTERNAL:
            raise ConfigError(where, f"RewriteMap: internal map not found:{source}",
                              "the internal maps are " + ", ".join(INTERNAL))
        return RewriteMap(name, kind, source)
    if kind not in ("txt", "rnd"):
        kind, source = "txt", spec  # httpd takes an unknown prefix as part of a text map's path
    if not os.path.isabs(source):
        raise ConfigError(where, f"RewriteMap {name}: {source!r} is not an absolute path",
                          "write the map file's full path")
    if not os.path.exists(source):
        raise ConfigError(where, f"RewriteMap: file for map {name} not found:{source}",
                          "create the file, or fix the path")
    return RewriteMap(name, kind, source)


def lookup(maps: Sequence[RewriteMap], name: str, key: str) -> str | None:
    """The value of ``key`` in the map ``name`` (the last RewriteMap of that name), None
    for none."""
    for candidate in reversed(maps):
        if candidate.name == name:
            return _looked_up(candidate, key)
    return None


def _looked_up(rewrite_map: RewriteMap, key: str) -> str | None:
    if rewrite_map.kind == "int":
        return _internal(rewrite_map.source, key)
    value = _file_entries(rewrite_map.source).get(key)
    if value is None or rewrite_map.kind == "txt":
        return value
    return random.choice(value.split("|")) or None


def _internal(function: str, key: str) -> str:
    if function == "tolower":
        return expr.ascii_lower(key)
    if function == "toupper":
        return expr.ascii_upper(key)
    if function == "escape":
        return expr.escape_uri(key)
    # unescape, as ap_unescape_url: every valid %XX decoded, a stray % kept, cut at a NUL.
    decoded = _ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), os.fsencode(key))
    return os.fsdecode(decoded.split(b"\0", 1)[0])


#: Text maps read so far by this process: their entries, and the mtime and size read.
_files: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}


def _file_entries(path: str) -> dict[str, str]:
    """The entries of a text map, read again when the file has changed; none when it cannot
    be read (logged, as httpd logs it)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        log.error("(%d)%s: AH00661: mod_rewrite: can't access text RewriteMap file %s",
                  exc.errno or 0, exc.strerror, path)
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    known = _files.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    try:
        with open(path, "rb") as file:
            entries = text_map_entries(file.read())
    except OSError as exc:
        log.error("(%d)%s: AH00655: mod_rewrite: can't open text RewriteMap file %s",
                  exc.errno or 0, exc.strerror, path)
        return {}
    _files[path] = (stamp, entries)
    return entries


def text_map_entries(data: bytes) -> dict[str, str]:
    """A text map's key -> value, as lookup_map_txtfile reads each line: not after ``#`` or
    white space, the key and the word after it, the first line of a key winning."""
    entries: dict[str, str] = {}
    for line in data.splitlines():
        if not line or line[:1] == b"#" or line[:1].isspace():
            continue
        words = line.split(None, 2)
        if len(words) >= 2:
            entries.setdefault(os.fsdecode(words[0]), os.fsdecode(words[1]))
    return entries
