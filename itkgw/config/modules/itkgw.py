"""itkgw's own settings, no Apache module's."""

from __future__ import annotations

from itkgw.config.directive import SERIES, SERVER, Directive, Module
from itkgw.config.kinds import Choice, Flag, UserGroup

MODULE = Module(
    "itkgw",
    "itkgw's own settings, no Apache module's",
    directives=(
        Directive("--compat", "compat", SERVER, Choice(options=SERIES, example="2.4"),
                  "mpm-itk series whose directives are accepted (the command line wins; Apache syntax: "
                  "--compat only, default 2.4)"),
        Directive("DefaultIdentity", "default_identity", SERVER, UserGroup(),
                  "user and group requests run as where no AssignUserID or AssignUserIDExpr says "
                  "(itkgw's own; default nobody nogroup). Never the workers' own User: a script "
                  "running as it could stop or trace every worker"),
        Directive("AllowUserNamespaces", "allow_user_namespaces", SERVER, Flag(),
                  "let scripts create user namespaces (unshare -U, rootless containers); off by default, "
                  "as they open kernel surface to every tenant (itkgw's own)"),
        Directive("NoNewPrivs", "no_new_privs", SERVER, Flag(),
                  "set PR_SET_NO_NEW_PRIVS for scripts (breaks setgid sendmail, so PHP mail()) "
                  "(itkgw's own)"),
    ),
)
