"""PCRE patterns, as httpd configurations write them, compiled with Python's re.

RewriteRule, RewriteCond, <LocationMatch> and ap_expr's ``=~`` all take
PCRE syntax; the few constructs Python spells differently are translated, and
the rest is left to re, which raises re.error for what it cannot compile.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "ascii": "\\x00-\\x7f", "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "\\x21-\\x7e", "lower": "a-z",
    "print": "\\x20-\\x7e", "punct": "!-/:-@\\[-`{-~", "space": "\\s", "upper": "A-Z",
    "word": "\\w", "xdigit": "0-9A-Fa-f",
}


def compile_regex(pattern: str, nocase: bool = False) -> re.Pattern[str]:
    """A PCRE pattern as httpd writes them, compiled with Python's re.

    Translated: POSIX classes (``[[:alnum:]]``), ``(?<name>...)`` groups and
    ``\\z``; ASCII semantics for ``\\w``, ``\\d`` and case folding, as PCRE
    without UTF mode. Raises re.error.
    """
    flags = re.ASCII | (re.IGNORECASE if nocase else 0)
    return re.compile(_translate_pcre(pattern), flags)


@functools.lru_cache(maxsize=512)
def cached_regex(pattern: str) -> re.Pattern[str]:
    """compile_regex once per process, for a configuration's pattern asked on every request
    (ProxyPassMatch, RedirectMatch); the reader checked it compiles."""
    return compile_regex(pattern)


_GROUP_REFERENCE = re.compile(r"\$(\d)")


def fill_groups(template: str, match: re.Match[str]) -> str:
    """``$0``..``$9`` of ``template`` replaced by the match's groups (an unmatched or
    missing one by nothing), as httpd fills a ProxyPassMatch or RedirectMatch URL."""
    return fill_group_values(template, (match.group(0), *match.groups()))


def fill_group_values(template: str, groups: Sequence[str | None]) -> str:
    """``$0``..``$9`` of ``template`` replaced by ``groups`` (a missing or unmatched one by nothing)."""
    return _GROUP_REFERENCE.sub(lambda ref: (groups[int(ref.group(1))] or "")
                                if int(ref.group(1)) < len(groups) else "", template)


def _translate_pcre(pattern: str) -> str:
    out: list[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length:
            escaped = pattern[index + 1]
            out.append({"z": "\\Z", "Z": "(?=\\n?\\Z)"}.get(escaped, "\\" + escaped))
            index += 2
        elif pattern.startswith("(?<", index) and pattern[index + 3:index + 4] not in ("=", "!"):
            out.append("(?P<")
            index += 3
        elif char == "[":
            index = _translate_class(pattern, index, out)
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _translate_class(pattern: str, index: int, out: list[str]) -> int:
    """Copy the character class starting at ``index``; returns the index after it."""
    out.append("[")
    index += 1
    if pattern.startswith("^", index):
        out.append("^")
        index += 1
    if pattern.startswith("]", index):
        out.append("\\]")
        index += 1
    while index < len(pattern):
        char = pattern[index]
        if char == "]":
            out.append("]")
            return index + 1
        if char == "\\" and index + 1 < len(pattern):
            out.append(pattern[index:index + 2])
            index += 2
            continue
        if char == "[":
            match = re.match(r"\[:(\^?)([a-z]+):\]", pattern[index:])
            if match:
                if match.group(1) or match.group(2) not in _POSIX_CLASSES:
                    raise re.error(f"unknown POSIX class {match.group(0)}", pattern, index)
                out.append(_POSIX_CLASSES[match.group(2)])
                index += match.end()
                continue
        out.append("\\" + char if char in "[&~|" else char)
        index += 1
    raise re.error("unterminated character set", pattern, index)
