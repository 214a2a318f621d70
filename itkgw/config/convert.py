"""Model -> TOML text: what ``itkgw convert`` prints.

Any configuration, however it was read, has one native form: top-level
server keys, then a ``[[vhost]]`` table per vhost followed by its sections as
``[[vhost.directory]]``, ``[[vhost.location]]`` or ``[[vhost.files]]``
tables. Only values that differ from the model's defaults are written, plus
the keys every table needs, so the output stays as short as the input;
conf_toml reads it back into an equal model (``where`` and ``source`` aside,
which say where the original was written).

Written by hand rather than with the toml package: that package cannot write
the arrays mixing strings and tables a Require tree needs, and an admin
should be able to read the result as if a person had written it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from itkgw.config.model import (
    Address,
    DirSection,
    HeaderRule,
    Identity,
    PHPSetting,
    Redirect,
    ServerConfig,
    VHost,
)
from itkgw.config.table import owned_key
from itkgw.rules.authz import AccessCompat, LimitedAccess, Require, RequireGroup
from itkgw.rules.rewrite import RewriteCond, RewriteRule

#: The TOML table each DirSection kind is written as.
SECTION_TABLES = {"directory": "vhost.directory", "location": "vhost.location", "files": "vhost.files"}
#: Fields written even when they hold their default (the reader needs them).
_REQUIRED: dict[type, frozenset[str]] = {
    ServerConfig: frozenset({"listen"}),
    VHost: frozenset({"server_name", "document_root", "listen"}),
    DirSection: frozenset({"path"}),
}
#: Fields written otherwise: as tables (vhosts, directories, kind), as two keys
#: (the server's user: user and group), as their own keys (the modules' own
#: settings), or not at all (where, source).
_NOT_KEYS = {"vhosts", "source", "directories", "where", "kind", "user", "modules", "loaded_modules"}
#: (key, value) pair lists written as TOML tables: each key appears once.
_PAIR_TABLES = {"alias", "script_alias", "set_env", "error_documents", "initial_env", "by_type", "stages",
                "alias_match", "script_alias_match"}
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
#: What a TOML literal ('...') string may hold: no ' and no control character but tab.
_LITERAL = re.compile(r"[^'\x00-\x08\x0a-\x1f\x7f]*")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_INDENT = "  "
#: Model objects written as inline tables; a list of them takes a line per item.
_TABLE_ITEMS = (RewriteRule, Redirect, PHPSetting)
#: Model objects _plain turns into strings, lists and tables.
_MODEL_TYPES = (Address, Identity, Require, RequireGroup, AccessCompat, HeaderRule, RewriteRule,
                RewriteCond, Redirect, PHPSetting)


def to_toml(config: ServerConfig) -> str:
    """The TOML form of ``config``."""
    lines: list[str] = []
    if config.source:
        lines.append(f"# itkgw configuration: the TOML form of {config.source}")
    if config.compat != _default(ServerConfig, "compat"):
        lines.append(f"compat = {string(config.compat)}")
    lines.append(f"user = {string(config.user.user)}")
    lines.append(f"group = {string(config.user.group)}")
    lines.extend(_settings(config, skip=frozenset({"compat"})))
    for vhost in config.vhosts:
        lines.extend(["", "[[vhost]]"])
        lines.extend(_settings(vhost))
        for section in vhost.directories:
            if section.kind == "if":
                raise ValueError(f"{section.where}: an <If> section has no TOML form: keep the configuration "
                                 "in Apache syntax")
            lines.extend(["", f"{_INDENT}[[{SECTION_TABLES[section.kind]}]]"])
            lines.extend(_INDENT + line for setting in _settings(section) for line in setting.split("\n"))
    return "\n".join(lines) + "\n"


def _default(model: type, name: str) -> Any:
    return next(f.default for f in dataclasses.fields(model) if f.name == name)


def _settings(model: ServerConfig | VHost | DirSection, skip: frozenset[str] = frozenset()) -> Iterator[str]:
    """``key = value`` settings for the fields of ``model`` that are not at their default;
    a list of tables takes a line per table."""
    required = _REQUIRED[type(model)]
    for field in dataclasses.fields(model):
        if field.name in _NOT_KEYS or field.name in skip:
            continue
        current = getattr(model, field.name)
        if field.name not in required and current == field.default:
            continue
        yield f"{field.name} = {_field_value(field.name, current)}"
    for settings in model.modules.items:
        for field in dataclasses.fields(settings):
            current = getattr(settings, field.name)
            if current != field.default:
                yield f"{owned_key(type(settings), field.name)} = {_field_value(field.name, current)}"


def _field_value(name: str, current: Any) -> str:
    """The TOML text of the model field ``name`` holding ``current``."""
    if name in _PAIR_TABLES:
        return _inline_table({str(key): item for key, item in current})
    if name == "rewrite_maps":
        return _inline_table({rewrite_map.name: rewrite_map.spec for rewrite_map in current})
    if isinstance(current, tuple) and current and isinstance(current[0], _TABLE_ITEMS):
        return "[\n" + "".join(f"{_INDENT}{_value(item)},\n" for item in current) + "]"
    return _value(current)


def _value(current: Any) -> str:
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, int):
        return str(current)
    if isinstance(current, float):
        return repr(current)
    if isinstance(current, str):
        return string(current)
    if isinstance(current, _MODEL_TYPES):
        return _value(_plain(current))
    if hasattr(current, "toml_form"):  # a module's own value type
        return _value(current.toml_form())
    if isinstance(current, (tuple, list)):
        return "[" + ", ".join(_value(item) for item in current) + "]"
    if isinstance(current, dict):
        return _inline_table(current)
    raise TypeError(f"no TOML form for {type(current).__name__} {current!r}")


def _limited_access(limited: LimitedAccess) -> dict[str, Any]:
    table: dict[str, Any] = {"methods": list(limited.methods), "methods_except": limited.methods_except}
    if limited.order is not None:
        table["order"] = limited.order
    return {**table, "allow": list(limited.allow), "deny": list(limited.deny)}


def _plain(current: Any) -> Any:
    """A model object as the strings, lists and dicts its TOML form is made of."""
    if isinstance(current, Address):
        return str(current)
    if isinstance(current, Identity):
        return [current.user, current.group]
    if isinstance(current, Require):
        return _require_line(current)
    if isinstance(current, RequireGroup):
        group: dict[str, Any] = {"mode": current.mode, "items": list(current.items)}
        if current.methods is not None:
            group.update(methods=list(current.methods), methods_except=current.methods_except)
        return group
    if isinstance(current, AccessCompat):
        access: dict[str, Any] = {"order": current.order, "allow": list(current.allow),
                                  "deny": list(current.deny), "satisfy": current.satisfy}
        if current.limited:
            access["limited"] = [_limited_access(limited) for limited in current.limited]
        return access
    if isinstance(current, HeaderRule):
        words = ["always"] if current.always else []
        edit = [current.replacement] if current.action.startswith("edit") else []
        return [*words, current.action, current.name, *([current.value] if current.value else []), *edit,
                *([f"env={current.env}"] if current.env else []),
                *([f"expr={current.expr}"] if current.expr else [])]
    if isinstance(current, RewriteRule):
        rule = {"pattern": current.pattern, "substitution": current.substitution,
                "flags": list(current.flags), "conditions": list(current.conditions)}
        return {name: item for name, item in rule.items() if item != []}
    if isinstance(current, RewriteCond):
        condition = {"test": current.test, "pattern": current.pattern, "flags": list(current.flags)}
        return {name: item for name, item in condition.items() if item != []}
    if isinstance(current, Redirect):
        target = {} if current.target is None else {"target": current.target}
        regex = {"regex": True} if current.regex else {}
        return {"url_path": current.url_path, **target, "status": current.status, **regex}
    if isinstance(current, PHPSetting):
        return {"name": current.name, "value": current.value, "admin": current.admin}
    raise TypeError(f"no TOML form for {type(current).__name__}")


def _require_line(rule: Require) -> str:
    """A Require line as Apache writes it after the word ``Require``."""
    if rule.kind == "expr":
        # mod_authz_core takes the rest of the line, less one pair of quotes.
        expression = rule.args[0] if rule.args else ""
        words = ["expr", expression if '"' in expression else f'"{expression}"']
    else:
        words = [rule.kind, *(_apache_word(arg) for arg in rule.args)]
    return ("not " if rule.negated else "") + " ".join(words)


def _apache_word(arg: str) -> str:
    """One argument of an Apache directive, quoted when it would split, be empty or lose a backslash."""
    if arg and not any(char.isspace() or char in "\"'\\" for char in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _inline_table(items: dict[str, Any]) -> str:
    if not items:
        return "{}"
    return "{ " + ", ".join(f"{_key(name)} = {_value(item)}" for name, item in items.items()) + " }"


def _key(name: str) -> str:
    """A TOML key: bare when it can be, else quoted (``"404"``, ``"/cgi-bin/"``)."""
    return name if _BARE_KEY.fullmatch(name) else string(name)


def string(text: str) -> str:
    """A TOML string; a literal '...' one when that spares backslashes (regexes)."""
    if "\\" in text and _LITERAL.fullmatch(text):
        return f"'{text}'"
    escaped = "".join(_ESCAPES.get(char) or (f"\\u{ord(char):04X}" if ord(char) < 0x20 or char == "\x7f"
                                             else char) for char in text)
    return f'"{escaped}"'
