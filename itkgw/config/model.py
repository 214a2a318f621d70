"""The configuration model both readers (TOML, Apache syntax) fill.

Frozen dataclasses, built once in the master before any fork; workers and
connection children only read them. Field metadata ``doc`` is the text
``itkgw convert`` and the directive table show.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from itkgw.rules.authz import AccessCompat, RequireGroup
from itkgw.rules.pcre import cached_regex
from itkgw.rules.rewrite import RewriteRule
from itkgw.rules.rewrite_map import RewriteMap

#: Apache's default LimitUIDRange/LimitGIDRange: everything but root.
DEFAULT_ID_RANGE = (1, 2**32 - 2)
ANY_HOST = "*"


def doc(text: str, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field whose metadata documents it."""
    if default is dataclasses.MISSING:
        return field(metadata={"doc": text})
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not allowed in the config model")
    return field(default=default, metadata={"doc": text})


#: A module's own settings class (see ModuleSettings).
Settings = TypeVar("Settings")
#: Each settings class's defaults, made once.
_DEFAULT_SETTINGS: dict[type, Any] = {}


@dataclass(frozen=True)
class ModuleSettings:
    """The settings of modules that keep their own, as httpd's modules keep
    their config structs: one frozen dataclass instance per module that has
    settings here, each declared in that module's file (itkgw.config.modules).

    A field that is None in a per-directory instance leaves the value to the
    sections around it, as Apache's ``add->x ? add->x : base->x`` merges do; a
    settings class with an ``over(earlier)`` method merges itself.
    """

    items: tuple[Any, ...] = ()

    @functools.cached_property
    def _by_kind(self) -> dict[type, Any]:
        """The items by their class, and the defaults asked for: a request asks a dozen times."""
        return {type(item): item for item in self.items}

    def get(self, kind: type[Settings]) -> Settings:
        """The settings of the module whose class is ``kind``, or its defaults when none are set."""
        found = self._by_kind
        item = found.get(kind)
        if item is None:
            item = found[kind] = _defaults(kind)
        return item

    def overlay(self, later: ModuleSettings) -> ModuleSettings:
        """These settings with ``later``'s on top: a later field that is not None wins."""
        merged = {type(item): item for item in self.items}
        for item in later.items:
            earlier = merged.get(type(item))
            if hasattr(item, "over"):  # a module that merges some field its own way
                merged[type(item)] = item.over(earlier if earlier is not None else _defaults(type(item)))
            elif earlier is None:
                merged[type(item)] = item
            else:
                merged[type(item)] = overlay_fields(earlier, item)
        return ModuleSettings(tuple(merged.values()))


def _defaults(kind: type[Settings]) -> Settings:
    """A module's default settings: frozen, so one instance serves every asker."""
    item = _DEFAULT_SETTINGS.get(kind)
    if item is None:
        item = _DEFAULT_SETTINGS[kind] = kind()
    return item


def make_defaults(kinds: Iterable[type[Settings]]) -> None:
    """Make the default settings of ``kinds`` now: processes forked after share them, where
    each would make its own on its first request (and copy the pages it writes them into)."""
    for kind in kinds:
        _defaults(kind)


