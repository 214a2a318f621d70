"""mod_deflate's output filter: gzip for the clients that accept it.

Rules, as httpd 2.4's mod_deflate, checked against it:
- only responses of the content types AddOutputFilterByType DEFLATE names
  (the type before any ``;``, compared exactly), or every response under
  SetOutputFilter DEFLATE; httpd's own error pages never;
- a response known to be 68 bytes or less, a 204, one with a Content-Range
  or a Content-Encoding other than identity, or a request with the
  ``no-gzip`` variable (or ``gzip-only-text/html`` 1, for a type other than text/html),
  is left as it is, without Vary;
- any other gets ``Vary: Accept-Encoding``, and is compressed when the
  request's Accept-Encoding has ``gzip`` without ``q=0`` (or ``force-gzip``
  is set): Content-Encoding gzip, no Content-Length of the original, the
  ETag marked ``-gzip`` (DeflateAlterETag);
- the gzip stream is httpd's: a 10-byte header of mtime 0 and OS unix, raw
  deflate at DeflateCompressionLevel, DeflateMemLevel, DeflateWindowSize, a
  sync flush where the handler flushes, the CRC and length at the end;
- the compressed response is held, and gets a Content-Length, while no more
  than 64 KiB were compressed and the handler did not flush; a longer one
  is sent as it comes, chunked.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from itkgw.config.modules.deflate import DeflateSettings

#: A response shorter than this is not worth compressing (mod_deflate's rule).
SMALLEST_COMPRESSED = 69
#: A compressed response is held whole, and sent with a Content-Length, until this many
#: bytes of it were compressed; a longer one streams, chunked (as httpd 2.4 sends them).
HELD_INPUT = 65536
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
_ZERO_Q = re.compile(r";\s*q\s*=\s*0(?:\.0{0,3})?\s*(?:;|$)", re.IGNORECASE)


@dataclass(frozen=True)
class DeflateRule:
    """What DEFLATE does for one request: the content types it takes (None: every type,
    SetOutputFilter), how it compresses, and the request's side of the decision."""

    types: frozenset[str] | None
    settings: DeflateSettings
    #: The client accepts gzip, or force-gzip is set.
    accepted: bool
    #: The no-gzip variable is set: nothing is compressed, and no Vary is added.
    refused: bool = False
    #: gzip-only-text/html is 1: as no-gzip for any response but text/html.
    html_only: bool = False

    def takes(self, status: int, headers: list[tuple[str, str]]) -> bool:
        """Whether the filter works on this response at all (Vary, perhaps gzip)."""
        if self.refused or status in (204, 304):
            return False
        content_type = encoding = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-range":
                return False
            if lowered == "content-type":
                content_type = value
            elif lowered == "content-encoding":
                encoding = value
        if encoding is not None and encoding.strip().lower() != "identity":
            return False
        if self.html_only and not (content_type or "").startswith("text/html"):
            return False
        if self.types is None:
            return True
        if content_type is None:
            return False
        media_type = re.split(r"[; \t]", content_type, maxsplit=1)[0]
        return media_type in self.types

    def headers_for(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The response's headers once the filter took it: Vary, and for a client that
        accepts gzip the encoding, no length, the ETag changed."""
        out = _with_vary(headers)
        if not self.accepted:
            return out
        alter = self.settings.alter_etag or "addsuffix"
        changed: list[tuple[str, str]] = []
        for name, value in out:
            lowered = name.lower()
            if lowered in ("content-length", "content-encoding", "content-md5"):
                continue
            if lowered == "etag" and alter != "nochange":
                if alter == "remove":
                    continue
                value = value[:-1] + '-gzip"' if value.endswith('"') else value + "-gzip"
            changed.append((name, value))
        changed.append(("Content-Encoding", "gzip"))
        return changed


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding value lists gzip without refusing it with q=0."""
    if not accept_encoding:
        return False
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        if coding.strip().lower() == "gzip":
            return not _ZERO_Q.search(";" + parameters)
    return False


def _with_vary(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``Vary: Accept-Encoding`` merged into the response's Vary, as httpd merges it."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            tokens = [token.strip().lower() for token in value.split(",")]
            if "accept-encoding" in tokens or "*" in tokens:
                return headers
            return [*headers[:index], (name, f"{value}, Accept-Encoding"), *headers[index + 1:]]
    return [*headers, ("Vary", "Accept-Encoding")]


class GzipStream:
    """One response's gzip member, produced piece by piece."""

    def __init__(self, settings: DeflateSettings) -> None:
        level = settings.compression_level or zlib.Z_DEFAULT_COMPRESSION
        self._deflater = zlib.compressobj(level, zlib.DEFLATED, -(settings.window_size or 15),
                                          settings.mem_level or 9)
        self._crc = 0
        self._size = 0
        self._header = GZIP_HEADER

    def compress(self, data: bytes) -> bytes:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        return self._with_header(self._deflater.compress(data))

    @property
    def consumed(self) -> int:
        """Bytes compressed so far."""
        return self._size

    def flush(self) -> bytes:
        """What was compressed so far, whole: the handler flushed its output."""
        return self._with_header(self._deflater.flush(zlib.Z_SYNC_FLUSH))

    def finish(self) -> bytes:
        trailer = struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
        return self._with_header(self._deflater.flush(zlib.Z_FINISH) + trailer)

    def _with_header(self, data: bytes) -> bytes:
        if self._header and data:
            data, self._header = self._header + data, b""
        return data
