"""FastCGI 1.0 on the wire: records, name-value pairs, and the record reader.

A record is an 8-byte header (version, type, request id, content length,
padding length) then its content and padding. Name-value pairs (PARAMS,
GET_VALUES) give each length in one byte below 128, else in four with the
top bit set. Everything here is pure: no socket, no clock.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping

VERSION = 1
HEADER = struct.Struct(">BBHHBx")
#: Largest content of one record.
MAX_CONTENT = 0xFFFF
#: BEGIN_REQUEST: keep the connection open after END_REQUEST.
KEEP_CONN = 1
_BEGIN_BODY = struct.Struct(">HB5x")
_END_BODY = struct.Struct(">IB3x")


class RecordType(enum.IntEnum):
    BEGIN_REQUEST = 1
    ABORT_REQUEST = 2
    END_REQUEST = 3
    PARAMS = 4
    STDIN = 5
    STDOUT = 6
    STDERR = 7
    DATA = 8
    GET_VALUES = 9
    GET_VALUES_RESULT = 10
    UNKNOWN_TYPE = 11


class Role(enum.IntEnum):
    RESPONDER = 1
    AUTHORIZER = 2
    FILTER = 3


class ProtocolStatus(enum.IntEnum):
    REQUEST_COMPLETE = 0
    CANT_MPX_CONN = 1
    OVERLOADED = 2
    UNKNOWN_ROLE = 3


class ProtocolError(Exception):
    """The peer sent something that is not FastCGI."""


class Record:
    """One record read: its type, its request's id, its content (a plain class: a NamedTuple's
    constructor runs as Python, and a response is a few records)."""

    def __init__(self, kind: int, request_id: int, content: bytes) -> None:
        self.type = kind
        self.request_id = request_id
        self.content = content


def record(kind: RecordType, request_id: int, content: bytes = b"") -> bytes:
    """One record, padded to a multiple of 8 bytes as the spec recommends."""
    if len(content) > MAX_CONTENT:
        raise ValueError(f"record content of {len(content)} bytes exceeds {MAX_CONTENT}")
    padding = -len(content) % 8
    return HEADER.pack(VERSION, kind, request_id, len(content), padding) + content + bytes(padding)


def stream(kind: RecordType, request_id: int, data: bytes) -> bytes:
    """``data`` as records of a stream (STDIN, PARAMS...), split at the record size;
    empty data is the stream's end (one empty record)."""
    if len(data) <= MAX_CONTENT:
        return record(kind, request_id, data)
    return b"".join(record(kind, request_id, data[start:start + MAX_CONTENT])
                    for start in range(0, len(data), MAX_CONTENT))


def begin_request(request_id: int, keep_conn: bool, role: Role = Role.RESPONDER) -> bytes:
    return record(RecordType.BEGIN_REQUEST, request_id,
                  _BEGIN_BODY.pack(role, KEEP_CONN if keep_conn else 0))


def end_request_body(content: bytes) -> tuple[int, int]:
    """(application status, protocol status) of an END_REQUEST record."""
    if len(content) < _END_BODY.size:
        raise ProtocolError(f"END_REQUEST of {len(content)} bytes")
    app_status, protocol_status, = _END_BODY.unpack_from(content)
    return app_status, protocol_status


_LONG = struct.Struct(">I")


def encode_pairs(pairs: Mapping[str, str] | Mapping[bytes, bytes]) -> bytes:
    """Name-value pairs; str names and values are sent as the bytes os.fsencode gives.

    On every request's path (some forty pairs each, most the same as the last
    request's), so a short pair's encoding is kept for the next time.
    """
    parts = []
    for pair in pairs.items():
        encoded = _encoded.get(pair)
        if encoded is None:
            encoded = _encode_pair(*pair)
            if len(encoded) <= _KEPT_PAIR_BYTES:
                if len(_encoded) >= _KEPT_PAIRS:
                    _encoded.clear()
                _encoded[pair] = encoded
        parts.append(encoded)
    return b"".join(parts)


#: Encoded pairs kept, and the longest kept: bounded, as values come from clients.
_KEPT_PAIRS = 2048
_KEPT_PAIR_BYTES = 256
_encoded: dict[tuple[str | bytes, str | bytes], bytes] = {}


def _encode_pair(name: str | bytes, value: str | bytes) -> bytes:
    raw_name = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name
    raw_value = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return _pair_length(len(raw_name)) + _pair_length(len(raw_value)) + raw_name + raw_value


def _pair_length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    if size <= 0x7FFF_FFFF:
        return _LONG.pack(size | 0x8000_0000)
    raise ValueError(f"a name or value of {size} bytes is too long for FastCGI")


def decode_pairs(data: bytes) -> dict[bytes, bytes]:
    pairs: dict[bytes, bytes] = {}
    index = 0

    def length() -> int:
        nonlocal index
        if index >= len(data):
            raise ProtocolError("name-value pairs end inside a length")
        if data[index] < 0x80:
            index += 1
            return data[index - 1]
        if index + 4 > len(data):
            raise ProtocolError("name-value pairs end inside a length")
        value = struct.unpack_from(">I", data, index)[0] & 0x7FFF_FFFF
        index += 4
        return int(value)

    while index < len(data):
        name_size, value_size = length(), length()
        if index + name_size + value_size > len(data):
            raise ProtocolError("name-value pairs end inside a name or value")
        name = data[index:index + name_size]
        pairs[name] = data[index + name_size:index + name_size + value_size]
        index += name_size + value_size
    return pairs


class RecordReader:
    """Records out of a byte stream fed piece by piece."""

    def __init__(self) -> None:
        #: The start of a record whose end has not arrived yet.
        self._partial = bytearray()
        self._pending = 0

    def feed(self, data: bytes) -> list[Record]:
        """The records ``data`` completes, in order; raises ProtocolError on a bad header.

        Parsed in place from the bytes received (most reads hold whole records); a record
        cut by the end of a read is gathered until it is whole. A list, not a generator: a
        read holds one or two records, and a generator costs more than they do."""
        records: list[Record] = []
        if self._partial:
            self._partial += data
            if not _holds_a_record(self._partial):
                self._pending = len(self._partial)
                return records
            data = bytes(self._partial)
            self._partial.clear()
        offset, available = 0, len(data)
        while available - offset >= _HEADER_SIZE:
            version, kind, request_id, size, padding = _unpack_header(data, offset)
            if version != VERSION:
                self._pending = available - offset
                raise ProtocolError(f"record of FastCGI version {version}")
            end = offset + _HEADER_SIZE + size + padding
            if end > available:
                break
            records.append(Record(kind, request_id, data[offset + _HEADER_SIZE:end - padding]))
            offset = end
        if offset < available:
            self._partial += data[offset:]
        self._pending = available - offset
        return records

    @property
    def pending(self) -> int:
        """Bytes after the last record handed out: the next records' (or a cut one's)."""
        return self._pending


def _holds_a_record(buffer: bytearray) -> bool:
    """Whether ``buffer`` starts with a whole record (or a header too bad to wait for)."""
    if len(buffer) < _HEADER_SIZE:
        return False
    version, _, _, size, padding = _unpack_header(buffer)
    return version != VERSION or len(buffer) >= _HEADER_SIZE + size + padding


_HEADER_SIZE = HEADER.size
_unpack_header = HEADER.unpack_from
