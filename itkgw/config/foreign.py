"""What the Apache modules itkgw does not implement call their directives and handlers.

A stock httpd.conf may load modules itkgw has no counterpart for (mod_ssl,
mod_proxy...). Their
directives stay errors, as the reader promises, but the error can then name
the module a line belongs to and the two ways out: drop the line, or guard
it with ``<IfModule>``. Only well-known directives are listed; any other
unknown name still gets Apache's own "Invalid command" wording alone.
"""

from __future__ import annotations

from collections.abc import Mapping

_DIRECTIVES_BY_MODULE: Mapping[str, tuple[str, ...]] = {
    "ssl_module": (
        "SSLCACertificateFile", "SSLCACertificatePath", "SSLCertificateChainFile", "SSLCertificateFile",
        "SSLCertificateKeyFile", "SSLCipherSuite", "SSLEngine", "SSLHonorCipherOrder", "SSLOptions",
        "SSLProtocol", "SSLRandomSeed", "SSLSessionCache", "SSLSessionCacheTimeout", "SSLStaplingCache",
        "SSLUseStapling"),
    "proxy_module": ("ProxyPass", "ProxyPassReverse", "ProxyPreserveHost", "ProxyRequests"),
    "remoteip_module": ("RemoteIPHeader", "RemoteIPInternalProxy", "RemoteIPTrustedProxy"),
    "include_module": ("SSIEndTag", "SSILegacyExprParser", "SSIStartTag", "XBitHack"),
    "mime_magic_module": ("MIMEMagicFile",),
    "suexec_module": ("SuexecUserGroup",),
    "ruid2_module": ("RDefaultUidGid", "RGroups", "RMode", "RUidGid"),
    "security2_module": ("SecRequestBodyAccess", "SecRule", "SecRuleEngine"),
}

#: Lower-case directive name -> the module identifier LoadModule gives it.
DIRECTIVE_MODULES: Mapping[str, str] = {
    name.lower(): module for module, names in _DIRECTIVES_BY_MODULE.items() for name in names
}

#: Directives of modules itkgw implements only in part, and what to write instead.
NOT_IMPLEMENTED: Mapping[str, tuple[str, str]] = {
    "authbasicauthoritative": ("auth_basic_module", "remove the line; a password file is all it asks"),
    "authbasicfake": ("auth_basic_module", "remove the line"),
    "authbasicusedigestalgorithm": ("auth_basic_module", "remove the line"),
    "authnprovideralias": ("authn_core_module", "write AuthUserFile in each section that needs it"),
    "removeencoding": ("mime_module", "remove the line"),
    "setinputfilter": ("core", "remove the line; itkgw has no input filters"),
    "addinputfilter": ("mime_module", "remove the line; itkgw has no input filters"),
    "directorycheckhandler": ("dir_module", "remove the line"),
    "directoryindexredirect": ("dir_module", "remove the line"),
    "fcgidcmdoptions": ("fcgid_module", "set the limits with Fcgid* directives in the <VirtualHost>"),
    "fcgidfixpathinfo": ("fcgid_module", "remove the line; SCRIPT_NAME and PATH_INFO are passed as "
                                         "mod_fcgid passes them with it off"),
    "fcgidaccesschecker": ("fcgid_module", "FastCGI access checkers are not supported; write Require lines"),
    "fcgidauthenticator": ("fcgid_module", "FastCGI authenticators are not supported; write Require lines"),
    "fcgidauthorizer": ("fcgid_module", "FastCGI authorizers are not supported; write Require lines"),
}

#: Lower-case handler name -> what serves it in Apache.
HANDLER_OWNERS: Mapping[str, str] = {
    "server-info": "info_module",
    "imap-file": "imagemap_module",
    "send-as-is": "asis_module",
    "server-parsed": "include_module (SSI)",
}


def directive_hint(name: str, loaded_at: Mapping[str, str]) -> str | None:
    """What to do about directive ``name`` of an Apache module itkgw does not
    implement, or implements in part; None if the name is not a known one.
    ``loaded_at`` maps the modules LoadModule named to where it did."""
    partly = NOT_IMPLEMENTED.get(name.lower())
    if partly is not None:
        owner, instead = partly
        return f"{name} is part of {owner}, but not of what itkgw implements of it: {instead}"
    module = DIRECTIVE_MODULES.get(name.lower())
    if module is None:
        return None
    where = f" ({loaded_at[module]} loads it)" if module in loaded_at else ""
    return (f"{name} belongs to {module}, which itkgw does not implement{where}: remove the line, "
            f"or put it inside <IfModule {module}>")


def handler_owner(name: str) -> str | None:
    """Which Apache module serves handler ``name``, for a handler itkgw lacks."""
    return HANDLER_OWNERS.get(name.lower())
