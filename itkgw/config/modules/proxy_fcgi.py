"""mod_proxy_fcgi (with mod_proxy's ProxyTimeout and ProxyPassMatch): FastCGI servers the admin runs.

The handler form is SetHandler's value, ``proxy:unix:/run/php/alice.sock|fcgi://localhost``
or ``proxy:fcgi://127.0.0.1:9000`` (itkgw.config.kinds_structured.proxy_handler reads it).
ProxyPassMatch hands URL paths matching a regex to a server, the script path in its URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import ONLY_24, SERVER_VHOST, VHOST, VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds import Choice, Duration, Kind, check_regex
from itkgw.config.kinds_structured import proxy_handler
from itkgw.errors import ConfigError


@dataclass(frozen=True)
class ProxySettings:
    """mod_proxy(_fcgi)'s settings; None leaves a value to the level around."""

    #: Seconds to wait for a FastCGI server to accept and to answer; None: Timeout.
    timeout: float | None = None
    #: (regex, fcgi URL with $1...) pairs of ProxyPassMatch, in order; None: the main server's.
    pass_match: tuple[tuple[str, str], ...] | None = None
    #: "fpm" (php-fpm strips the proxy:fcgi:// prefix of SCRIPT_FILENAME itself) or "generic".
    backend_type: str | None = None


@dataclass(frozen=True)
class PassMatch(Kind):
    """ProxyPassMatch REGEX URL: the URL a fcgi:// one, or unix:/path|fcgi://localhost/..."""

    expects: ClassVar[str] = "a list of [regex, fcgi URL] pairs"
    toml_example: ClassVar[str] = r'[["^/(.*\\.php)$", "fcgi://127.0.0.1:9000/srv/www/$1"]]'
    args_example: ClassVar[str] = r'ProxyPassMatch "^/(.*\.php)$" "fcgi://127.0.0.1:9000/srv/www/$1"'

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list) or not all(
                isinstance(item, list) and len(item) == 2 and all(isinstance(word, str) for word in item)
                for item in value):
            raise self.wrong_toml(value, where)
        return tuple(self.pair(pattern, url, where) for pattern, url in value)

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if len(args) != 2:
            raise ConfigError(where, f"ProxyPassMatch takes a regex and a URL, got {len(args)} arguments",
                              f"write it as {self.args_example} (worker parameters and the one-argument "
                              "<LocationMatch> form are not supported)")
        return (self.pair(args[0], args[1], where),)

    def pair(self, pattern: str, url: str, where: str) -> tuple[str, str]:
        check_regex(pattern, where, "ProxyPassMatch")
        if url != "!":
            proxy_handler("proxy:" + url, where)
        return pattern, url


MODULE = Module(
    "proxy_fcgi",
    "mod_proxy_fcgi: requests handed to FastCGI servers (php-fpm pools)",
    identifiers=("proxy_fcgi_module", "mod_proxy_fcgi.c"),
    directives=(
        Directive("ProxyTimeout", "proxy_timeout", VHOST, Duration(),
                  "how long to wait for a FastCGI server to accept a connection and for its output "
                  "before the client gets 503 or 504 (default Timeout)", field="timeout", series=ONLY_24,
                  apache=SERVER_VHOST, instead="Apache 2.2 has no mod_proxy_fcgi"),
        Directive("ProxyPassMatch", "proxy_pass_match", VHOST, PassMatch(),
                  "URL paths matching a regex go to a FastCGI server, the script's path in its URL "
                  "($1...); ! as the URL exempts them; the first match wins", field="pass_match",
                  series=ONLY_24, repeat=True, apache=SERVER_VHOST,
                  instead="Apache 2.2 has no mod_proxy_fcgi"),
        Directive("ProxyFCGIBackendType", "proxy_fcgi_backend_type", VHOST_DIRECTORY,
                  Choice(options=("fpm", "generic"), example="fpm"),
                  "FPM (default): SCRIPT_FILENAME starts with the handler's proxy:fcgi://host, which "
                  "php-fpm removes; GENERIC: it is the bare path", field="backend_type", series=ONLY_24,
                  instead="Apache 2.2 has no mod_proxy_fcgi"),
    ),
    settings={Context.VHOST: ProxySettings, Context.DIRECTORY: ProxySettings},
)
