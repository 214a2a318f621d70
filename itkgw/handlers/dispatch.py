"""After the identity switch: find the file a request names and hand it to a handler.

Everything here runs as the vhost's user, so a file that user cannot read
fails with EACCES exactly as it would for their own shell. mpm-itk's rule
applies: on a request after the first of a connection, EACCES closes the
connection without a response (the client retries on a fresh connection,
which a root-started process serves) instead of a 403 the client might cache.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import logging
import os
import resource
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from itkgw.config.kinds_structured import unknown_handler
from itkgw.config.model import DirSection, HeaderRule, ServerConfig, VHost
from itkgw.config.modules.autoindex import AutoindexSettings
from itkgw.config.modules.cgi import CGISettings
from itkgw.config.modules.core import DEFAULT_ETAG, RequestSettings
from itkgw.config.modules.deflate import DeflateSettings
from itkgw.config.modules.dir import DirSettings
from itkgw.config.modules.expires import ExpiresSettings
from itkgw.config.modules.fcgid import FcgidSettings
from itkgw.config.modules.filter import FilterSettings
from itkgw.config.modules.headers import RequestHeaderSettings
from itkgw.config.modules.negotiation import NegotiationSettings
from itkgw.config.modules.php import PHPRunSettings
from itkgw.config.modules.proxy_fcgi import ProxySettings
from itkgw.config.modules.setenvif import SetEnvIfSettings
from itkgw.errors import CloseConnection, ConfigError, HTTPError, InternalRedirect
from itkgw.handlers import (
    autoindex,
    cgi,
    expires,
    fcgid,
    known_files,
    negotiation,
    phpcgi,
    proxy_fcgi,
    static,
    walk,
)
from itkgw.handlers.known_files import KnownFile
from itkgw.http.connection import PROTOCOL_VARIABLES, HTTPConnection, Request, apply_header_rules
from itkgw.http.deflate import DeflateRule, accepts_gzip
from itkgw.request import access_files, canonical
from itkgw.request.dirconf import DirConfig, follows_any_link, merge, options_at, vhost_level
from itkgw.request.mime import MimeTypes
from itkgw.request.routing import Plan, apply_redirects, denial, set_cookies, with_cookies
from itkgw.request.setenvif import apply_env_conditions
from itkgw.request.variables import context_of, wire
from itkgw.rules import rewrite
from itkgw.rules.expr import ExprError, cached_condition, cached_string
from itkgw.rules.rewrite import RewriteRule

log = logging.getLogger("itkgw.core")
_cgi_log = logging.getLogger("itkgw.cgi")
_fcgid_log = logging.getLogger("itkgw.fcgid")
_proxy_log = logging.getLogger("itkgw.proxy_fcgi")
_php_log = logging.getLogger("itkgw.php")
_headers_log = logging.getLogger("itkgw.headers")


@dataclass(frozen=True)
class Script:
    """The file a request names, and the URL path left over after it."""

    filename: str
    script_name: str
    path_info: str


@dataclass(frozen=True)
class Target(Script):
    """A Script that exists, with what stat(2) said of it."""

    st: os.stat_result


def _denied(exc: OSError, first: bool, what: str, refused: str = "") -> Exception:
    """The answer to a failed look at ``what``; ``refused``: httpd's log line of a 403 there
    (the system error goes before it, as httpd writes it)."""
    if exc.errno == errno.EACCES and not first:
        return CloseConnection(f"EACCES on {what} after the identity switch")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return HTTPError(403, refused, cause=exc) if refused else HTTPError(403, f"permission denied: {what}")
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP):
        return HTTPError(404, None)
    return HTTPError(500, f"cannot access {what}: {exc.strerror}")


def locate(request: Request, dirconf: DirConfig, first: bool) -> Target:
    """The existing file for the request path, splitting off PATH_INFO.

    Walks up from the full path until an existing entry is found, as
    Apache's directory walk does; what is left over is PATH_INFO.
    """
    path, rest, st = _existing_part(dirconf, first)
    url = request.path
    script_name = url[: len(url) - len(rest)] if rest else url
    if rest and stat.S_ISDIR(st.st_mode):
        raise HTTPError(404, None)
    return Target(path, script_name, rest, st)


def _existing_part(dirconf: DirConfig, first: bool) -> tuple[str, str, os.stat_result]:
    """The longest existing path the mapped path starts with, the URL path after it, and
    its stat(2); ``/env.php/`` leaves ``/`` after the script, as Apache's walk does."""
    path = dirconf.fs_path.rstrip("/") or "/"
    trailing_slash = path != dirconf.fs_path and path != "/"
    rest = ""
    while True:
        try:
            st = os.stat(path)
            break
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR) or len(path) <= len(dirconf.base_dir):
                raise _denied(exc, first, path) from None
            if exc.errno == errno.ENOENT and os.path.islink(path):  # httpd's walk: a link to nothing
                raise HTTPError(403, f"AH00037: Symbolic link not allowed or link target not accessible: "
                                f"{path}") from None
        parent, name = os.path.split(path)
        rest = "/" + name + rest
        path = parent
    if trailing_slash and (rest or not stat.S_ISDIR(st.st_mode)):
        rest += "/"
    return path, rest, st


def _walked(dirconf: DirConfig, first: bool) -> tuple[str, str]:
    """r->filename and r->path_info as Apache's walk leaves them: an existing file and the
    rest; below an existing directory, the first name missing in it and the rest after
    that name (/app/a/b: /app, then /a/b)."""
    path, rest, st = _existing_part(dirconf, first)
    if rest and stat.S_ISDIR(st.st_mode):
        name, slash, after = rest[1:].partition("/")
        return os.path.join(path, name), slash + after
    if not rest and dirconf.fs_path.endswith("/") and path != "/":
        return path + "/", ""
    return path, rest


def _missing_script(request: Request, dirconf: DirConfig, first: bool) -> Script:
    """The script Apache's walk names for a path that does not exist (see _walked)."""
    filename, path_info = _walked(dirconf, first)
    url = request.path
    script_name = url[: len(url) - len(path_info)] if path_info else url
    return Script(filename, script_name, path_info)


#: The content type httpd gives a directory (an OPTIONS answer names it).
DIRECTORY_TYPE = "httpd/unix-directory"
#: mod_status's page, drawn by the serving process from its scoreboard: (conn, request, server name).
StatusPage = Callable[[HTTPConnection, Request, str], None]


