"""From a request head to a plan: redirects, rewrites, the path, the settings, access.

Everything here runs before the identity switch and reads no file: mod_alias
Redirect, mod_rewrite rules (whose E= variables AssignUserIDExpr may read),
UserDir, the per-directory merge, then Require / Order-Allow-Deny. The
result says which identity the request needs; the connection child decides
whether it may switch to it.
"""

from __future__ import annotations

import dataclasses
import grp
import logging
import os
import pwd
from collections.abc import Sequence
from dataclasses import dataclass

from itkgw.config.model import DirSection, Identity, Redirect, ServerConfig, VHost
from itkgw.config.modules.auth_basic import AuthSettings
from itkgw.config.modules.core import RequestSettings
from itkgw.config.modules.setenvif import SetEnvIfSettings
from itkgw.errors import HTTPError
from itkgw.http.connection import Request
from itkgw.request import authn, canonical
from itkgw.request.dirconf import DirConfig, merge
from itkgw.request.setenvif import apply_env_conditions
from itkgw.request.variables import context_of
from itkgw.rules import authz, expr, rewrite
from itkgw.rules.expr_context import ExprContext
from itkgw.rules.pcre import cached_regex, fill_groups

log = logging.getLogger("itkgw.core")
_authz_log = logging.getLogger("itkgw.authz_core")


class Compiled:
    """Rewrite rules and expressions of one configuration, compiled in the master."""

    def __init__(self, config: ServerConfig) -> None:
        self.rules: dict[str, rewrite.RuleSet] = {}
        self.exprs: dict[str, expr.Expr] = {}
        for vhost in config.vhosts:
            if vhost.rewrite_engine and vhost.rewrite_rules:
                self.rules[vhost.server_name] = rewrite.compile_rules(vhost.rewrite_rules)
            texts = [vhost.assign_user_id_expr, vhost.assign_group_id_expr]
            texts += [s.assign_user_id_expr for s in vhost.directories]
            texts += [s.assign_group_id_expr for s in vhost.directories]
            for text in texts:
                if text and text not in self.exprs:
                    self.exprs[text] = expr.parse(text)


@dataclass(init=False)
class Plan:
    """What a request needs: its settings, its identity, its variables.

    Its ``__init__`` is written out, as Request's is (http/connection.py): made per request."""

    url_path: str
    dirconf: DirConfig
    identity: Identity
    reqenv: dict[str, str]
    #: Why access control refused the request, if it did. The refusal is
    #: answered after the identity switch, as mpm-itk switches in the
    #: header parser, before access checks run.
    denied: str | None
    #: The access rules grant the request only to a user who logs in: the login is
    #: asked for after the switch (the password file is read as the identity).
    needs_login: bool
    vhost: VHost | None
    #: The configured vhost and the URL path before a UserDir view replaced them
    #: (what the FastCGI backend manager is told, so it can take the same view).
    site: VHost | None
    site_path: str
    #: Request headers rewrite conditions looked at, for the response's Vary.
    vary: tuple[str, ...]
    #: The Content-Type a RewriteRule's T= forces on a file served.
    forced_type: str | None
    #: The sections of the .htaccess files read for this request, by the directory read down
    #: to: the mapped path, the file and its index each need them, each read once.
    access_read: dict[str, tuple[DirSection, ...]]
    #: The paths each of those reads tried, with what was there (access_files.Seen): a route
    #: kept by its URL (known_files) holds while they stay so.
    access_seen: dict[str, list[tuple[str, tuple[int, int, int, int] | None]]]
    #: A RewriteRule with END applied: no rules run again, through internal redirects too.
    rewrite_ended: bool
    #: The handler a RewriteRule's H= forces on the request.
    forced_handler: str | None
    #: The request, whose .htaccess <If> conditions the merges on its way judge.
    request: Request | None
    #: RewriteRule CO='s Set-Cookie values, which go out with any answer (err_headers_out).
    cookies: tuple[str, ...]

    def __init__(self, url_path: str, dirconf: DirConfig, identity: Identity,
                 reqenv: dict[str, str] | None = None, denied: str | None = None, needs_login: bool = False,
                 vhost: VHost | None = None, site: VHost | None = None, site_path: str = "",
                 vary: tuple[str, ...] = (), forced_type: str | None = None,
                 access_read: dict[str, tuple[DirSection, ...]] | None = None,
                 access_seen: dict[str, list[tuple[str, tuple[int, int, int, int] | None]]] | None = None,
                 rewrite_ended: bool = False, forced_handler: str | None = None,
                 request: Request | None = None, cookies: tuple[str, ...] = ()) -> None:
        self.url_path = url_path
        self.dirconf = dirconf
        self.identity = identity
        self.reqenv = {} if reqenv is None else reqenv
        self.denied = denied
        self.needs_login = needs_login
        self.vhost = vhost
        self.site = site
        self.site_path = site_path
        self.vary = vary
        self.forced_type = forced_type
        self.access_read = {} if access_read is None else access_read
        self.access_seen = {} if access_seen is None else access_seen
        self.rewrite_ended = rewrite_ended
        self.forced_handler = forced_handler
        self.request = request
        self.cookies = cookies


