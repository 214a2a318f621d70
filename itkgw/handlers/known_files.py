"""Static files and PHP scripts whose route depends on their URL alone, remembered by
the process that served them, so the next request for one skips the routing and the walk.

A keep-alive client asks again and again for the same stylesheets, scripts and
images, and for the same PHP pages. Their route (vhost, sections, access rules,
handler, headers) is worked out in full once; it is kept only when nothing but
the URL went into it:

- no RewriteRule, SetEnvIf, RequestHeader or env= Header condition applies
  (they read the request), the request got no variables, and the vhost's
  access log takes every request;
- the access rules answer every request alike (``Require all granted``);
- every directory lets any symbolic link through, .htaccess files included (the
  kernel's open then judges alike);
- the URL names the file itself: no PATH_INFO, no DirectoryIndex, no UserDir.

The file is looked at on every request, and the .htaccess files on the way
too: a file that is gone or no longer a regular file, an .htaccess file
changed, gone or new, sends the request down the full route. Conditional
requests, ranges and DEFLATE are judged per request, as ever; a script gets
its CGI environment and its body per request, from its remembered settings.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass

from itkgw.config.model import HeaderRule, Identity, VHost
from itkgw.config.modules.core import RequestSettings
from itkgw.config.modules.deflate import DeflateSettings
from itkgw.config.modules.expires import ExpiresSettings
from itkgw.config.modules.headers import RequestHeaderSettings
from itkgw.config.modules.setenvif import SetEnvIfSettings
from itkgw.handlers import expires, fcgid, static
from itkgw.http.connection import HTTPConnection, Request
from itkgw.http.deflate import DeflateRule, accepts_gzip
from itkgw.request import access_files
from itkgw.request.access_files import Stamp
from itkgw.request.dirconf import DirConfig, apply_options, follows_any_link
from itkgw.request.mime import MimeTypes
from itkgw.request.routing import Plan
from itkgw.rules.authz import same_for_every_request

#: Routes a process keeps (a site's static files; past it, the oldest go).
LIMIT = 1024


@dataclass(frozen=True)
class KnownScript:
    """A PHP script's settings as its route merged them, for its handler."""

    vhost: VHost
    url_path: str
    dirconf: DirConfig
    #: What its requests ask the backend manager for.
    call: fcgid.Call


@dataclass(frozen=True)
class KnownFile:
    """How a file is answered, all but what the request itself asks."""

    filename: str
    identity: Identity
    content_type: str | None
    allow: str
    encoding: str | None
    header_rules: tuple[HeaderRule, ...]
    default_charset: str
    #: DEFLATE's content types here (None: every type); ``deflates`` False: no DEFLATE.
    deflates: bool
    deflated_types: frozenset[str] | None
    deflate_settings: DeflateSettings
    expiry: ExpiresSettings | None
    #: The .htaccess paths the route was worked out with, and what they held (access_files).
    access_seen: tuple[tuple[str, Stamp | None], ...] = ()
    #: A PHP script's (None: a static file).
    script: KnownScript | None = None
    #: Content-Language, from the file's language extensions.
    languages: tuple[str, ...] = ()

    def takes(self, request: Request) -> bool:
        """Whether the route answers this request's method as the full route would."""
        if self.script is not None:
            return request.method in SCRIPT_METHODS
        return request.method in STATIC_METHODS and not request.has_body


#: The methods a remembered route answers: those the full route answers alike.
STATIC_METHODS = ("GET", "HEAD")
SCRIPT_METHODS = ("GET", "HEAD", "POST")


