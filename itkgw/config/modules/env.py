"""mod_env: variables for scripts."""

from __future__ import annotations

from itkgw.config.directive import VHOST_DIRECTORY, Directive, Module
from itkgw.config.kinds import Words
from itkgw.config.kinds_structured import EnvPairs

MODULE = Module(
    "env",
    "mod_env: variables for scripts",
    identifiers=("env_module", "mod_env.c"),
    directives=(
        Directive("SetEnv", "set_env", VHOST_DIRECTORY, EnvPairs(),
                  'variables for scripts; TOML { NAME = "value" }', repeat=True, keyed=True),
        Directive("UnsetEnv", "unset_env", VHOST_DIRECTORY, Words(), "variables removed for scripts",
                  repeat=True),
    ),
)