def _redirect(status: int, location: str | None, cookies: tuple[str, ...] = ()) -> HTTPError:
    headers = [("Location", location)] if location else []
    return HTTPError(status, None, headers=[*headers, *set_cookies(cookies)])


def set_cookies(cookies: tuple[str, ...]) -> list[tuple[str, str]]:
    """The Set-Cookie headers of RewriteRule CO= cookies."""
    return [("Set-Cookie", cookie) for cookie in cookies]


def with_cookies(earlier: tuple[str, ...], later: tuple[str, ...]) -> tuple[str, ...]:
    """CO='s cookies of a request and of its internal redirect: a name is set once, the first
    time (httpd notes each name on the main request)."""
    names = {cookie.split("=", 1)[0] for cookie in earlier}
    return (*earlier, *(cookie for cookie in later if cookie.split("=", 1)[0] not in names))


def apply_redirects(redirects: Sequence[Redirect], request: Request, vhost: VHost) -> None:
    """mod_alias: the first Redirect whose URL path prefixes the request's, or RedirectMatch
    whose regex matches it, answers; what the request's path gives the target is %-escaped;
    the query goes along unless the target has its own; a URL path becomes an absolute URL
    back to this server, as httpd sends it."""
    for rule in redirects:
        if rule.regex:
            match = cached_regex(rule.url_path).search(request.path)
            if match is None:
                continue
            target = rule.target and _escaped_path(fill_groups(rule.target, match))
        else:
            stem = rule.url_path.rstrip("/")
            if not (request.path == stem or request.path.startswith(stem + "/") or rule.url_path == "/"):
                continue
            rest = expr.escape_uri(request.path[len(stem):])
            target = rule.target and (rule.target.rstrip("/") + rest if rest else rule.target)
        if target is None or not 300 <= rule.status < 400:
            raise HTTPError(rule.status if target is None else 410)
        if target.startswith("/"):
            settings = vhost.modules.get(RequestSettings)
            target = f"http://{canonical.authority(request, vhost, settings)}{target}"
        if request.query and "?" not in target:
            target += "?" + request.query
        raise _redirect(rule.status, target)


def _escaped_path(target: str) -> str:
    """RedirectMatch's filled target with its path %-escaped, its query and fragment as
    they are (mod_alias parses the URL and escapes the path alone)."""
    rest = min((index for index in (target.find("?"), target.find("#")) if index >= 0), default=len(target))
    return expr.escape_uri(target[:rest]) + target[rest:]


def user_dir_view(vhost: VHost, url_path: str) -> tuple[str, VHost] | None:
    """``/~name/rest`` with UserDir set: a vhost view rooted in the user's directory."""
    if not vhost.user_dir or not url_path.startswith("/~"):
        return None
    name, _, rest = url_path[2:].partition("/")
    disabled = vhost.user_dir_disabled
    if name in disabled or ("*" in disabled and name not in vhost.user_dir_enabled):
        return None  # mod_userdir declines: the path maps as any other (/~root/ below DocumentRoot)
    try:
        home = pwd.getpwnam(name).pw_dir
    except KeyError:
        raise HTTPError(404) from None
    root = vhost.user_dir if vhost.user_dir.startswith("/") else os.path.join(home, vhost.user_dir)
    root = root.replace("*", name)
    return "/" + rest, dataclasses.replace(vhost, document_root=root)


