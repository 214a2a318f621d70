"""One client connection, in a process forked for it (mpm-itk's model).

The child starts with the worker's privileges, reads the request head,
picks the vhost, merges the per-directory config, checks MaxClientsVHost,
applies NiceValue and only then switches to the request's identity for good.
From then on the process can never serve another identity.

Rules for a request on a keep-alive connection (mpm-itk 2.4):
    first request                   -> switch to its identity, serve it
    later request, same identity    -> serve it
    later request, other identity   -> close without a response
    later request, EACCES on a file -> close without a response
The client sees a keep-alive close and retries on a new connection.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from itkgw import script_software
from itkgw.config.model import Identity, ServerConfig, VHost
from itkgw.config.modules.core import RequestSettings
from itkgw.config.modules.pool import PoolSettings
from itkgw.config.modules.reqtimeout import ReqTimeoutSettings, StageTimeout, stage_limits
from itkgw.errors import CloseConnection, ExitCode, HTTPError, InternalRedirect
from itkgw.handlers import dispatch, fcgid
from itkgw.handlers.known_files import KnownFiles
from itkgw.http.connection import (
    NO_ADMIN,
    ClientGone,
    ClientSocket,
    HTTPConnection,
    Limits,
    Request,
    decode_path,
    has_encoded_slash,
)
from itkgw.mpm import privs, status
from itkgw.mpm.handoff import Handoff, HandoffError
from itkgw.mpm.log import LogFiles, as_sent, format_access, set_client, set_vhost_fd, write_access
from itkgw.mpm.scoreboard import Scoreboard, SlotState
from itkgw.request import canonical
from itkgw.request.dirconf import merge
from itkgw.request.mime import MimeTypes
from itkgw.request.routing import Compiled, Plan, identity_by_vhost_alone, plan_request, with_cookies
from itkgw.request.vhosts import VHostTable

#: How long a kept FastCGI process waits for the next request of its keep-alive connection
#: before it goes back to the manager: a browser's next request, not its idle minutes.
HOLD_LINGER_SECONDS = 0.05
#: Internal redirects one request may go through (LimitInternalRecursion's default).
LIMIT_INTERNAL_RECURSION = 10

log = logging.getLogger("itkgw.mpm_itk")
#: The httpd module and level of a message of an error answer in the error log, by its code.
_LOGGED_AS = {"AH00026": ("core", logging.INFO), "AH00037": ("core", logging.ERROR),
              "AH00124": ("core", logging.ERROR), "AH00132": ("core", logging.ERROR),
              "AH00135": ("core", logging.ERROR), "AH00529": ("core", logging.CRITICAL),
              "AH10244": ("core", logging.ERROR), "AH01276": ("autoindex", logging.ERROR),
              "AH01630": ("authz_core", logging.ERROR), "AH01797": ("access_compat", logging.ERROR),
              "AH02430": ("http", logging.ERROR), "AH02809": ("cgi", logging.ERROR)}


class HandedOver(Exception):
    """The connection went to another process: this one neither answers nor closes it."""


_NO_REQUEST_SETTINGS = RequestSettings()


def _either(own: Any, server: Any) -> Any:
    return server if own is None else own


@dataclass(frozen=True)
class VHostRules:
    """What a request's vhost decides about serving it (httpd's r->server values): the
    Timeout of its body and response, whether and how long the connection is then kept,
    what its path's slashes mean, how many internal redirects it may take."""

    timeout: float
    keep_alive: bool
    keep_alive_timeout: float
    max_requests: int
    body_stage: StageTimeout | None
    encoded_slashes: str = "off"
    merge_slashes: bool = True
    internal_recursion: int = LIMIT_INTERNAL_RECURSION
    #: Whether its every request runs as one identity (routing.identity_by_vhost_alone).
    one_identity: bool = False


