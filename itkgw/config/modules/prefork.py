"""the prefork MPM mpm-itk is built on: how many workers."""

from __future__ import annotations

from itkgw.config.directive import BOTH, NOWHERE, ONLY_24, SERVER, Alias, Directive, Module
from itkgw.config.kinds import Int

MODULE = Module(
    "prefork",
    "the prefork MPM mpm-itk is built on: how many workers",
    identifiers=("mpm_prefork_module", "prefork.c", "mpm_prefork.c"),
    directives=(
        Directive("StartServers", "start_servers", SERVER, Int(low=1), "workers started at boot"),
        Directive("MinSpareServers", "min_spare_servers", SERVER, Int(), "idle workers kept at least"),
        Directive("MaxSpareServers", "max_spare_servers", SERVER, Int(), "idle workers kept at most"),
        Directive("MaxRequestWorkers", "max_request_workers", SERVER, Int(),
                  "workers at most, so connections served at once", series=ONLY_24,
                  aliases=(Alias("MaxClients", BOTH, deprecated_in=ONLY_24),)),
        Directive("MaxConnectionsPerChild", "max_connections_per_child", SERVER, Int(low=0),
                  "connections a worker serves before it is replaced, 0 = never", series=ONLY_24,
                  aliases=(Alias("MaxRequestsPerChild", BOTH, deprecated_in=ONLY_24),)),
        Directive("ServerLimit", "", NOWHERE, Int(low=1, high=200000),
                  "upper bound of MaxRequestWorkers (default 256); a larger MaxRequestWorkers is lowered "
                  "with a warning", apache=SERVER),
    ),
)
