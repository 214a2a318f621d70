"""HTTP Basic authentication against password files: mod_auth_basic with mod_authn_core
(AuthType, AuthName), mod_authn_file (AuthUserFile), mod_authz_user (Require user,
valid-user) and mod_authz_groupfile (AuthGroupFile, Require group), as a shared host's
password-protected directories use them. The login itself is itkgw.request.authn's."""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import DIRECTORY, NOWHERE, Context, Directive, Module
from itkgw.config.kinds import Path, Text
from itkgw.errors import ConfigError


@dataclass(frozen=True)
class AuthTypeName(Text):
    """AuthType None or Basic; Digest and form logins are refused rather than served without."""

    def check(self, value: str, where: str) -> str:
        if value.lower() not in ("none", "basic"):
            raise ConfigError(where, f"AuthType {value} is not supported: itkgw's logins are Basic ones",
                              "write AuthType Basic with an AuthUserFile, or guard the path with Require ip")
        return value.lower()


@dataclass(frozen=True)
class BasicProvider(Text):
    """AuthBasicProvider: the password file (``file``, the default) is the one itkgw reads."""

    def check(self, value: str, where: str) -> str:
        for word in value.split():
            if word.lower() != "file":
                raise ConfigError(where, f"AuthBasicProvider {word} is not supported",
                                  "itkgw checks passwords against an AuthUserFile (AuthBasicProvider file)")
        return value


@dataclass(frozen=True)
class AuthSettings:
    """A section's authentication: the type, the realm the browser shows, the password and
    group files (None: the enclosing section's)."""

    auth_type: str | None = None
    name: str | None = None
    user_file: str | None = None
    group_file: str | None = None


MODULE = Module(
    "auth_basic",
    "mod_auth_basic with mod_authn_file, mod_authz_user and mod_authz_groupfile: Basic logins",
    identifiers=("auth_basic_module", "mod_auth_basic.c", "authn_core_module", "mod_authn_core.c",
                 "authn_file_module", "mod_authn_file.c", "authz_user_module", "mod_authz_user.c",
                 "authz_groupfile_module", "mod_authz_groupfile.c"),
    directives=(
        Directive("AuthType", "auth_type", DIRECTORY, AuthTypeName(),
                  "Basic: Require valid-user, user and group ask the browser for a login; None: no "
                  "login", field="auth_type"),
        Directive("AuthName", "auth_name", DIRECTORY, Text(),
                  "the realm of the login, which the browser shows", field="name"),
        Directive("AuthUserFile", "auth_user_file", DIRECTORY, Path(),
                  "the password file (htpasswd's: bcrypt, $apr1$ MD5, {SHA} or crypt), read as the "
                  "request's identity", field="user_file", root_relative=True),
        Directive("AuthGroupFile", "auth_group_file", DIRECTORY, Path(),
                  "the group file for Require group: lines of 'group: user user...'",
                  field="group_file", root_relative=True),
        Directive("AuthBasicProvider", "", NOWHERE, BasicProvider(), "accepted as file only",
                  apache=DIRECTORY, no_effect="file, the password file, is the provider itkgw reads"),
    ),
    settings={Context.DIRECTORY: AuthSettings},
)
