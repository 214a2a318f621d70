"""The value kinds of structured settings: Options, handlers and types,
environment and headers, PHP settings, error documents, redirects, access
control, mod_rewrite rules, and the directives that steer reading.

They build on the plain kinds of ``kinds``; the directive table puts each
one in a row.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from itkgw.config import foreign
from itkgw.config.kinds import (
    ApacheOnly,
    Choice,
    Flag,
    Kind,
    Path,
    Text,
    TomlOnly,
    Words,
    apache_words,
    check_expr,
    check_regex,
    extension,
    toml_type,
)
from itkgw.config.model import HeaderRule, PHPSetting, Redirect, unknown_header_format
from itkgw.errors import ConfigError
from itkgw.rules.authz import AccessCompat, LimitedAccess, Require, RequireGroup
from itkgw.rules.rewrite import RULE_STATUSES, RewriteCond, RewriteRule

# -- Options -------------------------------------------------------------------

#: Options words, spelled as Apache's docs spell them (Apache ignores case).
OPTION_WORDS = ("All", "None", "ExecCGI", "FollowSymLinks", "SymLinksIfOwnerMatch", "Indexes",
                "Includes", "IncludesNOEXEC", "MultiViews")
#: Options words itkgw accepts but does nothing for (there is no SSI).
UNSUPPORTED_OPTIONS = frozenset({"Includes", "IncludesNOEXEC"})
_OPTION_BY_LOWER = {word.lower(): word for word in OPTION_WORDS}


def options_signed(words: tuple[str, ...]) -> bool:
    """Whether an Options line only changes what it inherits (every word has + or -)."""
    return bool(words) and all(word[:1] in "+-" for word in words)


def apply_options(inherited: tuple[str, ...], words: tuple[str, ...]) -> tuple[str, ...]:
    """Apache's rule: a line of +/- words modifies the inherited options, any
    plain word replaces them. Words of 2.2's mixed lines: plain ones replace,
    then the signed ones apply. The result has no signs."""
    if not words:
        return inherited
    if not any(word[:1] in "+-" for word in words):
        return tuple(word for word in words if word != "None")
    plain = [word for word in words if word[:1] not in "+-"]
    result = dict.fromkeys(word for word in (plain or inherited) if word != "None")
    for word in words:
        if word[:1] == "+":
            result[word[1:]] = None
        elif word[:1] == "-":
            result.pop(word[1:], None)
    return tuple(result)


def combine_options(earlier: tuple[str, ...] | None, later: tuple[str, ...]) -> tuple[str, ...]:
    """Two Options lines of one section as one: a plain line replaces, a signed
    one modifies the earlier line (still signed if that was signed)."""
    if earlier is None or not options_signed(later):
        return later
    if not options_signed(earlier):
        return apply_options(earlier, later)
    merged = {word[1:]: word for word in earlier}
    merged.update((word[1:], word) for word in later)
    return tuple(merged.values())


def allows_cgi(words: tuple[str, ...]) -> bool:
    """Whether resolved (unsigned) Options let CGI scripts run: ExecCGI, or All."""
    return "ExecCGI" in words or "All" in words


@dataclass(frozen=True)
class OptionWords(Kind):
    """Options words, with + and - kept as written (the merge applies them).
    Apache 2.4 refuses lines mixing signed and plain words; 2.2 reads them
    (the Apache reader decides, knowing the series)."""

    expects: ClassVar[str] = "Options words"
    toml_example: ClassVar[str] = '["FollowSymLinks", "ExecCGI"] or ["+ExecCGI", "-Indexes"]'
    args_example: ClassVar[str] = "Options FollowSymLinks ExecCGI, or Options +ExecCGI -Indexes"

    def from_toml(self, value: object, where: str) -> tuple[str, ...]:
        words = tuple(self.word(item, where) for item in self.string_list(value, where, allow_empty=True))
        if not options_signed(words) and any(word[:1] in "+-" for word in words):
            raise ConfigError(where, MIXED_OPTIONS, "sign every word, or none")
        return words

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if not args:
            raise self.wrong_args(args, where)
        return tuple(self.word(item, where) for item in args)

    def word(self, item: str, where: str) -> str:
        sign = item[:1] if item[:1] in "+-" else ""
        canonical = _OPTION_BY_LOWER.get(item[len(sign):].lower())
        if canonical is None or (sign and canonical in ("All", "None")):
            raise ConfigError(where, f"Illegal option {item}", "the options are " + ", ".join(OPTION_WORDS))
        return sign + canonical


MIXED_OPTIONS = "Either all Options must start with + or -, or no Option may."


@dataclass(frozen=True)
class ExecCGIOption(Kind):
    """Whether CGI may run; Apache spells it inside ``Options``.

    ``from_args`` reads an Options line: ExecCGI, +ExecCGI or All turn it on,
    -ExecCGI or a plain list without it turn it off, and a list of only
    +/- options that leaves ExecCGI alone gives None (unchanged).
    """

    expects: ClassVar[str] = Flag.expects
    toml_example: ClassVar[str] = Flag.toml_example
    args_example: ClassVar[str] = "Options +ExecCGI or Options -ExecCGI"

    def from_toml(self, value: object, where: str) -> bool:
        return Flag().from_toml(value, where)

    def from_args(self, args: list[str], where: str) -> bool | None:
        if not args:
            raise self.wrong_args(args, where)
        words = [word.lower() for word in args]
        if "execcgi" in words or "+execcgi" in words or "all" in words:
            return True
        if "-execcgi" in words:
            return False
        if all(word[:1] in "+-" for word in words):
            return None
        return False


# -- handlers and types ----------------------------------------------------------

CGI_HANDLER = "cgi-script"
PHP_HANDLER = "application/x-httpd-php"
FCGID_HANDLER = "fcgid-script"
#: mod_negotiation's: read so stock configs load; without negotiation a type map is served as it
#: is, as httpd serves a file whose handler no module provides.
TYPE_MAP_HANDLER = "type-map"
#: mod_php's: a PHP file's source, highlighted (Debian's php.conf gives it .phps files).
PHP_SOURCE_HANDLER = "application/x-httpd-php-source"
#: mod_status's page of the scoreboard.
STATUS_HANDLER = "server-status"
#: Handler names itkgw serves, with the other names PHP packagings give mod_php's handler.
HANDLERS: Mapping[str, str] = {
    "cgi-script": CGI_HANDLER,
    "application/x-httpd-php": PHP_HANDLER,
    "application/x-httpd-php5": PHP_HANDLER,
    "php-script": PHP_HANDLER,
    "php5-script": PHP_HANDLER,
    "php7-script": PHP_HANDLER,
    "default-handler": "default-handler",
    "fcgid-script": FCGID_HANDLER,
    TYPE_MAP_HANDLER: TYPE_MAP_HANDLER,
    PHP_SOURCE_HANDLER: PHP_SOURCE_HANDLER,
    STATUS_HANDLER: STATUS_HANDLER,
}
#: The handlers HANDLERS names map to.
HANDLER_NAMES = frozenset(HANDLERS.values())
#: Content types mod_php turns into its handler (``AddType application/x-httpd-php .php``).
PHP_TYPES = frozenset({"application/x-httpd-php", "application/x-httpd-php5"})


_PROXY_HANDLER = re.compile(r"proxy:(?:unix:(/[^|]+)\|)?fcgi://([^/]*)/?.*", re.IGNORECASE)


def proxy_handler(word: str, where: str) -> str:
    """mod_proxy_fcgi's handler, ``proxy:unix:/path|fcgi://localhost/`` or
    ``proxy:fcgi://host:port/``, as written; ConfigError for another form."""
    match = _PROXY_HANDLER.fullmatch(word)
    if match is None:
        raise ConfigError(where, f"{word}: itkgw proxies to FastCGI servers only",
                          'write "proxy:unix:/run/php/site.sock|fcgi://localhost" or '
                          '"proxy:fcgi://127.0.0.1:9000"')
    if match.group(1) is None and not re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):\d+", match.group(2)):
        raise ConfigError(where, f"{word}: a TCP FastCGI server needs host:port",
                          'write "proxy:fcgi://127.0.0.1:9000"')
    return word


