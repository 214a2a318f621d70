"""The server's own name and port for a request: SERVER_NAME, SERVER_PORT and self-referential URLs.

httpd's ap_get_server_name and ap_get_server_port, as UseCanonicalName and
UseCanonicalPhysicalPort choose them:

    UseCanonicalName Off (default)  the name and port of the Host header (absolute-form
                                    target first); without one, ServerName
    UseCanonicalName On             ServerName
    UseCanonicalName DNS            the name of the local address the request came in on
    port not named by the above     80, or the local port with UseCanonicalPhysicalPort On

ServerName's own port is not kept by the configuration, so a port comes
from the Host header or the rules above.
"""

from __future__ import annotations

import functools
import socket
from html import escape

from itkgw.config.model import VHost
from itkgw.config.modules.core import RequestSettings
from itkgw.http.connection import Request

_DEFAULT_PORT = 80


def server_name(request: Request, vhost: VHost, settings: RequestSettings) -> str:
    mode = settings.canonical_name or "off"
    if mode == "off" and request.host:
        return request.host
    if mode == "dns":
        return _local_name(request.local_ip) or vhost.server_name
    return vhost.server_name


def server_port(request: Request, settings: RequestSettings) -> int:
    if (settings.canonical_name or "off") != "on" and request.host_port is not None:
        return request.host_port
    return request.local_port if settings.canonical_physical_port else _DEFAULT_PORT


def signature(request: Request, vhost: VHost, settings: RequestSettings, banner: str, admin: str) -> str:
    """ServerSignature's line, as httpd's ap_psignature writes it ("" when off): the banner,
    and the server's name and port as UseCanonicalName gives them."""
    mode = settings.server_signature or "off"
    if mode == "off":
        return ""
    name = escape(server_name(request, vhost, settings), quote=False)
    if mode == "email":
        name = f'<a href="mailto:{escape(admin, quote=False)}">{name}</a>'
    return f"<address>{banner} Server at {name} Port {server_port(request, settings)}</address>\n"


def authority(request: Request, vhost: VHost, settings: RequestSettings) -> str:
    """host[:port] of an absolute URL back to this server (the port left out when 80)."""
    name = server_name(request, vhost, settings)
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    port = server_port(request, settings)
    return name if port == _DEFAULT_PORT else f"{name}:{port}"


@functools.lru_cache(maxsize=16)
def _local_name(address: str) -> str:
    """The name of a local address (UseCanonicalName DNS), looked up once per process."""
    try:
        return socket.gethostbyaddr(address)[0].lower()
    except OSError:
        return ""
