"""mod_filter: output filters chosen by a response's content type (AddOutputFilterByType).

itkgw has one output filter, DEFLATE (mod_deflate's gzip); a section's
AddOutputFilterByType lines add types to those of the sections around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds import Kind
from itkgw.errors import ConfigError

#: The output filters itkgw has.
FILTERS = ("DEFLATE",)


def checked_filters(text: str, where: str) -> str:
    """A filter chain (``DEFLATE``, or names joined by ``;``) of filters itkgw has."""
    names = [name for name in text.split(";") if name]
    unknown = [name for name in names if name.upper() not in FILTERS]
    if not names or unknown:
        raise ConfigError(where, f"no output filter named {(unknown or [text])[0]!r} in itkgw",
                          "its one output filter is DEFLATE (mod_deflate's gzip): remove the line")
    return ";".join(name.upper() for name in names)


@dataclass(frozen=True)
class FiltersByType(Kind):
    """AddOutputFilterByType's filter chain and content types, kept as (filter, type) pairs."""

    expects: ClassVar[str] = "a table of filter = [content types]"
    toml_example: ClassVar[str] = '{ DEFLATE = ["text/html", "text/css"] }'
    args_example: ClassVar[str] = "AddOutputFilterByType DEFLATE text/html text/css"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict):
            raise self.wrong_toml(value, where)
        return tuple((checked_filters(name, where), content_type) for name, types in value.items()
                     for content_type in self.string_list(types, where))

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if len(args) < 2:
            raise self.wrong_args(args, where)
        chain = checked_filters(args[0], where)
        return tuple((chain, content_type) for content_type in args[1:])


@dataclass(frozen=True)
class FilterSettings:
    """The (filter, content type) pairs of one level; a section's add to those around it."""

    by_type: tuple[tuple[str, str], ...] | None = None

    def over(self, earlier: FilterSettings) -> FilterSettings:
        joined = tuple(dict.fromkeys((*(earlier.by_type or ()), *(self.by_type or ()))))
        return FilterSettings(joined or None)

    def deflated_types(self) -> frozenset[str]:
        """The content types (without parameters) DEFLATE compresses here."""
        return frozenset(content_type for chain, content_type in self.by_type or ()
                         if "DEFLATE" in chain.split(";"))


MODULE = Module(
    "filter",
    "mod_filter: output filters by content type",
    identifiers=("filter_module", "mod_filter.c"),
    directives=(
        Directive("AddOutputFilterByType", "add_output_filter_by_type", VHOST_DIRECTORY, FiltersByType(),
                  "content types whose responses go through an output filter; itkgw has DEFLATE "
                  "(gzip for clients that accept it, as mod_deflate)", repeat=True, field="by_type"),
    ),
    settings={Context.VHOST: FilterSettings, Context.DIRECTORY: FilterSettings},
)
