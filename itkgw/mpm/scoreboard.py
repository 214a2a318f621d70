"""The scoreboard: one slot per worker, in memory the master shares with all.

The master creates it before the first fork as an anonymous shared mapping
(``mmap(-1, ...)`` is MAP_SHARED|MAP_ANONYMOUS), so every worker and
connection child sees the same bytes and there is no file descriptor that
could leak into a script. A slot says what its worker is doing: pid, state,
generation, the vhost key (``name:port``) and uid of the request being
served, its request line and start time, connections served, when the
slot last changed, and the worker's heartbeat (time.monotonic(), which is
the same clock in every process), by which the master sees a stopped
worker. A header holds the server's generation, bumped by the master on a
graceful restart so children finish their response and end the keep-alive
connection.

No lock: each slot has one writer at a time. The master writes a slot only
when no process owns it (reset, STARTING, before the fork) and then its pid;
afterwards the worker writes it, and while a connection child runs, the child
does (the worker waits for it). Readers may see a slot half-updated, so a
count can be off by one; MaxClientsVHost accepts that, and the request being
decided counts itself (the child writes its vhost key and a busy state, then
counts), as in mpm-itk.
"""

from __future__ import annotations

import enum
import mmap
import struct
import time
from dataclasses import dataclass
from typing import Any

#: Bytes kept of a vhost key and of a request line (longer ones are cut).
TEXT_BYTES = 128

_HEADER = struct.Struct("<Qd")  # generation, when it began (the master's last start or restart)
_HEADER_SIZE = 64
#: A state and its stamp, and a request line and its start, sit side by side: each pair
#: is written in one go, several times per request.
_LAYOUT = (
    ("pid", "i"),
    ("state", "I"),
    ("last_used", "d"),
    ("generation", "Q"),
    ("uid", "I"),
    ("connections", "I"),
    ("heartbeat", "d"),
    ("requests", "Q"),
    ("bytes", "Q"),
    ("vhost", f"{TEXT_BYTES}s"),
    ("started", "d"),
    ("request", f"{TEXT_BYTES}s"),
    ("held", "I"),
)
_SLOT = struct.Struct("<" + "".join(code for _, code in _LAYOUT))
#: The fields from pid to connections, read in one go.
_HEAD_FIELDS = struct.Struct("<" + "".join(code for _, code in _LAYOUT[:6]))
#: state and last_used; started and request.
_STAMPED_STATE = struct.Struct("<Id")
_STAMPED_REQUEST = struct.Struct(f"<d{TEXT_BYTES}s")
_FIELD = {name: struct.Struct("<" + code) for name, code in _LAYOUT}
_OFFSET = {name: struct.calcsize("<" + "".join(code for _, code in _LAYOUT[:i]))
           for i, (name, _) in enumerate(_LAYOUT)}
#: Each field's packer, unpacker and offset in its slot: a worker writes a few fields per
#: request, and looks none of this up while it does.
_ACCESS = {name: (field.pack_into, field.unpack_from, _OFFSET[name]) for name, field in _FIELD.items()}
_STATE_AT, _STARTED_AT = _OFFSET["state"], _OFFSET["started"]
assert _OFFSET["last_used"] == _STATE_AT + 4 and _OFFSET["request"] == _STARTED_AT + 8


class SlotState(enum.IntEnum):
    """What a worker is doing; the order follows Apache's scoreboard."""

    DEAD = 0  # free: no process owns the slot
    STARTING = 1
    READY = 2  # idle, waiting in accept()
    BUSY_READ = 3  # reading a request head
    BUSY_WRITE = 4  # serving a request
    BUSY_KEEPALIVE = 5  # waiting for the next request on a connection
    CLOSING = 6
    GRACEFUL = 7  # told to exit after the current connection


#: The states by their number, looked up without the Enum's call.
_STATES = tuple(SlotState)
assert all(state.value == number for number, state in enumerate(_STATES))


def _state(number: int) -> SlotState:
    return _STATES[number] if 0 <= number < len(_STATES) else SlotState(number)


#: The states MaxClientsVHost counts: every state of a process that holds a
#: connection, lingering close (CLOSING) and a graceful restart's last one included.
BUSY_STATES = frozenset({SlotState.BUSY_READ, SlotState.BUSY_WRITE, SlotState.BUSY_KEEPALIVE,
                         SlotState.CLOSING, SlotState.GRACEFUL})


