"""The directive table both config readers share.

One row per setting: its Apache name, its TOML key, the contexts it may
appear in, how its value is read, which mpm-itk series have it, and a line of
documentation. The TOML reader looks rows up by key, the Apache reader by
name, ``itkgw convert`` and the docs walk the table. None of these settings
is read from .htaccess: itkgw reads no .htaccess files.

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

How a row's value is read is its kind (``kinds`` for plain values,
``kinds_structured`` for the rest); the TOML shape of each structured setting
is in its kind's ``toml_example`` and in the row's doc.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from itkgw.config import DirSection, ServerConfig, VHost
from itkgw.errors import ConfigError
from itkgw.kinds import (
    Addresses,
    Choice,
    ExprText,
    Extensions,
    Flag,
    HostName,
    IdRange,
    Int,
    Kind,
    Path,
    PathMap,
    ScriptAliasMap,
    Seconds,
    Text,
    UserDirKind,
    UserGroup,
    Words,
)
from itkgw.kinds_structured import (
    ORDERS,
    SECTION_NAMES,
    AccessRules,
    Arguments,
    EnvPairs,
    ErrorDocuments,
    ExecCGIOption,
    ExtensionPairs,
    FromHosts,
    HandlerName,
    HandlerPairs,
    HeaderRules,
    OptionWords,
    OverrideWords,
    PHPSettings,
    Redirects,
    RequireRules,
    RewriteConds,
    RewriteRules,
)

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

#: The model class each context fills.
MODELS: Mapping[Context, type] = {
    Context.SERVER: ServerConfig,
    Context.VHOST: VHost,
    Context.DIRECTORY: DirSection,
}

#: Model fields no directive sets: nested sections, the section kind, and where things came from.
STRUCTURAL_FIELDS: Mapping[Context, frozenset[str]] = {
    Context.SERVER: frozenset({"vhosts", "source"}),
    Context.VHOST: frozenset({"directories", "where"}),
    Context.DIRECTORY: frozenset({"kind", "where"}),
}


# -- the table ---------------------------------------------------------------


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


_LOG_LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")
_ACCESS_22 = "Apache 2.2 has Order, Allow, Deny and Satisfy instead"
_PER_DIR_REWRITE = "per-directory rewriting is not supported yet; write the rules in <VirtualHost>"
_REDIRECT_IN_VHOST = "write Redirect URL-PATH URL in <VirtualHost> instead"

DIRECTIVES: tuple[Directive, ...] = (
    # The server process
    Directive("--compat", "compat", SERVER, Choice(options=SERIES, example="2.4"),
              "mpm-itk series whose directives are accepted (the command line wins; Apache syntax: "
              "--compat only, default 2.4)"),
    Directive("ServerRoot", "server_root", SERVER, Path(),
              "directory relative paths are taken from (Apache syntax: Include, DocumentRoot, logs...; "
              "default the config file's directory)"),
    Directive("User", "user", SERVER, Text(),
              "user the workers run as before a request picks its own", field="user"),
    Directive("Group", "group", SERVER, Text(),
              "group the workers run as before a request picks its own", field="user"),
    Directive("Listen", "listen", SERVER, Addresses(protocol=True),
              "addresses to listen on: addr:port, [v6]:port, *:port or port", repeat=True),
    Directive("NameVirtualHost", "name_virtual_hosts", SERVER, Addresses(),
              "2.2: addresses whose vhosts are chosen by name; 2.4 accepts it with a warning and "
              "no effect", repeat=True),
    Directive("PidFile", "pid_file", SERVER, Path(), "file the master writes its pid to", root_relative=True),
    Directive("TypesConfig", "mime_types", SERVER, Path(), "file mapping extensions to Content-Type",
              root_relative=True),
    Directive("PHPCGI", "php_cgi", SERVER, Path(), "php-cgi binary run for PHP files (itkgw's own)"),
    Directive("NoNewPrivs", "no_new_privs", SERVER, Flag(),
              "set PR_SET_NO_NEW_PRIVS for scripts (breaks setgid sendmail, so PHP mail()) (itkgw's own)"),
    Directive("LoadModule", "", NOWHERE, Arguments(2, 2, "LoadModule rewrite_module modules/mod_rewrite.so"),
              "accepted: a module itkgw implements is built in; others are named in a warning and not loaded",
              apache=SERVER),
    Directive("LoadFile", "", NOWHERE, Arguments(1, None, "LoadFile /usr/lib/libxml2.so"),
              "accepted and of no effect", apache=SERVER),
    Directive("Include", "", NOWHERE, Arguments(1, 1, "Include conf.d/*.conf"),
              "read other files here: wildcards allowed, sorted, relative to ServerRoot; "
              "a missing file (and in 2.4 a wildcard matching nothing) is an error", apache=EVERYWHERE),
    Directive("IncludeOptional", "", NOWHERE, Arguments(1, 1, "IncludeOptional sites-enabled/*.conf"),
              "as Include, but nothing to read is fine", apache=EVERYWHERE, series=ONLY_24,
              instead="Apache 2.2 has Include only"),
    Directive("Define", "", NOWHERE, Arguments(1, 2, "Define NAME [value]"),
              "define NAME for <IfDefine>, and ${NAME} as value", apache=EVERYWHERE, series=ONLY_24,
              instead="Apache 2.2 has only -D on the command line"),
    Directive("UnDefine", "", NOWHERE, Arguments(1, 1, "UnDefine NAME"),
              "undo a Define or -D", apache=EVERYWHERE, series=ONLY_24,
              instead="Apache 2.2 has only -D on the command line"),
    # Logging
    Directive("ErrorLog", "error_log", SERVER_VHOST, Path(specials=("-",)),
              "error log file, or - for standard error", root_relative=True),
    Directive("LogLevel", "log_level", SERVER, Choice(options=_LOG_LEVELS, example="warn"),
              "least severe message the error log records"),
    Directive("TransferLog", "access_log", SERVER_VHOST, Path(specials=("-",)),
              "access log file", also_from="CustomLog FILE FORMAT (sets access_log_format too)",
              root_relative=True),
    Directive("CustomLog", "", NOWHERE, Arguments(2, 3, "CustomLog logs/access_log combined"),
              "access log file and its format or LogFormat nickname (common and combined are kept "
              "as names); one per vhost; conditional (env=) logs are not supported",
              field="access_log", apache=SERVER_VHOST),
    Directive("LogFormat", "access_log_format", SERVER_VHOST, Text(),
              "access log format: common, combined, or an Apache LogFormat string",
              also_from="the FORMAT of CustomLog FILE FORMAT; LogFormat FORMAT NICKNAME names a format"),
    # Prefork sizing
    Directive("StartServers", "start_servers", SERVER, Int(low=1), "workers started at boot"),
    Directive("MinSpareServers", "min_spare_servers", SERVER, Int(), "idle workers kept at least"),
    Directive("MaxSpareServers", "max_spare_servers", SERVER, Int(), "idle workers kept at most"),
    Directive("MaxRequestWorkers", "max_request_workers", SERVER, Int(),
              "workers at most, so connections served at once", series=ONLY_24,
              aliases=(Alias("MaxClients", BOTH, deprecated_in=ONLY_24),)),
    Directive("MaxConnectionsPerChild", "max_connections_per_child", SERVER, Int(low=0),
              "connections a worker serves before it is replaced, 0 = never", series=ONLY_24,
              aliases=(Alias("MaxRequestsPerChild", BOTH, deprecated_in=ONLY_24),)),
    Directive("ServerLimit", "", NOWHERE, Int(low=1, high=200000),
              "upper bound of MaxRequestWorkers (default 256); a larger MaxRequestWorkers is lowered "
              "with a warning", apache=SERVER),
    # Connections and requests
    Directive("Timeout", "timeout", SERVER, Seconds(), "seconds to wait for client I/O and CGI output"),
    Directive("KeepAlive", "keep_alive", SERVER, Flag(), "allow persistent connections"),
    Directive("KeepAliveTimeout", "keep_alive_timeout", SERVER, Seconds(),
              "seconds to wait for the next request on a connection"),
    Directive("MaxKeepAliveRequests", "max_keep_alive_requests", SERVER, Int(low=0),
              "requests per connection, 0 = no limit"),
    Directive("LimitRequestLine", "limit_request_line", SERVER, Int(low=1),
              "bytes in the request line at most"),
    Directive("LimitRequestFieldSize", "limit_request_field_size", SERVER, Int(low=1),
              "bytes in one header line at most"),
    Directive("LimitRequestFields", "limit_request_fields", SERVER, Int(low=1), "header lines at most"),
    Directive("LimitRequestBody", "limit_request_body", SERVER | DIRECTORY, Int(low=0, high=2**31 - 1),
              "request body bytes at most, 0 = no limit (in a <VirtualHost>, put it in a <Location />)"),
    # mpm-itk
    Directive("LimitUIDRange", "limit_uid_range", SERVER, IdRange(),
              "uids requests may run as; others get 500", series=ONLY_24),
    Directive("LimitGIDRange", "limit_gid_range", SERVER, IdRange(),
              "gids requests may run as; others get 500", series=ONLY_24),
    Directive("EnableCapabilities", "enable_capabilities", SERVER, Flag(),
              "workers run as User/Group with only the capabilities a switch needs", series=ONLY_24),
    Directive("AssignUserID", "assign_user_id", VHOST_DIRECTORY, UserGroup(),
              "user and group requests run as"),
    Directive("AssignUserIDExpr", "assign_user_id_expr", VHOST_DIRECTORY,
              ExprText(directive="AssignUserIDExpr"),
              "ap_expr (string form) giving the user name requests run as; overrides AssignUserID",
              series=ONLY_24, instead="mpm-itk 2.2 has AssignUserID only"),
    Directive("AssignGroupIDExpr", "assign_group_id_expr", VHOST_DIRECTORY,
              ExprText(directive="AssignGroupIDExpr"),
              "ap_expr (string form) giving the group name requests run as; overrides AssignUserID",
              series=ONLY_24, instead="mpm-itk 2.2 has AssignUserID only"),
    Directive("MaxClientsVHost", "max_clients_vhost", VHOST, Int(low=0),
              "busy connections allowed at once, 0 = no limit"),
    Directive("NiceValue", "nice_value", VHOST_DIRECTORY, Int(),
              "nice value of request processes, -20 to 19"),
    # Virtual hosts
    Directive("<VirtualHost>", "listen", VHOST, Addresses(),
              "addresses the vhost answers on (default: every listen of the server); Apache: "
              "addr:port, *:port, _default_:port, [v6]:port, or no port for every listened port"),
    Directive("ServerName", "server_name", SERVER_VHOST, HostName(),
              "canonical host name (Apache: a scheme and port after it are dropped)"),
    Directive("ServerAlias", "server_alias", VHOST, Words(),
              "other host names, with * and ? wildcards", repeat=True, apache=VHOST),
    Directive("ServerAdmin", "server_admin", SERVER_VHOST, Text(), "contact address shown on error pages"),
    Directive("DocumentRoot", "document_root", VHOST, Path(), "directory the URL space maps onto",
              root_relative=True),
    Directive("Alias", "alias", VHOST, PathMap(),
              'URL prefixes mapped onto directories or files; TOML { "/url/" = "/dir/" }', repeat=True),
    Directive("ScriptAlias", "script_alias", VHOST, ScriptAliasMap(),
              "URL prefixes whose files all run as CGI, with their directories; "
              'TOML { "/cgi-bin/" = "/dir/" }',
              repeat=True),
    Directive("Redirect", "redirects", VHOST, Redirects(),
              'prefix redirects; TOML [{ url_path = "/old", target = "http://x/new", status = 301 }] '
              "(target left out for 410)", repeat=True,
              not_in_sections=_REDIRECT_IN_VHOST),
    Directive("RedirectPermanent", "", NOWHERE, Redirects(status=301), "Redirect permanent",
              field="redirects", repeat=True, apache=SERVER_VHOST, not_in_sections=_REDIRECT_IN_VHOST),
    Directive("RedirectTemp", "", NOWHERE, Redirects(status=302), "Redirect temp",
              field="redirects", repeat=True, apache=SERVER_VHOST, not_in_sections=_REDIRECT_IN_VHOST),
    Directive("UserDir", "user_dir", VHOST, UserDirKind(),
              "directory below each user's home served as /~user/ (public_html, /home/*/www); "
              "UserDir disabled turns it off"),
    # Per-directory sections
    Directive("<Directory>", "path", DIRECTORY, Text(),
              "what the section applies to: an absolute path (<Directory>), a URL path (<Location>) "
              "or a file name (<Files>); TOML [[vhost.directory]], [[vhost.location]], [[vhost.files]]"),
    Directive("<DirectoryMatch>", "regex", DIRECTORY, Flag(),
              "path is a regular expression: <DirectoryMatch>, <LocationMatch>, <FilesMatch> and the "
              "~ forms; TOML regex = true"),
    Directive("AllowOverride", "", NOWHERE, OverrideWords(),
              "accepted and of no effect: itkgw reads no .htaccess files (one warning says so)",
              apache=DIRECTORY, sections=frozenset({"directory"})),
    # Content handling
    Directive("DirectoryIndex", "directory_index", VHOST_DIRECTORY, Words(),
              "index files, in order (Apache's default: index.html)", repeat=True),
    Directive("Options", "options", VHOST_DIRECTORY, OptionWords(),
              "Options words (ExecCGI, FollowSymLinks, SymLinksIfOwnerMatch, Indexes...), with + and - "
              "in sections; a vhost's are resolved against the server's (Apache's default: "
              "FollowSymLinks in 2.4, All in 2.2)"),
    Directive("", "exec_cgi", VHOST_DIRECTORY, ExecCGIOption(),
              "whether CGI scripts may run", also_from="Options ExecCGI (or All)"),
    Directive("CGIExtensions", "cgi_extensions", VHOST, Extensions(), "file endings run as CGI scripts",
              repeat=True, also_from="AddHandler cgi-script EXT..."),
    Directive("PHPExtensions", "php_extensions", VHOST, Extensions(), "file endings run through php-cgi",
              repeat=True,
              also_from="AddHandler application/x-httpd-php EXT..., AddType application/x-httpd-php"),
    Directive("AddHandler", "add_handler", DIRECTORY, HandlerPairs(),
              'handlers of file endings in a section; TOML [["cgi-script", ".cgi"]] (at vhost level '
              "Apache's AddHandler fills cgi_extensions and php_extensions)",
              repeat=True, keyed=True, apache=EVERYWHERE),
    Directive("AddType", "add_type", VHOST_DIRECTORY, ExtensionPairs(),
              'content types of file endings; TOML [["text/plain", ".log"]] '
              "(AddType application/x-httpd-php runs PHP, as with mod_php)", repeat=True, keyed=True),
    Directive("SetHandler", "set_handler", DIRECTORY, HandlerName(),
              "handler for every file of the section: cgi-script, application/x-httpd-php, default-handler "
              "or none (proxy:fcgi is not in this version)"),
    Directive("SetEnv", "set_env", VHOST_DIRECTORY, EnvPairs(),
              'variables for scripts; TOML { NAME = "value" }', repeat=True, keyed=True),
    Directive("UnsetEnv", "unset_env", VHOST_DIRECTORY, Words(), "variables removed for scripts",
              repeat=True),
    Directive("Header", "headers", VHOST_DIRECTORY, HeaderRules(),
              "response header rules: set, append, add, unset; "
              'TOML [["set", "X-Foo", "bar"], ["unset", "X-Bar"]] '
              "(onsuccess/always accepted; env=, expr=, early refused)", repeat=True),
    Directive("php_value", "php_settings", VHOST_DIRECTORY, PHPSettings(),
              'PHP ini settings handed to php-cgi as -d; TOML [{ name = "memory_limit", value = "64M", '
              "admin = true }] (flags as \"1\"/\"0\")", repeat=True, keyed=True,
              also_from="php_flag, php_admin_value, php_admin_flag"),
    Directive("php_flag", "", NOWHERE, PHPSettings(flag=True), "a PHP ini flag, on or off",
              field="php_settings", repeat=True, keyed=True, apache=EVERYWHERE),
    Directive("php_admin_value", "", NOWHERE, PHPSettings(admin=True),
              "a PHP ini setting scripts cannot change", field="php_settings", repeat=True, keyed=True,
              apache=EVERYWHERE),
    Directive("php_admin_flag", "", NOWHERE, PHPSettings(flag=True, admin=True),
              "a PHP ini flag scripts cannot change", field="php_settings", repeat=True, keyed=True,
              apache=EVERYWHERE),
    Directive("ErrorDocument", "error_documents", VHOST_DIRECTORY, ErrorDocuments(),
              'per status, a local URL path, a URL or a message; TOML { "404" = "/missing.html" }',
              repeat=True, keyed=True),
    # mod_rewrite
    Directive("RewriteEngine", "rewrite_engine", VHOST, Flag(),
              "whether the RewriteRule lines apply (not inherited by vhosts, as in Apache)",
              not_in_sections=_PER_DIR_REWRITE),
    Directive("RewriteRule", "rewrite_rules", VHOST, RewriteRules(),
              "mod_rewrite rules, flags E=VAR:VALUE, L, R[=code], NC, QSA, PT, F, G; TOML "
              '[{ pattern = "...", substitution = "...", flags = ["L"], conditions = [{ test = "...", '
              'pattern = "...", flags = [] }] }] (not inherited by vhosts)', repeat=True,
              also_from="RewriteCond", not_in_sections=_PER_DIR_REWRITE),
    Directive("RewriteCond", "", NOWHERE, RewriteConds(),
              "a condition of the next RewriteRule; flags NC, OR, NV", field="rewrite_rules",
              apache=SERVER_VHOST, not_in_sections=_PER_DIR_REWRITE),
    # Access control
    Directive("Require", "require", VHOST_DIRECTORY, RequireRules(),
              "Apache 2.4 access rules: all, ip, host, env, method, local, expr, [not]; TOML "
              '["all granted"] (an implicit any) or { mode = "all", items = ["ip 10.0.0.0/8", '
              '{ mode = "any", items = [...] }] }', series=ONLY_24, instead=_ACCESS_22,
              also_from="<RequireAll>, <RequireAny>, <RequireNone>", apache=DIRECTORY, raw=True),
    Directive("", "access", VHOST_DIRECTORY, AccessRules(),
              'Apache 2.2 access rules (mod_access_compat in 2.4); TOML { order = "allow,deny", '
              'allow = ["all"], deny = [], satisfy = "all" }', also_from="Order, Allow, Deny, Satisfy"),
    Directive("Order", "", NOWHERE, Choice(options=ORDERS, example="allow,deny"),
              "Deny,Allow (default), Allow,Deny or Mutual-failure", field="access", apache=DIRECTORY),
    Directive("Allow", "", NOWHERE, FromHosts(), "Allow from all|IP|network|host|env=VAR...",
              field="access", apache=DIRECTORY),
    Directive("Deny", "", NOWHERE, FromHosts(), "Deny from all|IP|network|host|env=VAR...",
              field="access", apache=DIRECTORY),
    Directive("Satisfy", "", NOWHERE, Choice(options=("all", "any")),
              "All (default): Allow/Deny and Require must both pass; Any: either", field="access",
              apache=DIRECTORY),
)


def _no_effect(name: str, reason: str, contexts: frozenset[Context] = SERVER_VHOST,
               series: frozenset[str] = BOTH) -> Directive:
    """A core directive real httpd.conf files carry that changes nothing itkgw does."""
    return Directive(name, "", NOWHERE, Arguments(1, None, f"{name} VALUE"), f"accepted, no effect: {reason}",
                     apache=contexts, no_effect=reason, series=series, instead=f"Apache 2.2 has no {name}")


_NO_NEGOTIATION = "itkgw does no content negotiation and sends no Content-Language"

#: Directives of httpd's core and mod_mime a Debian or FreeBSD httpd.conf
#: carries, read and named in one warning.
NO_EFFECT: tuple[Directive, ...] = (
    _no_effect("AccessFileName", "itkgw reads no .htaccess files"),
    _no_effect("AddCharset", "itkgw adds no charset to Content-Type from file extensions", EVERYWHERE),
    _no_effect("AddDefaultCharset", "itkgw adds no charset to Content-Type", EVERYWHERE),
    _no_effect("AddLanguage", _NO_NEGOTIATION, EVERYWHERE),
    _no_effect("DefaultLanguage", _NO_NEGOTIATION, EVERYWHERE),
    _no_effect("DefaultRuntimeDir", "not used by itkgw", SERVER, ONLY_24),
    _no_effect("EnableMMAP", "itkgw sends files with sendfile(2), never from a mapping", EVERYWHERE),
    _no_effect("EnableSendfile", "itkgw sends files with sendfile(2); it cannot be turned off", EVERYWHERE),
    _no_effect("ExtendedStatus", "itkgw's scoreboard always records each connection's vhost, so "
               "MaxClientsVHost works without it", SERVER),
    _no_effect("FileETag", "itkgw's ETag is always httpd 2.4's default, MTime Size", EVERYWHERE),
    _no_effect("HostnameLookups", "itkgw's logs show client addresses", EVERYWHERE),
    _no_effect("Mutex", "not used by itkgw", SERVER, ONLY_24),
    _no_effect("RemoveCharset", "itkgw adds no charset to Content-Type from file extensions", EVERYWHERE),
    _no_effect("RemoveLanguage", _NO_NEGOTIATION, EVERYWHERE),
    _no_effect("RemoveType", "extensions keep the type TypesConfig and AddType give them", EVERYWHERE),
    _no_effect("ServerSignature", "itkgw's error pages cannot be changed", EVERYWHERE),
    _no_effect("ServerTokens", "itkgw's Server header is always its name and version", SERVER),
    _no_effect("TraceEnable", "not used by itkgw"),
    _no_effect("UseCanonicalName", "itkgw builds its own URLs from the Host header, as with Off",
               EVERYWHERE),
)
DIRECTIVES = DIRECTIVES + NO_EFFECT


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


SECTIONS: tuple[Section, ...] = (
    Section("VirtualHost", SERVER, "a vhost: addresses it answers on, then its settings"),
    Section("Directory", SERVER_VHOST, "settings for a filesystem path (fnmatch wildcards allowed; "
            "<Directory ~ regex> is <DirectoryMatch>)", kind="directory"),
    Section("DirectoryMatch", SERVER_VHOST, "settings for filesystem paths matching a regex",
            kind="directory", regex=True),
    Section("Location", SERVER_VHOST, "settings for a URL path", kind="location"),
    Section("LocationMatch", SERVER_VHOST, "settings for URL paths matching a regex", kind="location",
            regex=True),
    Section("Files", SERVER_VHOST, "settings for file names (not inside <Directory>: not supported)",
            kind="files"),
    Section("FilesMatch", SERVER_VHOST, "settings for file names matching a regex", kind="files", regex=True),
    Section("IfModule", EVERYWHERE, "read when the module is loaded ([!]name): the modules itkgw "
            "implements always are, others never"),
    Section("IfDefine", EVERYWHERE, "read when NAME is defined by -D or Define ([!]NAME)"),
    Section("RequireAll", DIRECTORY, "Require rules that must all grant", series=ONLY_24, instead=_ACCESS_22),
    Section("RequireAny", DIRECTORY, "Require rules one of which must grant", series=ONLY_24,
            instead=_ACCESS_22),
    Section("RequireNone", DIRECTORY, "Require rules none of which may grant", series=ONLY_24,
            instead=_ACCESS_22),
)
SECTION_BY_NAME: Mapping[str, Section] = {section.name.lower(): section for section in SECTIONS}

#: The modules itkgw implements, each with the names <IfModule> and LoadModule
#: know it by (module identifier and source file). They count as loaded
#: whether or not the config loads them.
MODULES: Mapping[str, tuple[str, ...]] = {
    "core": ("core_module", "core.c", "http_core.c", "http_module", "so_module", "mod_so.c",
             "unixd_module", "mod_unixd.c"),
    "prefork": ("mpm_prefork_module", "prefork.c", "mpm_prefork.c"),
    "mpm_itk": ("mpm_itk_module", "mpm_itk.c", "itk.c"),
    "alias": ("alias_module", "mod_alias.c"),
    "dir": ("dir_module", "mod_dir.c"),
    "mime": ("mime_module", "mod_mime.c"),
    "cgi": ("cgi_module", "mod_cgi.c"),
    "env": ("env_module", "mod_env.c"),
    "headers": ("headers_module", "mod_headers.c"),
    "rewrite": ("rewrite_module", "mod_rewrite.c"),
    "authz_core": ("authz_core_module", "mod_authz_core.c"),
    "authz_host": ("authz_host_module", "mod_authz_host.c"),
    "access_compat": ("access_compat_module", "mod_access_compat.c", "access_module", "mod_access.c"),
    "log_config": ("log_config_module", "mod_log_config.c"),
    "userdir": ("userdir_module", "mod_userdir.c"),
    "php": ("php_module", "php5_module", "php7_module", "mod_php.c", "mod_php5.c", "mod_php7.c",
            "sapi_apache2.c"),
}
LOADED_MODULES = frozenset(name for names in MODULES.values() for name in names)


def _by_name() -> dict[str, tuple[Directive, Alias | None]]:
    table: dict[str, tuple[Directive, Alias | None]] = {}
    for directive in DIRECTIVES:
        if directive.name[:1].isalpha():
            table[directive.name.lower()] = (directive, None)
        for alias in directive.aliases:
            table[alias.name.lower()] = (directive, alias)
    return table


def _by_key() -> dict[Context, dict[str, Directive]]:
    table: dict[Context, dict[str, Directive]] = {context: {} for context in Context}
    for directive in DIRECTIVES:
        for context in directive.contexts:
            table[context][directive.key] = directive
    return table


#: Apache name or alias, lower-cased -> (directive, the alias used or None).
BY_NAME: Mapping[str, tuple[Directive, Alias | None]] = _by_name()
#: Context -> TOML key -> directive.
BY_KEY: Mapping[Context, Mapping[str, Directive]] = _by_key()


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
