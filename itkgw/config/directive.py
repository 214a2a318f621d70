"""How a module declares its directives: the rows of the directive table.

A ``Directive`` is one setting as both readers see it: its Apache name, its
TOML key, the contexts it may appear in, how its value is read (its kind),
which mpm-itk series have it, and a line of documentation. A ``Section`` is
an Apache section (``<Name args>``). A ``Module`` is one Apache module
itkgw implements: the names ``<IfModule>`` and ``LoadModule`` know it by,
and its directives and sections. Each module declares itself in a file of
``itkgw.config.modules``; ``itkgw.config.table`` assembles the table.

Contexts: ``contexts`` is where the TOML key may appear (top level, a
``[[vhost]]``, a section table); ``apache`` is where the Apache directive may
appear, which by default is ``contexts`` plus the server config for vhost
settings (the main server's value is every vhost's default, as in Apache).
``DIRECTORY`` covers <Directory>, <Location> and <Files> and their Match
forms; ``sections`` narrows it where Apache does (AllowOverride only in
<Directory>).

Series rules: ``series`` says which mpm-itk series accept the Apache name;
``aliases`` are other spellings (2.2's MaxClients is 2.4's MaxRequestWorkers,
and 2.4 still reads it, with a deprecation warning). A TOML key is ours, not
Apache's: it is refused only when the *setting* does not exist in the series
at all, under any name (LimitUIDRange, AssignUserIDExpr, Require... in 2.2),
so ``max_request_workers`` is fine with ``--compat=2.2``.

Some rows have no TOML key: Apache directives that feed a structure another
row holds (Allow and Deny feed ``access``, php_flag feeds ``php_settings``)
or that only steer reading (Include, LoadModule, Define). Two have no Apache
name: ``access`` and ``exec_cgi`` are TOML keys Apache spells with other
directives (``also_from``). A few rows are not Apache directives: a
section's argument (``<VirtualHost>`` gives the vhost's ``listen``,
``<Directory>`` the section's ``path``) and the ``--compat`` command-line
option, which TOML may also set.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from itkgw.config.kinds import Kind
from itkgw.config.kinds_structured import SECTION_NAMES, Arguments

SERIES = ("2.2", "2.4")
BOTH = frozenset(SERIES)
ONLY_24 = frozenset({"2.4"})


class Context(enum.Enum):
    """Where a setting may appear."""

    SERVER = "server"  # top level of the TOML file; outside any section in Apache syntax
    VHOST = "vhost"  # a [[vhost]] table; <VirtualHost>
    DIRECTORY = "directory"  # a [[vhost.directory|location|files]] table; <Directory>, <Location>, <Files>...


SERVER = frozenset({Context.SERVER})
VHOST = frozenset({Context.VHOST})
DIRECTORY = frozenset({Context.DIRECTORY})
SERVER_VHOST = SERVER | VHOST
VHOST_DIRECTORY = VHOST | DIRECTORY
EVERYWHERE = SERVER | VHOST | DIRECTORY
NOWHERE: frozenset[Context] = frozenset()

#: DirSection kinds: <Directory>, <Location> and <Files> and their Match forms.
SECTION_KINDS = ("directory", "location", "files")
ALL_SECTIONS = frozenset(SECTION_KINDS)

# -- directives and sections ----------------------------------------------------


@dataclass(frozen=True)
class Alias:
    """Another Apache spelling of a directive, and the series that read it."""

    name: str
    series: frozenset[str]
    #: Series that read this spelling but warn that it is deprecated.
    deprecated_in: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Directive:
    """One setting, as both readers see it."""

    #: Apache name; ``<Section>`` for a section's argument, ``--option`` for a
    #: command-line option, "" for a TOML key Apache spells otherwise.
    name: str
    #: TOML key, which is the model field it fills unless ``field`` says otherwise; "" for none.
    key: str
    #: Where the TOML key may appear (the model classes that have the field).
    contexts: frozenset[Context]
    kind: Kind
    doc: str
    #: mpm-itk series whose Apache syntax accepts ``name``.
    series: frozenset[str] = BOTH
    aliases: tuple[Alias, ...] = ()
    #: The model field, when not ``key`` (User and Group both fill ``user``).
    field: str = ""
    #: Apache: a repeated directive adds to the earlier ones instead of replacing them.
    repeat: bool = False
    #: With ``repeat``: a later item for the same name (extension, variable,
    #: status) replaces the earlier one, as Apache's tables do.
    keyed: bool = False
    #: Other Apache forms the Apache reader reads into this setting.
    also_from: str = ""
    #: Where the Apache directive may appear, when not ``contexts`` (+ server for vhost settings).
    apache: frozenset[Context] | None = None
    #: Which per-directory sections allow it.
    sections: frozenset[str] = ALL_SECTIONS
    #: What the series without this directive has instead, for the hint.
    instead: str = ""
    #: Why a directive Apache takes in sections is refused in them here.
    not_in_sections: str = ""
    #: Apache: the first argument is a path relative to ServerRoot.
    root_relative: bool = False
    #: Apache: the arguments are the raw rest of the line (Require), not words.
    raw: bool = False
    #: Accepted but of no effect in itkgw, for this reason (the reader names it in a warning).
    no_effect: str = ""

    @property
    def model_field(self) -> str:
        return self.field or self.key

    @property
    def label(self) -> str:
        """The name messages use: the Apache name, else the TOML key."""
        return self.name or self.key

    @property
    def apache_contexts(self) -> frozenset[Context]:
        """Where the Apache directive may appear: a vhost setting also at
        server level, as the default of every vhost."""
        if self.apache is not None:
            return self.apache
        if Context.VHOST in self.contexts:
            return self.contexts | SERVER
        return self.contexts

    def allowed_in(self, context: Context, section: str = "") -> bool:
        """Whether the Apache directive may appear in ``context`` (a section of kind ``section``)."""
        if context not in self.apache_contexts:
            return False
        return context is not Context.DIRECTORY or section in self.sections

    def where_allowed(self) -> str:
        """Where the Apache directive may appear, for hints."""
        places = []
        if Context.SERVER in self.apache_contexts:
            places.append("the server config")
        if Context.VHOST in self.apache_contexts:
            places.append("<VirtualHost>")
        if Context.DIRECTORY in self.apache_contexts:
            kinds = [kind for kind in SECTION_KINDS if kind in self.sections]
            places.append("/".join(f"<{SECTION_NAMES[kind]}>" for kind in kinds))
        return "it is allowed in " + " and ".join(places)

    def available_in(self, series: str) -> bool:
        """Whether the setting exists in ``series`` under any Apache name."""
        return series in self.series or any(series in alias.series for alias in self.aliases)

    def name_in(self, series: str) -> str:
        """The Apache name ``series`` knows this setting by."""
        if series in self.series:
            return self.name
        return next((alias.name for alias in self.aliases if series in alias.series), self.name)

    def missing_hint(self, series: str) -> str:
        """What to say when ``series`` lacks the setting altogether."""
        return self.instead or f"mpm-itk {series} has no {self.label}"


@dataclass(frozen=True)
class Section:
    """An Apache section (``<Name args>...</Name>``), for the reader and the docs."""

    name: str
    #: Where it may open: sections of its own kind never nest.
    contexts: frozenset[Context]
    doc: str
    series: frozenset[str] = BOTH
    #: The DirSection kind it makes, and whether its argument is a regex.
    kind: str = ""
    regex: bool = False
    instead: str = ""


def no_effect(name: str, reason: str, contexts: frozenset[Context] = SERVER_VHOST,
               series: frozenset[str] = BOTH) -> Directive:
    """A directive real httpd.conf files carry that changes nothing itkgw does: read,
    checked for its arguments, and named in one warning."""
    return Directive(name, "", NOWHERE, Arguments(1, None, f"{name} VALUE"), f"accepted, no effect: {reason}",
                     apache=contexts, no_effect=reason, series=series, instead=f"Apache 2.2 has no {name}")


@dataclass(frozen=True)
class Module:
    """An Apache module itkgw implements, and what it brings to the configuration.

    It counts as loaded whether or not the config loads it: ``<IfModule>``
    of any of its ``identifiers`` (module identifier or source file) is read,
    and ``LoadModule`` of it is accepted.
    """

    name: str
    doc: str
    identifiers: tuple[str, ...] = ()
    directives: tuple[Directive, ...] = ()
    sections: tuple[Section, ...] = ()
    #: Settings the module keeps itself, by context: a frozen dataclass whose
    #: fields (all with defaults; None for "not set here") its directives
    #: fill, named by ``Directive.field`` or the key. The model holds them in
    #: its ``modules`` field (itkgw.config.model.ModuleSettings), so a module
    #: with new settings needs no field in the core model.
    settings: Mapping[Context, type] = field(default_factory=dict)