class KnownFiles:
    """The remembered routes of one process, by vhost and URL path."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.routes: dict[tuple[int, str], tuple[VHost, KnownFile]] = {}

    def get(self, vhost: VHost, path: str) -> KnownFile | None:
        hit = self.routes.get((id(vhost), path))
        return hit[1] if hit is not None and hit[0] is vhost else None

    def remember(self, vhost: VHost, path: str, known: KnownFile) -> None:
        if len(self.routes) >= self.limit:
            del self.routes[next(iter(self.routes))]
        self.routes[(id(vhost), path)] = (vhost, known)


def route_of(request: Request, plan: Plan, dirconf: DirConfig, filename: str, path_info: str,
             conn: HTTPConnection, content_type: str | None = None, allow: str = "",
             encoding: str | None = None, script: fcgid.Call | None = None,
             languages: tuple[str, ...] = ()) -> KnownFile | None:
    """The route just taken to serve ``filename`` as a static file (``script``: to PHP, by
    this call to the backend manager; ``dirconf`` its settings, ``conn`` set up for its
    answer), when nothing but the URL went into it."""
    vhost = plan.vhost
    methods = SCRIPT_METHODS if script else STATIC_METHODS
    if (vhost is None or request.method not in methods or path_info or plan.reqenv or plan.vary
            or plan.forced_type or plan.forced_handler or plan.needs_login or plan.denied
            or vhost is not plan.site or filename != plan.dirconf.fs_path or dirconf.conditional
            or plan.dirconf.conditional):
        return None
    if (vhost.rewrite_engine or (dirconf.rewrite is not None and dirconf.rewrite.engine)
            or vhost.modules.get(SetEnvIfSettings).conditions
            or dirconf.modules.get(SetEnvIfSettings).conditions
            or dirconf.modules.get(RequestHeaderSettings).request_headers
            or dirconf.modules.get(RequestSettings).file_etag is not None
            or dirconf.modules.get(RequestSettings).server_signature  # the vhost's own is the child's
            != vhost.modules.get(RequestSettings).server_signature
            or any(rule.env or rule.expr or rule.formatted or rule.action == "echo"
                   for rule in dirconf.headers)
            or dirconf.user_expr
            or dirconf.group_expr or vhost.access_log_condition):  # SetEnv's variables judge its log
        return None
    if not (same_for_every_request(dirconf.require, dirconf.access)
            and same_for_every_request(plan.dirconf.require, plan.dirconf.access)):
        return None
    directory = os.path.dirname(filename) or "/"
    access, seen = plan.access_read.get(directory), plan.access_seen.get(directory)
    if access is None or seen is None or not follows_any_link(vhost) or not all(
            _keeps_following(section.options) for section in access if section.options is not None):
        return None
    rule = conn.deflate
    expiry = dirconf.modules.get(ExpiresSettings)
    return KnownFile(filename, plan.identity, content_type, allow, encoding, tuple(conn.header_rules),
                     conn.default_charset, rule is not None, rule.types if rule is not None else None,
                     rule.settings if rule is not None else DeflateSettings(),
                     expiry if expiry.active else None, tuple(seen),
                     KnownScript(vhost, plan.url_path, dirconf, script) if script else None, languages)


def _keeps_following(options: tuple[str, ...]) -> bool:
    """Whether an .htaccess file's Options line leaves any symbolic link followed."""
    kept = apply_options(_FOLLOW, options)
    return "FollowSymLinks" in kept and "SymLinksIfOwnerMatch" not in kept


_FOLLOW = frozenset({"FollowSymLinks"})


def serve_file(conn: HTTPConnection, request: Request, known: KnownFile, mime: MimeTypes) -> bool:
    """Answer ``request`` with the static file ``known`` remembers; False, with nothing
    sent, when it is not there as it was (the full route then answers)."""
    if known.access_seen and not access_files.unchanged(known.access_seen):
        return False
    try:
        fd = os.open(known.filename, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        fcgid.release_held()  # a kept FastCGI process is not held through other work
        set_response_rules(conn, request, known, st.st_mtime)
        conn.discard_body()
        static.serve_file(conn, known.filename, st, fd, mime, known.content_type, known.allow, known.encoding,
                          known.languages)
        return True
    finally:
        os.close(fd)


def script_there(known: KnownFile) -> os.stat_result | None:
    """The stat of the script ``known`` remembers, while it and the .htaccess files on its
    way are as they were; else None."""
    if known.access_seen and not access_files.unchanged(known.access_seen):
        return None
    try:
        st = os.stat(known.filename)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def set_response_rules(conn: HTTPConnection, request: Request, known: KnownFile, mtime: float) -> None:
    """The Header, AddDefaultCharset, DEFLATE and mod_expires rules of the route, for this request."""
    conn.header_rules = list(known.header_rules)
    conn.default_charset = known.default_charset
    conn.languages = known.languages
    if known.deflates:
        accepted = accepts_gzip(request.header("accept-encoding"))
        conn.deflate = DeflateRule(known.deflated_types, known.deflate_settings, accepted)
    if known.expiry is not None:
        conn.success_headers = functools.partial(expires.add_expiry, settings=known.expiry, mtime=mtime,
                                                 request_time=request.received)