@dataclass
class ServingContext:
    """What a connection child needs, built in the master before any fork."""

    config: ServerConfig
    vhosts: VHostTable
    logs: LogFiles
    scoreboard: Scoreboard
    mime: MimeTypes
    generation: int
    compiled: Compiled
    #: The workers' seccomp filter, built once (None: each worker builds its own).
    setid_filter: Any = None
    #: The FastCGI backend manager's socket ("" when no vhost uses fcgid-script).
    backends: str = ""
    #: The pool manager's socket, which fronts pass connections to ("": the itk model).
    pools: str = ""
    #: read_stages' answers, by the id of the vhost (None: the server's); the vhosts live as
    #: long as this context.
    _read_stages: dict[int, dict[str, StageTimeout | None]] = field(default_factory=dict)
    #: vhost_rules' answers, kept as read_stages' are.
    _vhost_rules: dict[int, VHostRules] = field(default_factory=dict)
    #: connection_limits' answers, by the local address; each connection gets its own copy.
    _connection_limits: dict[tuple[str, int], Limits] = field(default_factory=dict)
    #: The static files this process has served, by their route (each process keeps its own).
    known_files: KnownFiles = field(default_factory=KnownFiles)

    def connection_limits(self, local_ip: str, local_port: int) -> Limits:
        """A new connection's limits: its address's default vhost's (httpd's base server),
        over the server's. Its heads are read under them, the Host header being unknown."""
        address = (local_ip, local_port)
        limits = self._connection_limits.get(address)
        if limits is None:
            limits = self._connection_limits[address] = self._address_limits(local_ip, local_port)
        return limits.copy()

    def _address_limits(self, local_ip: str, local_port: int) -> Limits:
        candidates = self.vhosts.candidates(local_ip, local_port)
        base = candidates[0] if candidates else None
        c, own = self.config, self.request_settings(base)
        return Limits(request_line=_either(own.limit_request_line, c.limit_request_line),
                      field_size=_either(own.limit_request_field_size, c.limit_request_field_size),
                      fields=_either(own.limit_request_fields, c.limit_request_fields),
                      body=c.limit_request_body, timeout=float(_either(own.timeout, c.timeout)),
                      keep_alive_timeout=float(_either(own.keep_alive_timeout, c.keep_alive_timeout)),
                      header_stage=self.read_stages(base)["header"])

    def vhost_rules(self, vhost: VHost | None) -> VHostRules:
        """What a request's vhost decides about serving it; made once per vhost."""
        key = id(vhost)
        rules = self._vhost_rules.get(key)
        if rules is None:
            c, own = self.config, self.request_settings(vhost)
            rules = self._vhost_rules[key] = VHostRules(
                timeout=float(_either(own.timeout, c.timeout)),
                keep_alive=_either(own.keep_alive, c.keep_alive),
                keep_alive_timeout=float(_either(own.keep_alive_timeout, c.keep_alive_timeout)),
                max_requests=_either(own.max_keep_alive_requests, c.max_keep_alive_requests),
                body_stage=self.read_stages(vhost)["body"],
                encoded_slashes=_either(own.encoded_slashes, "off"),
                merge_slashes=_either(own.merge_slashes, True),
                internal_recursion=_either(own.internal_recursion, LIMIT_INTERNAL_RECURSION),
                one_identity=vhost is not None and identity_by_vhost_alone(vhost))
        return rules

    @staticmethod
    def request_settings(vhost: VHost | None) -> RequestSettings:
        return vhost.modules.get(RequestSettings) if vhost is not None else _NO_REQUEST_SETTINGS

    def read_stages(self, vhost: VHost | None) -> dict[str, StageTimeout | None]:
        """RequestReadTimeout's stages: the server's (a head's, read before its vhost is
        known), or a vhost's over them (its requests' bodies); made once per vhost."""
        key = id(vhost)
        stages = self._read_stages.get(key)
        if stages is None:
            server = self.config.modules.get(ReqTimeoutSettings).stages or ()
            own = vhost.modules.get(ReqTimeoutSettings).stages or () if vhost is not None else ()
            stages = self._read_stages[key] = stage_limits((*server, *own), self.config.compat)
        return stages


def vhost_key(vhost: VHost, port: int) -> str:
    """MaxClientsVHost's key, as mpm-itk spells it in its log line."""
    return f"{vhost.server_name}:{port}"