def serve(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig, mime: MimeTypes,
          first: bool, backends: str = "", status_page: StatusPage | None = None) -> KnownFile | None:
    """Serve one request as the already switched identity; the route taken, when it was a
    static file's that the next request for this URL may take as it is (known_files)."""
    assert plan.vhost is not None
    vhost = plan.vhost
    # The .htaccess files on the way count from here on, error documents included; a
    # directory's own too when the path names it as one.
    before = plan.dirconf
    conn.filename = before.fs_path  # what the URL maps to, until a file is found
    names_directory = before.fs_path.endswith("/")
    try:
        dirconf = plan.dirconf = _merged(config, plan, before.fs_path, first, directory=names_directory)
    except HTTPError:
        # A .htaccess file that cannot be read or parsed: httpd answers under the vhost's own
        # settings (their "always" headers and ErrorDocument), none of a section's.
        plan.dirconf = vhost_level(config, vhost, plan.url_path)
        set_response_rules(conn, plan.dirconf, plan)
        raise
    set_response_rules(conn, dirconf, plan)  # "always" header rules reach the refusals below too
    conditions = dirconf.modules.get(SetEnvIfSettings).conditions
    new_conditions = conditions != before.modules.get(SetEnvIfSettings).conditions  # of .htaccess files
    if new_conditions:
        apply_env_conditions(conditions, request, plan.reqenv, lambda: context_of(
            request, vhost, plan.reqenv, before.fs_path))
    # Access is judged after the .htaccess files are read, as httpd's walk comes before its
    # access checks: theirs may open what the configuration closes (AllowOverride AuthConfig).
    denied = plan.denied
    rules_changed = (dirconf.require, dirconf.access) != (before.require, before.access)
    if new_conditions or plan.needs_login or rules_changed:
        denied = denial(request, vhost, dirconf, plan.reqenv)  # logs the user in if need be
    if denied is not None:
        raise HTTPError(403, denied)
    plan.vary = (*plan.vary, *_rewrite_in_directory(request, plan, first))
    apply_redirects(dirconf.redirects, request, vhost)  # mod_alias' fixup, after mod_rewrite's
    _change_request_headers(request, plan, dirconf)  # mod_headers' fixup, the last
    set_response_rules(conn, dirconf, plan)
    if dirconf.limit_request_body is not None:
        conn.limits.body = dirconf.limit_request_body
    if request.method == "TRACE":
        conn.header_rules = []  # httpd answers TRACE before mod_headers sees the request
        _answer_trace(conn, request, dirconf.modules.get(RequestSettings).trace_enable or "on")
        return None
    if request.method == "OPTIONS" and request.target == "*":
        static.answer_other_method(conn, "OPTIONS")  # about the server: no file, no index, no script
        return None
    backend = proxy_fcgi.pass_match(vhost.modules.get(ProxySettings), plan.url_path)
    if backend is not None:
        _serve_pass_match(conn, request, plan, config, backend)
        return None
    try:
        target = locate(request, dirconf, first)
    except HTTPError as missing:
        negotiated = _multiviews(conn, request, plan, config, mime, dirconf, first) if missing.status == 404 \
            else None
        if negotiated is not None:
            target, variant_list = negotiated
            walked = _walk(target.filename, plan, config, first)
            try:
                _serve_target(conn, request, plan, config, mime, first, target, walked, backends, status_page,
                              variant_list)  # chosen by the request's headers: no route to remember
            finally:
                os.close(walked)
            return None
        if missing.status == 404 and (_serve_virtual(conn, request, plan, config, backends, first)
                                      or _serve_missing_by_proxy(conn, request, plan, config, first)
                                      or _serve_status(conn, request, plan, config, first, status_page)
                                      or _fall_back(request, plan, config, first)
                                      or _answer_method_of_missing(conn, request, plan, config, mime, first)):
            return None
        if missing.status == 404:
            _before_missing(conn, request, plan, config, first)
        raise
    walked = _walk(target.filename, plan, config, first)
    try:
        if stat.S_ISDIR(target.st.st_mode):
            conn.handler = "httpd/unix-directory"  # mod_dir's and mod_autoindex's, until an index is served
            dirconf = plan.dirconf = _merged(config, plan, target.filename, first, directory=True)
            denied = denial(request, vhost, dirconf, plan.reqenv)
            if denied is not None:
                raise HTTPError(403, denied)
            named_as_file = not request.path.endswith("/")
            if named_as_file and dirconf.modules.get(DirSettings).directory_slash is not False:
                settings = dirconf.modules.get(RequestSettings)
                conn.signature = canonical.signature(request, vhost, settings, conn.server_banner,
                                                     conn.server_admin)  # the directory's own
                static.redirect_to_slash(conn, request, canonical.authority(request, vhost, settings))
                return None
            # DirectorySlash Off serves /dir as named: mod_dir looks for no index file there.
            index = None if named_as_file else _index_of(target, dirconf, first, lambda filename: denial(
                request, vhost, _merged(config, plan, filename, first), plan.reqenv), functools.partial(
                _negotiated_index, conn, request, plan, config, mime, dirconf, first),
                functools.partial(_fast_redirect_to_file, request, plan, config))
            if index is None and not named_as_file:
                _fall_back(request, plan, config, first, dirconf)
            if index is None:
                directory = Script(target.filename + "/", target.script_name, "")
                if _to_proxy_handler(conn, request, plan, config, directory, first):
                    return None  # mod_dir found no index; the handler SetHandler names takes the directory
                if request.method not in ("GET", "HEAD", "POST"):
                    static.answer_other_method(conn, request.method, _allow(dirconf), DIRECTORY_TYPE)
                    return None
                if request.method == "POST":
                    # As httpd: mod_autoindex lists for GET alone, and its default handler drops
                    # the body before its 404.
                    conn.discard_body()
                    raise HTTPError(404)
                if "Indexes" in dirconf.options:
                    _list_directory(conn, request, plan, config, mime, dirconf, target.filename, first)
                    return None
                raise HTTPError(403, "AH01276: Cannot serve directory %s/: No matching DirectoryIndex (%s) "
                                "found, and server-generated directory index forbidden by Options directive"
                                % (target.filename.rstrip("/"), ",".join(dirconf.directory_index)))
            target = index
            os.close(walked)
            walked = _walk(target.filename, plan, config, first)
        return _serve_target(conn, request, plan, config, mime, first, target, walked, backends, status_page)
    finally:
        os.close(walked)


#: How much of a request body TraceEnable extended echoes (httpd's limit).
_TRACE_BODY_LIMIT = 64 * 1024


def _answer_trace(conn: HTTPConnection, request: Request, mode: str) -> None:
    """TRACE as httpd's core answers it, whatever the URL maps to: the request echoed back
    as message/http (TraceEnable on), 405 (off); a body only with TraceEnable extended."""
    if mode == "off":
        raise HTTPError(405, "TRACE denied by server configuration",
                        [("Allow", static.ALLOW_WITHOUT_TRACE)])
    body = b""
    if request.has_body:
        if mode != "extended":
            raise HTTPError(413, "TRACE with a request body is not allowed (TraceEnable extended allows one)")
        for chunk in conn.body_chunks():
            body += chunk
            if len(body) > _TRACE_BODY_LIMIT:
                raise HTTPError(413, f"TRACE with a request body over {_TRACE_BODY_LIMIT} bytes")
    echo = request.head + body
    conn.send_response_head(200, [("Content-Type", "message/http"), ("Content-Length", str(len(echo)))],
                            hold=True)
    conn.send_data(echo)
    conn.end_response()


