"""The directive table both config readers share, assembled from the modules.

Each module in ``itkgw.config.modules`` declares its directives and sections
(``itkgw.config.directive`` says what a row holds); this is their union, with
the lookups the readers need: the TOML reader finds rows by key, the Apache
reader by name, ``itkgw convert`` and the docs walk the table. Two modules
may not claim one Apache name or one TOML key: importing the table fails.
None of these settings is read from .htaccess: itkgw reads no .htaccess files.

How a row's value is read is its kind (``kinds`` for plain values,
``kinds_structured`` for the rest); the TOML shape of each structured setting
is in its kind's ``toml_example`` and in the row's doc.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from itkgw.config.directive import SERIES, Alias, Context, Directive, Module, Section
from itkgw.config.model import DirSection, ModuleSettings, ServerConfig, VHost
from itkgw.config.modules import all_modules
from itkgw.errors import ConfigError

#: The model class each context fills.
MODELS: Mapping[Context, type] = {
    Context.SERVER: ServerConfig,
    Context.VHOST: VHost,
    Context.DIRECTORY: DirSection,
}

#: Model fields no directive sets: nested sections, the section kind, where things
#: came from, and the modules' own settings (whose fields directives do set).
STRUCTURAL_FIELDS: Mapping[Context, frozenset[str]] = {
    Context.SERVER: frozenset({"vhosts", "source", "modules", "loaded_modules"}),
    Context.VHOST: frozenset({"directories", "where", "modules"}),
    # An .htaccess file's <If> sections (no TOML form: .htaccess files are Apache syntax).
    Context.DIRECTORY: frozenset({"kind", "where", "modules", "in_files", "in_files_regex", "condition",
                                  "unless"}),
}

#: The modules itkgw implements, by name.
MODULES: Mapping[str, Module] = {module.name: module for module in all_modules()}
DIRECTIVES: tuple[Directive, ...] = tuple(row for module in MODULES.values() for row in module.directives)
SECTIONS: tuple[Section, ...] = tuple(section for module in MODULES.values() for section in module.sections)
SECTION_BY_NAME: Mapping[str, Section] = {section.name.lower(): section for section in SECTIONS}

#: Every name <IfModule> and LoadModule know a module itkgw implements by.
LOADED_MODULES = frozenset(name for module in MODULES.values() for name in module.identifiers)
#: Modules Debian's httpd has built in, there without LoadModule: <IfModule> always finds them.
BUILT_IN_MODULES = frozenset({
    *MODULES["core"].identifiers, *MODULES["log_config"].identifiers,
    "version_module", "mod_version.c", "unixd_module", "mod_unixd.c", "logio_module", "mod_logio.c",
    "watchdog_module", "mod_watchdog.c"})


def loaded_by(module: str) -> frozenset[str]:
    """The names <IfModule> finds once LoadModule has loaded ``module``: its own, and its source
    file's as httpd's modules name it (rewrite_module: mod_rewrite.c; PHP 8's php_module:
    mod_php.c, so an .htaccess's <IfModule mod_php7.c> is skipped under it, as by httpd;
    mpm_itk_module: mpm_itk.c)."""
    base = module.removesuffix("_module")
    if base.startswith("mpm_"):
        return frozenset({module, f"{base}.c", f"{base[4:]}.c"})
    return frozenset({module, f"mod_{base}.c"})


def _owners() -> dict[int, str]:
    """Each row's module, by row identity, to name both modules of a clash."""
    return {id(row): module.name for module in MODULES.values() for row in module.directives}


def _claim(table: dict[str, tuple[Directive, Alias | None]], name: str, row: Directive,
           alias: Alias | None) -> None:
    if name in table:
        owners = _owners()
        raise TypeError(f"modules {owners[id(table[name][0])]} and {owners[id(row)]} both declare {name}")
    table[name] = (row, alias)


def _by_name() -> dict[str, tuple[Directive, Alias | None]]:
    table: dict[str, tuple[Directive, Alias | None]] = {}
    for directive in DIRECTIVES:
        if directive.name[:1].isalpha():
            _claim(table, directive.name.lower(), directive, None)
        for alias in directive.aliases:
            _claim(table, alias.name.lower(), directive, alias)
    return table


def _by_key() -> dict[Context, dict[str, Directive]]:
    table: dict[Context, dict[str, Directive]] = {context: {} for context in Context}
    for directive in DIRECTIVES:
        for context in directive.contexts:
            if directive.key in table[context]:
                owners = _owners()
                raise TypeError(f"modules {owners[id(table[context][directive.key])]} and "
                                f"{owners[id(directive)]} both declare the TOML key {directive.key!r}")
            table[context][directive.key] = directive
    return table