class ConnectionChild:
    """Serves every request of one connection, under one identity at most."""

    def __init__(self, ctx: ServingContext, slot_index: int, sock: ClientSocket,
                 identity: Identity | None = None, handover: Callable[[Handoff], None] | None = None,
                 pending: bytes = b"", first: bool = True) -> None:
        self.ctx = ctx
        self.slot = ctx.scoreboard.slot(slot_index)
        self.conn = HTTPConnection(sock, Limits(), pending)
        self.conn.server_banner = script_software(ctx.config.compat)
        self.conn.limits = ctx.connection_limits(self.conn.local_ip, self.conn.local_port)
        #: Every head is read under the connection's Timeout; a request's vhost may set another.
        self.head_timeout = self.conn.limits.timeout
        #: Who this process runs as: None until the switch (itk), or the pool's identity.
        self.identity = identity
        #: The pool model's: passes the connection on to the pool of the identity a request
        #: needs (a front's every connection, a pool worker's on a request of another identity).
        self.handover = handover
        self.handed_over = False
        #: Whether the next request is the connection's first (False for one handed on parked).
        self.first = first
        #: Whether the connection may be parked between requests (its vhost has no MaxClientsVHost).
        self.parkable = True
        model = ctx.config.modules.get(PoolSettings).process_model
        self.status_page = functools.partial(status.serve_status, ctx.scoreboard, model)
        set_client(f"{self.conn.remote_ip}:{self.conn.remote_port}")

    def run(self, may_park: bool = False) -> bool:
        """Serve the connection's requests until it ends; with ``may_park`` (a pool worker's),
        return True after each request instead of reading the next: the connection is parked,
        open, and this is called again once its client sends (or to end it), so a worker
        serves its connections in turn, none ahead of the others.

        A connection of a vhost with MaxClientsVHost is never parked: the scoreboard counts
        its connections by the processes that hold them, one each."""
        first = self.first
        parked = False
        try:
            while True:
                self.slot.state = SlotState.BUSY_READ
                self.conn.limits.timeout = self.head_timeout
                request = self._read(first)
                if request is None:
                    break
                if not self._handle(request, first):
                    break
                if self.ctx.scoreboard.generation != self.ctx.generation:
                    break  # graceful restart: finish this response, then close.
                if not self.conn.start_next_cycle():
                    break
                if fcgid.holding():  # for a next request that comes at once, else it goes back
                    self.conn.on_idle, self.conn.idle_after = fcgid.release_held, HOLD_LINGER_SECONDS
                first = self.first = False
                if may_park and self.parkable and not self.conn.holds_unread():
                    self.conn.park()
                    parked = True
                    return True
        except HandedOver:
            self.handed_over = True
        finally:
            if not parked:
                self._end()
        return False

    def _end(self) -> None:
        if not fcgid.holds_between_connections():
            fcgid.release_held()
        if self.handed_over:
            self.conn.release()  # the connection lives on in the process it went to
        else:
            # Lingering close still holds one of the vhost's connections: it stays
            # counted (CLOSING with the vhost) until the socket is closed.
            self.slot.state = SlotState.CLOSING
            self.conn.close()
        self.slot.vhost = ""

    def close_parked(self) -> None:
        """End a parked connection (a graceful restart): its responses are all sent and no
        request has begun, so nothing is in flight for a lingering close to save; the client
        reads the end of the connection at once and opens another."""
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client is gone already
        self.conn.sock.close()

    def release(self) -> None:
        """Close this process's descriptor of a parked connection handed on to another."""
        self.conn.release()

    def _read(self, first: bool) -> Request | None:
        try:
            return self.conn.next_request(first)
        except HTTPError as exc:
            self._log_http_error(exc)
            request = self.conn.request
            vhost = None
            if request is not None:  # a head read but refused (a bad escape): its vhost's rules
                vhost = self.ctx.vhosts.select(request.local_ip, request.local_port, request.host)
                self.conn.header_rules = [rule for rule in vhost.headers
                                          if not (rule.env or rule.expr)] if vhost else []
            try:
                self.conn.send_error(exc.status, notes=exc.notes)
            except ClientGone:
                pass  # The client left; the log line above says why.
            request = request or self.conn.refused_request()
            if request is not None:
                # httpd logs it where the request's vhost logs, or the address's first vhost.
                candidates = self.ctx.vhosts.candidates(request.local_ip, request.local_port)
                self._access_log(request, vhost or (candidates[0] if candidates else None))
            return None

    def _handle(self, request: Request, first: bool) -> bool:
        """Serve one request; False when the connection must end."""
        vhost = self.ctx.vhosts.select(request.local_ip, request.local_port, request.host)
        if vhost is not None:
            set_vhost_fd(self.ctx.logs.vhost_error_fds.get(vhost.server_name, -1))
        self.slot.request = request.request_line
        self.slot.vhost = vhost_key(vhost, request.local_port) if vhost else ""
        self.parkable = vhost is None or not vhost.max_clients_vhost
        self.slot.state = SlotState.BUSY_WRITE
        rules = self.ctx.vhost_rules(vhost)
        self.conn.limits.body = self.ctx.config.limit_request_body
        self.conn.limits.body_stage = rules.body_stage
        self.conn.limits.timeout = rules.timeout
        self.conn.limits.keep_alive_timeout = rules.keep_alive_timeout
        self.conn.configure_keep_alive(rules.keep_alive, rules.max_requests)
        self.conn.header_rules = []
        self.conn.deflate = None
        self.conn.success_headers = None
        self.conn.negotiated = []
        self.conn.languages = ()
        self.conn.default_charset = "off"
        admin = (vhost.server_admin if vhost is not None else "") or self.ctx.config.server_admin
        self.conn.server_admin = admin or NO_ADMIN
        self.conn.signature = "" if vhost is None else canonical.signature(
            request, vhost, vhost.modules.get(RequestSettings), self.conn.server_banner, admin or NO_ADMIN)
        plan: Plan | None = None
        try:
            if vhost is None:
                raise HTTPError(404, f"no vhost answers on {request.local_ip}:{request.local_port}")
            if has_encoded_slash(request.raw_path) or (not rules.merge_slashes and "//" in request.raw_path):
                request.path = decode_path(request.raw_path, rules.encoded_slashes, rules.merge_slashes)
            if self._served_as_known(vhost, request):
                self._access_log(request, vhost)
                return True
            path = request.path
            if self.handover is not None and self.identity is None and rules.one_identity:
                # A front needs the request's identity alone, which its URL's settings give
                # here: the pool's worker plans the request in full (redirects, rewrites, access).
                plan = self._url_plan(vhost, request)
            else:
                plan = plan_request(self.ctx.config, self.ctx.compiled, vhost, request)
            self._enter_identity(vhost, plan, request, first)  # a refusal in plan.denied waits for .htaccess
            current = request
            for hops in range(rules.internal_recursion + 1):
                try:
                    # A pool has no other process to retry in: EACCES is a 403 there on any request.
                    route = dispatch.serve(self.conn, current, plan, self.ctx.config, self.ctx.mime,
                                           first or self.handover is not None, self.ctx.backends,
                                           self.status_page)
                    if route is not None and hops == 0:
                        self.ctx.known_files.remember(vhost, path, route)
                    break
                except InternalRedirect as redirect:
                    if hops == 0 and not redirect.fast:
                        # %R names the handler of the request as it came (mod_rewrite's, when a
                        # rule redirected it); a fast redirect (FallbackResource) is the request.
                        self.conn.logged_handler = self.conn.handler or "redirect-handler"
                    if hops == rules.internal_recursion:
                        raise HTTPError(500, f"AH00124: Request exceeded the limit of {hops} internal "
                                        "redirects due to probable configuration error. Use "
                                        "'LimitInternalRecursion' to increase the limit if "
                                        "necessary. Use 'LogLevel debug' to get a backtrace.") from None
                    current, plan = self._redirected(vhost, current, plan, redirect)
        except CloseConnection as ended:
            log.debug("closing keep-alive connection: %s", ended)
            return False
        except HTTPError as exc:
            self._log_http_error(exc)
            if self.conn.response_started:
                return False
            if plan is None and vhost is not None:
                plan = self._early_plan(vhost, request)
                if plan is not None and not self._may_send_document(exc, plan):
                    # The tenant's ErrorDocument of an answer given before the switch: switch (or,
                    # in a front, hand the connection to the pool, which answers it) as httpd's
                    # internal redirect to the document does; a refusal there is the answer.
                    try:
                        self._enter_identity(vhost, plan, request, first)
                    except HTTPError as refused:
                        exc, plan = refused, None
                    except CloseConnection as closing:  # a later request of another identity (itk)
                        log.debug("closing keep-alive connection: %s", closing)
                        return False
            try:
                plan = self._send_error(exc, plan, first)
            except ClientGone:
                return False
        except ClientGone:
            self._access_log(request, vhost, plan, aborted=True)
            return False
        self._access_log(request, vhost, plan)
        return True

    def _served_as_known(self, vhost: VHost, request: Request) -> bool:
        """Answer a request for a static file or a PHP script this process served before by
        the route it took then (known_files); False when it has none, or the file changed."""
        if self.identity is None:
            return False
        known = self.ctx.known_files.get(vhost, request.path)
        if known is None or known.identity != self.identity or not known.takes(request):
            return False
        self._check_vhost_limit(vhost, request)
        return dispatch.serve_known(self.conn, request, known, self.ctx.config, self.ctx.mime,
                                    self.ctx.backends)

    def _redirected(self, vhost: VHost, request: Request, before: Plan, redirect: InternalRedirect,
                    status: int = 200, keep_body: bool = False) -> tuple[Request, Plan]:
        """The plan of an internal redirect, which this process serves as it is: a target
        another identity is assigned to is refused, never served as the wrong one. The
        variables of the request before come along as REDIRECT_NAME, as httpd passes them;
        ``status`` is its REDIRECT_STATUS (an ErrorDocument's is the error's)."""
        location = redirect.location
        redirected = self.conn.redirect(location, redirect.keep_method, keep_body)
        plan = plan_request(self.ctx.config, self.ctx.compiled, vhost, redirected, before.rewrite_ended)
        if plan.identity != self.identity:
            raise HTTPError(500, f"internal redirect to {location} needs {plan.identity}, "
                            f"this request runs as {self.identity}")
        if redirect.vary:  # httpd's answer to the rewritten request names what the rules read
            plan.vary = (*before.vary, *redirect.vary, *plan.vary)
        plan.cookies = with_cookies(before.cookies, plan.cookies)  # err_headers_out carries over
        if redirect.fast:
            return redirected, plan
        # The earlier request's variables as its script would have seen them, each renamed
        # REDIRECT_NAME, then REDIRECT_STATUS: before the new request's own, as httpd sets them.
        earlier = dispatch.script_env(before, before.dirconf)
        carried = {f"REDIRECT_{name}": value for name, value in earlier.items()
                   if not name.startswith("REDIRECT_")}
        carried.update({"REDIRECT_STATUS": str(status), "REDIRECT_URL": request.path})
        # A per-directory RewriteRule sets the request's query before httpd redirects it: the
        # query passed on is the rule's; other redirects pass on the client's.
        query = location.partition("?")[2] if redirect.keep_method else request.query
        if query:
            carried["REDIRECT_QUERY_STRING"] = query
        own = dict(plan.reqenv)
        plan.reqenv.clear()  # the same dict: the plan's expressions read it
        plan.reqenv.update(carried)
        for name, value in own.items():
            plan.reqenv.setdefault(name, value)
        return redirected, plan

    def _early_plan(self, vhost: VHost, request: Request) -> Plan | None:
        """For an answer given before the request's plan was made (a Redirect, a RewriteRule's
        R=, F or G): the settings of its URL, for its ErrorDocument and its Header always
        rules, which httpd applies to such answers too."""
        try:
            plan = self._url_plan(vhost, request)
        except HTTPError:
            return None
        dispatch.set_response_rules(self.conn, plan.dirconf, plan)
        return plan

    def _url_plan(self, vhost: VHost, request: Request) -> Plan:
        """A plan of the request's URL path's settings alone, before (or without) its rules."""
        dirconf = merge(self.ctx.config, vhost, request.path)
        return Plan(request.path, dirconf, dirconf.identity, vhost=vhost, site=vhost, site_path=request.path)

    def _may_send_document(self, exc: HTTPError, plan: Plan) -> bool:
        """Whether this process may answer ``exc`` with its ErrorDocument as it runs now: a text or
        a URL reads nothing of the tenant's, a local file only as the request's identity."""
        target = plan.dirconf.error_documents.get(exc.status)
        return target is None or not target.startswith("/") or self.identity == plan.identity

    def _send_error(self, exc: HTTPError, plan: Plan | None, first: bool = False) -> Plan | None:
        """The status page, or the vhost's ErrorDocument for it.

        A local ErrorDocument is the tenant's file: it is used only once
        this process runs as the request's identity. Before the switch (over
        MaxClientsVHost, outside LimitUIDRange, a Redirect) the answer is the
        canned page, as mpm-itk's; a text or a URL reads nothing of the
        tenant's and answers whenever httpd's would. Returns the plan of what answered, whose
        variables the access log names: the document's, for a local one (its REDIRECT_STATUS).
        """
        target = plan.dirconf.error_documents.get(exc.status) if plan is not None else None
        if target is None or plan is None or exc.status < 400 or not self._may_send_document(exc, plan):
            self.conn.send_error(exc.status, exc.headers, notes=exc.notes)
            return plan
        try:
            kept = [(name, value) for name, value in exc.headers
                    if name.lower() in ("www-authenticate", "set-cookie")]
            if target.startswith("/"):
                return self._serve_error_document(exc.status, kept, plan, target, first)
            dispatch.send_error_document(self.conn, exc.status, target, kept)
        except (HTTPError, OSError, InternalRedirect) as failed:
            if isinstance(failed, ClientGone) or self.conn.response_started:
                raise
            # httpd says so in the page ("Additionally, ..."), and logs nothing above info.
            log.info("ErrorDocument %s for status %d failed: %s", target, exc.status, failed)
            self.conn.send_error(exc.status, exc.headers, notes=exc.notes,
                                 failed_document=failed.status if isinstance(failed, HTTPError) else 500)
        return plan

    def _serve_error_document(self, status: int, kept: list[tuple[str, str]], plan: Plan, target: str,
                              first: bool) -> Plan:
        """A local ErrorDocument as httpd serves it: an internal redirect to it, as a GET (a
        HEAD stays one) with the request's headers and body, whose answer keeps the error's
        status unless its handler gives another. A PHP or CGI error page runs, seeing
        REDIRECT_STATUS, REDIRECT_URL and REDIRECT_REQUEST_METHOD of the request that failed."""
        failed = self.conn.request
        assert failed is not None and plan.vhost is not None
        # httpd notes the failed request's method among its variables before the redirect.
        before = dataclasses.replace(plan, reqenv={**plan.reqenv, "REQUEST_METHOD": failed.method})
        document, document_plan = self._redirected(plan.vhost, failed, before, InternalRedirect(target),
                                                   status=status, keep_body=True)
        self.conn.error_document = (status, kept)
        if self.conn.logged_handler is None:
            self.conn.logged_handler = self.conn.handler  # the failed request's, as httpd logs it
        dispatch.serve(self.conn, document, document_plan, self.ctx.config, self.ctx.mime,
                       first or self.handover is not None, self.ctx.backends, self.status_page)
        return document_plan

    def _enter_identity(self, vhost: VHost, plan: Plan, request: Request, first: bool) -> None:
        """The keep-alive identity rule, MaxClientsVHost, NiceValue, then the one-way switch;
        in the pool model, the handover to the identity's pool instead of the switch.

        The identity comparison comes first: a request for another identity
        closes the connection (itk) or goes to its own pool (pool) before
        anything of its vhost (its limit, its ErrorDocument) is looked at by a
        process running as someone else.
        """
        wanted = plan.identity
        if self.identity is not None and wanted != self.identity:
            if self.handover is None:
                raise CloseConnection(f"request needs {wanted}, connection runs as {self.identity}")
            if first:
                # A front chose this pool for this very request: it must not be served here.
                raise HTTPError(500, f"a request of {wanted} was handed to the pool of {self.identity}: "
                                "refused, not served")
            self._hand_over(wanted, plan)
        self._check_vhost_limit(vhost, request)
        if self.identity is not None:
            return
        config = self.ctx.config
        if self.handover is not None:  # a front, which never switches
            try:
                privs.check_allowed(wanted, config)
            except privs.IdentityNotAllowed as exc:
                raise HTTPError(500, str(exc)) from None
            if wanted.uid in (0, config.user.uid):
                raise HTTPError(500, f"{request.path} is assigned {wanted}: the pool model never runs a "
                                "pool as root or as User, whose scripts could trace the fronts")
            self._hand_over(wanted, plan)
        try:
            privs.apply_nice(plan.dirconf.nice_value)
            privs.switch_identity(wanted, config)
        except privs.IdentityNotAllowed as exc:
            raise HTTPError(500, str(exc)) from None
        except privs.PrivilegeError as failed:
            log.critical("identity switch to %s failed, child exits: %s", wanted, failed)
            os._exit(ExitCode.IDENTITY_FAILED)
        self.identity = wanted
        self.slot.uid = wanted.uid

    def _check_vhost_limit(self, vhost: VHost, request: Request) -> None:
        """MaxClientsVHost: mpm-itk's 503 when the vhost's connections are over its limit."""
        key = vhost_key(vhost, request.local_port)
        limit = vhost.max_clients_vhost
        if limit and self.ctx.scoreboard.count_busy_for_vhost(key) > limit:
            log.error("MaxClientsVhost reached for %s, refusing client.", key)
            raise HTTPError(503)

    def _hand_over(self, identity: Identity, plan: Plan) -> None:
        """Pass the connection, with the request not yet served, to the pool of ``identity``."""
        assert self.handover is not None
        handoff = Handoff(identity, plan.dirconf.nice_value, self.conn.sock.fileno(), self.conn.unread())
        try:
            self.handover(handoff)
        except (OSError, HandoffError) as exc:
            raise HTTPError(503, f"cannot pass the connection to the pool of {identity}: {exc}") from None
        raise HandedOver()

    def _log_http_error(self, exc: HTTPError) -> None:
        if exc.log:
            cause = exc.cause
            extra = {"apr_status": f"({cause.errno}){cause.strerror}"} if cause is not None else None
            logged_as = _LOGGED_AS.get(exc.log[:7])
            if logged_as is not None:
                module, level = logged_as
                logging.getLogger(f"itkgw.{module}").log(level, "%s", exc.log, extra=extra)
                return
            level = logging.ERROR if exc.status >= 500 or exc.status == 403 else logging.INFO
            log.log(level, "%s", exc.log, extra=extra)

    def _access_log(self, request: Request, vhost: VHost | None, plan: Plan | None = None,
                    aborted: bool = False) -> None:
        self.slot.count_request(self.conn.bytes_sent)
        logs = self.ctx.logs
        fd = logs.access_fds.get(vhost.server_name if vhost else "", logs.access_fds.get("", -1))
        if fd < 0:
            return
        logged_by: VHost | ServerConfig = vhost if vhost is not None and vhost.access_log else self.ctx.config
        fmt, condition = logged_by.access_log_format, logged_by.access_log_condition
        variables = dispatch.script_env(plan, plan.dirconf) if plan is not None and (
            condition or "}e" in fmt) else {}
        if condition and (condition.lstrip("!") in variables) == condition.startswith("!"):
            return  # CustomLog env=: a request with (or, for !NAME, without) the variable is left out
        conn = self.conn
        settings = vhost.modules.get(RequestSettings) if vhost is not None else None
        kept = conn.keeps_alive()
        fields: dict[str, object] = {
            "h": request.remote_ip, "r": request.request_line, "s": conn.status,
            "b": conn.bytes_sent, "t": request.received, "v": vhost.server_name if vhost else "",
            # %p is the canonical port, as SERVER_PORT; the others name theirs
            "p": canonical.server_port(request, settings) if settings else request.local_port,
            "p local": request.local_port, "p remote": request.remote_port,
            "D": int((time.time() - request.received) * 1_000_000),
            "T": int(time.time() - request.received), "U": as_sent(request.path),
            "q": f"?{request.query}" if request.query else "", "m": request.method,
            "H": f"HTTP/{request.http_version}", "a": request.remote_ip,
            "u": conn.request.remote_user if conn.request is not None else request.remote_user,
            "O": conn.wire_bytes, "I": len(request.head) + (request.content_length or 0),
            "f": as_sent(conn.filename) or None, "o": conn.response_headers,
            "R": (conn.handler if conn.logged_handler is None else conn.logged_handler) or None,
            "e": variables, "B": conn.bytes_sent,
            # %k: httpd counts a response that keeps the connection as it is sent, and logs one less.
            "k": max(0, conn.requests_served - (not kept)),
            "V": canonical.server_name(request, vhost, settings) if vhost and settings else None,
            "X": "X" if aborted else "+" if kept else "-",
        }
        write_access(fd, format_access(fmt, fields, dict(reversed(request.headers))))  # the first of a name
