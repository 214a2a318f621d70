"""Content-Type from a file name, as Apache's mod_mime does with TypesConfig.

Rules, as mod_mime:
- the table comes from a mime.types file (``type/subtype ext1 ext2 ...``,
  lines starting with ``#`` are comments); a later line wins for an
  extension listed twice;
- extensions match case-insensitively;
- *every* extension of the name counts, not only the last, and the last one
  with a known type wins: ``index.html.bak`` is text/html, ``a.tar.gz`` is
  application/gzip, a name without a known extension has no type;
- no ``charset`` parameter is added (AddDefaultCharset is Off by default).

A name without a known type gets no Content-Type at all: Apache 2.4 removed
DefaultType (it only accepts ``DefaultType None``), so httpd 2.4 sends such a
file without the header and lets the client decide, rather than claiming
application/octet-stream, which makes browsers download files that are
plainly text. 2.2 configurations may set a default (DefaultType text/plain).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from itkgw.errors import ConfigError

#: Types every site needs, so a missing or minimal mime.types still serves a
#: usual website correctly. Entries of the mime.types file take precedence.
FALLBACK_TYPES: Mapping[str, str] = MappingProxyType({
    "html": "text/html",
    "htm": "text/html",
    "css": "text/css",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "json": "application/json",
    "txt": "text/plain",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
    "ico": "image/vnd.microsoft.icon",
    "pdf": "application/pdf",
    "xml": "application/xml",
    "woff2": "font/woff2",
})


def parse_mime_types(text: str) -> dict[str, str]:
    """Extension (lower case) -> type, from the text of a mime.types file."""
    types: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        media_type, extensions = words[0], words[1:]
        for extension in extensions:
            types[extension.lower()] = media_type
    return types


@dataclass(frozen=True)
class MimeTypes:
    """An extension -> Content-Type table, built once in the master."""

    types: Mapping[str, str] = field(default_factory=lambda: FALLBACK_TYPES)
    #: Content-Type for names without a known type (2.2's DefaultType);
    #: None sends no Content-Type, as httpd 2.4 does.
    default_type: str | None = None

    @classmethod
    def load(cls, path: str, default_type: str | None = None) -> MimeTypes:
        """The fallback types overlaid with those of the mime.types file at ``path``.

        A missing file leaves the fallbacks alone (a minimal system may have
        no /etc/mime.types); a file that exists but cannot be read is a
        configuration error, as for httpd's TypesConfig.
        """
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                text = file.read()
        except FileNotFoundError:
            text = ""
        except OSError as exc:
            raise ConfigError(path, f"cannot read the MIME types file: {exc.strerror}",
                              "check TypesConfig (TOML: mime_types)") from None
        return cls(MappingProxyType({**FALLBACK_TYPES, **parse_mime_types(text)}), default_type)

    def content_type(self, filename: str) -> str | None:
        """The Content-Type for ``filename`` (a path or a bare name); None: send none."""
        name = filename.rsplit("/", 1)[-1]
        found = None
        for extension in name.split(".")[1:]:
            found = self.types.get(extension.lower(), found)
        return found if found is not None else self.default_type
