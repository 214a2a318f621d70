"""Mapping a request onto the filesystem and merging the sections that apply.

None of this touches the filesystem (it also runs before the identity switch);
the sections of .htaccess files come in read already (itkgw.request.access_files):
<Directory> sections match by path prefix, <Files> by the file's base name,
<Location> by URL path. The merge order is Apache's: <Directory> (shortest
path first), <DirectoryMatch>, <Files>, <FilesMatch>, then <Location> and
<LocationMatch> in the order they were written. A later section overrides
single settings and adds to the additive ones (handlers, types, env,
headers, PHP settings, error documents). Access rules follow AuthMerging
Off: the most specific section with Require lines replaces the inherited
ones, and likewise, apart, for Order/Allow/Deny.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from itkgw.config.kinds_structured import CGI_HANDLER, FCGID_HANDLER, PHP_SOURCE_HANDLER, STATUS_HANDLER
from itkgw.config.model import (
    DirSection,
    HeaderRule,
    Identity,
    ModuleSettings,
    PHPSetting,
    Redirect,
    ServerConfig,
    VHost,
)
from itkgw.config.modules.alias import AliasMatchSettings
from itkgw.config.modules.fcgid import FcgidSettings
from itkgw.config.modules.mime import MimeSettings
from itkgw.config.modules.rewrite import DirRewriteSettings
from itkgw.config.overrides import Overrides
from itkgw.request.mime import MimeTypes
from itkgw.rules.authz import AccessCompat, RequireGroup
from itkgw.rules.pcre import cached_regex, fill_groups
from itkgw.rules.rewrite import RewriteRule

T = TypeVar("T")

#: The handler names AddHandler/SetHandler may use, and what runs them.
PHP_HANDLERS = frozenset({"application/x-httpd-php", "php-script", "php5-script", "php7-script",
                          "php-cgi", "x-httpd-php"})
STATIC_HANDLERS = frozenset({"default-handler", "none"})


@dataclass(frozen=True)
class Mapped:
    """Where a URL path leads: the file path and how it got there."""

    fs_path: str
    base_url: str
    base_dir: str
    script_alias: bool = False
    #: CONTEXT_PREFIX and CONTEXT_DOCUMENT_ROOT: an Alias or ScriptAlias as written (mod_alias
    #: sets them for those, not for the Match forms), else none and DocumentRoot.
    context_prefix: str = ""
    context_root: str = ""


@dataclass
class DirRewrite:
    """Per-directory rewriting: the rules of one <Directory> section or .htaccess file, the
    directory whose path their patterns see below, RewriteBase, and RewriteEngine."""

    directory: str
    engine: bool = False
    base: str | None = None
    rules: tuple[RewriteRule, ...] = ()


@dataclass
class DirConfig:
    """The settings that apply to one request's path, after the merge."""

    fs_path: str
    identity: Identity
    nice_value: int | None
    directory_index: tuple[str, ...]
    exec_cgi: bool
    #: Every file below a ScriptAlias directory is a CGI script.
    script_alias: bool
    #: URL prefix and directory the path was mapped through.
    base_url: str
    base_dir: str
    #: What scripts see as CONTEXT_PREFIX and CONTEXT_DOCUMENT_ROOT (see Mapped).
    context_prefix: str = ""
    context_root: str = ""
    user_expr: str | None = None
    group_expr: str | None = None
    options: frozenset[str] = frozenset()
    set_handler: str | None = None
    handlers: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    #: Endings RemoveType took the type of, TypesConfig's too; the charsets AddCharset gives.
    removed_types: set[str] = field(default_factory=set)
    charsets: dict[str, str] = field(default_factory=dict)
    #: AddOutputFilter's filter chains, by file ending.
    output_filters: dict[str, str] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)
    require: RequireGroup | None = None
    access: AccessCompat | None = None
    set_env: dict[str, str] = field(default_factory=dict)
    unset_env: set[str] = field(default_factory=set)
    headers: list[HeaderRule] = field(default_factory=list)
    php: dict[str, PHPSetting] = field(default_factory=dict)
    error_documents: dict[int, str] = field(default_factory=dict)
    limit_request_body: int | None = None
    #: The settings of modules that keep their own: the vhost's, then each section's on top.
    modules: ModuleSettings = ModuleSettings()
    #: mod_rewrite's per-directory rules in effect, those of the deepest directory section.
    rewrite: DirRewrite | None = None
    #: An .htaccess file's <If> section was judged for it: its settings depend on the request.
    conditional: bool = False
    #: The sections' Redirect and RedirectMatch lines, the most specific section's first.
    redirects: tuple[Redirect, ...] = ()
    #: ForceType: the content type of every file here (None: each file's own).
    force_type: str | None = None

    def handler_for(self, filename: str) -> str:
        """``cgi``, ``php``, ``fcgi`` (a FastCGI server), ``fcgid`` (a managed FastCGI
        program) or ``static`` for a file, by SetHandler then its extensions.

        All extensions count, the last known one winning, as mod_mime does.
        """
        if self.script_alias:
            return "cgi"
        handler = self.handler_name(filename)
        if handler == CGI_HANDLER:
            return "cgi"
        if handler in PHP_HANDLERS:
            # php_flag engine off: mod_php declines, and httpd's default handler sends the file.
            return "php" if self.php_engine_on() else "static"
        if handler == FCGID_HANDLER:
            return "fcgid"
        if handler == PHP_SOURCE_HANDLER:
            return "php-source"
        if handler == STATUS_HANDLER:
            return "status"
        if handler is not None and handler.lower().startswith("proxy:"):
            return "fcgi"
        return "static"

    def php_engine_on(self) -> bool:
        """mod_php's ``engine`` here, read as PHP reads a boolean setting ("on", "yes", "true",
        else the number the value starts with)."""
        setting = self.php.get("engine")
        return setting is None or _php_true(setting.value)

    def handler_name(self, filename: str) -> str | None:
        """The handler SetHandler or the file's extensions name, as written."""
        handler = self.set_handler
        if handler is None:
            for extension in _extensions(os.path.basename(filename)):
                handler = self.handlers.get(extension, handler)
        if handler is None and self.force_type is not None and self.force_type.lower() in PHP_HANDLERS:
            handler = self.force_type.lower()  # httpd runs a content type's handler where none is set
        return handler

    def content_type_for(self, filename: str, mime: MimeTypes) -> str:
        """The Content-Type mod_mime gives the file ("" for none): ForceType's, else its
        endings' (AddType's, else TypesConfig's unless RemoveType took it back; the last
        ending with one wins), with the charset AddCharset gives an ending."""
        if self.force_type is not None:
            return self.force_type
        found = charset = None
        for extension in _extensions(os.path.basename(filename)):
            if extension in self.types:
                found = self.types[extension]
            elif extension not in self.removed_types:
                found = mime.types.get(extension[1:], found)
            charset = self.charsets.get(extension, charset)
        found = found or mime.default_type
        if found and charset and "charset=" not in found.lower():
            found = f"{found}; charset={charset}"
        return found or ""

    def filtered_by(self, filename: str, name: str) -> bool:
        """Whether AddOutputFilter puts the output filter ``name`` on the file (any of its
        endings may, as mod_mime adds each one's)."""
        return any(name in self.output_filters.get(extension, "").split(";")
                   for extension in _extensions(os.path.basename(filename)))

    def encoding_for(self, filename: str) -> str | None:
        """The Content-Encoding AddEncoding gives the file's extensions (the last known one)."""
        found = None
        for extension in _extensions(os.path.basename(filename)):
            found = self.encodings.get(extension, found)
        return found

    def languages_for(self, filename: str) -> tuple[str, ...]:
        """The languages AddLanguage gives the file's extensions, each once, in name order
        (``doc.en.html``: en), as mod_mime lists them in Content-Language; DefaultLanguage's
        for a file with none."""
        default = self.modules.get(MimeSettings).default_language
        if not self.languages:
            return (default,) if default else ()
        found = (self.languages.get(extension) for extension in _extensions(os.path.basename(filename)))
        languages = tuple(dict.fromkeys(language for language in found if language is not None))
        return languages or ((default,) if default else ())