def _list_directory(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig, mime: MimeTypes,
                    dirconf: DirConfig, directory: str, first: bool) -> None:
    """mod_autoindex: the directory's entries, each judged by the access rules of its own
    sections, as httpd's subrequest per entry judges it."""
    assert plan.vhost is not None
    vhost = plan.vhost

    def content_type_of(filename: str) -> tuple[str | None, str | None]:
        content_type = dirconf.content_type_for(filename, mime) or None
        return content_type, dirconf.encoding_for(filename)

    def refused(filename: str) -> bool:
        """A subdirectory (``filename`` ends in /) is judged with its own .htaccess file too."""
        try:
            merged = _merged(config, plan, filename, first, directory=filename.endswith("/"))
            return denial(request, vhost, merged, plan.reqenv) is not None
        except HTTPError:
            return True  # its .htaccess cannot be read, or it asks for a login: httpd's subrequest fails

    try:
        autoindex.serve_listing(conn, request, directory, dirconf.modules.get(AutoindexSettings),
                                content_type_of, refused)
    except PermissionError as exc:
        raise _denied(exc, first, directory) from None


def _serve_virtual(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                   backends: str, first: bool) -> bool:
    """FcgidWrapper ... virtual: a request for a file that does not exist still goes to the
    wrapper, as mod_fcgid's; False when no virtual wrapper serves the path."""
    assert plan.vhost is not None
    vhost, filename = plan.vhost, plan.dirconf.fs_path
    dirconf = _merged(config, plan, filename, first)
    wrapper = dirconf.modules.get(FcgidSettings).wrapper_for(filename)
    if dirconf.handler_for(filename) != "fcgid" or wrapper is None or not wrapper.virtual:
        return False
    denied = denial(request, vhost, dirconf, plan.reqenv)
    if denied is not None:
        raise HTTPError(403, denied)
    _serve_fcgid(conn, request, plan, config, dirconf, Script(filename, plan.url_path, ""), backends)
    return True


def _serve_status(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig, first: bool,
                  status_page: StatusPage | None) -> bool:
    """SetHandler server-status answers for a path with nothing on disk (/server-status), as
    mod_status does; False when that is not the path's handler."""
    assert plan.vhost is not None
    dirconf = _merged(config, plan, plan.dirconf.fs_path, first)
    if status_page is None or dirconf.handler_for(dirconf.fs_path) != "status":
        return False
    denied = denial(request, plan.vhost, dirconf, plan.reqenv)
    if denied is not None:
        raise HTTPError(403, denied)
    _answer_status(conn, request, plan.vhost, dirconf, status_page)
    return True


def _answer_status(conn: HTTPConnection, request: Request, vhost: VHost, dirconf: DirConfig,
                   status_page: StatusPage) -> None:
    """mod_status's page, under the name the request knows the server by."""
    conn.discard_body()
    settings = dirconf.modules.get(RequestSettings)
    status_page(conn, request, canonical.server_name(request, vhost, settings))


def _fall_back(request: Request, plan: Plan, config: ServerConfig, first: bool,
               dirconf: DirConfig | None = None) -> bool:
    """FallbackResource: a request for nothing on disk that no handler takes (or for a
    directory without an index file, ``dirconf`` its settings) becomes a request for the
    fallback URL, as mod_dir's fast redirect makes it, when that URL names a file; False
    when none applies."""
    assert plan.vhost is not None
    if dirconf is None:
        dirconf = _merged(config, plan, plan.dirconf.fs_path, first)
        if dirconf.script_alias or dirconf.handler_name(dirconf.fs_path) is not None:
            return False  # a handler answers for the missing file itself (mod_php: not found)
    fallback = dirconf.modules.get(DirSettings).fallback
    if fallback is None:
        return False
    if not fallback.startswith("/"):
        fallback = request.path.rsplit("/", 1)[0] + "/" + fallback
    _fast_redirect_to_file(request, plan, config, fallback)
    return False  # httpd's subrequest finds no file: the request's own 404 stands


def set_response_rules(conn: HTTPConnection, dirconf: DirConfig, plan: Plan) -> None:
    """What the response gets from the sections that apply: Header rules, AddDefaultCharset,
    the DEFLATE filter, ServerSignature's line."""
    started = conn.request.received if conn.request is not None else time.time()
    conn.header_rules = _header_rules(dirconf, plan, started, conn.request)
    settings = dirconf.modules.get(RequestSettings)
    conn.default_charset = settings.default_charset or "off"
    variables = _special_variables(plan, dirconf)
    conn.deflate = _deflate_rule(conn, settings, dirconf, plan, variables)
    conn.protocol_variables = frozenset(name for name in PROTOCOL_VARIABLES if name in variables)
    if conn.request is not None and plan.vhost is not None:
        conn.signature = canonical.signature(conn.request, plan.vhost, settings, conn.server_banner,
                                             conn.server_admin)


#: Request variables httpd itself acts on, whether SetEnvIf, a rewrite's E= or SetEnv sets them.
_SPECIAL_VARIABLES = (*PROTOCOL_VARIABLES, "no-gzip", "gzip-only-text/html", "force-gzip")


def _special_variables(plan: Plan, dirconf: DirConfig) -> dict[str, str]:
    """Those of _SPECIAL_VARIABLES the request has: SetEnvIf's and E='s, then SetEnv's (mod_env's
    fixup, before the handler answers), less UnsetEnv's."""
    found = {name: plan.reqenv[name] for name in _SPECIAL_VARIABLES if name in plan.reqenv}
    if dirconf.set_env or dirconf.unset_env:
        found.update((name, value) for name, value in dirconf.set_env.items() if name in _SPECIAL_VARIABLES)
        for name in dirconf.unset_env:
            found.pop(name, None)
    return found


def _deflate_rule(conn: HTTPConnection, settings: RequestSettings, dirconf: DirConfig,
                  plan: Plan, variables: dict[str, str]) -> DeflateRule | None:
    """DEFLATE for the response, if SetOutputFilter, AddOutputFilter or AddOutputFilterByType
    puts it here."""
    if settings.output_filter is not None and "DEFLATE" in settings.output_filter.split(";") \
            or dirconf.filtered_by(dirconf.fs_path, "DEFLATE"):
        types: frozenset[str] | None = None
    else:
        types = dirconf.modules.get(FilterSettings).deflated_types()
        if not types:
            return None
    request = conn.request
    forced = "force-gzip" in variables
    accepted = forced or (request is not None and accepts_gzip(request.header("accept-encoding")))
    assert plan.vhost is not None
    return DeflateRule(types, plan.vhost.modules.get(DeflateSettings), accepted,
                       refused="no-gzip" in variables, html_only=variables.get("gzip-only-text/html") == "1")