def _rewrite_urls(vhost: VHost, request: Request) -> dict[str, str]:
    """SCRIPT_URL and SCRIPT_URI, which mod_rewrite gives every request of a server whose
    RewriteEngine is on, rule or no rule: the URL path, and it as an absolute URL."""
    authority = canonical.authority(request, vhost, vhost.modules.get(RequestSettings))
    return {"SCRIPT_URL": request.path, "SCRIPT_URI": f"http://{authority}{request.path}"}


def identity_by_vhost_alone(vhost: VHost) -> bool:
    """Whether every request of ``vhost`` runs as one identity at one NiceValue, whatever its
    URL, headers or rewrites: no section sets either, no AssignUserIDExpr, no UserDir."""
    if vhost.user_dir or vhost.assign_user_id_expr or vhost.assign_group_id_expr:
        return False
    return not any(section.assign_user_id is not None or section.assign_user_id_expr
                   or section.assign_group_id_expr or section.nice_value is not None
                   for section in vhost.directories)


def plan_request(config: ServerConfig, compiled: Compiled, vhost: VHost, request: Request,
                 rewrite_ended: bool = False) -> Plan:
    """Decide everything about a request that can be decided as the worker. ``rewrite_ended``:
    an internal redirect of a request on which a RewriteRule with END applied."""
    apply_redirects(vhost.redirects, request, vhost)
    reqenv: dict[str, str] = {}

    def expressions_context() -> ExprContext:
        """What ap_expr sees of the request as it stands (``vhost`` is the UserDir view once made)."""
        return context_of(request, vhost, reqenv)

    apply_env_conditions(vhost.modules.get(SetEnvIfSettings).conditions, request, reqenv, expressions_context)
    url_path = request.path
    if vhost.rewrite_engine:
        reqenv.update(_rewrite_urls(vhost, request))
    rules = None if rewrite_ended else compiled.rules.get(vhost.server_name)
    vary: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()
    forced_type = forced_handler = None
    if rules is not None:
        result = rules.apply(url_path, request.query, expressions_context(), vhost.rewrite_maps)
        reqenv.update(result.env_set)
        vary, forced_type, rewrite_ended = result.vary, result.content_type, result.ended
        forced_handler, cookies = result.handler, result.cookies
        if result.status is not None:
            raise HTTPError(result.status, None, headers=set_cookies(cookies))  # httpd logs none
        if result.redirect is not None:
            raise _redirect(*result.redirect, cookies=cookies)
        url_path = result.path
        request.query = result.query
        if result.passthrough:
            request.path = url_path  # httpd's r->uri: a [PT] rule's path, else the client's
    site, site_path = vhost, url_path
    user_dir = user_dir_view(vhost, url_path)
    if user_dir is not None:
        url_path, vhost = user_dir
    read: list[str] = []

    def holds(condition: str) -> bool:
        """A configuration <If> condition on the request (the headers it reads, for Vary)."""
        context = expressions_context()
        context.read_headers = read
        return expr.cached_condition(condition).boolean(context)

    dirconf = merge(config, vhost, url_path, holds=holds)
    vary = (*vary, *read)
    apply_env_conditions(dirconf.modules.get(SetEnvIfSettings).conditions, request, reqenv,
                         expressions_context)
    decision = access_decision(request, vhost, dirconf, reqenv)
    denied = _refused(request, vhost, dirconf, reqenv) if decision is authz.Decision.DENIED else None
    identity = _identity(config, compiled, vhost, request, dirconf, reqenv)
    needs_login = decision is authz.Decision.DENIED_NO_USER
    return Plan(url_path, dirconf, identity, reqenv, denied, needs_login, vhost, site, site_path, vary,
                forced_type, rewrite_ended=rewrite_ended, forced_handler=forced_handler, request=request,
                cookies=cookies)


