"""mod_status: SetHandler server-status shows the scoreboard (itkgw.mpm.status draws it)."""

from __future__ import annotations

from itkgw.config.directive import SERVER, Module, no_effect

MODULE = Module(
    "status",
    "mod_status: the scoreboard as a page (SetHandler server-status, ?auto for monitoring)",
    identifiers=("status_module", "mod_status.c"),
    directives=(
        no_effect("SeeRequestTail", "the status page shows a request line's first 128 bytes", SERVER),
    ),
)
