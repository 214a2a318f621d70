"""httpd's core (with mod_so, mod_unixd and mpm_common): the server, vhosts, sections, requests."""

from __future__ import annotations

import dataclasses
import functools
import resource
from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import (
    DIRECTORY,
    EVERYWHERE,
    NOWHERE,
    ONLY_24,
    SERVER,
    SERVER_VHOST,
    VHOST,
    VHOST_DIRECTORY,
    Arguments,
    Context,
    Directive,
    Module,
    Section,
    no_effect,
)
from itkgw.config.kinds import Addresses, Choice, Flag, HostName, Int, Kind, Path, Seconds, Text, Words
from itkgw.config.kinds_structured import (
    ErrorDocuments,
    ExecCGIOption,
    HandlerName,
    OptionWords,
    OverrideWords,
)
from itkgw.config.model import overlay_fields
from itkgw.config.modules.filter import FILTERS
from itkgw.errors import ConfigError


@dataclass(frozen=True)
class RequestSettings:
    """How the core answers parts of a request, per vhost and section; None: httpd's default."""

    #: UseCanonicalName: "off" (default) names the server as the client's Host did, "on" by
    #: ServerName, "dns" by the name of the address the request came in on.
    canonical_name: str | None = None
    #: UseCanonicalPhysicalPort: the port the request came in on when no name gives one.
    canonical_physical_port: bool | None = None
    #: AcceptPathInfo: "default" (scripts take trailing path info, files do not), "on", "off".
    accept_path_info: str | None = None
    #: CGIPassAuth: hand the Authorization header to CGI scripts.
    cgi_pass_auth: bool | None = None
    #: TraceEnable: "on" (default) echoes TRACE requests, "off" refuses them with 405,
    #: "extended" also allows a body.
    trace_enable: str | None = None
    #: AddDefaultCharset: the charset text/plain and text/html responses without one get,
    #: or "off" (default).
    default_charset: str | None = None
    #: The connection settings a <VirtualHost> may give its own (None: the server's). As in
    #: httpd, a request's vhost decides its body and response Timeout, whether the connection
    #: is kept and how long for; a head is read under the address's default vhost's Timeout
    #: and LimitRequest* values, the Host header being unknown until it is read.
    timeout: int | None = None
    keep_alive: bool | None = None
    keep_alive_timeout: int | None = None
    max_keep_alive_requests: int | None = None
    limit_request_line: int | None = None
    limit_request_field_size: int | None = None
    limit_request_fields: int | None = None
    #: AllowEncodedSlashes: "off" (default: a path with %2F is 404), "on" (decoded to /) or
    #: "nodecode" (kept as %2F).
    encoded_slashes: str | None = None
    #: MergeSlashes: whether runs of / in a path count as one (default on).
    merge_slashes: bool | None = None
    #: SetOutputFilter: the output filter chain of every response here, whatever its type
    #: ("DEFLATE"; "none": none).
    output_filter: str | None = None
    #: LimitInternalRecursion: internal redirects one request may go through (default 10).
    internal_recursion: int | None = None
    #: RLimitCPU, RLimitMEM (address space) and RLimitNPROC: the (soft, hard) limits CGI
    #: programs run under, as httpd's mod_cgi sets them.
    rlimit_cpu: tuple[int, int] | None = None
    rlimit_mem: tuple[int, int] | None = None
    rlimit_nproc: tuple[int, int] | None = None
    #: ServerSignature: "off" (default), "on" (the banner and server on httpd's own pages and
    #: listings, and in SERVER_SIGNATURE) or "email" (the server name a mailto: ServerAdmin link).
    server_signature: str | None = None
    #: FileETag's words: what a static file's ETag is made of (None: httpd 2.4's MTime Size).
    file_etag: tuple[str, ...] | None = None

    @property
    def etag_parts(self) -> frozenset[str]:
        """FileETag's parts (inode, mtime, size), as etag_parts reads its words."""
        return etag_parts(self.file_etag or ())

    def over(self, earlier: RequestSettings) -> RequestSettings:
        """Apache's merge; a FileETag of +/- words alone changes the sections' around it."""
        merged = overlay_fields(earlier, self)
        words = self.file_etag
        if words and earlier.file_etag and all(word[:1] in "+-" for word in words):
            merged = dataclasses.replace(merged, file_etag=(*earlier.file_etag, *words))
        return merged


#: httpd 2.4's FileETag default, and what All stands for.
DEFAULT_ETAG = frozenset({"mtime", "size"})
_ALL_ETAG = frozenset({"inode", "mtime", "size"})


