"""mod_negotiation's directives, read so that a stock httpd.conf loads: itkgw does no content
negotiation (Options MultiViews and type maps have no effect), so each is named in a warning."""

from __future__ import annotations

from itkgw.config.directive import EVERYWHERE, SERVER_VHOST, Module, no_effect

NO_NEGOTIATION = "itkgw does no content negotiation (no MultiViews, no type maps)"

MODULE = Module(
    "negotiation",
    "mod_negotiation's settings, read without effect: itkgw does no content negotiation",
    identifiers=("negotiation_module", "mod_negotiation.c"),
    directives=(
        no_effect("LanguagePriority", NO_NEGOTIATION, EVERYWHERE),
        no_effect("ForceLanguagePriority", NO_NEGOTIATION, EVERYWHERE),
        no_effect("CacheNegotiatedDocs", NO_NEGOTIATION, SERVER_VHOST),
    ),
)