def _php_true(value: str) -> bool:
    """A boolean ini value as PHP's zend_ini_parse_bool reads it."""
    value = value.strip().lower()
    if value in ("on", "yes", "true"):
        return True
    digits = re.match(r"[-+]?[0-9]+", value)
    return digits is not None and int(digits.group()) != 0


def _extensions(basename: str) -> list[str]:
    parts = basename.lower().split(".")[1:]
    return ["." + part for part in parts]


def map_path(vhost: VHost, url_path: str) -> Mapped:
    """The filesystem path of a URL path: ScriptAlias, Alias, ScriptAliasMatch, AliasMatch,
    then DocumentRoot."""
    for aliases, is_cgi in ((vhost.script_alias, True), (vhost.alias, False)):
        for prefix, target in aliases:
            stem = prefix.rstrip("/")
            # mod_alias's match: the whole alias, its trailing slash too (Alias /app/ leaves /app
            # below DocumentRoot), then the end of the path or a slash.
            if (url_path == prefix or url_path.startswith(stem + "/")) or (stem == "" and prefix == "/"):
                rest = url_path[len(stem):].lstrip("/")
                return Mapped(os.path.join(target, rest) if rest else target, stem + "/", target, is_cgi,
                              prefix, target)
    matches = vhost.modules.get(AliasMatchSettings)
    for regex_aliases, is_cgi in ((matches.script_alias_match, True), (matches.alias_match, False)):
        for regex, target in regex_aliases or ():
            match = cached_regex(regex).search(url_path)
            if match is not None:
                # httpd replaces the whole URL; the walk stops at the target's fixed part.
                fixed = target.split("$", 1)[0]
                base_dir = fixed.rstrip("/") if "$" in target else target
                return Mapped(fill_groups(target, match), match.group(0), base_dir or "/", is_cgi,
                              "", vhost.document_root.rstrip("/") or "/")
    root = vhost.document_root.rstrip("/")
    return Mapped(root + url_path, "/", root, context_root=root or "/")


