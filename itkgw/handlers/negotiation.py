"""mod_negotiation's MultiViews: a request for a name that is not there gets the best of the
files named like it with more extensions (``/about`` -> ``about.html``, ``about.en.html``).

As httpd 2.4 chooses (server-driven, RVSA without the client's Negotiate header):
the variants are the files ``<name>.<ext...>`` of the directory whose every
extension beyond the name means something to mod_mime (a type, a language, an
encoding; MultiviewsMatch Handlers or Any widen that); each gets a quality
from Accept (with httpd's 0.01 and 0.02 for ``*/*`` and ``type/*`` when the
client gives no q values), Accept-Language (LanguagePriority and
ForceLanguagePriority breaking ties or standing in for no match) and
Accept-Encoding; ties go to the smaller file, then the first by name. The
answer says it was chosen (Content-Location, ``Vary: negotiate,...``,
``TCN: choice``), and its ETag carries the directory's, as httpd's does
(without the closing quote httpd 2.4 loses). Nothing acceptable is a 406
listing the variants.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from itkgw.config.modules.negotiation import NegotiationSettings
from itkgw.errors import HTTPError
from itkgw.http.connection import Request
from itkgw.request.dirconf import DirConfig
from itkgw.request.mime import MimeTypes
from itkgw.rules.expr import escape_path_segment

log = logging.getLogger("itkgw.negotiation")

#: The type httpd gives a variant that has a handler and no type (a script).
SCRIPT_TYPE = "application/x-httpd-cgi"


@dataclass(frozen=True)
class Variant:
    """One file a MultiViews request may be answered with."""

    name: str
    path: str
    content_type: str
    languages: tuple[str, ...]
    encoding: str | None
    length: int
    #: The file has a handler (a script): its length is not its answer's.
    handled: bool
    st: os.stat_result


@dataclass(frozen=True)
class _Item:
    """One entry of an Accept-style header."""

    name: str
    q: float
    #: The entry gave its q itself.
    explicit_q: bool


def find_variants(directory: str, name: str, dirconf_of: Callable[[str], DirConfig], mime: MimeTypes,
                  refused: Callable[[str], bool]) -> tuple[list[Variant], bool]:
    """The variants of ``name`` in ``directory`` (sorted by file name), and whether any file
    at all was named like it (httpd's 404 then says none could be negotiated)."""
    prefix = name + "."
    wanted = name.split(".")
    variants: list[Variant] = []
    any_match = False
    with os.scandir(directory) as entries:
        candidates = sorted(entry.name for entry in entries if entry.name.startswith(prefix))
    for candidate in candidates:
        path = os.path.join(directory, candidate)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        any_match = True
        if not stat.S_ISREG(st.st_mode):
            continue
        dirconf = dirconf_of(path)
        if not _negotiable(candidate, wanted, dirconf, mime) or refused(path):
            continue
        handler = dirconf.handler_for(path) != "static"
        content_type = dirconf.content_type_for(path, mime) or None
        if content_type is None and handler:
            content_type = SCRIPT_TYPE
        if content_type is None:
            continue
        variants.append(Variant(candidate, path, content_type.split(";")[0].strip().lower(),
                                dirconf.languages_for(path), dirconf.encoding_for(path), st.st_size,
                                handler, st))
    return variants, any_match


def _negotiable(candidate: str, wanted: list[str], dirconf: DirConfig, mime: MimeTypes) -> bool:
    """mod_mime's exception list against the name asked for: the part before the first dot,
    and each extension that means nothing here, must all be words of the name asked for."""
    match = dirconf.modules.get(NegotiationSettings).multiviews_match or ("NegotiatedOnly",)
    base, *extensions = candidate.split(".")
    if not extensions:
        return False
    exceptions = [base]
    found = False
    for extension in extensions:
        if _known(extension, dirconf, mime, match):
            found = True
        else:
            exceptions.append(extension)
    if not found:
        return False
    words = iter(wanted)
    return all(any(word == exception for word in words) for exception in exceptions)


def _known(extension: str, dirconf: DirConfig, mime: MimeTypes, match: Sequence[str]) -> bool:
    if "Any" in match:
        return True
    dotted = "." + extension.lower()
    if dotted in dirconf.types or extension.lower() in mime.types or dotted in dirconf.encodings \
            or dotted in dirconf.languages:
        return True
    return "Handlers" in match and dotted in dirconf.handlers


# -- choosing ------------------------------------------------------------------

def _items(value: str | None) -> list[_Item]:
    items = []
    for part in (value or "").split(","):
        name, *params = (piece.strip() for piece in part.split(";"))
        if not name:
            continue
        q, explicit = 1.0, False
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                explicit = True
                try:
                    q = max(0.0, min(float(number), 1.0))
                except ValueError:
                    q = 0.0
        items.append(_Item(name.lower(), q, explicit))
    return items


def _listed(value: str | None) -> list[_Item] | None:
    """A header's entries; None when the client sent no such header (not: accepts nothing)."""
    return None if value is None else _items(value)


@dataclass
class _Scored:
    variant: Variant
    type_q: float = 1.0
    language_q: float = 1.0
    language_index: int = -1
    encoding_q: float = 1.0


def choose(variants: Sequence[Variant], request: Request, settings: NegotiationSettings) -> Variant | None:
    """The variant httpd would answer with; None when none is acceptable."""
    accept = _items(request.header("accept")) or [_Item("*/*", 1.0, False)]
    fiddle = not any(item.explicit_q and item.q < 1 for item in accept)
    scripts_first = request.method != "GET" or bool(request.query)
    accept = [*accept, _Item(SCRIPT_TYPE, 2.0 if scripts_first else 0.001, True)]
    languages = _listed(request.header("accept-language"))
    encodings = _listed(request.header("accept-encoding"))
    any_language = any(variant.languages for variant in variants)
    priority = [tag.lower() for tag in settings.language_priority or ()]
    force = settings.force_language_priority or ("Prefer",)
    best: _Scored | None = None
    for variant in variants:
        scored = _Scored(variant, _type_q(variant.content_type, accept, fiddle))
        _score_language(scored, languages, any_language, priority, force, fiddle)
        scored.encoding_q = _encoding_q(variant.encoding, encodings)
        if _better(scored, best):
            best = scored
    return best.variant if best is not None else None


def _type_q(content_type: str, accept: Sequence[_Item], fiddle: bool) -> float:
    major = content_type.split("/")[0]
    found, rank = 0.0, -1
    for item in accept:
        if item.name == content_type:
            specific = 2
        elif item.name.endswith("/*") and item.name[:-2] == major:
            specific = 1
        elif item.name == "*/*":
            specific = 0
        else:
            continue
        if specific <= rank:
            continue
        rank = specific
        found = item.q
        if fiddle and not item.explicit_q and specific < 2:
            found = 0.02 if specific == 1 else 0.01
    return found


def _score_language(scored: _Scored, ranges: list[_Item] | None, any_language: bool,
                    priority: list[str], force: Sequence[str], fiddle: bool) -> None:
    tags = [tag.lower() for tag in scored.variant.languages]
    if not tags:
        scored.language_q = 0.0001 if any_language and fiddle else 1.0
        return
    if ranges is not None:
        best = 0.0
        for tag in tags:
            best = max(best, _language_q(tag, ranges, fiddle))
        scored.language_q = best
    if "None" in force or not priority:
        return
    index = next((n for n, entry in enumerate(priority) for tag in tags
                  if tag == entry or tag.startswith(entry)), -1)
    if index < 0:
        return
    if scored.language_q == 0 and "Fallback" in force:
        scored.language_q, scored.language_index = 0.0001, index
    elif "Prefer" in force:
        scored.language_index = index


def _language_q(tag: str, ranges: Sequence[_Item], fiddle: bool) -> float:
    chosen: _Item | None = None
    star: _Item | None = None
    for item in ranges:
        if item.name == "*":
            star = item
        elif (tag == item.name or tag.startswith(item.name + "-")) and (
                chosen is None or len(item.name) > len(chosen.name)):
            chosen = item
    if chosen is not None:
        return chosen.q
    if fiddle:
        for item in ranges:
            stem = item.name.split("-")[0]
            if "-" in item.name and tag.startswith(stem):
                return 0.001
    return star.q if star is not None else 0.0


def _encoding_q(encoding: str | None, accepted: list[_Item] | None) -> float:
    if accepted is None:
        return 0.5 if encoding else 1.0
    name = (encoding or "identity").lower().removeprefix("x-")
    star = None
    for item in accepted:
        if item.name.removeprefix("x-") == name:
            return item.q
        if item.name == "*":
            star = item.q
    if star is not None:
        return star
    return 0.0001 if encoding is None else 0.0


def _better(scored: _Scored, best: _Scored | None) -> bool:
    """httpd's is_variant_better, without the levels and charsets itkgw's variants lack."""
    if 0.0 in (scored.type_q, scored.language_q, scored.encoding_q):
        return False
    if best is None:
        return True
    if scored.type_q != best.type_q:
        return scored.type_q > best.type_q
    if scored.language_q != best.language_q:
        return scored.language_q > best.language_q
    if scored.language_index != best.language_index:
        if best.language_index < 0:
            return True
        if scored.language_index < 0:
            return False
        return scored.language_index < best.language_index
    if scored.encoding_q != best.encoding_q:
        return scored.encoding_q > best.encoding_q
    return scored.variant.length < best.variant.length


# -- answering -----------------------------------------------------------------

def vary(variants: Sequence[Variant], transparent: bool = True) -> str:
    """``negotiate`` (a GET or HEAD) and the dimensions the variants differ in, as httpd
    spells them; "" when there is nothing to name."""
    tokens = ["negotiate"] if transparent else []
    if len({variant.content_type for variant in variants}) > 1:
        tokens.append("accept")
    if len({",".join(variant.languages) for variant in variants}) > 1:
        tokens.append("accept-language")
    if len({variant.encoding for variant in variants}) > 1:
        tokens.append("accept-encoding")
    return ",".join(tokens)


def chosen_headers(variant: Variant, variants: Sequence[Variant], transparent: bool) -> list[tuple[str, str]]:
    """What the answer says of the choice: where the variant is, what it varied with. Only a
    GET or HEAD without PATH_INFO is negotiated transparently; another gets the Vary alone."""
    if not transparent:
        varies = vary(variants, transparent=False)
        return [("Vary", varies)] if varies else []
    return [("Content-Location", escape_path_segment(variant.name)), ("Vary", vary(variants)),
            ("TCN", "choice")]


def list_validator(directory_st: os.stat_result, now: float) -> str:
    """The variant list's validator: the directory's mtime, as httpd's ETag of a missing file."""
    mtime_us = directory_st.st_mtime_ns // 1000
    weak = int(now * 1_000_000) - mtime_us <= 1_000_000
    return ("W/" if weak else "") + f'"{mtime_us:x}"'


def not_acceptable(variants: Sequence[Variant], path: str) -> HTTPError:
    """httpd's 406: its headers, the variants listed in its page, its log line."""
    log.error("AH00690: no acceptable variant: %s", path)
    listed = ", ".join(_alternate(variant) for variant in variants)
    headers = [("Alternates", listed), ("Vary", vary(variants)), ("TCN", "list")]
    items = "".join(_list_item(variant) for variant in variants)
    page = f"Available variants:\n<ul>\n{items}</ul>\n"
    return HTTPError(406, None, headers=headers, notes=page)


def _alternate(variant: Variant) -> str:
    parts = [f'"{variant.name}" 1', f"{{type {variant.content_type}}}"]
    if variant.languages:
        parts.append(f"{{language {','.join(variant.languages)}}}")
    if variant.encoding:
        parts.append(f"{{encoding {variant.encoding}}}")
    if not variant.handled:
        parts.append(f"{{length {variant.length}}}")
    return "{" + " ".join(parts) + "}"


def _list_item(variant: Variant) -> str:
    text = f'<li><a href="{variant.name}">{variant.name}</a> , type {variant.content_type}'
    if variant.languages:
        text += f", language {','.join(variant.languages)}"
    if variant.encoding:
        text += f", encoding {variant.encoding}"
    return text + "</li>\n"


def no_variant(path: str) -> HTTPError:
    """Files were named like the request, and none could be a variant: httpd's 404 and line."""
    log.error("AH00687: Negotiation: discovered file(s) matching request: %s (None could be negotiated).",
              path)
    return HTTPError(404)
