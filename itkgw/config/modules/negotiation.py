"""mod_negotiation: the settings of Options MultiViews (and mod_mime's MultiviewsMatch, which
only negotiation reads). Type maps (.var files) are not negotiated: CacheNegotiatedDocs is
read with a warning, and a type map is served as the file it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import SERVER_VHOST, VHOST_DIRECTORY, Context, Directive, Module, no_effect
from itkgw.config.kinds import Words
from itkgw.errors import ConfigError


@dataclass(frozen=True)
class NegotiationSettings:
    """LanguagePriority, ForceLanguagePriority and MultiviewsMatch of a vhost or section (None:
    the enclosing one's; httpd's defaults are no priority, Prefer, NegotiatedOnly)."""

    language_priority: tuple[str, ...] | None = None
    force_language_priority: tuple[str, ...] | None = None
    multiviews_match: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Keywords(Words):
    """Words out of a fixed set (any case), which some combinations exclude."""

    allowed: tuple[str, ...] = ()
    #: Words that stand alone (None with ForceLanguagePriority, Any and NegotiatedOnly).
    alone: tuple[str, ...] = ()
    expects: ClassVar[str] = "a list of keywords"

    def checked(self, words: tuple[str, ...], where: str) -> tuple[str, ...]:
        spelled = {word.lower(): word for word in self.allowed}
        result = []
        for word in words:
            if word.lower() not in spelled:
                raise ConfigError(where, f"{word!r} is not one of {', '.join(self.allowed)}",
                                  f"write {' or '.join(self.allowed)}")
            result.append(spelled[word.lower()])
        lone = [word for word in result if word in self.alone]
        if lone and len(set(result)) > 1:
            raise ConfigError(where, f"{lone[0]} cannot be combined with other words",
                              f"write {lone[0]} alone")
        return tuple(dict.fromkeys(result))


MODULE = Module(
    "negotiation",
    "mod_negotiation: Options MultiViews chooses among files named like the request",
    identifiers=("negotiation_module", "mod_negotiation.c"),
    directives=(
        Directive("LanguagePriority", "language_priority", VHOST_DIRECTORY, Words(),
                  "languages preferred, in order, when the client's Accept-Language does not decide",
                  field="language_priority"),
        Directive("ForceLanguagePriority", "force_language_priority", VHOST_DIRECTORY,
                  _Keywords(allowed=("Prefer", "Fallback", "None"), alone=("None",)),
                  "Prefer: LanguagePriority breaks ties (the default); Fallback: it chooses when no "
                  "language is acceptable; None: neither", field="force_language_priority"),
        Directive("MultiviewsMatch", "multiviews_match", VHOST_DIRECTORY,
                  _Keywords(allowed=("NegotiatedOnly", "Handlers", "Filters", "Any"),
                            alone=("NegotiatedOnly", "Any")),
                  "which files MultiViews may choose: NegotiatedOnly (every extension a type, language "
                  "or encoding; the default), Handlers (handler extensions too), Any (any file)",
                  field="multiviews_match"),
        no_effect("CacheNegotiatedDocs", "itkgw sends negotiated answers to HTTP/1.0 clients as to others",
                  SERVER_VHOST),
    ),
    settings={Context.VHOST: NegotiationSettings, Context.DIRECTORY: NegotiationSettings},
)