def _header_rules(dirconf: DirConfig, plan: Plan, started: float,
                  request: Request | None) -> list[HeaderRule]:
    """The response header rules: mod_rewrite's Vary (the request headers its applied
    conditions looked at), then the Header lines of the sections."""
    read: list[str] = []
    rules = _when_env_says(dirconf.headers, plan, dirconf, started, request, read)
    varied = (*plan.vary, *read)
    vary = [HeaderRule("vary", "Vary", ", ".join(dict.fromkeys(varied)))] if varied else []
    cookies = [HeaderRule("add", "Set-Cookie", cookie, always=True) for cookie in plan.cookies]
    return [*vary, *cookies, *rules]


def _when_env_says(rules: Sequence[HeaderRule], plan: Plan, dirconf: DirConfig, started: float,
                   request: Request | None, read: list[str] | None = None) -> list[HeaderRule]:
    """The rules without a condition, those whose env= the request's variables (SetEnv,
    SetEnvIf, RewriteRule's E=) meet, and those whose expr= holds (the request headers it
    read go to ``read``, for Vary, as httpd's ap_expr notes them); format specifiers in
    their values filled in (``started``: when the request began, for %D)."""
    if not any(rule.env or rule.expr or rule.formatted for rule in rules):
        return list(rules)
    variables, now = script_env(plan, dirconf), time.time()
    kept = []
    for rule in rules:
        if rule.env and (rule.env.lstrip("!") in variables) == rule.env.startswith("!"):
            continue
        if rule.expr and not _judged(rule.expr, request, plan, dirconf.fs_path, read):
            continue
        kept.append(_filled(rule, variables, started, now, request, plan, dirconf.fs_path)
                    if rule.formatted else rule)
    return kept


def _no_workers() -> tuple[int, int]:
    return 0, 0


#: The shares of the server's workers idle and busy, in percent (mod_headers' %i and %b), as
#: the process model counts them in its scoreboard; it sets this before serving.
worker_load: Callable[[], tuple[int, int]] = _no_workers


def _filled(rule: HeaderRule, variables: dict[str, str], started: float, now: float, request: Request | None,
            plan: Plan, fs_path: str) -> HeaderRule:
    """A rule's value for this request: its expr= evaluated (an error logged, and an empty
    value, as mod_headers does; the headers it reads make no Vary, unlike a condition's), or
    its format specifiers filled in."""
    expression = rule.value_expression
    if expression is None:
        return rule.filled(variables, started, now, worker_load)
    value = ""
    if request is not None and plan.vhost is not None:
        context = context_of(request, plan.vhost, plan.reqenv, fs_path)
        try:
            value = cached_string(expression).string(context)
        except ExprError as exc:
            _headers_log.error("AH02557: Can't evaluate value expression: %s", exc.message)
    return dataclasses.replace(rule, value=value)


def _judged(expression: str, request: Request | None, plan: Plan, fs_path: str,
            read: list[str] | None) -> bool:
    """An expression (an <If>'s, a Header rule's expr=) on the request, as its identity judges
    it (file tests allowed); the request headers it reads go to ``read``, for Vary. Without a
    request it fails."""
    if request is None or plan.vhost is None:
        return False
    context = context_of(request, plan.vhost, plan.reqenv, fs_path)
    context.read_headers = read
    return cached_condition(expression, files=True).boolean(context)


def _change_request_headers(request: Request, plan: Plan, dirconf: DirConfig) -> None:
    """RequestHeader: the request's headers as the handler (and a script's HTTP_*) will see them."""
    read: list[str] = []
    rules = _when_env_says(dirconf.modules.get(RequestHeaderSettings).request_headers or (), plan, dirconf,
                           request.received, request, read)
    if read:  # the response names what their expr= conditions read
        plan.vary = (*plan.vary, *read)
    if rules:
        changed = apply_header_rules(request.headers, rules)
        request.headers = [(name.lower(), value) for name, value in changed]


def _rewrite_in_directory(request: Request, plan: Plan, first: bool) -> tuple[str, ...]:
    """mod_rewrite's per-directory pass (its fixup), on the file the path maps to and the
    path info after it: a new path is an internal redirect with the request's method and
    body, which runs everything again, these rules too (as in httpd, a rule that leaves
    the new path alone ends the loop)."""
    per_dir = plan.dirconf.rewrite
    if per_dir is None or not per_dir.engine or not per_dir.rules or plan.rewrite_ended:
        return ()
    assert plan.vhost is not None
    filename, path_info = _walked(plan.dirconf, first)
    ctx = context_of(request, plan.vhost, plan.reqenv, filename)
    try:
        rules = _compiled(per_dir.rules)
    except ConfigError as exc:
        raise HTTPError(500, f"{exc.where}: {exc.message}") from None
    result = rules.apply_in_directory(filename, path_info, request.query, ctx, per_dir.directory,
                                      per_dir.base, plan.vhost.rewrite_maps)
    plan.reqenv.update(result.env_set)
    plan.forced_type = result.content_type or plan.forced_type
    plan.rewrite_ended = plan.rewrite_ended or result.ended
    plan.forced_handler = result.handler or plan.forced_handler
    plan.cookies = with_cookies(plan.cookies, result.cookies)
    if result.status is not None:
        # httpd logs nothing of a rule's F or G (mod_rewrite's trace levels would say it).
        raise HTTPError(result.status, None, headers=set_cookies(plan.cookies))
    if result.redirect is not None:
        raise HTTPError(result.redirect[0], None,
                        headers=[("Location", result.redirect[1]), *set_cookies(plan.cookies)])
    if result.path:
        target = quote(result.path.encode("utf-8", "surrogateescape"), safe="/!$&'()*+,;=:@~")
        raise InternalRedirect(target + (f"?{result.query}" if result.query else ""), keep_method=True,
                               vary=result.vary)
    request.query = result.query
    return result.vary


@functools.lru_cache(maxsize=64)
def _compiled(rules: tuple[RewriteRule, ...]) -> rewrite.RuleSet:
    """Per-directory rules, compiled once per process (those of .htaccess files are not
    known to the master)."""
    return rewrite.compile_rules(rules)


def _merged(config: ServerConfig, plan: Plan, fs_path: str, first: bool,
            directory: bool = False) -> DirConfig:
    """The sections for ``fs_path`` (``directory``: a directory, whose own .htaccess counts)
    with those of the .htaccess files on the way, read now, as the request's identity."""
    assert plan.vhost is not None
    where = (fs_path.rstrip("/") if directory else os.path.dirname(fs_path.rstrip("/"))) or "/"
    access = _access_along(config, plan, where, first)
    read: list[str] = []  # by <If> conditions, for the response's Vary
    holds = None if plan.request is None else (
        lambda condition: _judged(condition, plan.request, plan, fs_path, read))
    merged = merge(config, plan.vhost, plan.url_path, fs_path=fs_path, access=access, holds=holds)
    if read:
        plan.vary = (*plan.vary, *read)
    return merged