#: AllowOverride where no <Directory> sets it: Apache 2.4's None, 2.2's All.
DEFAULT_OVERRIDE: dict[str, tuple[str, ...]] = {"2.2": ("All",), "2.4": ("None",)}


class Memo:
    """Answers that depend on the configuration alone, kept by this process: the next
    request of a connection asks the same questions. Entries hold the configuration
    objects they were computed from, so a freed object's reused id never matches."""

    def __init__(self, limit: int = 2048) -> None:
        self.limit = limit
        self.entries: dict[tuple[object, ...], tuple[tuple[object, ...], Any]] = {}

    def get(self, owners: tuple[object, ...], key: tuple[object, ...], compute: Callable[[], T]) -> T:
        full = (*map(id, owners), *key)
        hit = self.entries.get(full)
        if hit is not None:
            for kept, owner in zip(hit[0], owners, strict=True):
                if kept is not owner:
                    break
            else:
                return hit[1]
        value = compute()
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[full] = (owners, value)
        return value


_merged = Memo()
_overrides = Memo()


def overrides_at(config: ServerConfig, vhost: VHost, directory: str) -> Overrides:
    """What AllowOverride and AllowOverrideList grant ``directory``: each the deepest plain
    <Directory> section above it that sets one (regex sections cannot, as in Apache)."""
    return _overrides.get((config, vhost), (directory,), lambda: _overrides_at(config, vhost, directory))


def _overrides_at(config: ServerConfig, vhost: VHost, directory: str) -> Overrides:
    words = DEFAULT_OVERRIDE[config.compat]
    listed: tuple[str, ...] = ()
    for section in _directory_sections(vhost, directory):
        if not section.regex:
            words = section.allow_override if section.allow_override is not None else words
            listed = section.allow_override_list if section.allow_override_list is not None else listed
    return Overrides.of(words, listed)


_access_dirs = Memo()


#: (directory, what its .htaccess may hold) pairs.
AccessDirs = tuple[tuple[str, Overrides], ...]


