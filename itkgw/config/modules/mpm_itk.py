"""mpm-itk: the identity each request runs as, and the limits around it."""

from __future__ import annotations

from itkgw.config.directive import ONLY_24, SERVER, VHOST, VHOST_DIRECTORY, Directive, Module
from itkgw.config.kinds import ExprText, Flag, IdRange, Int, UserGroup

MODULE = Module(
    "mpm_itk",
    "mpm-itk: the identity each request runs as, and the limits around it",
    identifiers=("mpm_itk_module", "mpm_itk.c", "itk.c"),
    directives=(
        Directive("LimitUIDRange", "limit_uid_range", SERVER, IdRange(),
                  "uids requests may run as; others get 500", series=ONLY_24),
        Directive("LimitGIDRange", "limit_gid_range", SERVER, IdRange(),
                  "gids requests may run as; others get 500", series=ONLY_24),
        Directive("EnableCapabilities", "enable_capabilities", SERVER, Flag(),
                  "workers run as User/Group with only the capabilities a switch needs", series=ONLY_24),
        Directive("AssignUserID", "assign_user_id", VHOST_DIRECTORY, UserGroup(),
                  "user and group requests run as"),
        Directive("AssignUserIDExpr", "assign_user_id_expr", VHOST_DIRECTORY,
                  ExprText(directive="AssignUserIDExpr"),
                  "ap_expr (string form) giving the user name requests run as; overrides AssignUserID",
                  series=ONLY_24, instead="mpm-itk 2.2 has AssignUserID only"),
        Directive("AssignGroupIDExpr", "assign_group_id_expr", VHOST_DIRECTORY,
                  ExprText(directive="AssignGroupIDExpr"),
                  "ap_expr (string form) giving the group name requests run as; overrides AssignUserID",
                  series=ONLY_24, instead="mpm-itk 2.2 has AssignUserID only"),
        Directive("MaxClientsVHost", "max_clients_vhost", VHOST, Int(low=0),
                  "busy connections allowed at once, 0 = no limit"),
        Directive("NiceValue", "nice_value", VHOST_DIRECTORY, Int(),
                  "nice value of request processes, -20 to 19"),
    ),
)