def proxy_address(handler: str) -> str:
    """The backend of a proxy handler, as fcgi_client.Address.parse reads it."""
    match = _PROXY_HANDLER.fullmatch(handler)
    assert match is not None, handler
    return f"unix:{match.group(1)}" if match.group(1) else match.group(2)


def handler_name(word: str, where: str, none_ok: bool = False) -> str:
    """A handler name as itkgw knows it. A name no module of itkgw's serves is kept as it is:
    httpd serves such files as they are (AH00157), and so does itkgw; but a PHP name of
    another packaging (application/x-httpd-ea-php74, x-httpd-php56) runs PHP, as the php5
    names do, rather than hand out the scripts' source."""
    lowered = word.lower()
    if none_ok and lowered == "none":
        return "none"
    if lowered.startswith("proxy:"):
        return proxy_handler(word, where)
    if lowered not in HANDLERS:
        return PHP_HANDLER if "php" in lowered else lowered
    return HANDLERS[lowered]


def unknown_handler(name: str) -> str | None:
    """The warning for a handler name nothing of itkgw's serves; None for a known one."""
    if name in HANDLER_NAMES or name == "none" or name.startswith("proxy:"):
        return None
    owner = foreign.handler_owner(name)
    served_by = f" ({name} is served by {owner}, which itkgw does not implement)" if owner else ""
    return (f"itkgw has no handler {name!r}{served_by}: the files it names are served as they are, as httpd "
            "serves them without a module for it")


@dataclass(frozen=True)
class ExtensionPairs(Kind):
    """(content type, extension) pairs, as AddType gives them."""

    expects: ClassVar[str] = "a list of [content type, extension] pairs"
    toml_example: ClassVar[str] = '[["text/plain", ".log"]]'
    args_example: ClassVar[str] = "a content type and extensions, e.g. text/plain .log .txt"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        pairs = []
        for number, item in enumerate(value, 1):
            if (not isinstance(item, list) or len(item) != 2
                    or not all(isinstance(word, str) and word for word in item)):
                raise ConfigError(where, f"item {number} is not a pair of strings", self.toml_hint())
            pairs.append(self.pair(item[0], item[1], where))
        return tuple(pairs)

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if len(args) < 2:
            raise self.wrong_args(args, where)
        return tuple(self.pair(args[0], ext, where) for ext in args[1:])

    def pair(self, word: str, ext: str, where: str) -> tuple[str, str]:
        if "/" not in word:
            raise ConfigError(where, f"{word!r} is not a content type",
                              "write it as type/subtype, e.g. text/plain")
        return word, extension(ext)


@dataclass(frozen=True)
class _WordPairs(ExtensionPairs):
    """(word, extension) pairs whose word must be ``word_pattern``, as mod_mime's AddEncoding,
    AddLanguage and AddCharset give them; ``lower``: the word kept in lower case."""

    word_pattern: ClassVar[str] = ""
    word_kind: ClassVar[str] = ""
    word_hint: ClassVar[str] = ""
    lower: ClassVar[bool] = False

    def pair(self, word: str, ext: str, where: str) -> tuple[str, str]:
        if not re.fullmatch(self.word_pattern, word):
            raise ConfigError(where, f"{word!r} is not {self.word_kind}", self.word_hint)
        return word.lower() if self.lower else word, extension(ext)