#: Apache name or alias, lower-cased -> (directive, the alias used or None).
BY_NAME: Mapping[str, tuple[Directive, Alias | None]] = _by_name()
#: Context -> TOML key -> directive.
BY_KEY: Mapping[Context, Mapping[str, Directive]] = _by_key()


def _owned() -> dict[Context, dict[str, tuple[type, str]]]:
    """Context -> the value key (TOML key, else model field) of each setting a
    module keeps itself -> (its settings class, the field)."""
    owned: dict[Context, dict[str, tuple[type, str]]] = {context: {} for context in Context}
    for module in MODULES.values():
        filled: dict[type, set[str]] = {}
        for context, settings in module.settings.items():
            fields = {f.name for f in dataclasses.fields(settings)}
            for row in module.directives:
                if row.model_field in fields and context in row.apache_contexts | row.contexts:
                    owned[context][row.key or row.model_field] = (settings, row.model_field)
                    filled.setdefault(settings, set()).add(row.model_field)
        for settings in set(module.settings.values()):
            unfilled = {f.name for f in dataclasses.fields(settings)} - filled.get(settings, set())
            if unfilled:
                raise TypeError(f"module {module.name}: no directive fills {sorted(unfilled)} "
                                f"of {settings.__name__}")
    return owned


#: Context -> value key -> (settings class, field) for the settings modules keep themselves.
OWNED: Mapping[Context, Mapping[str, tuple[type, str]]] = _owned()


def split_settings(context: Context, values: Mapping[str, Any]) -> tuple[dict[str, Any], ModuleSettings]:
    """``values`` (read settings by key) split into the core model's fields and
    the modules' own settings, built into their classes."""
    owned = OWNED[context]
    core = {key: value for key, value in values.items() if key not in owned}
    by_class: dict[type, dict[str, Any]] = {}
    for key, value in values.items():
        if key in owned:
            settings, name = owned[key]
            by_class.setdefault(settings, {})[name] = value
    return core, ModuleSettings(tuple(settings(**fields) for settings, fields in by_class.items()))


def owned_key(settings: type, name: str) -> str:
    """The key a module's setting is read and written under (``itkgw convert``)."""
    return next(key for by_key in OWNED.values() for key, owner in by_key.items()
                if owner == (settings, name))


def toml_directive(context: Context, key: str) -> Directive | None:
    """The directive a TOML key means in ``context``; None if there is none."""
    return BY_KEY[context].get(key)


def contexts_of_key(key: str) -> list[Context]:
    """The contexts in which a TOML key is allowed, for hints about misplaced keys."""
    return [context for context in Context if key in BY_KEY[context]]


def _other_series(compat: str) -> str:
    return next(series for series in SERIES if series != compat)


def series_error(spelled: str, compat: str, hint: str, where: str) -> ConfigError:
    return ConfigError(where, f"{spelled} is not available with --compat={compat}", hint)


def apache_directive(name: str, compat: str, where: str) -> tuple[Directive, str | None] | None:
    """The directive an Apache name means under ``compat``, and a deprecation
    warning if the name is a deprecated alias.

    None for a name that is not in the table (the Apache reader decides what
    to do with other modules' directives). Raises ConfigError for a name the
    series does not know.
    """
    found = BY_NAME.get(name.lower())
    if found is None:
        return None
    directive, alias = found
    spelled = alias.name if alias else directive.name
    accepted = alias.series if alias else directive.series
    if compat not in accepted:
        if directive.available_in(compat):
            hint = f"mpm-itk {compat} calls it {directive.name_in(compat)}"
        else:
            hint = f"{directive.missing_hint(compat)}; use --compat={_other_series(compat)}"
        raise series_error(spelled, compat, hint, where)
    if alias and compat in alias.deprecated_in:
        return directive, f"{where}: {alias.name} is deprecated, use {directive.name} instead"
    return directive, None


def apache_section(name: str, compat: str, where: str) -> Section | None:
    """The section ``<name>`` means; None if there is none, ConfigError if ``compat`` lacks it."""
    section = SECTION_BY_NAME.get(name.lower())
    if section is not None and compat not in section.series:
        hint = f"{section.instead}; use --compat={_other_series(compat)}"
        raise series_error(f"<{section.name}>", compat, hint, where)
    return section


def model_fields(context: Context) -> set[str]:
    """The field names of the model class ``context`` fills."""
    return {f.name for f in dataclasses.fields(MODELS[context])}