def _encode(text: str) -> bytes:
    """``text`` as at most TEXT_BYTES of UTF-8, never cut inside a character.

    NUL bytes are dropped: they pad the field.
    """
    data = text.replace("\0", "").encode("utf-8", "replace")
    if len(data) <= TEXT_BYTES:
        return data
    return data[:TEXT_BYTES].decode("utf-8", "ignore").encode("utf-8")


def _decode(data: bytes) -> str:
    return data.rstrip(b"\0").decode("utf-8", "replace")


@dataclass(frozen=True)
class SlotRecord:
    """A copy of one slot, for reports and tests."""

    pid: int
    state: SlotState
    generation: int
    uid: int
    connections: int
    started: float
    last_used: float
    vhost: str
    request: str
    #: Requests served and bytes sent by the slot's process (mod_status's counts).
    requests: int = 0
    bytes: int = 0


#: The two counters, written together once per request.
_COUNTS = struct.Struct("<QQ")


class SlotView:
    """Typed access to one slot; each setter writes only its own field."""

    def __init__(self, buffer: mmap.mmap, base: int) -> None:
        self._buffer = buffer
        self._base = base

    def _get(self, name: str) -> Any:
        _, unpack_from, offset = _ACCESS[name]
        return unpack_from(self._buffer, self._base + offset)[0]

    def _set(self, name: str, value: int | float | bytes) -> None:
        pack_into, _, offset = _ACCESS[name]
        pack_into(self._buffer, self._base + offset, value)

    @property
    def pid(self) -> int:
        return int(self._get("pid"))

    @pid.setter
    def pid(self, value: int) -> None:
        self._set("pid", value)

    @property
    def heartbeat(self) -> float:
        """When the worker last showed it is alive (time.monotonic()); 0 before it has."""
        return float(self._get("heartbeat"))

    def beat(self) -> None:
        self._set("heartbeat", time.monotonic())

    @property
    def state(self) -> SlotState:
        """Setting the state also stamps last_used, as Apache does."""
        return _state(self._get("state"))

    @state.setter
    def state(self, value: SlotState) -> None:
        _STAMPED_STATE.pack_into(self._buffer, self._base + _STATE_AT, value, time.time())

    @property
    def generation(self) -> int:
        """The server generation the worker was started for."""
        return int(self._get("generation"))

    @generation.setter
    def generation(self, value: int) -> None:
        self._set("generation", value)

    @property
    def uid(self) -> int:
        """The uid the current connection runs as."""
        return int(self._get("uid"))

    @uid.setter
    def uid(self, value: int) -> None:
        self._set("uid", value)

    @property
    def connections(self) -> int:
        """Connections the worker has served."""
        return int(self._get("connections"))

    @connections.setter
    def connections(self, value: int) -> None:
        self._set("connections", value)

    @property
    def held(self) -> int:
        """Connections a pool worker holds now (parked, or in hand): its siblings balance by it."""
        return int(self._get("held"))

    @held.setter
    def held(self, value: int) -> None:
        self._set("held", value)

    @property
    def started(self) -> float:
        """When the current request began (time.time())."""
        return float(self._get("started"))

    @started.setter
    def started(self, value: float) -> None:
        self._set("started", value)

    @property
    def last_used(self) -> float:
        return float(self._get("last_used"))

    @last_used.setter
    def last_used(self, value: float) -> None:
        self._set("last_used", value)

    @property
    def vhost(self) -> str:
        """The vhost key ``name:port`` of the request, cut to TEXT_BYTES."""
        return _decode(self._get("vhost"))

    @vhost.setter
    def vhost(self, value: str) -> None:
        self._set("vhost", _encode(value))

    @property
    def request(self) -> str:
        """The request line, cut to TEXT_BYTES; setting it stamps ``started``."""
        return _decode(self._get("request"))

    @request.setter
    def request(self, value: str) -> None:
        _STAMPED_REQUEST.pack_into(self._buffer, self._base + _STARTED_AT, time.time() if value else 0.0,
                                   _encode(value))

    def read(self) -> SlotRecord:
        """The whole slot in one copy."""
        values = _SLOT.unpack_from(self._buffer, self._base)
        fields = dict(zip((name for name, _ in _LAYOUT), values, strict=True))
        return SlotRecord(pid=fields["pid"], state=_state(fields["state"]),
                          generation=fields["generation"], uid=fields["uid"],
                          connections=fields["connections"], started=fields["started"],
                          last_used=fields["last_used"], vhost=_decode(fields["vhost"]),
                          request=_decode(fields["request"]), requests=fields["requests"],
                          bytes=fields["bytes"])

    def count_request(self, sent: int) -> None:
        """One more request served, of ``sent`` bytes."""
        offset = self._base + _OFFSET["requests"]
        requests, sent_before = _COUNTS.unpack_from(self._buffer, offset)
        _COUNTS.pack_into(self._buffer, offset, requests + 1, sent_before + sent)

    def reset(self) -> None:
        """Zero the slot: DEAD, no pid, nothing served."""
        self._buffer[self._base:self._base + _SLOT.size] = bytes(_SLOT.size)


