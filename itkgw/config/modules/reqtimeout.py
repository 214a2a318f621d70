"""mod_reqtimeout: how long a client may take to send a request's head and its body.

``Timeout`` bounds each read; a client that sends a byte now and then passes
it for ever (slowloris). RequestReadTimeout bounds each stage as a whole:
``header=20-40,MinRate=500`` gives the head 20 seconds, one more for every
500 bytes that arrive, 40 at most. Apache 2.4 loads the module with that
header limit and ``body=20,MinRate=500`` as defaults; 2.2's module set none.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import SERVER_VHOST, Context, Directive, Module
from itkgw.config.kinds import Kind
from itkgw.errors import ConfigError

#: The stages a request is read in; a TLS handshake (handshake=) is accepted and has nothing to bound.
STAGES = ("handshake", "header", "body")
#: What Apache 2.4 bounds when no RequestReadTimeout names a stage.
DEFAULTS_24 = {"header": "20-40,MinRate=500", "body": "20,MinRate=500"}
_STAGE_VALUE = re.compile(r"(\d+)(?:-(\d+))?(?:,minrate=(\d+))?", re.IGNORECASE)


@dataclass(frozen=True)
class StageTimeout:
    """One stage's limit: ``seconds`` from its start, one more for every ``min_rate`` bytes
    received (0: none), ``maximum`` seconds in all (0: no cap beyond the rate's)."""

    seconds: int
    maximum: int = 0
    min_rate: int = 0

    def extended(self, deadline: float, started: float, received: int) -> float:
        """The stage's deadline after ``received`` more bytes."""
        if not self.min_rate:
            return deadline
        deadline += received / self.min_rate
        return min(deadline, started + self.maximum) if self.maximum else deadline


@functools.lru_cache(maxsize=64)
def parse_stage(text: str) -> StageTimeout | None:
    """``20-40,MinRate=500`` as a StageTimeout; None for ``0`` (the stage unbounded).
    Raises ValueError with what is wrong."""
    match = _STAGE_VALUE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not timeout[-maxtimeout][,MinRate=rate]")
    seconds, maximum, rate = (int(group) if group else 0 for group in match.groups())
    if maximum and maximum < seconds:
        raise ValueError("Max timeout must be larger than initial timeout")
    if maximum and not rate:
        raise ValueError("Must set MinRate option if using timeout range")
    if not seconds:
        return None
    return StageTimeout(seconds, maximum, rate)


def stage_limits(stages: tuple[tuple[str, str], ...] | None, compat: str) -> dict[str, StageTimeout | None]:
    """Each stage's limit: the configured ones over the defaults of ``compat``'s module."""
    configured = {"header": "0", "body": "0", **(DEFAULTS_24 if compat == "2.4" else {})}
    configured.update(stages or ())
    return {stage: parse_stage(text) for stage, text in configured.items() if stage != "handshake"}


@dataclass(frozen=True)
class StageTimeouts(Kind):
    """RequestReadTimeout's stage=value words, kept as (stage, value) pairs."""

    expects: ClassVar[str] = 'a table of stage = "timeout[-maxtimeout][,MinRate=rate]" (stages: header, body)'
    toml_example: ClassVar[str] = '{ header = "20-40,MinRate=500", body = "20,MinRate=500" }'
    args_example: ClassVar[str] = "RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        return tuple(self.stage(name, text, where) for name, text in self.string_table(value, where).items())

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if not args:
            raise self.wrong_args(args, where)
        pairs = []
        for word in args:
            name, equals, text = word.partition("=")
            if not equals:
                raise ConfigError(where, f"RequestReadTimeout: '{word}' is not stage=timeout",
                                  f"write it as {self.args_example}")
            pairs.append(self.stage(name, text, where))
        return tuple(pairs)

    def stage(self, name: str, text: str, where: str) -> tuple[str, str]:
        stage = name.lower()
        if stage not in STAGES:
            raise ConfigError(where, f"RequestReadTimeout: unknown stage '{name}'",
                              "the stages are handshake, header and body")
        try:
            parse_stage(text)
        except ValueError as exc:
            raise ConfigError(where, f"RequestReadTimeout {name}: {exc}",
                              f"write it as {self.args_example}") from None
        return stage, text


@dataclass(frozen=True)
class ReqTimeoutSettings:
    """The stages a RequestReadTimeout line named, as written (None: the defaults)."""

    stages: tuple[tuple[str, str], ...] | None = None


MODULE = Module(
    "reqtimeout",
    "mod_reqtimeout: time limits on receiving a request's head and body",
    identifiers=("reqtimeout_module", "mod_reqtimeout.c"),
    directives=(
        Directive("RequestReadTimeout", "request_read_timeout", SERVER_VHOST, StageTimeouts(),
                  "how long the head (header=) and the body (body=) may take to arrive: seconds, up to "
                  "a maximum as bytes arrive at MinRate bytes a second; 0 leaves a stage to Timeout "
                  "(2.4's default: header=20-40,MinRate=500 body=20,MinRate=500; 2.2's: none). The head's "
                  "limit is the server's; a vhost's limits its requests' bodies",
                  field="stages", repeat=True, keyed=True),
    ),
    settings={Context.SERVER: ReqTimeoutSettings, Context.VHOST: ReqTimeoutSettings},
)