@dataclass(frozen=True)
class EncodingPairs(_WordPairs):
    """(content encoding, extension) pairs, as AddEncoding gives them."""

    expects: ClassVar[str] = "a list of [encoding, extension] pairs"
    toml_example: ClassVar[str] = '[["gzip", ".svgz"]]'
    args_example: ClassVar[str] = "an encoding and extensions, e.g. gzip .svgz"
    word_pattern: ClassVar[str] = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
    word_kind: ClassVar[str] = "a content encoding"
    word_hint: ClassVar[str] = "write it as e.g. gzip"


@dataclass(frozen=True)
class LanguagePairs(_WordPairs):
    """(language, extension) pairs, as AddLanguage gives them; the language in lower case,
    as mod_mime keeps it."""

    expects: ClassVar[str] = "a list of [language, extension] pairs"
    toml_example: ClassVar[str] = '[["en", ".en"], ["pt-br", ".pt-br"]]'
    args_example: ClassVar[str] = "a language and extensions, e.g. en .en"
    word_pattern: ClassVar[str] = r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*"
    word_kind: ClassVar[str] = "a language tag"
    word_hint: ClassVar[str] = "write it as e.g. en or pt-BR"
    lower: ClassVar[bool] = True


@dataclass(frozen=True)
class CharsetPairs(_WordPairs):
    """(charset, extension) pairs, as AddCharset gives them; the charset in lower case, as
    httpd sends it."""

    expects: ClassVar[str] = "a list of [charset, extension] pairs"
    toml_example: ClassVar[str] = '[["utf-8", ".html"]]'
    args_example: ClassVar[str] = "a charset and extensions, e.g. UTF-8 .html .css"
    word_pattern: ClassVar[str] = r"[A-Za-z0-9!#$%&'+.^_`{}~-]+"
    word_kind: ClassVar[str] = "a charset"
    word_hint: ClassVar[str] = "write it as e.g. UTF-8"
    lower: ClassVar[bool] = True


@dataclass(frozen=True)
class LanguageTag(Text):
    """A language tag (DefaultLanguage), kept as written, as mod_mime sends it."""

    toml_example: ClassVar[str] = '"de" or "pt-br"'
    args_example: ClassVar[str] = "a language tag, e.g. de"

    def check(self, value: str, where: str) -> str:
        if not re.fullmatch(LanguagePairs.word_pattern, value):
            raise ConfigError(where, f"{value!r} is not {LanguagePairs.word_kind}", LanguagePairs.word_hint)
        return value


@dataclass(frozen=True)
class FilterPairs(_WordPairs):
    """(filter chain, extension) pairs, as mod_mime's AddOutputFilter gives them: filters
    joined by ";", upper case (httpd's names are not case sensitive)."""

    expects: ClassVar[str] = "a list of [filter chain, extension] pairs"
    toml_example: ClassVar[str] = '[["DEFLATE", ".html"]]'
    args_example: ClassVar[str] = "a filter chain and extensions, e.g. DEFLATE .html .css"
    word_pattern: ClassVar[str] = r"[A-Za-z0-9_-]+(;[A-Za-z0-9_-]+)*"
    word_kind: ClassVar[str] = "a filter chain"
    word_hint: ClassVar[str] = "write it as e.g. DEFLATE"

    def pair(self, word: str, ext: str, where: str) -> tuple[str, str]:
        chain, dotted = super().pair(word, ext, where)
        return chain.upper(), dotted


@dataclass(frozen=True)
class HandlerPairs(ExtensionPairs):
    """(handler, extension) pairs, as AddHandler gives them."""

    expects: ClassVar[str] = "a list of [handler, extension] pairs"
    toml_example: ClassVar[str] = '[["cgi-script", ".cgi"], ["application/x-httpd-php", ".php"]]'
    args_example: ClassVar[str] = "a handler and extensions, e.g. cgi-script .cgi .pl"

    def pair(self, word: str, ext: str, where: str) -> tuple[str, str]:
        return handler_name(word, where), extension(ext)


@dataclass(frozen=True)
class HandlerName(Text):
    """SetHandler's handler: cgi-script, application/x-httpd-php, default-handler, none, or a
    FastCGI server as mod_proxy_fcgi names one (proxy:unix:/path|fcgi://localhost)."""

    toml_example: ClassVar[str] = ('"cgi-script", "application/x-httpd-php", "default-handler", "none" or '
                                   '"proxy:unix:/run/php/site.sock|fcgi://localhost"')
    args_example: ClassVar[str] = "SetHandler cgi-script"

    def check(self, value: str, where: str) -> str:
        return handler_name(super().check(value, where), where, none_ok=True)


# -- environment, headers, PHP, error documents, redirects ------------------------------


@dataclass(frozen=True)
class EnvPairs(Kind):
    """(NAME, value) pairs for scripts' environment; SetEnv NAME [value]."""

    expects: ClassVar[str] = "a table of NAME = value"
    toml_example: ClassVar[str] = '{ NAME = "value" }'
    args_example: ClassVar[str] = "SetEnv NAME value"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        return tuple(self.string_table(value, where).items())

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if not 1 <= len(args) <= 2 or not args[0]:  # an empty name is no argument to httpd
            raise self.wrong_args(args, where)
        return ((args[0], args[1] if len(args) == 2 else ""),)


HEADER_ACTIONS = ("set", "append", "add", "merge", "setifempty", "unset", "edit", "edit*")
#: mod_headers' conditions before the action: which responses the rule is for.
_HEADER_CONDITIONS = ("onsuccess", "always")


