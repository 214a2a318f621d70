"""mod_proxy_fcgi (with mod_proxy's ProxyTimeout): PHP and other FastCGI servers the admin runs.

The handler itself is SetHandler's value, ``proxy:unix:/run/php/alice.sock|fcgi://localhost``
or ``proxy:fcgi://127.0.0.1:9000`` (itkgw.config.kinds_structured.proxy_handler reads it).
"""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import ONLY_24, SERVER_VHOST, VHOST, Context, Directive, Module
from itkgw.config.kinds import Duration


@dataclass(frozen=True)
class ProxySettings:
    """mod_proxy's per-vhost settings; None leaves a value to the main server's."""

    #: Seconds to wait for a FastCGI server to accept and to answer; None: Timeout.
    timeout: float | None = None


MODULE = Module(
    "proxy_fcgi",
    "mod_proxy_fcgi: requests handed to FastCGI servers (php-fpm pools)",
    identifiers=("proxy_fcgi_module", "mod_proxy_fcgi.c"),
    directives=(
        Directive("ProxyTimeout", "proxy_timeout", VHOST, Duration(),
                  "how long to wait for a FastCGI server to accept a connection and for its output "
                  "before the client gets 503 or 504 (default Timeout)", field="timeout", series=ONLY_24,
                  apache=SERVER_VHOST, instead="Apache 2.2 has no mod_proxy_fcgi"),
    ),
    settings={Context.VHOST: ProxySettings},
)
