"""mod_userdir: /~user/ served from each user's home."""

from __future__ import annotations

from itkgw.config.directive import VHOST, Directive, Module
from itkgw.config.kinds import UserDirKind, Words

MODULE = Module(
    "userdir",
    "mod_userdir: /~user/ served from each user's home",
    identifiers=("userdir_module", "mod_userdir.c"),
    directives=(
        Directive("UserDir", "user_dir", VHOST, UserDirKind(),
                  "directory below each user's home served as /~user/ (public_html, /home/*/www); "
                  "UserDir disabled [users] turns it off (for those users), UserDir enabled users back on"),
        Directive("", "user_dir_disabled", VHOST, Words(), "users whose /~user/ is not served; \"*\": every "
                  "user not in user_dir_enabled", also_from="UserDir disabled [users]"),
        Directive("", "user_dir_enabled", VHOST, Words(), "users whose /~user/ is served though "
                  "user_dir_disabled has \"*\"", also_from="UserDir enabled users"),
    ),
)
