"""mod_cgi: CGI scripts."""

from __future__ import annotations

from itkgw.config.directive import VHOST, Directive, Module
from itkgw.config.kinds import Extensions

MODULE = Module(
    "cgi",
    "mod_cgi: CGI scripts",
    identifiers=("cgi_module", "mod_cgi.c"),
    directives=(
        Directive("CGIExtensions", "cgi_extensions", VHOST, Extensions(), "file endings run as CGI scripts",
                  repeat=True, also_from="AddHandler cgi-script EXT..."),
    ),
)
