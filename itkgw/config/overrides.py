"""AllowOverride: which directives an .htaccess file may hold, as httpd decides it.

httpd's modules declare, for each directive, the override classes that let it
into an .htaccess file (``OR_FILEINFO``, ``OR_AUTHCFG``...); a directive with
none (AssignUserID, php_admin_value, AllowOverride itself) is never allowed
there. ``AllowOverride`` names the classes a directory grants,
``AllowOverrideList`` single directives besides, and ``Nonfatal=`` turns the
500 of a refused or unknown directive into a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTHCONFIG, FILEINFO, INDEXES, LIMIT, OPTIONS = "authconfig", "fileinfo", "indexes", "limit", "options"
#: Every class: httpd's OR_ALL.
ALL_CLASSES = frozenset({AUTHCONFIG, FILEINFO, INDEXES, LIMIT, OPTIONS})

#: Directive (lower case) -> the classes that allow it in .htaccess, as httpd 2.4's
#: modules declare them. A directive not here is not allowed in .htaccess at all.
DIRECTIVE_CLASSES: dict[str, frozenset[str]] = {
    # core
    "options": frozenset({OPTIONS}),
    "sethandler": frozenset({FILEINFO}),
    "errordocument": frozenset({FILEINFO}),
    "adddefaultcharset": frozenset({FILEINFO}),
    "enablemmap": frozenset({FILEINFO}),
    "enablesendfile": frozenset({FILEINFO}),
    "fileetag": frozenset({FILEINFO}),
    "acceptpathinfo": frozenset({FILEINFO}),
    "setoutputfilter": frozenset({FILEINFO}),
    "defaulttype": frozenset({FILEINFO}),
    "contentdigest": frozenset({OPTIONS}),
    "cgipassauth": frozenset({AUTHCONFIG}),
    "limitrequestbody": ALL_CLASSES,
    "serversignature": ALL_CLASSES,
    "rlimitcpu": ALL_CLASSES,
    "rlimitmem": ALL_CLASSES,
    "rlimitnproc": ALL_CLASSES,
    # mod_authz_core, mod_access_compat
    "require": frozenset({AUTHCONFIG}),
    "authtype": frozenset({AUTHCONFIG}),
    "authname": frozenset({AUTHCONFIG}),
    "authuserfile": frozenset({AUTHCONFIG}),
    "authgroupfile": frozenset({AUTHCONFIG}),
    "authbasicprovider": frozenset({AUTHCONFIG}),
    "satisfy": frozenset({AUTHCONFIG}),
    "order": frozenset({LIMIT}),
    "allow": frozenset({LIMIT}),
    "deny": frozenset({LIMIT}),
    # mod_dir, mod_env, mod_headers, mod_mime
    "directoryindex": frozenset({INDEXES}),
    "setenv": frozenset({FILEINFO}),
    "passenv": frozenset({FILEINFO}),
    "unsetenv": frozenset({FILEINFO}),
    "header": frozenset({FILEINFO}),
    "requestheader": frozenset({FILEINFO}),
    "addhandler": frozenset({FILEINFO}),
    "addtype": frozenset({FILEINFO}),
    "addencoding": frozenset({FILEINFO}),
    "addcharset": frozenset({FILEINFO}),
    "addoutputfilter": frozenset({FILEINFO}),
    "removeoutputfilter": frozenset({FILEINFO}),
    "addlanguage": frozenset({FILEINFO}),
    "defaultlanguage": frozenset({FILEINFO}),
    "removecharset": frozenset({FILEINFO}),
    "removelanguage": frozenset({FILEINFO}),
    "removetype": frozenset({FILEINFO}),
    "forcetype": frozenset({FILEINFO}),
    "removehandler": frozenset({FILEINFO}),
    "multiviewsmatch": frozenset({FILEINFO}),
    # mod_filter
    "addoutputfilterbytype": frozenset({FILEINFO}),
    # mod_negotiation
    "languagepriority": frozenset({FILEINFO}),
    "forcelanguagepriority": frozenset({FILEINFO}),
    "fallbackresource": frozenset({INDEXES}),
    "directoryslash": frozenset({INDEXES}),
    # mod_setenvif
    "setenvif": frozenset({FILEINFO}),
    "setenvifnocase": frozenset({FILEINFO}),
    "browsermatch": frozenset({FILEINFO}),
    "setenvifexpr": frozenset({FILEINFO}),
    "browsermatchnocase": frozenset({FILEINFO}),
    # mod_autoindex
    **dict.fromkeys(("indexoptions", "indexignore", "indexignorereset", "addicon", "addiconbytype",
                     "addiconbyencoding", "addalt", "addaltbytype", "addaltbyencoding", "adddescription",
                     "defaulticon", "headername", "readmename", "indexorderdefault", "indexstylesheet",
                     "indexheadinsert"), frozenset({INDEXES})),
    # mod_expires
    "expiresactive": frozenset({INDEXES}),
    "expiresbytype": frozenset({INDEXES}),
    "expiresdefault": frozenset({INDEXES}),
    # mod_cgi, mod_fcgid, mod_proxy_fcgi
    "cgiscripttimeout": frozenset({FILEINFO}),
    "fcgidwrapper": frozenset({FILEINFO}),
    "proxyfcgibackendtype": frozenset({FILEINFO}),
    # mod_php: php_value and php_flag with Options; php_admin_* never
    "php_value": frozenset({OPTIONS}),
    "php_flag": frozenset({OPTIONS}),
    # mod_rewrite and mod_alias (read in .htaccess by httpd with FileInfo)
    "rewriteengine": frozenset({FILEINFO}),
    "rewriteoptions": frozenset({FILEINFO}),
    "rewritebase": frozenset({FILEINFO}),
    "rewritecond": frozenset({FILEINFO}),
    "rewriterule": frozenset({FILEINFO}),
    "redirect": frozenset({FILEINFO}),
    "redirectmatch": frozenset({FILEINFO}),
    "redirectpermanent": frozenset({FILEINFO}),
    "redirecttemp": frozenset({FILEINFO}),
}


@dataclass(frozen=True)
class Overrides:
    """What AllowOverride and AllowOverrideList grant one directory's .htaccess."""

    classes: frozenset[str] = frozenset()
    #: AllowOverride Options=...: the Options words .htaccess may set (None: all of them).
    options: frozenset[str] | None = None
    #: Nonfatal=Override / Unknown: such a directive is skipped with a warning, not a 500.
    nonfatal: frozenset[str] = frozenset()
    #: AllowOverrideList: directives allowed by name (lower case), whatever the classes.
    listed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, words: tuple[str, ...], listed: tuple[str, ...] = ()) -> Overrides:
        """AllowOverride's words as written (None, All, classes, Options=..., Nonfatal=...)."""
        classes: set[str] = set()
        options: frozenset[str] | None = None
        nonfatal: set[str] = set()
        for word in words:
            name, _, value = word.partition("=")
            name = name.lower()
            if name == "all":
                classes |= ALL_CLASSES
            elif name == "nonfatal":
                kinds = {kind.lower() for kind in value.split(",") if kind}
                nonfatal |= {"override", "unknown"} if "all" in kinds else kinds
            elif name != "none":
                classes.add(name)
                if name == OPTIONS and value:
                    options = frozenset(option.lower() for option in value.split(",") if option)
        allowed = frozenset(name.lower() for name in listed if name.lower() != "none")
        return cls(frozenset(classes), options, frozenset(nonfatal), allowed)

    @property
    def reads_files(self) -> bool:
        """Whether httpd opens the directory's .htaccess at all (not with AllowOverride None)."""
        return bool(self.classes or self.listed)

    def allows(self, directive: str) -> bool:
        name = directive.lower()
        return name in self.listed or bool(DIRECTIVE_CLASSES.get(name, frozenset()) & self.classes)
