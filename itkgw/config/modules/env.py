"""mod_env: variables for scripts."""

from __future__ import annotations

import os
from typing import ClassVar

from itkgw.config.directive import EVERYWHERE, NOWHERE, VHOST_DIRECTORY, Directive, Module
from itkgw.config.kinds import ApacheOnly, Words
from itkgw.config.kinds_structured import EnvPairs


class PassedEnv(ApacheOnly):
    """PassEnv's names, read as httpd reads them: each with the value it has in the
    environment itkgw was started with, as SetEnv would set it; an unset one is passed
    as nothing."""

    expects: ClassVar[str] = "one or more variable names"
    args_example: ClassVar[str] = "PassEnv LD_LIBRARY_PATH TZ"

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if not args:
            raise self.wrong_args(args, where)
        return tuple((name, os.environ[name]) for name in args if name in os.environ)

MODULE = Module(
    "env",
    "mod_env: variables for scripts",
    identifiers=("env_module", "mod_env.c"),
    directives=(
        Directive("SetEnv", "set_env", VHOST_DIRECTORY, EnvPairs(),
                  'variables for scripts; TOML { NAME = "value" }', repeat=True, keyed=True),
        Directive("PassEnv", "", NOWHERE, PassedEnv(), "variables of itkgw's own environment for "
                  "scripts, with the values they had when it started (TOML: write them in set_env)",
                  field="set_env", repeat=True, keyed=True, apache=EVERYWHERE),
        Directive("UnsetEnv", "unset_env", VHOST_DIRECTORY, Words(), "variables removed for scripts",
                  repeat=True),
    ),
)