@dataclass(frozen=True)
class HeaderRules(Kind):
    """mod_headers' Header lines: set, append, add, merge, setifempty (NAME VALUE), unset (NAME),
    edit and edit* (NAME REGEX REPLACEMENT)."""

    #: The directive, for messages; RequestHeader has no "always".
    directive: str = "Header"

    expects: ClassVar[str] = "a list of [action, name, value] lists, \"always\" first for error responses too"
    toml_example: ClassVar[str] = '[["set", "X-Foo", "bar"], ["always", "set", "X-A", "b"]]'
    args_example: ClassVar[str] = "Header set X-Foo bar, or Header unset X-Bar"

    def from_toml(self, value: object, where: str) -> tuple[HeaderRule, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        rules = []
        for number, item in enumerate(value, 1):
            if not isinstance(item, list) or not all(isinstance(word, str) for word in item):
                raise ConfigError(where, f"item {number} is not a list of strings", self.toml_hint())
            rules.append(self.rule(item, where))
        return tuple(rules)

    def from_args(self, args: list[str], where: str) -> tuple[HeaderRule, ...]:
        return (self.rule(args, where),)

    def rule(self, words: list[str], where: str) -> HeaderRule:
        name = self.directive
        always = bool(words) and words[0].lower() == "always" and name == "Header"
        if words and words[0].lower() in _HEADER_CONDITIONS and name == "Header":
            words = words[1:]
        if not words:
            raise self.wrong_args(words, where)
        action = words[0].lower()
        if action == "echo" and name == "Header" and 2 <= len(words) <= 3:
            # The request's headers whose names the regex matches, sent back as they came.
            env = words[2][4:] if len(words) == 3 and words[2].lower().startswith("env=") else ""
            if len(words) == 3 and not env.lstrip("!"):
                raise ConfigError(where, f"Header echo takes a regex and one env=VAR, got "
                                  f"{' '.join(words[1:])}", "write it as Header echo ^X-Trace env=VAR, or "
                                  "without env=")
            check_regex(words[1], where, "Header echo")
            return HeaderRule("echo", words[1], "", always, env)
        if action == "note" and name == "Header" and len(words) == 3:
            # A response header copied into the request's notes, which only %{NAME}n of a log
            # format reads (itkgw's logs have no notes): nothing the answer shows.
            return HeaderRule("note", words[1], words[2], always, early=True)
        if action not in HEADER_ACTIONS:
            raise ConfigError(where, f"{name} {words[0]} is not supported",
                              "the actions are " + ", ".join(HEADER_ACTIONS))
        wanted = 2 if action == "unset" else 4 if action.startswith("edit") else 3
        early = len(words) == wanted + 1 and words[wanted].lower() == "early"
        if early:
            words = words[:wanted]
        env = expression = ""
        if len(words) == wanted + 1 and words[wanted].lower().startswith("env="):
            env, words = words[wanted][4:], words[:wanted]
            if env.lstrip("!") == "":
                raise ConfigError(where, f"{name} {action}: env= needs a variable name",
                                  f"write it as {name} {action} ... env=VAR or env=!VAR")
        elif len(words) == wanted + 1 and words[wanted].lower().startswith("expr="):
            expression, words = words[wanted][5:], words[:wanted]
            check_expr(expression, where, f"{name} {action}: cannot parse expr=", condition=True)
        if len(words) > wanted:
            extra = words[wanted]
            if extra.lower().startswith(("env=", "expr=")):
                raise ConfigError(where, f"conditional {name} rules ({extra}) are not supported",
                                  "write one env=VAR, env=!VAR or expr=CONDITION, or set the header always")
            raise ConfigError(where, f"{name} {action} takes {wanted - 1} arguments, got {len(words) - 1}",
                              f"write it as {self.args_example}")
        if len(words) < wanted:
            needs = {2: "", 3: " and a value", 4: ", a regex and its replacement"}[wanted]
            raise ConfigError(where, f"{name} {action} needs a header name{needs}",
                              f"write it as {self.args_example}")
        if wanted == 4:
            check_regex(words[2], where, f"{name} {action}")
            return HeaderRule(action, words[1], words[2], always, env, replacement=words[3], expr=expression,
                              early=early)
        rule = HeaderRule(action, words[1], words[2] if wanted == 3 else "", always, env, expr=expression,
                          early=early)
        value_expression = rule.value_expression
        if value_expression is not None:
            check_expr(value_expression, where, "Can't parse value expression ")  # httpd's " : "
            return rule
        _check_header_formats(rule.value, where)
        return dataclasses.replace(rule, value=_unescaped(rule.value)) if "\\" in rule.value else rule


#: mod_headers' escapes in the text of a value (between its format specifiers).
_VALUE_ESCAPES = {"\\": "\\", "r": "\r", "n": "\n", "t": "\t"}


def _unescaped(value: str) -> str:
    """A value's text with mod_headers' \\\\, \\r, \\n and \\t made what they stand for (another
    backslash stays as it is); a format specifier's {argument} is left alone."""
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "%" and value[index + 1:index + 2] == "{":
            closing = value.find("}", index)
            end = len(value) if closing < 0 else closing + 1
            out.append(value[index:end])
            index = end
        elif char == "\\" and value[index + 1:index + 2] in _VALUE_ESCAPES:
            out.append(_VALUE_ESCAPES[value[index + 1]])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _check_header_formats(value: str, where: str) -> None:
    """mod_headers refuses a value with a format specifier it does not know."""
    letter = unknown_header_format(value)
    if letter is not None:
        raise ConfigError(where, f"Unrecognized header format %{letter}",
                          "write %% for a percent sign; the formats are %D, %t, %{NAME}e, "
                          "%{NAME}s, %l, %i and %b")


@dataclass(frozen=True)
class RequestHeaderRules(HeaderRules):
    """mod_headers' RequestHeader lines: the request's headers changed before the handler sees them."""

    directive: str = "RequestHeader"

    expects: ClassVar[str] = "a list of [action, name, value] lists"
    toml_example: ClassVar[str] = '[["unset", "Proxy"], ["set", "X-Forwarded-Proto", "https"]]'
    args_example: ClassVar[str] = "RequestHeader set X-Foo bar, or RequestHeader unset Proxy"


@dataclass(frozen=True)
class PHPSettings(Kind):
    """mod_php's php_value / php_flag / php_admin_value / php_admin_flag lines.
    A flag's on/off becomes "1"/"0", as mod_php hands it to PHP."""

    flag: bool = False
    admin: bool = False

    expects: ClassVar[str] = "a list of {name, value, admin} tables"
    toml_example: ClassVar[str] = '[{ name = "memory_limit", value = "64M", admin = true }]'
    args_example: ClassVar[str] = "php_value name value, e.g. php_value memory_limit 64M"

    def from_toml(self, value: object, where: str) -> tuple[PHPSetting, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        settings = []
        for item in value:
            table = self.table(item, where, ("name", "value"), ("admin",))
            name, text, admin = table["name"], table["value"], table.get("admin", False)
            if isinstance(text, bool):
                text = "1" if text else "0"
            if not (isinstance(name, str) and name and isinstance(text, str) and isinstance(admin, bool)):
                raise ConfigError(where, "name and value must be strings, admin true or false",
                                  self.toml_hint())
            settings.append(PHPSetting(name, text, admin))
        return tuple(settings)

    def from_args(self, args: list[str], where: str) -> tuple[PHPSetting, ...]:
        # An empty word ("") is no argument to httpd.
        if len(args) != 2 or not all(args):
            example = "php_flag name on|off" if self.flag else self.args_example
            raise ConfigError(where, f"expected a name and a value, got {' '.join(args) or 'nothing'}",
                              f"write it as {example}")
        name, text = args
        if self.flag:  # as mod_php reads it: On or 1 is on, any other word off
            text = "1" if text.lower() in ("on", "1") else "0"
        elif text.lower() == "none":  # mod_php's one word it does not pass on as written
            text = ""
        return (PHPSetting(name, text, self.admin),)


@dataclass(frozen=True)
class ErrorDocuments(Kind):
    """ErrorDocument: per status, a local URL path, a full URL or a message text;
    ``default`` for Apache's own page."""

    expects: ClassVar[str] = "a table of status = document"
    toml_example: ClassVar[str] = '{ "404" = "/missing.html" }'
    args_example: ClassVar[str] = "ErrorDocument 404 /missing.html"

    def from_toml(self, value: object, where: str) -> tuple[tuple[int, str], ...]:
        table = self.string_table(value, where)
        return tuple((self.status(code, where), text) for code, text in table.items())

    def from_args(self, args: list[str], where: str) -> tuple[tuple[int, str], ...]:
        if len(args) != 2 or not args[1]:  # an empty document is no argument to httpd
            raise self.wrong_args(args, where)
        return ((self.status(args[0], where), args[1]),)

    def status(self, text: str, where: str) -> int:
        if not (text.isascii() and text.isdigit()) or not 300 <= int(text) <= 599:
            raise ConfigError(where, f"Unsupported HTTP response code {text}", "use a status from 300 to 599")
        return int(text)


_REDIRECT_WORDS = {"permanent": 301, "temp": 302, "seeother": 303, "gone": 410}


@dataclass(frozen=True)
class Redirects(Kind):
    """mod_alias' Redirect [status] URL-path URL; ``status`` fixes it (RedirectPermanent);
    ``regex``: RedirectMatch [status] regex URL."""

    status: int | None = None
    regex: bool = False

    expects: ClassVar[str] = "a list of {url_path, target, status} tables"
    toml_example: ClassVar[str] = '[{ url_path = "/old", target = "http://x/new", status = 301 }]'
    args_example: ClassVar[str] = "Redirect [status] /old http://example.com/new"

    def from_toml(self, value: object, where: str) -> tuple[Redirect, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        redirects = []
        for item in value:
            table = self.table(item, where, ("url_path",), ("target", "status", "regex"))
            status = table.get("status", 302)
            if isinstance(status, bool) or not isinstance(status, int):
                raise ConfigError(where, "status must be a number", self.toml_hint())
            target = table.get("target")
            if not isinstance(table["url_path"], str) or not (target is None or isinstance(target, str)):
                raise ConfigError(where, "url_path and target must be strings", self.toml_hint())
            regex = table.get("regex", False)
            if not isinstance(regex, bool):
                raise ConfigError(where, "regex must be true or false", self.toml_hint())
            redirects.append(self.checked(table["url_path"], target, status, where, regex))
        return tuple(redirects)

    def from_args(self, args: list[str], where: str) -> tuple[Redirect, ...]:
        status = self.status
        if status is None and args and (args[0].lower() in _REDIRECT_WORDS or args[0].isdigit()):
            word, *args = args
            status = _REDIRECT_WORDS.get(word.lower()) or int(word)
        if not 1 <= len(args) <= 2:
            raise self.wrong_args(args, where)
        return (self.checked(args[0], args[1] if len(args) == 2 else None, status or 302, where, self.regex),)

    def checked(self, url_path: str, target: str | None, status: int, where: str,
                regex: bool = False) -> Redirect:
        if not 300 <= status <= 599:
            raise ConfigError(where, f"{status} is not a redirect or error status",
                              "use 301, 302, 303, 410...")
        if regex:
            check_regex(url_path, where, "RedirectMatch")
        elif not url_path.startswith("/"):
            raise ConfigError(where, f"URL path {url_path!r} does not start with /",
                              f"write it as {self.args_example}")
        if 300 <= status <= 399:
            if target is None:
                raise ConfigError(where, "URL to redirect to is missing", f"write it as {self.args_example}")
            if "://" not in target and not target.startswith("/"):
                raise ConfigError(where, f"Redirect to non-URL {target!r}",
                                  "give a full URL (http://host/path) or a path starting with /")
        elif target is not None:
            raise ConfigError(where, f"Redirect URL not valid for status {status}",
                              f"leave the URL out, e.g. Redirect gone {url_path}")
        return Redirect(url_path, target, status, regex)


# -- access control --------------------------------------------------------------

#: Require kinds itkgw evaluates (itkgw.rules.authz).
REQUIRE_KINDS = ("all", "ip", "host", "forward-dns", "env", "method", "local", "expr", "valid-user", "user",
                 "group")
_REQUIRE_HINT = ("itkgw's Require takes all, ip, host, forward-dns, env, method, local, expr, and "
                 "valid-user, user and group with AuthType Basic")
_AUTH_KINDS = frozenset({"file-owner", "file-group"})
GROUP_MODES = ("all", "any", "none")


def parse_require_line(text: str, where: str) -> Require:
    """One Require line, the words after ``Require``, as mod_authz_core reads it:
    ``[not] kind args``; ``expr`` takes the rest of the line as the expression
    (one pair of surrounding double quotes removed), the others are words."""
    words = apache_words(text, where)
    negated = bool(words) and words[0].lower() == "not"
    if negated:
        words = words[1:]
    if not words:
        raise ConfigError(where, "Require needs a kind and its arguments", "write e.g. Require all granted")
    kind = words[0].lower()
    if kind in _AUTH_KINDS or kind.startswith("ldap-"):
        raise ConfigError(where, f"Require {words[0]} is not supported (its authentication provider is not "
                          "part of itkgw)", _REQUIRE_HINT)
    if kind == "expr":
        rest = re.sub(r"^\s*(?:not\s+)?expr\s+", "", text, count=1, flags=re.IGNORECASE).strip()
        if len(rest) >= 2 and rest[0] == rest[-1] == '"':
            rest = rest[1:-1]
        rule = Require(kind, (rest,), negated)
    else:
        rule = Require(kind, tuple(words[1:]), negated)
    error = _authz().validate_require(RequireGroup("all", (Require(rule.kind, rule.args),)))
    if error is not None:
        raise ConfigError(where, error, _REQUIRE_HINT)
    return rule


def check_require(group: RequireGroup, where: str) -> None:
    """A ConfigError for the Require rules of a section that Apache refuses."""
    error = _authz().validate_require(group)
    if error is not None:
        raise ConfigError(where, error, "every group needs a rule that can grant; "
                          "Require not belongs in <RequireAll> or <RequireNone>")


def check_access(access: AccessCompat, where: str) -> None:
    """A ConfigError for Order/Allow/Deny/Satisfy values Apache refuses."""
    error = _authz().validate_access(access)
    if error is not None:
        raise ConfigError(where, error, "write Allow from all, an IP, a network (10.0.0.0/8), "
                          "a host name or env=VAR")


def _authz() -> Any:
    from itkgw.rules import authz  # the access checker owns the rules of what Apache refuses

    return authz


@dataclass(frozen=True)
class RequireRules(Kind):
    """Apache 2.4's Require rules of a section: an implicit <RequireAny> of
    Require lines and nested <RequireAll>/<RequireAny>/<RequireNone> groups.

    TOML: a list of Require lines as Apache writes them (an implicit any), or
    a table ``{ mode = "all", items = [...] }`` whose items are lines or
    tables; a top-level all/none table is put inside an any group, as Apache
    puts a section's rules. Apache: ``from_args`` reads one line (the raw
    text after Require) as an any group of that line.
    """

    expects: ClassVar[str] = "a list of Require lines, or a {mode, items} table"
    toml_example: ClassVar[str] = ('["all granted"], or { mode = "all", items = ["ip 10.0.0.0/8", '
                                   '{ mode = "any", items = ["host example.com"] }] }')
    args_example: ClassVar[str] = "Require all granted, Require ip 10.0.0.0/8"

    def from_toml(self, value: object, where: str) -> RequireGroup:
        group = self._group(value, where)
        if group.mode != "any":
            group = RequireGroup("any", (group,))
        check_require(group, where)
        return group

    def from_args(self, args: list[str], where: str) -> RequireGroup:
        return RequireGroup("any", (parse_require_line(" ".join(args), where),))

    def _group(self, value: object, where: str) -> RequireGroup:
        if isinstance(value, list):
            mode, items = "any", value
        elif isinstance(value, dict):
            table = self.table(value, where, ("mode", "items"), ("methods", "methods_except"))
            mode, items = table["mode"], table["items"]
            if mode not in GROUP_MODES or not isinstance(items, list):
                raise ConfigError(where, f"mode must be one of {', '.join(GROUP_MODES)} and items a list",
                                  self.toml_hint())
            if "methods" in table:  # a <Limit>'s rules
                methods = tuple(self.string_list(table["methods"], where))
                return RequireGroup(mode, self._group(items, where).items, methods,
                                    bool(table.get("methods_except", False)))
        else:
            raise self.wrong_toml(value, where)
        parsed: list[Require | RequireGroup] = []
        for item in items:
            if isinstance(item, str):
                parsed.append(parse_require_line(item, where))
            elif isinstance(item, dict):
                parsed.append(self._group(item, where))
            else:
                raise ConfigError(where, f"a Require item is {toml_type(item)}", self.toml_hint())
        return RequireGroup(mode, tuple(parsed))


ORDERS = ("deny,allow", "allow,deny", "mutual-failure")


@dataclass(frozen=True)
class AccessRules(TomlOnly):
    """Apache 2.2's Order/Allow/Deny/Satisfy of a section, as one TOML table."""

    expects: ClassVar[str] = "a table of order, allow, deny and satisfy"
    toml_example: ClassVar[str] = '{ order = "allow,deny", allow = ["all"], deny = [], satisfy = "all" }'

    def from_toml(self, value: object, where: str) -> AccessCompat:
        table = self.table(value, where, (), ("order", "allow", "deny", "satisfy", "limited"))
        order = Choice(options=ORDERS).from_toml(table.get("order", "deny,allow"), where)
        satisfy = Choice(options=("all", "any")).from_toml(table.get("satisfy", "all"), where)
        allow = tuple(self.string_list(table.get("allow", []), where, allow_empty=True))
        deny = tuple(self.string_list(table.get("deny", []), where, allow_empty=True))
        limited = table.get("limited", [])
        if not isinstance(limited, list):
            raise self.wrong_toml(limited, where)
        limits = tuple(self._limited(item, where) for item in limited)
        access = AccessCompat(order, allow, deny, satisfy, limits)
        check_access(access, where)
        return access

    def _limited(self, value: object, where: str) -> LimitedAccess:
        """One <Limit>'s lines: { methods = ["PUT"], methods_except = false, order, allow, deny }."""
        table = self.table(value, where, ("methods",), ("methods_except", "order", "allow", "deny"))
        order = table.get("order")
        return LimitedAccess(tuple(self.string_list(table["methods"], where)),
                             bool(table.get("methods_except", False)),
                             None if order is None else Choice(options=ORDERS).from_toml(order, where),
                             tuple(self.string_list(table.get("allow", []), where, allow_empty=True)),
                             tuple(self.string_list(table.get("deny", []), where, allow_empty=True)))


@dataclass(frozen=True)
class FromHosts(ApacheOnly):
    """``Allow from WHO...`` / ``Deny from WHO...``."""

    expects: ClassVar[str] = "from and one or more hosts"
    args_example: ClassVar[str] = "Allow from all, Allow from 10.0.0.0/8 .example.com"

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if len(args) < 2 or args[0].lower() != "from":
            raise ConfigError(where, "must be followed by 'from' and who", f"write it as {self.args_example}")
        words = tuple(args[1:])
        check_access(AccessCompat(allow=words), where)
        return words


# -- mod_rewrite -------------------------------------------------------------------

#: Short names of the RewriteRule flags the AssignUserIDExpr recipes use, by
#: their long names; itkgw.rules.rewrite judges every flag when it compiles the rule.
_RULE_FLAGS = {"l": "L", "last": "L", "r": "R", "redirect": "R", "nc": "NC", "nocase": "NC",
               "qsa": "QSA", "qsappend": "QSA", "pt": "PT", "passthrough": "PT", "f": "F",
               "forbidden": "F", "g": "G", "gone": "G", "e": "E", "env": "E"}
_COND_FLAGS = {"nc": "NC", "nocase": "NC", "or": "OR", "ornext": "OR", "nv": "NV", "novary": "NV"}
_REWRITE_HINT = "see itkgw/rules/rewrite.py for the mod_rewrite subset itkgw implements"
#: CondPatterns that are tests, not regexes.
_COND_TESTS = re.compile(r"-[dfFhlLsUx]|-(?:eq|ge|gt|le|lt|ne)|[<>=].*|<=.*|>=.*")


def _split_flags(text: str, where: str, what: str) -> list[str]:
    if not (text.startswith("[") and text.endswith("]")) or len(text) < 3:
        raise ConfigError(where, f"{what}: bad flag delimiters", "write the flags as [FLAG,FLAG=value]")
    return [flag.strip() for flag in text[1:-1].split(",")]


def rule_flags(flags: list[str], where: str) -> tuple[str, ...]:
    """RewriteRule flags, the common ones in their short form (``R=301``,
    ``E=VAR:VALUE``); others as written, for itkgw.rules.rewrite to judge."""
    canonical = []
    for flag in flags:
        name, equals, value = flag.partition("=")
        short = _RULE_FLAGS.get(name.lower())
        if short is None:
            canonical.append(flag)
        elif short == "E":
            if not value:
                raise ConfigError(where, f"RewriteRule: flag '{flag}' needs VAR:VALUE", "write E=VAR:VALUE")
            canonical.append(f"E={value}")
        elif short == "R" and equals:
            code = _REDIRECT_WORDS.get(value.lower()) if not value.isdigit() else int(value)
            if code is None or code not in RULE_STATUSES:
                raise ConfigError(where, f"RewriteRule: invalid HTTP response code '{value}' for flag 'R'",
                                  "use a 3xx status to redirect (R=301, R=302...), or a 4xx or 5xx "
                                  "status httpd knows to answer with it (R=403, R=410...)")
            canonical.append(f"R={code}")
        elif equals:
            raise ConfigError(where, f"RewriteRule: flag '{flag}' takes no value", _REWRITE_HINT)
        else:
            canonical.append(short)
    return tuple(canonical)


def cond_flags(flags: list[str], where: str) -> tuple[str, ...]:
    """RewriteCond flags in their short form: NC, OR, NV."""
    canonical = []
    for flag in flags:
        short = _COND_FLAGS.get(flag.lower())
        if short is None:
            raise ConfigError(where, f"RewriteCond: unknown flag '{flag}'", "the flags are NC, OR and NV")
        canonical.append(short)
    return tuple(canonical)


def make_rule(pattern: str, substitution: str, flags: tuple[str, ...], where: str,
              conditions: tuple[RewriteCond, ...] = ()) -> RewriteRule:
    check_regex(pattern.removeprefix("!"), where, "RewriteRule", nocase="NC" in flags)
    return RewriteRule(pattern, substitution, flags, conditions, where)


def check_rule(rule: RewriteRule) -> None:
    """A ConfigError at the rule's place for what itkgw.rules.rewrite cannot compile:
    flags, conditions and substitutions it does not implement."""
    from itkgw.rules.rewrite import compile_rules  # the rewrite engine owns what it supports

    try:
        compile_rules([rule])
    except ConfigError as exc:
        raise ConfigError(exc.where, exc.message, exc.hint or _REWRITE_HINT) from None


def make_cond(test: str, pattern: str, flags: tuple[str, ...], where: str) -> RewriteCond:
    body = pattern.removeprefix("!")
    if test == "expr":
        from itkgw.rules.expr import ExprError, parse_condition  # only RewriteCond expr needs it

        try:
            parse_condition(pattern)
        except ExprError as exc:
            raise ConfigError(where, f"RewriteCond: cannot parse expression: {exc}",
                              "see the ap_expr syntax of Apache 2.4") from None
    elif not _COND_TESTS.fullmatch(body):
        check_regex(body, where, "RewriteCond", nocase="NC" in flags)
    return RewriteCond(test, pattern, flags)


@dataclass(frozen=True)
class RewriteRules(Kind):
    """mod_rewrite rules in order, each with the RewriteCond lines before it.
    Apache: ``from_args`` reads one RewriteRule line; the reader attaches the
    conditions read since the previous rule."""

    expects: ClassVar[str] = "a list of {pattern, substitution, flags, conditions} tables"
    toml_example: ClassVar[str] = (
        '[{ pattern = "^/~([a-z]+)/", substitution = "-", flags = ["E=ITKUID:$1"], '
        'conditions = [{ test = "%{HTTP_HOST}", pattern = "^www", flags = ["NC"] }] }]')
    args_example: ClassVar[str] = "RewriteRule pattern substitution [flags]"

    def from_toml(self, value: object, where: str) -> tuple[RewriteRule, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        rules = []
        for number, item in enumerate(value, 1):
            table = self.table(item, where, ("pattern", "substitution"), ("flags", "conditions"))
            flags = rule_flags(self.string_list(table.get("flags", []), where, allow_empty=True), where)
            conditions = table.get("conditions", [])
            if not isinstance(conditions, list):
                raise ConfigError(where, "conditions must be a list of tables", self.toml_hint())
            if not all(isinstance(table[key], str) and table[key] for key in ("pattern", "substitution")):
                raise ConfigError(where, "pattern and substitution must be non-empty strings",
                                  self.toml_hint())
            rule = make_rule(table["pattern"], table["substitution"], flags, f"{where}[{number}]",
                             tuple(self.condition(cond, where) for cond in conditions))
            check_rule(rule)
            rules.append(rule)
        return tuple(rules)

    def condition(self, value: object, where: str) -> RewriteCond:
        table = self.table(value, where, ("test", "pattern"), ("flags",))
        if not all(isinstance(table[key], str) and table[key] for key in ("test", "pattern")):
            raise ConfigError(where, "a condition's test and pattern must be non-empty strings",
                              self.toml_hint())
        flags = cond_flags(self.string_list(table.get("flags", []), where, allow_empty=True), where)
        return make_cond(table["test"], table["pattern"], flags, where)

    def from_args(self, args: list[str], where: str) -> tuple[RewriteRule, ...]:
        if not 2 <= len(args) <= 3:
            raise ConfigError(where, "RewriteRule: bad argument line", f"write it as {self.args_example}")
        flags = rule_flags(_split_flags(args[2], where, "RewriteRule"), where) if len(args) == 3 else ()
        return (make_rule(args[0], args[1], flags, where),)


@dataclass(frozen=True)
class RewriteConds(ApacheOnly):
    """One RewriteCond line: TestString CondPattern [flags]."""

    args_example: ClassVar[str] = "RewriteCond %{HTTP_HOST} ^www\\. [NC]"

    def from_args(self, args: list[str], where: str) -> RewriteCond:
        if not 2 <= len(args) <= 3:
            raise ConfigError(where, "RewriteCond: bad argument line", f"write it as {self.args_example}")
        flags = cond_flags(_split_flags(args[2], where, "RewriteCond"), where) if len(args) == 3 else ()
        return make_cond(args[0], args[1], flags, where)


# -- directives that steer reading -----------------------------------------------


@dataclass(frozen=True)
class Arguments(ApacheOnly):
    """Directive arguments the Apache reader uses itself (Include, Define,
    LoadModule...): only their number is checked here."""

    low: int = 1
    high: int | None = 1
    example: str = ""

    def describe(self) -> str:
        if self.high == self.low:
            return f"{self.low} argument{'s' if self.low != 1 else ''}"
        if self.high is None:
            return f"at least {self.low} argument{'s' if self.low != 1 else ''}"
        return f"{self.low} to {self.high} arguments"

    def from_args(self, args: list[str], where: str) -> list[str]:
        if len(args) < self.low or (self.high is not None and len(args) > self.high):
            raise ConfigError(where, f"expected {self.describe()}, got {len(args)}",
                              f"write it as {self.example}")
        return args


_OVERRIDES = ("all", "none", "authconfig", "fileinfo", "indexes", "limit", "options")


@dataclass(frozen=True)
class OverrideWords(Words):
    """AllowOverride's words, as written: None, All, or override classes (Options=... and
    Nonfatal=... with their lists)."""

    toml_example: ClassVar[str] = '["None"], ["All"] or classes, e.g. ["AuthConfig", "FileInfo"]'
    args_example: ClassVar[str] = "AllowOverride None"

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        return self.checked(tuple(args), where)  # no words: the message below, not the generic one

    def checked(self, words: tuple[str, ...], where: str) -> tuple[str, ...]:
        if not words:
            raise ConfigError(where, "AllowOverride needs None, All or override kinds",
                              f"write it as {self.args_example}")
        for word in words:
            name = word.partition("=")[0].lower()
            if name not in _OVERRIDES and name != "nonfatal":
                raise ConfigError(where, f"Illegal override option {word}",
                                  "use None, All, AuthConfig, FileInfo, Indexes, Limit or Options")
        return words


#: The Apache section name of each DirSection kind.
SECTION_NAMES = {"directory": "Directory", "location": "Location", "files": "Files"}


def check_section_path(kind: str, regex: bool, path: str, where: str) -> None:
    """A ConfigError for a section path Apache refuses: a <Directory> path must
    be absolute (fnmatch wildcards allowed), a Match form's path must compile."""
    if regex:
        check_regex(path, where, SECTION_NAMES[kind] + "Match")
    elif kind == "directory":
        Path().check(path, where)


