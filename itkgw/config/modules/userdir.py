"""mod_userdir: /~user/ served from each user's home."""

from __future__ import annotations

from itkgw.config.directive import VHOST, Directive, Module
from itkgw.config.kinds import UserDirKind

MODULE = Module(
    "userdir",
    "mod_userdir: /~user/ served from each user's home",
    identifiers=("userdir_module", "mod_userdir.c"),
    directives=(
        Directive("UserDir", "user_dir", VHOST, UserDirKind(),
                  "directory below each user's home served as /~user/ (public_html, /home/*/www); "
                  "UserDir disabled turns it off"),
    ),
)