@functools.lru_cache(maxsize=64)
def etag_parts(words: tuple[str, ...]) -> frozenset[str]:
    """FileETag's words as httpd 2.4 reads them: plain words (All for all three) make the parts,
    then -X takes one away and +X adds one; None anywhere means no ETag; and what leaves no
    part at all (``-MTime`` alone, ``INode -INode``) is the default, MTime Size."""
    if any(word.lower() == "none" for word in words):
        return frozenset()
    parts: set[str] = set()
    added: set[str] = set()
    removed: set[str] = set()
    for word in words:
        name = word.lstrip("+-").lower()
        if word.startswith("+"):
            added.add(name)
        elif word.startswith("-"):
            removed.add(name)
        else:
            parts |= _ALL_ETAG if name == "all" else {name}
    return frozenset((parts - removed) | added) or DEFAULT_ETAG


@dataclass(frozen=True)
class ETagWords(Words):
    """FileETag's words: INode, MTime, Size (each alone, or +/- one), All or None."""

    toml_example: ClassVar[str] = '["MTime", "Size"], ["None"] or ["-INode"]'
    args_example: ClassVar[str] = "FileETag MTime Size"

    def checked(self, words: tuple[str, ...], where: str) -> tuple[str, ...]:
        for word in words:
            name = word.lstrip("+-").lower()
            whole = name in ("all", "none")
            if name not in ("inode", "mtime", "size", "all", "none") or (word[:1] in "+-" and whole):
                raise ConfigError(where, f"FileETag: unknown keyword {word!r}",
                                  "use INode, MTime and Size (each may be +X or -X), All or None")
        return words


@dataclass(frozen=True)
class DefaultCharset(Text):
    """AddDefaultCharset's word: Off, On (iso-8859-1, as httpd), or a charset name."""

    toml_example: ClassVar[str] = '"utf-8", "on" or "off"'
    args_example: ClassVar[str] = "AddDefaultCharset utf-8"

    def check(self, value: str, where: str) -> str:
        value = super().check(value, where)
        if value.lower() in ("on", "off"):
            return "iso-8859-1" if value.lower() == "on" else "off"
        return value


@dataclass(frozen=True)
class OutputFilter(Text):
    """SetOutputFilter's chain: DEFLATE, the one output filter itkgw has, or none; the names of
    filters itkgw has not are passed by, as httpd passes a filter no module provides."""

    toml_example: ClassVar[str] = '"DEFLATE" or "none"'
    args_example: ClassVar[str] = "SetOutputFilter DEFLATE"

    def check(self, value: str, where: str) -> str:
        value = super().check(value, where)
        known = [name.upper() for name in value.split(";") if name.upper() in FILTERS]
        return "none" if value.lower() == "none" else ";".join(known) or "none"


@dataclass(frozen=True)
class RecursionLimit(Int):
    """LimitInternalRecursion's words: the redirect limit, and httpd's nesting limit of
    subrequests, which itkgw (making none) accepts and has no use for."""

    low: int | None = 1
    args_example: ClassVar[str] = "LimitInternalRecursion 10 [10]"

    def from_args(self, args: list[str], where: str) -> int:
        if len(args) == 2:
            super().from_args(args[1:], where)
        return super().from_args(args[:1] if len(args) == 2 else args, where)


@dataclass(frozen=True)
class ResourceLimit(Kind):
    """RLimit*'s soft and hard limits: a number or ``max`` (the limit itkgw was started
    with) each; with one word the hard limit stays as it was, as httpd reads them."""

    resource: int = -1
    expects: ClassVar[str] = "a soft limit and an optional hard one: numbers or max"
    toml_example: ClassVar[str] = '[60, 120] or ["max"]'
    args_example: ClassVar[str] = "a soft limit and a hard one, e.g. 60 120, or max"

    def from_toml(self, value: object, where: str) -> tuple[int, int]:
        words = value if isinstance(value, list) else [value]
        if not 1 <= len(words) <= 2 or any(isinstance(word, bool) or not isinstance(word, (str, int))
                                           for word in words):
            raise self.wrong_toml(value, where)
        return self._limits([str(word) for word in words], where, self.toml_hint())

    def from_args(self, args: list[str], where: str) -> tuple[int, int]:
        if not 1 <= len(args) <= 2:
            raise self.wrong_args(args, where)
        return self._limits(args, where, f"write it as {self.args_example}")

    def _limits(self, words: list[str], where: str, hint: str) -> tuple[int, int]:
        started_with = resource.getrlimit(self.resource)[1]

        def limit(word: str) -> int:
            if word.lower() == "max":
                return started_with
            if not word.isdigit():
                raise ConfigError(where, f"{word!r} is not a number or max", hint)
            return int(word)

        soft = limit(words[0])
        hard = limit(words[1]) if len(words) == 2 else started_with
        if soft > hard and hard != resource.RLIM_INFINITY:
            raise ConfigError(where, f"the soft limit {soft} is above the hard limit {hard}", hint)
        return soft, hard