def access_file_dirs(config: ServerConfig, vhost: VHost, directory: str) -> AccessDirs:
    """The directories from / down to ``directory`` whose access files Apache would read,
    each with its AllowOverride: the directory walk's order."""

    def walk() -> AccessDirs:
        parts = [part for part in directory.split("/") if part]
        found = []
        for depth in range(len(parts) + 1):
            current = "/" + "/".join(parts[:depth])
            overrides = overrides_at(config, vhost, current)
            if overrides.reads_files:
                found.append((current, overrides))
        return tuple(found)

    return _access_dirs.get((config, vhost), (directory,), walk)


def options_at(vhost: VHost, directory: str, access: tuple[DirSection, ...] = ()) -> frozenset[str]:
    """The Options in effect for ``directory`` as the directory walk reaches it: the
    vhost's, then its <Directory> sections' and the .htaccess files' from ``access`` that
    cover it, in the walk's order, then its <DirectoryMatch> sections'."""
    options = apply_options(frozenset(), vhost.options)
    own = tuple(s for s in access if s.kind == "directory" and _below(directory, s.path))
    for section in _in_walk_order(_directory_sections(vhost, directory), own):
        if section.options is not None:
            options = apply_options(options, section.options)
    return options


_FOLLOW = frozenset({"FollowSymLinks"})
_follows_any = Memo()


def follows_any_link(vhost: VHost) -> bool:
    """Whether every directory of the vhost lets any symbolic link through: its Options
    follow links, and no <Directory> or <DirectoryMatch> section turns that off or asks
    for SymLinksIfOwnerMatch. Then the walk needs no look at each component."""

    def keeps(words: tuple[str, ...], inherited: frozenset[str] = _FOLLOW) -> bool:
        options = apply_options(inherited, words)
        return "FollowSymLinks" in options and "SymLinksIfOwnerMatch" not in options

    return _follows_any.get((vhost,), (), lambda: keeps(vhost.options, frozenset()) and all(
        keeps(section.options) for section in vhost.directories
        if section.kind == "directory" and section.options is not None))


_SLASHES = re.compile("/{2,}")


def _covers(directory: str, regex: bool, fs_path: str) -> bool:
    """Whether a <Directory> (``regex``: <DirectoryMatch>) section covers ``fs_path``."""
    return _regex(directory).search(fs_path) is not None if regex else _below(fs_path, directory)


def _directory_sections(vhost: VHost, fs_path: str) -> list[DirSection]:
    """<Directory> sections (shortest path first), then <DirectoryMatch> ones, that cover ``fs_path``."""
    directories = sorted((s for s in vhost.directories if s.kind == "directory" and not s.regex
                          and _below(fs_path, s.path)), key=lambda s: len(s.path.rstrip("/")))
    directory_matches = [s for s in vhost.directories if s.kind == "directory" and s.regex
                         and _regex(s.path).search(fs_path)]
    return directories + directory_matches


def _in_walk_order(directories: list[DirSection], own: tuple[DirSection, ...]) -> list[DirSection]:
    """``directories`` (see _directory_sections) with the .htaccess files' own sections
    ``own``, each right after the <Directory> sections of its directory."""
    if not own:
        return directories
    plain = sorted([*(s for s in directories if not s.regex), *own],
                   key=lambda s: (len(s.path.rstrip("/")), s in own))
    return plain + [s for s in directories if s.regex]


def _files_sections(sections: Sequence[DirSection], fs_path: str,
                    directories: list[DirSection]) -> list[DirSection]:
    """<Files> and <FilesMatch> sections that match the file's name, in the order httpd's file
    walk takes them: those of the server and vhost as written, then those written inside a
    <Directory> that covers the file, in the order the directory walk took their directories."""
    basename = os.path.basename(fs_path.rstrip("/"))
    matching = [s for s in sections if s.kind == "files" and _name_matches(s.path, s.regex, basename)]
    outer = [s for s in matching if s.in_directory is None]
    order: dict[tuple[str | None, bool], int] = {(d.path, d.regex): n for n, d in enumerate(directories)}
    inner = [s for s in matching if s.in_directory is not None
             and _covers(s.in_directory, s.in_directory_regex, fs_path)]
    inner.sort(key=lambda s: order.get((s.in_directory, s.in_directory_regex), len(order)))
    return outer + inner


def _name_matches(pattern: str, regex: bool, name: str) -> bool:
    """Whether a <Files> (``regex``: <FilesMatch>) section's pattern matches a file's base name."""
    return _regex(pattern).search(name) is not None if regex else _glob(pattern).fullmatch(name) is not None


