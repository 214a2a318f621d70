"""mod_expires: Expires and Cache-Control max-age on responses, by content type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds import Flag, Kind, Text
from itkgw.errors import ConfigError

#: Seconds per unit of mod_expires' "access plus 1 month" form (its own month and year).
_UNITS = {"year": 365 * 86400, "month": 30 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600,
          "minute": 60, "second": 1}
_BASES = {"access": "A", "now": "A", "modification": "M"}


def parse_code(text: str) -> str:
    """An expiry as mod_expires' short form: ``A<seconds>`` (after the request) or
    ``M<seconds>`` (after the file's modification). Raises ValueError with httpd's words."""
    if text[:1] in ("A", "M") and text[1:].isdigit():
        return text
    words = text.split()
    if not words or words[0].lower() not in _BASES:
        raise ValueError(f"bad expires code, unrecognised <base> '{words[0] if words else ''}'")
    base, rest = _BASES[words[0].lower()], words[1:]
    if rest and rest[0].lower() == "plus":
        rest = rest[1:]
    seconds = 0
    while rest:
        if not rest[0].isdigit():
            raise ValueError(f"bad expires code, numeric value expected <num> '{rest[0]}'")
        if len(rest) < 2:
            raise ValueError("bad expires code, missing <type>")
        unit = rest[1].lower().removesuffix("s")
        if unit not in _UNITS:
            raise ValueError(f"bad expires code, unrecognised <type> '{rest[1]}'")
        seconds += int(rest[0]) * _UNITS[unit]
        rest = rest[2:]
    return f"{base}{seconds}"


_CODE_HINT = ('write "access plus 1 month", "modification plus 2 hours", or A2592000 (seconds after '
              "the request; M: after the file's modification)")


def _checked_code(text: str, where: str) -> str:
    try:
        return parse_code(text)
    except ValueError as exc:
        raise ConfigError(where, str(exc), _CODE_HINT) from None


@dataclass(frozen=True)
class ExpiryCode(Text):
    """ExpiresDefault's code."""

    expects: ClassVar[str] = 'an expiry such as "access plus 1 month" or "A2592000"'
    toml_example: ClassVar[str] = '"access plus 1 month"'
    args_example: ClassVar[str] = 'ExpiresDefault "access plus 1 month"'

    def check(self, value: str, where: str) -> str:
        return _checked_code(value, where)


@dataclass(frozen=True)
class ExpiryByType(Kind):
    """ExpiresByType's (content type, code) pairs; ``text/*`` covers a whole type."""

    expects: ClassVar[str] = 'a table of content type = expiry, e.g. { "text/css" = "access plus 1 month" }'
    toml_example: ClassVar[str] = '{ "text/css" = "access plus 1 month", "image/*" = "A604800" }'
    args_example: ClassVar[str] = 'ExpiresByType text/css "access plus 1 month"'

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        return tuple(self.pair(name, code, where) for name, code in self.string_table(value, where).items())

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if len(args) != 2:
            raise self.wrong_args(args, where)
        return (self.pair(args[0], args[1], where),)

    def pair(self, content_type: str, code: str, where: str) -> tuple[str, str]:
        if "/" not in content_type:
            raise ConfigError(where, f"ExpiresByType: '{content_type}' is not a content type",
                              f"write it as {self.args_example}")
        return content_type.lower(), _checked_code(code, where)


@dataclass(frozen=True)
class ExpiresSettings:
    """mod_expires of one level; a section's ExpiresByType lines add to those around it."""

    active: bool | None = None
    by_type: tuple[tuple[str, str], ...] | None = None
    default: str | None = None

    def over(self, earlier: ExpiresSettings) -> ExpiresSettings:
        by_type = dict(earlier.by_type or ())
        by_type.update(self.by_type or ())
        return ExpiresSettings(
            self.active if self.active is not None else earlier.active,
            tuple(by_type.items()) if by_type else None,
            self.default if self.default is not None else earlier.default)

    def code_for(self, content_type: str) -> str | None:
        """The expiry for a response of ``content_type`` (parameters ignored): its own,
        else its type's wildcard, else ExpiresDefault."""
        by_type = dict(self.by_type or ())
        bare = content_type.split(";", 1)[0].strip().lower()
        wildcard = bare.split("/", 1)[0] + "/*"
        return by_type.get(bare) or by_type.get(wildcard) or self.default


MODULE = Module(
    "expires",
    "mod_expires: Expires and Cache-Control max-age by content type",
    identifiers=("expires_module", "mod_expires.c"),
    directives=(
        Directive("ExpiresActive", "expires_active", VHOST_DIRECTORY, Flag(),
                  "whether responses here get Expires and Cache-Control max-age (default Off)",
                  field="active"),
        Directive("ExpiresByType", "expires_by_type", VHOST_DIRECTORY, ExpiryByType(),
                  'the expiry of a content type: "access plus 1 month", "modification plus 1 day" or '
                  "A/M and seconds; text/* for a whole type", field="by_type", repeat=True, keyed=True),
        Directive("ExpiresDefault", "expires_default", VHOST_DIRECTORY, ExpiryCode(),
                  "the expiry of content types ExpiresByType does not name", field="default"),
    ),
    settings={Context.VHOST: ExpiresSettings, Context.DIRECTORY: ExpiresSettings},
)
