"""The ap_expr variables of one request, as httpd fills them before a handler runs.

AssignUserIDExpr, Require expr and mod_rewrite all read this context, so
they see the same values: REQUEST_URI is httpd's decoded path, SERVER_NAME
the vhost's ServerName, headers as the client sent their bytes.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from itkgw import SERVER_SOFTWARE
from itkgw.config.model import VHost
from itkgw.config.modules.core import RequestSettings
from itkgw.http.connection import Request
from itkgw.request import canonical
from itkgw.rules.expr_context import HEADER_VARIABLES, ExprContext


def context_of(request: Request, vhost: VHost, reqenv: MutableMapping[str, str],
               filename: str = "") -> ExprContext:
    """The context of a request to ``vhost``: its SERVER_NAME and SERVER_PORT as
    UseCanonicalName gives them (the Host header's, by default), as httpd's are."""
    settings = vhost.modules.get(RequestSettings)
    return context_for(request, canonical.server_name(request, vhost, settings), vhost.document_root, reqenv,
                       filename, server_port=canonical.server_port(request, settings))


def context_for(request: Request, server_name: str, document_root: str,
                reqenv: MutableMapping[str, str], filename: str = "",
                server_port: int | None = None) -> ExprContext:
    """The context of a request as httpd fills it before the handler runs.

    REQUEST_URI is the decoded URL path without the query (httpd's r->uri,
    not CGI's REQUEST_URI); REQUEST_FILENAME is ``filename`` once the URL is
    mapped, the URL path before (as in virtual host context). SERVER_PORT is
    ``server_port``, else the port the connection came in on.
    """
    headers: dict[str, str] = {}
    for name, value in request.headers:
        name = name.lower()
        value = wire(value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    remote = request.remote_ip
    ipv6 = ":" in remote and not remote.lower().startswith("::ffff:")
    variables = {
        "REQUEST_METHOD": request.method,
        "REQUEST_SCHEME": "http",
        "REQUEST_URI": request.path,
        "DOCUMENT_URI": request.path,
        "REQUEST_FILENAME": filename or request.path,
        "SCRIPT_FILENAME": filename or request.path,
        "QUERY_STRING": wire(request.query),
        "THE_REQUEST": wire(request.request_line),
        "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(request.local_port if server_port is None else server_port),
        "SERVER_ADDR": request.local_ip,
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "DOCUMENT_ROOT": document_root.rstrip("/") or "/",
        "CONTEXT_DOCUMENT_ROOT": document_root.rstrip("/") or "/",
        "CONTEXT_PREFIX": "",
        "REMOTE_ADDR": remote,
        "REMOTE_HOST": remote,
        "REMOTE_PORT": str(request.remote_port),
        "CONN_REMOTE_ADDR": remote,
        "HTTPS": "off",
        "IPV6": "on" if ipv6 else "off",
        "IS_SUBREQ": "false",
    }
    if request.remote_user is not None:
        variables["REMOTE_USER"] = wire(request.remote_user)
    if request.auth_type is not None:
        variables["AUTH_TYPE"] = request.auth_type
    for variable_name, header_name in HEADER_VARIABLES.items():
        if header_name in headers:
            variables[variable_name] = headers[header_name]
    return ExprContext(variables=variables, headers=headers, reqenv=reqenv, osenv=os.environ)


def wire(text: str) -> str:
    """A latin-1 decoded wire string re-decoded so that os.fsencode gives its bytes back."""
    if text.isascii():
        return text  # the same in both: most headers, every plain URL
    try:
        return os.fsdecode(text.encode("latin-1"))
    except UnicodeEncodeError:
        return text  # already decoded from UTF-8 (the URL path)
