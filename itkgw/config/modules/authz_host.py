"""mod_authz_host: the ip, host, local and method providers of Require."""

from __future__ import annotations

from itkgw.config.directive import Module

MODULE = Module(
    "authz_host",
    "mod_authz_host: the ip, host, local and method providers of Require",
    identifiers=("authz_host_module", "mod_authz_host.c"),
)
