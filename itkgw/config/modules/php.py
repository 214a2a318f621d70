"""PHP as mod_php's directives give it, run through php-cgi."""

from __future__ import annotations

from itkgw.config.directive import EVERYWHERE, NOWHERE, SERVER, VHOST, VHOST_DIRECTORY, Directive, Module
from itkgw.config.kinds import Extensions, Path
from itkgw.config.kinds_structured import PHPSettings

MODULE = Module(
    "php",
    "PHP as mod_php's directives give it, run through php-cgi",
    identifiers=("php_module", "php5_module", "php7_module", "mod_php.c", "mod_php5.c", "mod_php7.c",
                 "sapi_apache2.c"),
    directives=(
        Directive("PHPCGI", "php_cgi", SERVER, Path(), "php-cgi binary run for PHP files (itkgw's own)"),
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
)