def _access_along(config: ServerConfig, plan: Plan, directory: str, first: bool) -> tuple[DirSection, ...]:
    """The sections of the .htaccess files from / down to ``directory``, read once per request."""
    assert plan.vhost is not None
    access = plan.access_read.get(directory)
    if access is None:
        try:
            seen = plan.access_seen[directory] = []
            access = plan.access_read[directory] = access_files.sections_along(config, plan.vhost, directory,
                                                                               seen)
        except OSError as exc:
            folder = os.path.dirname(exc.filename or directory)
            raise _denied(exc, first, str(exc.filename), f"AH00529: {exc.filename} pcfg_openfile: unable to "
                          f"check htaccess file, ensure it is readable and that '{folder}/' is "
                          "executable") from None
    return access


def _rlimits(settings: RequestSettings) -> tuple[tuple[int, tuple[int, int]], ...]:
    """RLimitCPU, RLimitMEM and RLimitNPROC of a CGI program, as setrlimit(2) pairs."""
    pairs = ((resource.RLIMIT_CPU, settings.rlimit_cpu), (resource.RLIMIT_AS, settings.rlimit_mem),
             (resource.RLIMIT_NPROC, settings.rlimit_nproc))
    return tuple((which, limits) for which, limits in pairs if limits is not None)


def _before_missing(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                    first: bool) -> None:
    """What the handler of a path that does not exist does before its 404, as httpd's: mod_php
    logs the script it did not find; the default handler reads and drops the request body
    first, so an ErrorDocument script gets none (a script's handler leaves it to the document)."""
    script = _missing_script(request, plan.dirconf, first)
    try:
        handler = _merged(config, plan, script.filename, first).handler_for(script.filename)
    except HTTPError:
        return  # the 404 stands; the .htaccess file in the way says why in its own line
    if handler == "php":
        _php_log.error("script '%s' not found or unable to stat", script.filename)
    elif handler == "static":
        conn.discard_body()


def _allow(dirconf: DirConfig) -> str:
    """The Allow header of a static answer where ``dirconf`` applies."""
    trace = dirconf.modules.get(RequestSettings).trace_enable
    return static.ALLOW_WITHOUT_TRACE if trace == "off" else static.ALLOW


def _answer_method_of_missing(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                              mime: MimeTypes, first: bool) -> bool:
    """httpd's default handler judges the method before the file: OPTIONS, PUT and the like get
    their answer for a path that does not exist as for one that does (200, 405, 501), not 404."""
    if request.method in ("GET", "HEAD", "POST"):
        return False
    assert plan.vhost is not None
    script = _missing_script(request, plan.dirconf, first)
    dirconf = _merged(config, plan, script.filename, first)
    if dirconf.handler_for(script.filename) != "static":
        return False
    content_type = dirconf.content_type_for(script.filename, mime) or None
    static.answer_other_method(conn, request.method, _allow(dirconf), content_type)
    return True


def _serve_missing_by_proxy(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                            first: bool) -> bool:
    """A path that does not exist still goes to a FastCGI server SetHandler names there, as
    mod_proxy_fcgi's (a php-fpm pool answers "File not found.", an application mounted at a
    <Location> takes every path under it); False when no such handler applies."""
    script = _missing_script(request, plan.dirconf, first)
    return _to_proxy_handler(conn, request, plan, config, script, first)


def _to_proxy_handler(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                      script: Script, first: bool) -> bool:
    """``script`` to the FastCGI server SetHandler names for it, past the access rules of its
    sections; False when its handler is another."""
    assert plan.vhost is not None
    directory = script.filename.endswith("/")
    dirconf = _merged(config, plan, script.filename.rstrip("/"), first, directory=directory)
    if dirconf.handler_for(script.filename) != "fcgi":
        return False
    denied = denial(request, plan.vhost, dirconf, plan.reqenv)
    if denied is not None:
        raise HTTPError(403, denied)
    fcgid.release_held()
    _serve_proxy_handler(conn, request, plan, config, dirconf, script)
    return True


def _serve_proxy_handler(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                         dirconf: DirConfig, script: Script) -> None:
    """SetHandler "proxy:...": SCRIPT_FILENAME as mod_proxy_fcgi sends it, with the handler's
    fcgi:// URL before the path for ProxyFCGIBackendType FPM (php-fpm removes it), bare for GENERIC."""
    handler = dirconf.handler_name(script.filename)
    assert handler is not None
    filename = script.filename
    if dirconf.modules.get(ProxySettings).backend_type != "generic":
        filename = "proxy:" + handler[handler.index("|") + 1:].rstrip("/") + filename \
            if "|" in handler else handler.rstrip("/") + filename
    env = _script_environ(request, plan, config, dirconf, script.script_name, filename, script.path_info)
    _to_fastcgi(conn, plan, config, dirconf, handler, env, script.filename)


def _serve_pass_match(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                      backend: str) -> None:
    """ProxyPassMatch: the URL path goes to a FastCGI server, whose URL holds the script's path;
    nothing of the local filesystem is looked at (mod_proxy takes the request before mapping)."""
    assert plan.vhost is not None
    vhost, dirconf = plan.vhost, plan.dirconf
    filename = proxy_fcgi.script_filename(backend, dirconf.modules.get(ProxySettings).backend_type)
    env = _script_environ(request, plan, config, dirconf, plan.url_path, filename, "",
                          ("", vhost.document_root))  # taken before mapping: no alias's
    _to_fastcgi(conn, plan, config, dirconf, "proxy:" + backend, env, backend)


def _script_environ(request: Request, plan: Plan, config: ServerConfig, dirconf: DirConfig, script_name: str,
                    filename: str, path_info: str, context: tuple[str, str] | None = None,
                    php: bool = False) -> dict[str, str]:
    """A script's CGI environment: RFC 3875's, then SetEnv and the request's variables, less UnsetEnv.
    ``context``: CONTEXT_PREFIX and CONTEXT_DOCUMENT_ROOT, when not the mapping's.
    ``php``: with the credentials of the Authorization header, as mod_php gives them to scripts."""
    assert plan.vhost is not None
    settings = dirconf.modules.get(RequestSettings)
    prefix, root = context or (dirconf.context_prefix, dirconf.context_root)
    site = plan.site or plan.vhost
    if site is not plan.vhost and not prefix:
        # A UserDir view: mod_userdir names /~user the context, DOCUMENT_ROOT stays the vhost's.
        prefix = "/" + plan.site_path.split("/", 2)[1]
    if php:
        authorization_as = phpcgi.php_authorization_as(settings.cgi_pass_auth)
    else:
        authorization_as = "HTTP_AUTHORIZATION" if settings.cgi_pass_auth else ""
    env = cgi.with_request_variables(cgi.cgi_environ(
        request, site, config, script_name, filename, path_info, root, settings=settings,
        authorization_as=authorization_as, context_prefix=prefix), script_env(plan, dirconf))
    for name in dirconf.unset_env:  # a CGI variable too
        env.pop(name, None)
    return _seen_by_php_cgi(phpcgi.with_php_auth(env, request), path_info) if php else env