def denial(request: Request, vhost: VHost, dirconf: DirConfig, reqenv: dict[str, str]) -> str | None:
    """Why the access rules of ``dirconf`` refuse the request (the log line of its 403), or None.

    Asked on the mapped path before the switch (plan_request), then, as the
    request's identity, on the file actually served once .htaccess files,
    PATH_INFO and DirectoryIndex are resolved, since <Files> sections match
    that file's name. Rules that grant only to a user have the request log in
    (a 401 when it does not), and a user they then refuse is a 401 too, as
    mod_authz_core answers.
    """
    if dirconf.require is None and dirconf.access is None:
        return None  # no rules: allowed (authz.is_allowed), without building a client for them
    decision = access_decision(request, vhost, dirconf, reqenv)
    if decision is authz.Decision.DENIED_NO_USER:
        authn.authenticate(request, dirconf.modules.get(AuthSettings))
        decision = access_decision(request, vhost, dirconf, reqenv)
    if decision is authz.Decision.GRANTED:
        return None
    if request.auth_type is not None:
        _authz_log.error('AH01631: user %s: authorization failure for "%s": ', request.remote_user,
                         request.path)
        raise HTTPError(401, None, authn.challenge(dirconf.modules.get(AuthSettings)))
    return _refused(request, vhost, dirconf, reqenv)


def access_decision(request: Request, vhost: VHost, dirconf: DirConfig,
                    reqenv: dict[str, str]) -> authz.Decision:
    """What the access rules of ``dirconf`` answer the request as it stands (logged in or not)."""
    if dirconf.require is None and dirconf.access is None:
        return authz.Decision.GRANTED
    return authz.access_decision(dirconf.require, dirconf.access, _client(request, vhost, dirconf, reqenv))


def _client(request: Request, vhost: VHost, dirconf: DirConfig, reqenv: dict[str, str]) -> authz.Client:
    return authz.Client(
        remote_ip=request.remote_ip, method=request.method, env=reqenv, local_ip=request.local_ip,
        expr_context=lambda: context_of(request, vhost, reqenv, filename=dirconf.fs_path),
        user=request.remote_user if request.auth_type is not None else None,
        groups_of=lambda user: authn.groups_of(dirconf.modules.get(AuthSettings).group_file, user))


def _refused(request: Request, vhost: VHost, dirconf: DirConfig, reqenv: dict[str, str]) -> str:
    """The log line of a refusal: mod_access_compat's where Order, Allow and Deny refused the
    client on their own (its access checker runs before mod_authz_core), else mod_authz_core's."""
    client = _client(request, vhost, dirconf, reqenv)
    if authz.refused_by_access_compat(dirconf.require, dirconf.access, client):
        return f"AH01797: client denied by server configuration: {dirconf.fs_path}"
    return f"AH01630: client denied by server configuration: {dirconf.fs_path}"


def _identity(config: ServerConfig, compiled: Compiled, vhost: VHost, request: Request,
              dirconf: DirConfig, reqenv: dict[str, str]) -> Identity:
    """AssignUserIDExpr / AssignGroupIDExpr override AssignUserID, as in mpm-itk."""
    identity = dirconf.identity
    if not (dirconf.user_expr or dirconf.group_expr):
        return identity
    context = context_of(request, vhost, reqenv, filename=dirconf.fs_path)
    user, uid = identity.user, identity.uid
    group, gid = identity.group, identity.gid
    if dirconf.user_expr:
        user = compiled.exprs[dirconf.user_expr].string(context)
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            raise HTTPError(500, f"AssignUserIDExpr returned '{user}', which is not a valid user name") \
                from None
        if uid == config.user.uid:
            raise HTTPError(500, f"AssignUserIDExpr returned '{user}', the workers' own user: a request "
                            "chosen by its path never runs as it")
    if dirconf.group_expr:
        group = compiled.exprs[dirconf.group_expr].string(context)
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise HTTPError(500, f"AssignGroupIDExpr returned '{group}', which is not a valid group name") \
                from None
    return Identity(user, group, uid, gid)