class Scoreboard:
    """A fixed number of slots in anonymous shared memory."""

    def __init__(self, buffer: mmap.mmap, size: int) -> None:
        self._buffer = buffer
        self.size = size

    @classmethod
    def create(cls, slots: int) -> Scoreboard:
        """Map a zeroed scoreboard; call it in the master, before any fork."""
        if slots < 1:
            raise ValueError(f"a scoreboard needs at least one slot, not {slots}")
        buffer = mmap.mmap(-1, _HEADER_SIZE + slots * _SLOT.size)
        return cls(buffer, slots)

    def __len__(self) -> int:
        return self.size

    @property
    def generation(self) -> int:
        """The server's generation; bumped by the master on a graceful restart."""
        return int(_HEADER.unpack_from(self._buffer, 0)[0])

    @generation.setter
    def generation(self, value: int) -> None:
        """A new generation, begun now."""
        _HEADER.pack_into(self._buffer, 0, value, time.time())

    @property
    def restarted(self) -> float:
        """When the current generation began (mod_status's restart time)."""
        return float(_HEADER.unpack_from(self._buffer, 0)[1])

    def slot(self, index: int) -> SlotView:
        if not 0 <= index < self.size:
            raise IndexError(f"slot {index} is not in 0..{self.size - 1}")
        return SlotView(self._buffer, _HEADER_SIZE + index * _SLOT.size)

    def state_and_connections(self, index: int) -> tuple[int, int]:
        """A slot's state and connections served, in one read: the pool manager counts
        these for every connection it passes on."""
        base = _HEADER_SIZE + index * _SLOT.size
        _, state, _, _, _, connections = _HEAD_FIELDS.unpack_from(self._buffer, base)
        return state, connections

    def _states(self) -> list[SlotState]:
        field, offset = _FIELD["state"], _HEADER_SIZE + _OFFSET["state"]
        return [_state(field.unpack_from(self._buffer, offset + i * _SLOT.size)[0])
                for i in range(self.size)]

    def find_free_slot(self, start: int = 0, stop: int | None = None) -> int | None:
        """The first DEAD slot from ``start`` to before ``stop``, or None when all are in use."""
        for index, state in enumerate(self._states()[start:stop], start):
            if state == SlotState.DEAD:
                return index
        return None

    def count_busy_for_vhost(self, key: str) -> int:
        """Slots serving vhost ``key`` right now (BUSY_STATES only)."""
        wanted = _encode(key).ljust(TEXT_BYTES, b"\0")
        vhost_at = _OFFSET["vhost"]
        count = 0
        for index, state in enumerate(self._states()):
            if state in BUSY_STATES:
                start = _HEADER_SIZE + index * _SLOT.size + vhost_at
                if self._buffer[start:start + TEXT_BYTES] == wanted:
                    count += 1
        return count

    def load(self) -> tuple[int, int]:
        """The current generation's workers idle and busy, in percent of both (httpd's
        ap_get_sload, which mod_headers' %i and %b print); those starting count as neither."""
        generation, ready, busy = self.generation, 0, 0
        for index in range(self.size):
            _, state, _, slot_generation, _, _ = _HEAD_FIELDS.unpack_from(
                self._buffer, _HEADER_SIZE + index * _SLOT.size)
            if slot_generation != generation or state in (SlotState.DEAD, SlotState.STARTING):
                continue
            if state == SlotState.READY:
                ready += 1
            else:
                busy += 1
        total = ready + busy
        return (ready * 100 // total, busy * 100 // total) if total else (0, 0)

    def idle_count(self) -> int:
        """Workers waiting for a connection (READY)."""
        return sum(1 for state in self._states() if state == SlotState.READY)

    def pids(self) -> list[int]:
        """Pids of the slots some process owns."""
        return [pid for pid in (self.slot(i).pid for i in range(self.size)) if pid > 0]

    def close(self) -> None:
        self._buffer.close()