def overlay_fields(earlier: Settings, later: Settings) -> Settings:
    """``earlier`` with each field ``later`` sets (not None) replaced: Apache's merge."""
    changes = {f.name: getattr(later, f.name) for f in dataclasses.fields(later)  # type: ignore[arg-type]
               if getattr(later, f.name) is not None}
    return dataclasses.replace(earlier, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class Address:
    """A listen or VirtualHost address: ``host`` is an IP literal or ``*``."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def matches(self, local_ip: str, local_port: int) -> bool:
        return self.port == local_port and self.host in (ANY_HOST, local_ip)


@dataclass(frozen=True)
class Identity:
    """A Unix user and group, resolved when the config is read."""

    user: str
    group: str
    uid: int
    gid: int

    def __str__(self) -> str:
        return f"{self.user}({self.uid}):{self.group}({self.gid})"

    # Written out, not made by @dataclass (whose methods run as Python in the compiled build):
    # a request's identity is compared with the process's, and looked up, on every request.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Identity):
            return NotImplemented
        return (self.uid == other.uid and self.gid == other.gid and self.user == other.user
                and self.group == other.group)

    def __hash__(self) -> int:
        return hash((self.user, self.group, self.uid, self.gid))


#: Who requests run as where no AssignUserID says: Debian's nobody and nogroup,
#: never the workers' own user (whose scripts could stop or trace every worker).
NOBODY = Identity("nobody", "nogroup", 65534, 65534)


@dataclass(frozen=True)
class HeaderRule:
    """A ``Header [always] set|append|add|unset NAME [VALUE] [env=[!]VAR]`` line of mod_headers;
    ``always`` rules apply to error responses too (httpd's err_headers_out). For ``edit`` and
    ``edit*``, ``value`` is the regex and ``replacement`` what replaces its first (every) match."""

    action: str
    name: str
    value: str = ""
    always: bool = False
    #: ``env=VAR`` (``!VAR``: when it is not set): the rule applies only when the request's
    #: variables have VAR.
    env: str = ""
    replacement: str = ""
    #: ``expr=EXPRESSION``: the rule applies only when the ap_expr condition holds.
    expr: str = ""
    #: ``early``: httpd runs it as the request is read, for the server and its vhosts only;
    #: in a directory it never runs. itkgw runs a vhost's with the others. (``Header note``,
    #: which changes nothing an answer shows, is kept as one that never runs.)
    early: bool = False

    def echoes(self, header: str) -> bool:
        """Whether an ``echo`` rule's regex (its name) matches a request header's name."""
        return cached_regex(self.name).search(header) is not None

    def edited(self, value: str, count: int) -> str:
        """``value`` with the first match (``count`` 1) or every one (0) of an edit rule's regex
        replaced, as httpd's ap_pregsub fills a replacement: $0..$9 the match's groups, a
        backslash escaping the next character."""
        def fill(match: re.Match[str]) -> str:
            out, text, index = [], self.replacement, 0
            while index < len(text):
                char = text[index]
                index += 1
                if char == "$" and index < len(text) and text[index].isdigit():
                    number = int(text[index])
                    index += 1
                    out.append((match.group(number) or "") if number <= match.re.groups else "")
                elif char == "\\" and index < len(text):
                    out.append(text[index])
                    index += 1
                else:
                    out.append(char)
            return "".join(out)

        return cached_regex(self.value).sub(fill, value, count=count)

    @property
    def value_expression(self) -> str | None:
        """An ``expr=`` value's ap_expr string expression, evaluated per request instead of
        format specifiers (mod_headers since httpd 2.4.10)."""
        if self.value.startswith("expr=") and not self.action.lower().startswith("edit"):
            return self.value[5:]
        return None

    @property
    def formatted(self) -> bool:
        """Whether the value is filled in per request: an ``expr=`` value, or one with
        mod_headers' format specifiers (%{NAME}e, %t, %D...)."""
        return ("%" in self.value and not self.action.lower().startswith("edit")) or \
            self.value_expression is not None

    def filled(self, variables: dict[str, str], started: float, now: float,
               workers: Callable[[], tuple[int, int]]) -> HeaderRule:
        """The rule with its value's specifiers filled in as mod_headers fills them: %{NAME}e
        the request's variable (``(null)`` when unset), %{NAME}s an SSL variable (none here),
        %t the time now and %D the time since the request began (t= and D= in microseconds),
        %l the load average, %i and %b the share of the server's workers idle and busy
        (``workers`` says it, in percent), %% a percent sign (HEADER_FORMATS are all)."""
        def fill(match: re.Match[str]) -> str:
            name, kind = match.group(1), match.group(2)
            if kind == "e":
                return variables.get(name or "", "(null)")
            if kind == "s":
                return "(null)"
            if kind == "t":
                return "t=%d" % (now * 1_000_000)
            if kind == "D":
                return "D=%d" % max(0, (now - started) * 1_000_000)
            if kind == "l":
                return "l=%.2f/%.2f/%.2f" % os.getloadavg()
            if kind in "ib":
                idle, busy = workers()
                return f"{kind}={idle if kind == 'i' else busy}"
            return "%" if kind == "%" else match.group(0)

        return dataclasses.replace(self, value=_HEADER_FORMAT.sub(fill, self.value))


#: mod_headers' format specifiers; any other letter after % is an error in its value.
HEADER_FORMATS = "Dteslib"
_HEADER_FORMAT = re.compile(r"%(?:\{([^}]*)\})?([a-zA-Z%])")
#: Any specifier as mod_headers reads a value: %, an optional {argument}, one character.
_ANY_SPECIFIER = re.compile(r"%(\{[^}]*\}?)?(.?)", re.DOTALL)


def unknown_header_format(value: str) -> str | None:
    """The first specifier letter of a Header value that mod_headers does not know ("" for
    an argument with none after it), or None; %% and a lone % at the end are a percent sign."""
    for match in _ANY_SPECIFIER.finditer(value):
        argument, letter = match.groups()
        if argument is None and letter in ("%", ""):
            continue
        if not letter or letter not in HEADER_FORMATS:
            return letter
    return None


@dataclass(frozen=True)
class Redirect:
    """``Redirect [status] URL-path URL``: a prefix redirect of mod_alias; with ``regex``,
    ``RedirectMatch [status] regex URL``, whose URL may hold the match's $N."""

    url_path: str
    target: str | None  # None for 410 Gone and other error statuses
    status: int = 302
    regex: bool = False


@dataclass(frozen=True)
class PHPSetting:
    """``php_value``/``php_flag``/``php_admin_value``/``php_admin_flag``."""

    name: str
    value: str
    admin: bool = False


@dataclass(frozen=True)
class DirSection:
    """Settings for part of the URL or file space.

    ``kind`` is ``directory`` (<Directory>/<DirectoryMatch>: filesystem path),
    ``location`` (<Location>/<LocationMatch>: URL path) or ``files``
    (<Files>/<FilesMatch>: the file's base name); ``regex`` marks the Match
    forms. An .htaccess file's <If>, <ElseIf> and <Else> sections are of kind
    ``if``, applied per request as their conditions say. Every setting is
    None (or empty) when the section leaves it to the sections around it;
    additive settings (handlers, env, headers, php) add to what is
    inherited, in Apache's merge order.
    """

    path: str = doc("filesystem path, URL path or file name (a regex with regex = true)")
    kind: str = doc("directory, location or files", "directory")
    regex: bool = doc("whether path is a regular expression (the *Match sections)", False)
    in_directory: str | None = doc("the <Directory> a <Files> section is written in: it applies below "
                                   "that directory only", None)
    in_directory_regex: bool = doc("whether in_directory is a regular expression (<DirectoryMatch>)", False)
    in_files: str | None = doc("the <Files> an .htaccess file's <If> section is written in", None)
    in_files_regex: bool = doc("whether in_files is a regular expression (<FilesMatch>)", False)
    condition: str | None = doc("an .htaccess file's <If> or <ElseIf> section's ap_expr (kind if; "
                                "None: <Else>)", None)
    unless: tuple[str, ...] = doc("the conditions of the <If> and <ElseIf> sections before an <ElseIf> or "
                                  "<Else>, none of which may hold", ())
    assign_user_id: Identity | None = doc("identity for requests below path", None)
    assign_user_id_expr: str | None = doc("ap_expr giving the user name (AssignUserIDExpr)", None)
    assign_group_id_expr: str | None = doc("ap_expr giving the group name (AssignGroupIDExpr)", None)
    nice_value: int | None = doc("nice value for requests below path", None)
    directory_index: tuple[str, ...] | None = doc("index files, in order", None)
    exec_cgi: bool | None = doc("whether CGI scripts may run here (Options ExecCGI)", None)
    options: tuple[str, ...] | None = doc("Options words, with + and - as Apache merges them", None)
    set_handler: str | None = doc("handler for every file here (SetHandler)", None)
    add_handler: tuple[tuple[str, str], ...] = doc("(handler, extension) pairs (AddHandler)", ())
    add_type: tuple[tuple[str, str], ...] = doc("(content type, extension) pairs (AddType)", ())
    add_encoding: tuple[tuple[str, str], ...] = doc("(content encoding, extension) pairs (AddEncoding)", ())
    add_language: tuple[tuple[str, str], ...] = doc("(language, extension) pairs (AddLanguage)", ())
    require: RequireGroup | None = doc("Apache 2.4 access rules (Require, <RequireAll>...)", None)
    access: AccessCompat | None = doc("Apache 2.2 access rules (Order, Allow, Deny, Satisfy)", None)
    set_env: tuple[tuple[str, str], ...] = doc("variables for scripts (SetEnv)", ())
    unset_env: tuple[str, ...] = doc("variables removed for scripts (UnsetEnv)", ())
    headers: tuple[HeaderRule, ...] = doc("response header rules (Header)", ())
    php_settings: tuple[PHPSetting, ...] = doc("PHP ini settings (php_value, php_admin_value...)", ())
    error_documents: tuple[tuple[int, str], ...] = doc("(status, URL path, URL or text) (ErrorDocument)", ())
    redirects: tuple[Redirect, ...] = doc("redirects of requests here (Redirect, RedirectMatch)", ())
    limit_request_body: int | None = doc("request body bytes at most here (LimitRequestBody)", None)
    allow_override: tuple[str, ...] | None = doc(
        "what .htaccess files below a <Directory> may hold (AllowOverride)", None)
    allow_override_list: tuple[str, ...] | None = doc(
        "directives .htaccess files below a <Directory> may hold by name (AllowOverrideList)", None)
    modules: ModuleSettings = doc("settings of modules that keep their own", ModuleSettings())
    where: str = doc("where the section was defined, for messages", "")


@dataclass(frozen=True)
class VHost:
    """One virtual host."""

    server_name: str = doc("the vhost's canonical name (ServerName)")
    document_root: str = doc("directory the URL space maps onto (DocumentRoot)")
    listen: tuple[Address, ...] = doc("addresses the vhost answers on (<VirtualHost addr:port>)")
    server_alias: tuple[str, ...] = doc("other names, with * and ? wildcards (ServerAlias)", ())
    server_admin: str = doc("contact address shown on error pages (ServerAdmin)", "")
    assign_user_id: Identity | None = doc("user and group requests run as (AssignUserID)", None)
    max_clients_vhost: int = doc("busy connections allowed at once, 0 = no limit", 0)
    nice_value: int | None = doc("nice value of request processes (NiceValue)", None)
    directory_index: tuple[str, ...] = doc(
        "index files, in order (DirectoryIndex)", ("index.html", "index.php")
    )
    exec_cgi: bool = doc("whether CGI scripts may run (Options ExecCGI)", True)
    cgi_extensions: tuple[str, ...] = doc("file endings run as CGI scripts", (".cgi",))
    php_extensions: tuple[str, ...] = doc("file endings run through php-cgi", (".php",))
    script_alias: tuple[tuple[str, str], ...] = doc(
        "(URL prefix, directory) pairs whose files all run as CGI (ScriptAlias)", ()
    )
    access_log: str | None = doc("access log file of this vhost (CustomLog)", None)
    access_log_format: str = doc("common, combined, or an Apache LogFormat string", "combined")
    access_log_condition: str | None = doc(
        "log only requests with this variable set (NAME) or not set (!NAME) (CustomLog's env=)", None)
    error_log: str | None = doc("error log file of this vhost (ErrorLog)", None)
    alias: tuple[tuple[str, str], ...] = doc("(URL prefix, directory or file) pairs (Alias)", ())
    redirects: tuple[Redirect, ...] = doc("prefix redirects (Redirect)", ())
    user_dir: str | None = doc("directory below a user's home served as /~user/ (UserDir)", None)
    user_dir_disabled: tuple[str, ...] = doc(
        "users whose /~user/ is not served (UserDir disabled NAME...); \"*\" for every user not in "
        "user_dir_enabled (UserDir disabled)", ())
    user_dir_enabled: tuple[str, ...] = doc(
        "users whose /~user/ is served when user_dir_disabled has \"*\" (UserDir enabled NAME...)", ())
    assign_user_id_expr: str | None = doc("ap_expr giving the user name (AssignUserIDExpr)", None)
    assign_group_id_expr: str | None = doc("ap_expr giving the group name (AssignGroupIDExpr)", None)
    options: tuple[str, ...] = doc("Options words (FollowSymLinks, ExecCGI, Indexes...)", ("FollowSymLinks",))
    add_type: tuple[tuple[str, str], ...] = doc("(content type, extension) pairs (AddType)", ())
    add_encoding: tuple[tuple[str, str], ...] = doc("(content encoding, extension) pairs (AddEncoding)", ())
    add_language: tuple[tuple[str, str], ...] = doc("(language, extension) pairs (AddLanguage)", ())
    set_env: tuple[tuple[str, str], ...] = doc("variables for scripts (SetEnv)", ())
    unset_env: tuple[str, ...] = doc("variables removed for scripts (UnsetEnv)", ())
    headers: tuple[HeaderRule, ...] = doc("response header rules (Header)", ())
    php_settings: tuple[PHPSetting, ...] = doc("PHP ini settings (php_value, php_admin_value...)", ())
    error_documents: tuple[tuple[int, str], ...] = doc("(status, URL path, URL or text) (ErrorDocument)", ())
    access_file_name: tuple[str, ...] = doc("per-directory config file names (AccessFileName)",
                                            (".htaccess",))
    rewrite_engine: bool = doc("whether RewriteRule lines apply (RewriteEngine)", False)
    rewrite_rules: tuple[RewriteRule, ...] = doc("mod_rewrite rules, in order (RewriteRule)", ())
    rewrite_maps: tuple[RewriteMap, ...] = doc("the maps rewrite rules look up as ${name:key} "
                                               "(RewriteMap; the last of a name counts)", ())
    require: RequireGroup | None = doc("Apache 2.4 access rules for the whole vhost", None)
    access: AccessCompat | None = doc("Apache 2.2 access rules for the whole vhost", None)
    directories: tuple[DirSection, ...] = doc(
        "<Directory>, <Location> and <Files> sections, server-level ones first", ())
    modules: ModuleSettings = doc("settings of modules that keep their own", ModuleSettings())
    where: str = doc("where the vhost was defined, for messages", "")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.server_name, *self.server_alias)


@dataclass(frozen=True)
class ServerConfig:
    """The whole server: global settings and the vhosts."""

    user: Identity = doc("identity of the workers before a request picks its own (User/Group)")
    listen: tuple[Address, ...] = doc("addresses to listen on (Listen)")
    vhosts: tuple[VHost, ...] = doc("the virtual hosts, first of an address is its default")
    source: str = doc("the file the configuration was read from", "")
    #: The names <IfModule> finds, as LoadModule lines loaded them (None: no LoadModule was read,
    #: so every module itkgw implements is there); what was read, not a setting to compare.
    loaded_modules: frozenset[str] | None = field(default=None, compare=False)
    compat: str = doc("mpm-itk series whose directives are accepted: 2.2 or 2.4", "2.4")
    server_root: str = doc("directory relative paths are taken from (ServerRoot)", "/etc/itkgw")
    name_virtual_hosts: tuple[Address, ...] = doc(
        "2.2 only: addresses with name-based vhosts (NameVirtualHost)", ())
    server_name: str = doc("the server's own name (ServerName)", "localhost")
    server_admin: str = doc("contact address on error pages (ServerAdmin)", "")
    pid_file: str = doc("file the master writes its pid to (PidFile)", "/run/itkgw.pid")
    error_log: str = doc("error log file, or - for standard error (ErrorLog)", "/var/log/itkgw/error.log")
    log_level: str = doc("emerg, alert, crit, error, warn, notice, info or debug (LogLevel)", "warn")
    access_log: str | None = doc("access log for requests of no vhost with its own (CustomLog)", None)
    access_log_format: str = doc("common, combined, or an Apache LogFormat string", "combined")
    access_log_condition: str | None = doc(
        "log only requests with this variable set (NAME) or not set (!NAME) (CustomLog's env=)", None)
    start_servers: int = doc("workers started at boot (StartServers)", 5)
    min_spare_servers: int = doc("idle workers kept at least (MinSpareServers)", 5)
    max_spare_servers: int = doc("idle workers kept at most (MaxSpareServers)", 10)
    max_request_workers: int = doc("workers at most, so connections at once (MaxRequestWorkers)", 150)
    max_connections_per_child: int = doc("connections a worker serves before it is replaced, 0 = never", 0)
    timeout: int = doc("seconds to wait for client I/O and CGI output (Timeout)", 60)
    keep_alive: bool = doc("allow persistent connections (KeepAlive)", True)
    keep_alive_timeout: int = doc("seconds to wait for the next request (KeepAliveTimeout)", 5)
    max_keep_alive_requests: int = doc("requests per connection, 0 = no limit (MaxKeepAliveRequests)", 100)
    limit_request_line: int = doc("bytes in the request line at most (LimitRequestLine)", 8190)
    limit_request_field_size: int = doc("bytes in one header line at most (LimitRequestFieldSize)", 8190)
    limit_request_fields: int = doc("header lines at most (LimitRequestFields)", 100)
    limit_request_body: int = doc("request body bytes at most, 0 = no limit (LimitRequestBody)", 1 << 30)
    limit_uid_range: tuple[int, int] = doc("uids requests may run as (LimitUIDRange)", DEFAULT_ID_RANGE)
    limit_gid_range: tuple[int, int] = doc("gids requests may run as (LimitGIDRange)", DEFAULT_ID_RANGE)
    enable_capabilities: bool = doc(
        "workers run as user with only setuid/setgid/dac_read_search/sys_nice (EnableCapabilities)", True
    )
    no_new_privs: bool = doc("set PR_SET_NO_NEW_PRIVS for scripts (breaks setgid sendmail)", False)
    allow_user_namespaces: bool = doc("let scripts create user namespaces (AllowUserNamespaces)", False)
    default_identity: Identity = doc(
        "user and group of requests no AssignUserID covers (DefaultIdentity)", NOBODY)
    php_cgi: str = doc("php-cgi binary run for PHP files", "/usr/bin/php-cgi")
    mime_types: str = doc("file mapping extensions to Content-Type (TypesConfig)", "/etc/mime.types")
    modules: ModuleSettings = doc("settings of modules that keep their own", ModuleSettings())

    def uid_allowed(self, uid: int) -> bool:
        low, high = self.limit_uid_range
        return low <= uid <= high

    def gid_allowed(self, gid: int) -> bool:
        low, high = self.limit_gid_range
        return low <= gid <= high