def _seen_by_php_cgi(env: dict[str, str], path_info: str) -> dict[str, str]:
    """php-cgi, given REDIRECT_URL, takes PATH_TRANSLATED for the script and moves PATH_INFO
    aside (its workaround for mod_fastcgi's environment): a rewritten request with path info
    (RewriteRule ^(.*)$ index.php/$1, CodeIgniter's) goes without REDIRECT_URL, so that PHP
    runs the script with the PATH_INFO mod_php gives it."""
    if path_info and "REDIRECT_URL" in env:
        return {name: value for name, value in env.items() if name != "REDIRECT_URL"}
    return env


def _to_fastcgi(conn: HTTPConnection, plan: Plan, config: ServerConfig, dirconf: DirConfig, handler: str,
                env: dict[str, str], script: str) -> None:
    """Hand the request to the FastCGI server ``handler`` names, with the section's PHP settings."""
    assert plan.vhost is not None
    try:
        env.update(proxy_fcgi.php_params(dirconf.php))
    except ValueError as exc:
        raise HTTPError(500, str(exc)) from None
    timeout = plan.vhost.modules.get(ProxySettings).timeout or conn.limits.timeout
    proxy_fcgi.serve(conn, handler, env, timeout, _proxy_log, script)


def _serve_fcgid(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig, dirconf: DirConfig,
                 target: Script, backends: str) -> None:
    """An fcgid-script: mod_fcgid wants ExecCGI (or ScriptAlias) where the script is."""
    if not dirconf.exec_cgi and not dirconf.script_alias:
        _fcgid_log.error(
            "mod_fcgid: location of script %s does not have ExecCGI enabled", target.filename)
        raise HTTPError(403)
    env = _script_environ(request, plan, config, dirconf, target.script_name, target.filename,
                          target.path_info)
    _to_fcgid(conn, request, env, _fcgid_call(conn, plan, config, dirconf, target.filename), backends,
              target.filename)


def _to_fcgid(conn: HTTPConnection, request: Request, env: dict[str, str], call: fcgid.Call, backends: str,
              filename: str, php: bool = False) -> None:
    """mod_fcgid: the request on a process of its class, from the backend manager (``php``:
    PHP kept in processes, with mod_php's limits where mod_fcgid's are unset)."""
    if not backends:
        raise HTTPError(503, "mod_fcgid: no backend manager runs")
    for name in call.pass_headers:
        value = request.header(name)
        if value is not None:  # as mod_fcgid: under its own name, and as HTTP_*
            env[name] = env[cgi.header_variable(name)] = wire(value)
    if not php:  # mod_fcgid's own: hop-by-hop headers are the server's business
        env["HTTP_CONNECTION"] = "close"
        for name in ("HTTP_KEEP_ALIVE", "HTTP_TE", "HTTP_TRAILER", "HTTP_TRANSFER_ENCODING", "HTTP_UPGRADE"):
            env.pop(name, None)
    fcgid.serve(conn, request, backends, call, env, filename, php=php)


def _fcgid_call(conn: HTTPConnection, plan: Plan, config: ServerConfig, dirconf: DirConfig, filename: str,
                php: bool = False) -> fcgid.Call:
    """What a request for ``filename`` asks the backend manager for, and under which limits:
    the same for every request of its route."""
    assert plan.site is not None
    settings = dirconf.modules.get(FcgidSettings)
    # php_value settings go too: those of .htaccess files are not in the manager's view.
    values = [[setting.name, setting.value] for setting in dirconf.php.values() if not setting.admin]
    coordinates: dict[str, object] = {"vhost": fcgid.vhost_index(config, plan.site), "url": plan.site_path,
                                      "file": filename, "php": values, "kind": "php" if php else "fcgid"}
    if php and (short := fcgid.short_names(dirconf.set_env, dirconf.unset_env)):
        coordinates["env"] = short
    return fcgid.Call(fcgid.question(coordinates), fcgid.RequestLimits.of(settings, conn.limits.timeout, php),
                      tuple(settings.pass_headers or ()))


def _walk(path: str, plan: Plan, config: ServerConfig, first: bool) -> int:
    """``path`` walked under the symlink Options of the vhost and of the .htaccess files on
    the way: an O_PATH descriptor of it."""
    vhost = plan.vhost
    assert vhost is not None
    access = _access_along(config, plan, os.path.dirname(path.rstrip("/")) or "/", first)
    follow_all = follows_any_link(vhost) and all(section.options is None for section in access)
    try:
        return walk.walk(path, lambda directory: options_at(vhost, directory, access), follow_all)
    except OSError as exc:
        raise _denied(exc, first, path) from None