def sections_for(vhost: VHost, url_path: str, fs_path: str,
                 access: tuple[DirSection, ...] = ()) -> list[DirSection]:
    """The sections that apply to a request, in Apache's merge order. ``access``: the
    sections of the .htaccess files on the way (each file's own <Directory> section, then
    the <Files> in it), each taken right after the <Directory> sections of its directory."""
    # <Location> compares the path with runs of slashes merged, whatever MergeSlashes says;
    # <LocationMatch> sees it as it is (httpd's location walk).
    merged = _SLASHES.sub("/", url_path) if "//" in url_path else url_path
    locations = [s for s in vhost.directories if s.kind == "location"
                 and (_regex(s.path).search(url_path) if s.regex else _url_below(merged, s.path))]
    directories = _in_walk_order(_directory_sections(vhost, fs_path),
                                 tuple(s for s in access if s.kind == "directory"))
    files = _files_sections((*vhost.directories, *access), fs_path, directories)
    return directories + files + locations


def merge(config: ServerConfig, vhost: VHost, url_path: str, fs_path: str | None = None,
          access: tuple[DirSection, ...] = (), holds: Callable[[str], bool] | None = None) -> DirConfig:
    """Apply the vhost's settings, then each section that matches, in order (with the
    sections of the .htaccess files on the way, read by the caller as the request's
    identity, their <If> sections last as ``holds`` judges their conditions: without it,
    none applies). The result is shared by the requests that ask the same: callers read
    it, never change it."""
    chosen: tuple[int, ...] = ()
    sections = _if_sections(vhost, access)
    if sections:
        path = fs_path if fs_path is not None else map_path(vhost, url_path).fs_path
        chosen = tuple(index for index, section in enumerate(sections) if _if_applies(section, path, holds))
    return _merged.get((config, vhost), (url_path, fs_path, access, chosen),
                       lambda: _merge(config, vhost, url_path, fs_path, access,
                                      tuple(sections[index] for index in chosen), bool(sections)))


def _if_sections(vhost: VHost, access: tuple[DirSection, ...]) -> tuple[DirSection, ...]:
    """The <If> sections of the configuration, then those of the .htaccess files, in order."""
    return tuple(section for section in (*vhost.directories, *access) if section.kind == "if")


def _if_applies(section: DirSection, fs_path: str, holds: Callable[[str], bool] | None) -> bool:
    """Whether an <If>, <ElseIf> or <Else> applies: below its directory (if it is in one), to
    a file of its <Files> (if it is in one), its condition holding and those before it not."""
    if section.in_directory is not None and not _below(fs_path, section.in_directory):
        return False
    if section.in_files is not None and not _name_matches(section.in_files, section.in_files_regex,
                                                          os.path.basename(fs_path.rstrip("/"))):
        return False
    if holds is None:
        return False
    return not any(holds(condition) for condition in section.unless) and (
        section.condition is None or holds(section.condition))


def vhost_level(config: ServerConfig, vhost: VHost, url_path: str) -> DirConfig:
    """The vhost's own settings, no section's: httpd's for the answer to a request whose walk
    failed (a broken .htaccess file), as it resets the request's settings before walking."""
    return _merge(config, vhost, url_path, None, (), with_sections=False)


