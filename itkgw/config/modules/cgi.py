"""mod_cgi: CGI scripts."""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import ONLY_24, VHOST, VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds import Duration, Extensions


@dataclass(frozen=True)
class CGISettings:
    """mod_cgi's per-directory settings; None leaves a value to the sections around."""

    #: Seconds to wait for more output from a script before it is killed
    #: (504); None: the server's Timeout.
    script_timeout: float | None = None


MODULE = Module(
    "cgi",
    "mod_cgi: CGI scripts",
    identifiers=("cgi_module", "mod_cgi.c"),
    directives=(
        Directive("CGIExtensions", "cgi_extensions", VHOST, Extensions(), "file endings run as CGI scripts",
                  repeat=True, also_from="AddHandler cgi-script EXT..."),
        Directive("CGIScriptTimeout", "cgi_script_timeout", VHOST_DIRECTORY, Duration(),
                  "how long to wait for more output from a CGI script before it is killed and the "
                  "client gets 504 (Apache: 20, 500ms, 2mi...; TOML: seconds; 0 or unset: Timeout)",
                  field="script_timeout", series=ONLY_24,
                  instead="Apache 2.2's mod_cgi waits Timeout for a script's output"),
    ),
    settings={Context.VHOST: CGISettings, Context.DIRECTORY: CGISettings},
)