def _serve_target(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig, mime: MimeTypes,
                  first: bool, target: Target, walked: int, backends: str,
                  status_page: StatusPage | None = None, variant_list: str | None = None) -> KnownFile | None:
    """Hand the located file (``walked``, its O_PATH descriptor) to its handler; a static
    file's route, when known_files may keep it. ``variant_list``: the validator of the
    variants MultiViews chose the file from."""
    assert plan.vhost is not None
    vhost = plan.vhost
    if not stat.S_ISREG(target.st.st_mode):
        raise HTTPError(403, f"not a regular file: {target.filename}")
    # <Files> sections, access rules and handlers see the file actually served
    # (an index file, a script with PATH_INFO after it).
    dirconf = _merged(config, plan, target.filename, first)
    denied = denial(request, vhost, dirconf, plan.reqenv)
    if denied is not None:
        raise HTTPError(403, denied)
    if (dirconf.identity, dirconf.user_expr, dirconf.group_expr) != (
            plan.dirconf.identity, plan.dirconf.user_expr, plan.dirconf.group_expr):
        # A <Files> section of the file actually served (found behind PATH_INFO or as the
        # DirectoryIndex) assigns another identity than the one this process switched to
        # for the mapped path; it cannot switch again, and must not serve as the wrong one.
        raise HTTPError(500, f"{target.filename} is assigned another identity than {request.path} "
                        "maps to (AssignUserID in a <Files> section); this process cannot serve it")
    set_response_rules(conn, dirconf, plan)
    if plan.forced_handler is not None:  # RewriteRule H=, which outranks SetHandler
        dirconf = dataclasses.replace(dirconf, set_handler=plan.forced_handler)
    expiry = dirconf.modules.get(ExpiresSettings)
    if expiry.active:
        conn.success_headers = functools.partial(expires.add_expiry, settings=expiry,
                                                 mtime=target.st.st_mtime, request_time=request.received)
    kind = dirconf.handler_for(target.filename)
    conn.filename, conn.handler = target.filename, _HANDLER_NAMES.get(kind, "")  # for the access log
    if kind == "static" and (dirconf.set_handler or dirconf.handlers) and (
            named := dirconf.handler_name(target.filename)) and unknown_handler(named):
        log.warning('AH00157: handler "%s" not found for: %s', named, target.filename)
    conn.languages = dirconf.languages_for(target.filename)  # a script's answer names them too
    accept_path_info = dirconf.modules.get(RequestSettings).accept_path_info or "default"
    if target.path_info and accept_path_info != "on" and (accept_path_info == "off" or kind == "static"):
        if kind == "static" and request.method not in ("GET", "HEAD", "POST"):  # the method comes first
            content_type = plan.forced_type or dirconf.content_type_for(target.filename, mime)
            static.answer_other_method(conn, request.method, _allow(dirconf), content_type or None)
            return None
        if kind == "static":
            conn.discard_body()  # the default handler's, before its 404
        raise HTTPError(404, f"AcceptPathInfo {accept_path_info}: no path info after {target.filename}")
    if kind == "php" and not _php_may_open(target.filename, target.st):
        _answer_unreadable_php(conn, target.filename)
        return None
    persistent_php = kind == "php" and vhost.modules.get(PHPRunSettings).persistent
    if not (persistent_php or kind == "fcgid"):
        fcgid.release_held()  # a kept FastCGI process is not held through other work
    if persistent_php:
        call = _fcgid_call(conn, plan, config, dirconf, target.filename, php=True)
        known = known_files.route_of(request, plan, dirconf, target.filename, target.path_info, conn,
                                     script=call, languages=conn.languages)
        env = _script_environ(request, plan, config, dirconf, target.script_name, target.filename,
                              target.path_info, php=True)
        _to_fcgid(conn, request, env, call, backends, target.filename, php=True)
        return known
    elif kind == "php":
        phpcgi.run_php(conn, request, vhost, config, target.filename, target.script_name,
                       target.path_info, dirconf.context_root, _cgi_log, settings=dirconf.php,
                       extra_env=_seen_by_php_cgi(script_env(plan, dirconf), target.path_info),
                       request_settings=dirconf.modules.get(RequestSettings),
                       context_prefix=dirconf.context_prefix)
    elif kind == "fcgi":
        _serve_proxy_handler(conn, request, plan, config, dirconf, target)
    elif kind == "status" and status_page is not None:
        _answer_status(conn, request, vhost, dirconf, status_page)
    elif kind == "php-source":
        conn.discard_body()
        phpcgi.highlight_source(conn, request, config.php_cgi, target.filename, conn.limits.timeout)
    elif kind == "fcgid":
        _serve_fcgid(conn, request, plan, config, dirconf, target, backends)
    elif kind == "cgi":
        if not dirconf.exec_cgi and not dirconf.script_alias:
            raise HTTPError(403, f"AH02809: stderr from {target.filename}: "
                                 "Options ExecCGI is off in this directory")  # httpd 2.4.71's wording
        env = _script_environ(request, plan, config, dirconf, target.script_name, target.filename,
                              target.path_info)
        timeout = dirconf.modules.get(CGISettings).script_timeout or conn.limits.timeout
        cgi.run_cgi(conn, [target.filename], env, os.path.dirname(target.filename), timeout, _cgi_log,
                    target.filename, rlimits=_rlimits(dirconf.modules.get(RequestSettings)))
    else:
        content_type = plan.forced_type or dirconf.content_type_for(target.filename, mime)
        allow, encoding = _allow(dirconf), dirconf.encoding_for(target.filename)
        languages = conn.languages
        known = known_files.route_of(request, plan, dirconf, target.filename, target.path_info, conn,
                                     content_type, allow, encoding,
                                     languages=languages)  # before DEFLATE is settled
        _serve_static(conn, target, walked, mime, first, content_type, allow, encoding, languages,
                      variant_list, dirconf.modules.get(RequestSettings).etag_parts)
        return known
    return None


#: The handler httpd's access log names (%R) for each kind of answer; none for a file.
_HANDLER_NAMES = {"php": "application/x-httpd-php", "cgi": "cgi-script", "fcgid": "fcgid-script",
                  "fcgi": "proxy-server", "php-source": "application/x-httpd-php-source",
                  "status": "server-status"}


def serve_known(conn: HTTPConnection, request: Request, known: KnownFile, config: ServerConfig,
                mime: MimeTypes, backends: str) -> bool:
    """Answer ``request`` by the route ``known`` remembers (known_files); False, with nothing
    sent, when its file is not there as it was."""
    conn.filename, conn.handler = known.filename, "" if known.script is None else _HANDLER_NAMES["php"]
    if known.script is None:
        return known_files.serve_file(conn, request, known, mime)
    st = known_files.script_there(known)
    if st is None or not _php_may_open(known.filename, st):
        return False  # the full route answers, an unreadable script too
    script = known.script
    plan = Plan(script.url_path, script.dirconf, known.identity, vhost=script.vhost, site=script.vhost,
                site_path=script.url_path)
    known_files.set_response_rules(conn, request, known, st.st_mtime)
    if script.dirconf.limit_request_body is not None:
        conn.limits.body = script.dirconf.limit_request_body
    env = _script_environ(request, plan, config, script.dirconf, request.path, known.filename, "",
                          php=True)
    _to_fcgid(conn, request, env, script.call, backends, known.filename, php=True)
    return True


def _php_may_open(filename: str, st: os.stat_result) -> bool:
    """Whether PHP, running as this process's identity, can read the script: a file anyone may
    read, or its owner's own readable file (the owner's bits are its ACL entry too), needs no
    asking the kernel."""
    if st.st_mode & stat.S_IROTH or (st.st_mode & stat.S_IRUSR and st.st_uid == os.geteuid()):
        return True
    return os.access(filename, os.R_OK, effective_ids=True)


def _answer_unreadable_php(conn: HTTPConnection, filename: str) -> None:
    """mod_php's answer for a script its identity cannot read: PHP's fatal error, an empty 500
    in HTTP/1.0 (php-cgi would answer its own 403 "Access denied.")."""
    _php_log.warning("PHP Warning:  Unknown: Failed to open stream: Permission denied in Unknown on line 0")
    _php_log.error("PHP Fatal error:  Failed opening required '%s' in Unknown on line 0", filename)
    conn.discard_body()
    conn.send_response_head(500, [("Content-Type", "text/html; charset=UTF-8")], measure=True, http10=True)
    conn.end_response()


def script_env(plan: Plan, dirconf: DirConfig) -> dict[str, str]:
    """What scripts see beyond RFC 3875: the request's own variables (an earlier request's
    REDIRECT_*, SetEnvIf's, a rewrite's E=), then SetEnv's, which mod_env sets last, over
    them, less UnsetEnv's."""
    env = dict(plan.reqenv)
    env.update(dirconf.set_env)
    for name in dirconf.unset_env:
        env.pop(name, None)
    return env