def _merge(config: ServerConfig, vhost: VHost, url_path: str, fs_path: str | None,
           access: tuple[DirSection, ...], chosen: tuple[DirSection, ...] = (),
           conditional: bool = False, with_sections: bool = True) -> DirConfig:
    mapped = map_path(vhost, url_path)
    path = fs_path if fs_path is not None else mapped.fs_path
    merged = DirConfig(
        fs_path=path,
        identity=vhost.assign_user_id or config.default_identity,
        nice_value=vhost.nice_value,
        directory_index=vhost.directory_index,
        exec_cgi=vhost.exec_cgi,
        script_alias=mapped.script_alias,
        base_url=mapped.base_url,
        base_dir=mapped.base_dir,
        context_prefix=mapped.context_prefix,
        context_root=mapped.context_root,
        user_expr=vhost.assign_user_id_expr,
        group_expr=vhost.assign_group_id_expr,
        options=apply_options(frozenset(), vhost.options),
        require=vhost.require,
        access=vhost.access,
        modules=vhost.modules,
    )
    for extension in vhost.cgi_extensions:
        merged.handlers[extension.lower()] = CGI_HANDLER
    for extension in vhost.php_extensions:
        merged.handlers[extension.lower()] = "application/x-httpd-php"
    for extension in vhost.modules.get(FcgidSettings).extensions or ():
        merged.handlers[extension.lower()] = FCGID_HANDLER
    _apply_mime(merged, vhost.modules.get(MimeSettings))
    _add_common(merged, vhost.add_type, vhost.set_env, vhost.unset_env, vhost.headers,
                vhost.php_settings, vhost.error_documents)
    merged.encodings.update({_dotted(extension): encoding for encoding, extension in vhost.add_encoding})
    merged.languages.update({_dotted(extension): language for language, extension in vhost.add_language})
    for section in sections_for(vhost, url_path, path, access) if with_sections else ():
        _apply_section(merged, section)
    for section in chosen:  # httpd merges <If> sections after every other
        _apply_section(merged, section)
    merged.conditional = conditional
    merged.force_type = merged.modules.get(MimeSettings).forced
    return merged


def _apply_section(merged: DirConfig, section: DirSection) -> None:
    if section.assign_user_id is not None:
        merged.identity = section.assign_user_id
    if section.assign_user_id_expr is not None:
        merged.user_expr = section.assign_user_id_expr
    if section.assign_group_id_expr is not None:
        merged.group_expr = section.assign_group_id_expr
    if section.nice_value is not None:
        merged.nice_value = section.nice_value
    if section.directory_index is not None:
        merged.directory_index = section.directory_index
    if section.options is not None:
        merged.options = apply_options(merged.options, section.options)
        merged.exec_cgi = "ExecCGI" in merged.options
    if section.exec_cgi is not None:
        merged.exec_cgi = section.exec_cgi
    if section.set_handler is not None:
        merged.set_handler = None if section.set_handler.lower() == "none" else section.set_handler
    for extension in section.modules.get(MimeSettings).remove_handler or ():
        merged.handlers.pop(_dotted(extension), None)  # the enclosing sections' and the vhost's
    _apply_mime(merged, section.modules.get(MimeSettings))
    for handler, extension in section.add_handler:
        merged.handlers[_dotted(extension)] = handler
    for encoding, extension in section.add_encoding:
        merged.encodings[_dotted(extension)] = encoding
    for language, extension in section.add_language:
        merged.languages[_dotted(extension)] = language
    # Require and Order/Allow/Deny merge apart, each replaced by the most
    # specific section that has any (AuthMerging Off; mod_access_compat).
    if section.require is not None:
        merged.require = section.require
    if section.access is not None:
        merged.access = section.access
    if section.limit_request_body is not None:
        merged.limit_request_body = section.limit_request_body
    if section.kind == "directory" and not section.regex:
        merged.rewrite = _rewrite_of(section, merged.rewrite)
    if section.redirects:
        merged.redirects = (*section.redirects, *merged.redirects)
    merged.modules = merged.modules.overlay(section.modules)
    _add_common(merged, section.add_type, section.set_env, section.unset_env, _late(section.headers),
                section.php_settings, section.error_documents)


def _apply_mime(merged: DirConfig, mime: MimeSettings) -> None:
    """A level's RemoveType, RemoveCharset and AddCharset (its AddType comes after, so one
    given there holds)."""
    for extension in mime.remove_type or ():
        merged.types.pop(_dotted(extension), None)
        merged.removed_types.add(_dotted(extension))
    for extension in mime.remove_charset or ():
        merged.charsets.pop(_dotted(extension), None)
    merged.charsets.update({_dotted(extension): charset for charset, extension in mime.add_charset or ()})
    for extension in mime.remove_output_filter or ():
        merged.output_filters.pop(_dotted(extension), None)
    merged.output_filters.update({_dotted(extension): chain
                                  for chain, extension in mime.add_output_filter or ()})