_LOG_LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")

MODULE = Module(
    "core",
    "httpd's core (with mod_so, mod_unixd and mpm_common): the server, vhosts, sections, requests",
    identifiers=("core_module", "core.c", "http_core.c", "http_module", "so_module", "mod_so.c",
                 "unixd_module", "mod_unixd.c"),
    directives=(
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
        Directive("PidFile", "pid_file", SERVER, Path(), "file the master writes its pid to",
                  root_relative=True),
        Directive("LoadModule", "", NOWHERE,
                  Arguments(2, 2, "LoadModule rewrite_module modules/mod_rewrite.so"),
                  "accepted: a module itkgw implements is built in; others are named in a warning and "
                  "not loaded",
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
        Directive("ErrorLog", "error_log", SERVER_VHOST, Path(specials=("-",)),
                  "error log file, or - for standard error", root_relative=True),
        Directive("LogLevel", "log_level", SERVER, Choice(options=_LOG_LEVELS, example="warn"),
                  "least severe message the error log records"),
        Directive("Timeout", "timeout", SERVER_VHOST, Seconds(),
                  "seconds to wait for client I/O and CGI output (a vhost's: for its requests' bodies "
                  "and responses)"),
        Directive("KeepAlive", "keep_alive", SERVER_VHOST, Flag(), "allow persistent connections"),
        Directive("KeepAliveTimeout", "keep_alive_timeout", SERVER_VHOST, Seconds(),
                  "seconds to wait for the next request on a connection (the last request's vhost's)"),
        Directive("MaxKeepAliveRequests", "max_keep_alive_requests", SERVER_VHOST, Int(low=0),
                  "requests per connection, 0 = no limit"),
        Directive("LimitRequestLine", "limit_request_line", SERVER_VHOST, Int(low=1),
                  "bytes in the request line at most (a vhost's counts where it is its address's "
                  "default vhost)"),
        Directive("LimitRequestFieldSize", "limit_request_field_size", SERVER_VHOST, Int(low=1),
                  "bytes in one header line at most (as LimitRequestLine in a vhost)"),
        Directive("LimitRequestFields", "limit_request_fields", SERVER_VHOST, Int(low=1),
                  "header lines at most (as LimitRequestLine in a vhost)"),
        Directive("LimitRequestBody", "limit_request_body", SERVER | DIRECTORY, Int(low=0, high=2**31 - 1),
                  "request body bytes at most, 0 = no limit (in a <VirtualHost>, put it in a <Location />)"),
        Directive("<VirtualHost>", "listen", VHOST, Addresses(),
                  "addresses the vhost answers on (default: every listen of the server); Apache: "
                  "addr:port, *:port, _default_:port, [v6]:port, or no port for every listened port"),
        Directive("ServerName", "server_name", SERVER_VHOST, HostName(),
                  "canonical host name (Apache: a scheme and port after it are dropped)"),
        Directive("ServerAlias", "server_alias", VHOST, Words(),
                  "other host names, with * and ? wildcards", repeat=True, apache=VHOST),
        Directive("ServerAdmin", "server_admin", SERVER_VHOST, Text(),
                  "contact address shown on error pages"),
        Directive("DocumentRoot", "document_root", VHOST, Path(), "directory the URL space maps onto",
                  root_relative=True),
        Directive("<Directory>", "path", DIRECTORY, Text(),
                  "what the section applies to: an absolute path (<Directory>), a URL path (<Location>) "
                  "or a file name (<Files>); TOML [[vhost.directory]], [[vhost.location]], [[vhost.files]]"),
        Directive("<DirectoryMatch>", "regex", DIRECTORY, Flag(),
                  "path is a regular expression: <DirectoryMatch>, <LocationMatch>, <FilesMatch> and the "
                  "~ forms; TOML regex = true"),
        Directive("<Files> in <Directory>", "in_directory", DIRECTORY, Text(),
                  "a <Files> section written inside a <Directory>: that directory's path; the section "
                  "applies to files below it only", sections=frozenset({"files"})),
        Directive("<Files> in <DirectoryMatch>", "in_directory_regex", DIRECTORY, Flag(),
                  "in_directory is a regular expression (the <Files> section is inside a "
                  "<DirectoryMatch>)", sections=frozenset({"files"})),
        Directive("AllowOverride", "allow_override", DIRECTORY, OverrideWords(),
                  "which directives .htaccess files below a <Directory> may hold (default None; "
                  "All in 2.2): None, All, AuthConfig, FileInfo, Indexes, Limit, Options[=...], "
                  "Nonfatal=Override|Unknown|All",
                  sections=frozenset({"directory"})),
        Directive("AllowOverrideList", "allow_override_list", DIRECTORY, Words(),
                  "directives .htaccess files below a <Directory> may hold by name, besides what "
                  "AllowOverride grants (default None)", sections=frozenset({"directory"}),
                  series=ONLY_24, instead="Apache 2.2 has no AllowOverrideList: grant a class with "
                  "AllowOverride"),
        Directive("AccessFileName", "access_file_name", VHOST, Words(),
                  "names of the per-directory files AllowOverride is about (default .htaccess)",
                  repeat=False),
        Directive("Options", "options", VHOST_DIRECTORY, OptionWords(),
                  "Options words (ExecCGI, FollowSymLinks, SymLinksIfOwnerMatch, Indexes...), with + and - "
                  "in sections; a vhost's are resolved against the server's (Apache's default: "
                  "FollowSymLinks in 2.4, All in 2.2)"),
        Directive("", "exec_cgi", VHOST_DIRECTORY, ExecCGIOption(),
                  "whether CGI scripts may run", also_from="Options ExecCGI (or All)"),
        Directive("SetHandler", "set_handler", DIRECTORY, HandlerName(),
                  "handler for every file of the section: cgi-script, application/x-httpd-php, "
                  "default-handler, none, or a FastCGI server: proxy:unix:/path|fcgi://localhost or "
                  "proxy:fcgi://host:port (mod_proxy_fcgi)"),
        Directive("ErrorDocument", "error_documents", VHOST_DIRECTORY, ErrorDocuments(),
                  'per status, a local URL path, a URL or a message; TOML { "404" = "/missing.html" }',
                  repeat=True, keyed=True),
        Directive("AddDefaultCharset", "add_default_charset", VHOST_DIRECTORY, DefaultCharset(),
                  "the charset text/plain and text/html responses without one are sent with: a name, "
                  "On (iso-8859-1) or Off (default)", field="default_charset"),
        no_effect("ContentDigest", "itkgw sends no Content-MD5 header, which RFC 7231 dropped",
                  EVERYWHERE),
        no_effect("DefaultType", "a file of no known type is sent without a Content-Type, as httpd 2.4 "
                  "sends it", EVERYWHERE),
        no_effect("DefaultRuntimeDir", "not used by itkgw", SERVER, ONLY_24),
        no_effect("ErrorLogFormat", "itkgw's error log lines keep httpd's default format",
                  SERVER_VHOST, ONLY_24),
        no_effect("HttpProtocolOptions", "itkgw always reads requests as httpd's defaults, Strict "
                  "LenientMethods Require1.0", SERVER_VHOST),
        no_effect("Protocols", "itkgw speaks HTTP/1.1 and 1.0, as httpd without mod_http2", SERVER_VHOST,
                  ONLY_24),
        no_effect("ProtocolsHonorOrder", "itkgw speaks HTTP/1.1 and 1.0, as httpd without mod_http2",
                  SERVER_VHOST, ONLY_24),
        no_effect("EnableMMAP", "itkgw sends files with sendfile(2), never from a mapping", EVERYWHERE),
        no_effect("EnableSendfile", "itkgw sends files with sendfile(2); it cannot be turned off",
                  EVERYWHERE),
        no_effect("ExtendedStatus", "itkgw's scoreboard always records each connection's vhost, so "
                  "MaxClientsVHost works without it", SERVER),
        Directive("FileETag", "file_etag", VHOST_DIRECTORY, ETagWords(),
                  "what a static file's ETag is made of: INode, MTime, Size (default MTime Size), "
                  "All, or None for no ETag", field="file_etag"),
        no_effect("HostnameLookups", "itkgw's logs show client addresses", EVERYWHERE),
        no_effect("Mutex", "not used by itkgw", SERVER, ONLY_24),
        Directive("ServerSignature", "server_signature", VHOST_DIRECTORY,
                  Choice(options=("off", "on", "email")),
                  "a line naming the server under httpd's own error pages and directory listings, and "
                  "in scripts' SERVER_SIGNATURE: off (default), on, or email (with ServerAdmin's link)",
                  field="server_signature"),
        no_effect("ServerTokens", "itkgw's Server header is always its name and version", SERVER),
        Directive("UseCanonicalName", "use_canonical_name", VHOST_DIRECTORY,
                  Choice(options=("off", "on", "dns")),
                  "how SERVER_NAME, SERVER_PORT and self-referential URLs name the server: off (default) "
                  "as the client's Host header did, on by ServerName, dns by the local address's name",
                  field="canonical_name"),
        Directive("UseCanonicalPhysicalPort", "use_canonical_physical_port", VHOST_DIRECTORY, Flag(),
                  "where no name gives a port, the port the request came in on rather than 80 "
                  "(default off)", field="canonical_physical_port"),
        Directive("AcceptPathInfo", "accept_path_info", VHOST_DIRECTORY,
                  Choice(options=("default", "on", "off")),
                  "trailing path after a file name (/file.php/more): default lets scripts take it and "
                  "answers 404 for plain files; on accepts it everywhere, off refuses it with 404",
                  field="accept_path_info"),
        Directive("CGIPassAuth", "cgi_pass_auth", VHOST_DIRECTORY, Flag(),
                  "hand the Authorization header to CGI and FastCGI scripts as HTTP_AUTHORIZATION "
                  "(default off; PHP always sees it, as under mod_php)", series=ONLY_24,
                  instead="Apache 2.2 never hands Authorization to CGI scripts", field="cgi_pass_auth"),
        Directive("AllowEncodedSlashes", "allow_encoded_slashes", VHOST,
                  Choice(options=("off", "on", "nodecode")),
                  "a path with an encoded slash (%2F): off (default) answers 404, on decodes it, "
                  "nodecode keeps it as %2F", field="encoded_slashes"),
        Directive("MergeSlashes", "merge_slashes", VHOST, Flag(),
                  "runs of / in a path count as one (default on)", series=ONLY_24,
                  instead="Apache 2.2 always merges slashes", field="merge_slashes"),
        Directive("LimitInternalRecursion", "limit_internal_recursion", VHOST, RecursionLimit(),
                  "internal redirects (ErrorDocument, a script's local Location, DirectoryIndex...) "
                  "one request may go through, default 10; a second number is accepted",
                  field="internal_recursion"),
        Directive("SetOutputFilter", "set_output_filter", VHOST_DIRECTORY, OutputFilter(),
                  "the output filter of every response here, whatever its type: DEFLATE (gzip, as "
                  "mod_deflate), or none", field="output_filter"),
        Directive("RLimitCPU", "rlimit_cpu", VHOST_DIRECTORY, ResourceLimit(resource=resource.RLIMIT_CPU),
                  "seconds of CPU a CGI program may use (soft, then hard: SIGXCPU, then SIGKILL)"),
        Directive("RLimitMEM", "rlimit_mem", VHOST_DIRECTORY, ResourceLimit(resource=resource.RLIMIT_AS),
                  "bytes of address space a CGI program may map"),
        Directive("RLimitNPROC", "rlimit_nproc", VHOST_DIRECTORY,
                  ResourceLimit(resource=resource.RLIMIT_NPROC),
                  "processes the user a CGI program runs as may have at once"),
        Directive("TraceEnable", "trace_enable", VHOST, Choice(options=("on", "off", "extended")),
                  "TRACE requests: on (default) echoes them back, off answers 405, extended also allows a "
                  "request body", field="trace_enable"),
    ),
    sections=(
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
        Section("FilesMatch", SERVER_VHOST, "settings for file names matching a regex", kind="files",
                regex=True),
        Section("IfModule", EVERYWHERE, "read when the module is loaded ([!]name): the modules itkgw "
                "implements always are, others never"),
        Section("IfDefine", EVERYWHERE, "read when NAME is defined by -D or Define ([!]NAME)"),
        Section("IfVersion", EVERYWHERE, "read when the httpd version --compat emulates (2.4.62, or 2.2.34) "
                "compares as asked ([[!]op] version, op one of = == < <= > >= ~, or /regex/)"),
    ),
    settings={Context.VHOST: RequestSettings, Context.DIRECTORY: RequestSettings},
)