def send_error_document(conn: HTTPConnection, status: int, target: str,
                        kept: Sequence[tuple[str, str]] = ()) -> None:
    """ErrorDocument's URL (a redirect) or text (httpd's page with it); a local path is an
    internal redirect, which the connection child makes. ``kept``: headers of the error the
    document keeps (a 401's challenge, which httpd holds in err_headers_out)."""
    if target.startswith(("http://", "https://")):
        conn.send_error(302, [("Location", target)])
        return
    # httpd's own page with the admin's text: its content type, the "always" header rules; no
    # length for a HEAD, for which httpd makes no page.
    body = target.removeprefix('"').encode()
    head = conn.request is not None and conn.request.method == "HEAD"
    length = [] if head else [("Content-Length", str(len(body)))]
    conn.send_response_head(status, [*kept, ("Content-Type", "text/html; charset=iso-8859-1"), *length],
                            generated=True)
    conn.send_data(body)
    conn.end_response()


def _index_of(directory: Target, dirconf: DirConfig, first: bool, denied: Callable[[str], str | None],
              negotiate: Callable[[Target, str], Target | None] | None = None,
              by_url: Callable[[str], None] | None = None) -> Target | None:
    """The first DirectoryIndex file that exists and that the access rules let through;
    None when there is none.

    As mod_dir: an index file the rules refuse is passed over, and when no
    other is found the answer is that refusal, never a listing. A name with
    no file is negotiated under MultiViews (``DirectoryIndex index``); a 406
    there is the answer when no other name gives an index. A name with a
    slash (``/index.php``, ``sub/index.php``) is a URL, handed to ``by_url``,
    which redirects to it when it names a file.
    """
    refusal = None
    not_acceptable = None
    for name in dirconf.directory_index:
        if "/" in name:
            if by_url is not None:
                by_url(name if name.startswith("/") else directory.script_name.rstrip("/") + "/" + name)
            continue
        filename = os.path.join(directory.filename, name)
        try:
            st = os.stat(filename)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                try:
                    chosen = negotiate(directory, name) if negotiate is not None else None
                except HTTPError as failed:
                    if failed.status != 406:
                        raise
                    not_acceptable = not_acceptable or failed
                    continue
                if chosen is not None:
                    return chosen
                continue
            raise _denied(exc, first, filename) from None
        refusal = denied(filename)
        if refusal is None:
            return Target(filename, directory.script_name.rstrip("/") + "/" + name, "", st)
    if refusal is not None:
        raise HTTPError(403, refusal)
    if not_acceptable is not None:
        raise not_acceptable
    return None


def _fast_redirect_to_file(request: Request, plan: Plan, config: ServerConfig, url_path: str) -> None:
    """mod_dir's subrequest and fast redirect (FallbackResource, a DirectoryIndex name that is
    a URL): when ``url_path`` maps to a file, the request becomes a request for it, the
    client's REQUEST_URI and query kept, no REDIRECT_ variables."""
    assert plan.vhost is not None
    if os.path.isfile(merge(config, plan.vhost, url_path).fs_path):
        raise InternalRedirect(url_path + (f"?{request.query}" if request.query else ""), keep_method=True,
                               fast=True)


def _multiviews(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig, mime: MimeTypes,
                dirconf: DirConfig, first: bool) -> tuple[Target, str] | None:
    """Under Options MultiViews, the file chosen for a name with nothing on disk, and the
    validator of the variants it was chosen from (for its ETag); None when no file is named
    like it. The answer's headers say it was chosen (conn.negotiated)."""
    if "MultiViews" not in dirconf.options:
        return None
    filename, path_info = _walked(dirconf, first)
    directory, name = os.path.split(filename)
    if not name:
        return None
    transparent = not path_info and request.method in ("GET", "HEAD")
    chosen = _negotiate(conn, request, plan, config, mime, dirconf, first, directory, name, transparent)
    if chosen is None:
        return None
    try:
        directory_st = os.stat(directory)
    except OSError as exc:
        raise _denied(exc, first, directory) from None
    url_directory = request.path[:len(request.path) - len(path_info)].rsplit("/", 1)[0]
    return (Target(chosen.path, f"{url_directory}/{chosen.name}", path_info, chosen.st),
            negotiation.list_validator(directory_st, time.time()))


def _negotiated_index(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig,
                      mime: MimeTypes, dirconf: DirConfig, first: bool, directory: Target,
                      name: str) -> Target | None:
    """A DirectoryIndex name negotiated as mod_dir's subrequest would be: its answer keeps
    the choice's headers, and its file's own ETag."""
    if "MultiViews" not in dirconf.options:
        return None
    chosen = _negotiate(conn, request, plan, config, mime, dirconf, first, directory.filename, name,
                        transparent=request.method in ("GET", "HEAD"))
    if chosen is None:
        return None
    return Target(chosen.path, directory.script_name.rstrip("/") + "/" + chosen.name, "", chosen.st)


def _negotiate(conn: HTTPConnection, request: Request, plan: Plan, config: ServerConfig, mime: MimeTypes,
               dirconf: DirConfig, first: bool, directory: str, name: str,
               transparent: bool) -> negotiation.Variant | None:
    """The variant of ``name`` in ``directory`` the request's Accept headers choose, its
    headers set on ``conn`` (``transparent``: a GET or HEAD without PATH_INFO, whose answer
    names the choice); None when no file there is named like it. Raises httpd's 404 when
    such files exist and none may be a variant, its 406 when none is acceptable."""
    vhost = plan.vhost
    assert vhost is not None

    def settings_of(path: str) -> DirConfig:
        return _merged(config, plan, path, first)

    def refused(path: str) -> bool:
        return denial(request, vhost, settings_of(path), plan.reqenv) is not None

    try:
        variants, any_match = negotiation.find_variants(directory, name, settings_of, mime, refused)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise _denied(exc, first, directory) from None
    path = os.path.join(directory, name)
    if not variants:
        if any_match:
            raise negotiation.no_variant(path)
        return None
    chosen = negotiation.choose(variants, request, dirconf.modules.get(NegotiationSettings))
    if chosen is None:
        raise negotiation.not_acceptable(variants, path)
    conn.negotiated = negotiation.chosen_headers(chosen, variants, transparent)
    return chosen


def _serve_static(conn: HTTPConnection, target: Target, walked: int, mime: MimeTypes, first: bool,
                  content_type: str | None, allow: str, encoding: str | None, languages: tuple[str, ...] = (),
                  variant_list: str | None = None, etag_parts: frozenset[str] = DEFAULT_ETAG) -> None:
    conn.discard_body()
    try:
        fd = walk.reopen(walked)  # the very file the walk judged
    except OSError as exc:
        raise _denied(exc, first, target.filename,
                      f"AH00132: file permissions deny server access: {target.filename}") from None
    try:
        static.serve_file(conn, target.filename, os.fstat(fd), fd, mime, content_type, allow, encoding,
                          languages, variant_list, etag_parts)
    finally:
        os.close(fd)