def _rewrite_of(section: DirSection, inherited: DirRewrite | None) -> DirRewrite:
    """mod_rewrite's per-directory merge: every directory section (and .htaccess file) has
    its own rules, and those around only with RewriteOptions Inherit (after its own) or
    InheritBefore, run in its place; RewriteEngine is inherited, RewriteBase only with
    MergeBase."""
    own = section.modules.get(DirRewriteSettings)
    engine = own.rewrite_engine if own.rewrite_engine is not None else bool(inherited and inherited.engine)
    options = {option.lower() for option in own.rewrite_options or ()}
    rules, base = own.rewrite_rules or (), own.rewrite_base
    if inherited is not None:
        if "inheritbefore" in options:
            rules = (*inherited.rules, *rules)
        elif "inherit" in options:
            rules = (*rules, *inherited.rules)
        if base is None and "mergebase" in options:
            base = inherited.base
    return DirRewrite(section.path.rstrip("/") or "/", engine, base, rules)


def _late(rules: tuple[HeaderRule, ...]) -> tuple[HeaderRule, ...]:
    """A section's header rules less its ``early`` ones, which httpd never runs in a directory."""
    return rules if not any(rule.early for rule in rules) else tuple(rule for rule in rules if not rule.early)


def _add_common(merged: DirConfig, add_type: tuple[tuple[str, str], ...],
                set_env: tuple[tuple[str, str], ...], unset_env: tuple[str, ...],
                headers: tuple[HeaderRule, ...], php: tuple[PHPSetting, ...],
                error_documents: tuple[tuple[int, str], ...]) -> None:
    for content_type, extension in add_type:
        if content_type.lower() in PHP_HANDLERS or content_type.lower() == PHP_SOURCE_HANDLER:
            # mod_php's AddType habit: httpd runs the type's handler where no handler is set
            merged.handlers[_dotted(extension)] = content_type.lower()
        else:
            merged.types[_dotted(extension)] = content_type
    for name, value in set_env:
        merged.set_env[name] = value
        merged.unset_env.discard(name)
    for name in unset_env:
        merged.set_env.pop(name, None)
        merged.unset_env.add(name)
    merged.headers.extend(headers)
    for setting in php:
        current = merged.php.get(setting.name)
        if current is not None and current.admin and not setting.admin:
            continue  # php_admin_value cannot be overridden by php_value
        merged.php[setting.name] = setting
    for status, document in error_documents:
        if document.lower() == "default":  # httpd's own page again, whatever the levels around said
            merged.error_documents.pop(status, None)
        else:
            merged.error_documents[status] = document


def apply_options(inherited: frozenset[str], words: tuple[str, ...]) -> frozenset[str]:
    """Apache's Options merge: only +/- words modify, any plain word replaces. All is every
    option but MultiViews, in both series."""
    if not words:
        return inherited
    expand = {"all": {"Indexes", "Includes", "FollowSymLinks", "ExecCGI"}, "none": set()}
    if all(word[:1] in "+-" for word in words):
        result = set(inherited)
    else:
        result = set()
    for word in words:
        sign = word[:1] if word[:1] in "+-" else "+"
        name = word.lstrip("+-")
        names = expand.get(name.lower(), {name})
        if sign == "+":
            result |= names
        else:
            result -= names
    return frozenset(result)


def _dotted(extension: str) -> str:
    extension = extension.lower()
    return extension if extension.startswith(".") else "." + extension


def _below(path: str, section: str) -> bool:
    if any(c in section for c in "*?["):
        return _glob_prefix(section).match(path) is not None
    section = section.rstrip("/")
    return path == section or path.startswith(section + "/") or section == ""


def _url_below(url_path: str, prefix: str) -> bool:
    """<Location>: a plain prefix on segment boundaries, as Apache matches it."""
    stem = prefix.rstrip("/")
    return stem == "" or url_path == stem or url_path.startswith(stem + "/")


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """A shell wildcard (<Files>, <Directory /srv/*/htdocs>) as a regex; * stops at /."""
    out = []
    for char in pattern:
        out.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
    return re.compile("".join(out))


@lru_cache(maxsize=256)
def _glob_prefix(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob(pattern.rstrip("/")).pattern + r"(?:/|$)")
