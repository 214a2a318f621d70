"""PHP as mod_php's directives give it, run through php-cgi.

PHPHandler (itkgw's own) says how: ``fcgid`` (the default) keeps php-cgi
processes per class, as mod_fcgid does, lent out by the backend manager
under FcgidXxx's limits; ``cgi`` starts one php-cgi per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import (
    EVERYWHERE,
    NOWHERE,
    SERVER,
    VHOST,
    VHOST_DIRECTORY,
    Context,
    Directive,
    Module,
)
from itkgw.config.kinds import Choice, Extensions, Path
from itkgw.config.kinds_structured import PHPSettings

PERSISTENT = "fcgid"
PER_REQUEST = "cgi"


@dataclass(frozen=True)
class PHPRunSettings:
    """How a vhost's PHP runs; None: PERSISTENT."""

    handler: str | None = None

    @property
    def persistent(self) -> bool:
        return (self.handler or PERSISTENT) == PERSISTENT

MODULE = Module(
    "php",
    "PHP as mod_php's directives give it, run through php-cgi",
    identifiers=("php_module", "php5_module", "php7_module", "mod_php.c", "mod_php5.c", "mod_php7.c",
                 "sapi_apache2.c"),
    directives=(
        Directive("PHPCGI", "php_cgi", SERVER, Path(), "php-cgi binary run for PHP files (itkgw's own)"),
        Directive("PHPHandler", "php_handler", VHOST, Choice(options=(PERSISTENT, PER_REQUEST)),
                  "fcgid (default): php-cgi processes kept per vhost, identity and settings, under the "
                  "Fcgid* limits; cgi: one php-cgi per request (itkgw's own)", field="handler"),
        Directive("PHPExtensions", "php_extensions", VHOST, Extensions(), "file endings run through php-cgi",
                  repeat=True,
                  also_from="AddHandler application/x-httpd-php EXT..., AddType application/x-httpd-php"),
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
    ),
    settings={Context.VHOST: PHPRunSettings},
)
