"""mod_mime: content types and handlers by file ending."""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import (
    DIRECTORY,
    EVERYWHERE,
    SERVER,
    VHOST_DIRECTORY,
    Context,
    Directive,
    Module,
    no_effect,
)
from itkgw.config.kinds import Path, Text, Words
from itkgw.config.kinds_structured import (
    CharsetPairs,
    EncodingPairs,
    ExtensionPairs,
    FilterPairs,
    HandlerPairs,
    LanguagePairs,
    LanguageTag,
)


@dataclass(frozen=True)
class MimeSettings:
    """A section's ForceType (None: the enclosing section's; "none" undoes it), and the file
    endings whose handlers RemoveHandler takes back there."""

    force_type: str | None = None
    remove_handler: tuple[str, ...] | None = None
    #: (charset, extension) pairs of the section's own AddCharset.
    add_charset: tuple[tuple[str, str], ...] | None = None
    #: File endings whose content type (AddType around, or TypesConfig's) RemoveType takes back.
    remove_type: tuple[str, ...] | None = None
    #: File endings whose charset (AddCharset around) RemoveCharset takes back.
    remove_charset: tuple[str, ...] | None = None
    #: (filter chain, extension) pairs of the section's own AddOutputFilter.
    add_output_filter: tuple[tuple[str, str], ...] | None = None
    #: File endings whose output filters (AddOutputFilter around) RemoveOutputFilter takes back.
    remove_output_filter: tuple[str, ...] | None = None
    #: DefaultLanguage: the language of files whose endings name none.
    default_language: str | None = None

    @property
    def forced(self) -> str | None:
        """The content type ForceType gives every file here, if any."""
        return None if self.force_type is None or self.force_type.lower() == "none" else self.force_type

MODULE = Module(
    "mime",
    "mod_mime: content types and handlers by file ending",
    identifiers=("mime_module", "mod_mime.c"),
    directives=(
        Directive("TypesConfig", "mime_types", SERVER, Path(), "file mapping extensions to Content-Type",
                  root_relative=True),
        Directive("AddHandler", "add_handler", DIRECTORY, HandlerPairs(),
                  'handlers of file endings in a section; TOML [["cgi-script", ".cgi"]] (at vhost level '
                  "Apache's AddHandler fills cgi_extensions and php_extensions)",
                  repeat=True, keyed=True, apache=EVERYWHERE),
        Directive("AddType", "add_type", VHOST_DIRECTORY, ExtensionPairs(),
                  'content types of file endings; TOML [["text/plain", ".log"]] '
                  "(AddType application/x-httpd-php runs PHP, as with mod_php)", repeat=True, keyed=True),
        Directive("AddEncoding", "add_encoding", VHOST_DIRECTORY, EncodingPairs(),
                  'Content-Encoding of file endings, sent with the file; TOML [["gzip", ".svgz"]]',
                  repeat=True, keyed=True),
        Directive("AddLanguage", "add_language", VHOST_DIRECTORY, LanguagePairs(),
                  'Content-Language of file endings, and their language for MultiViews; TOML [["en", ".en"]]',
                  repeat=True, keyed=True),
        Directive("ForceType", "force_type", DIRECTORY, Text(),
                  "the content type of every file here, whatever its ending (None: undo an enclosing "
                  "one); application/x-httpd-php runs PHP where no handler is set, as with mod_php",
                  field="force_type"),
        Directive("RemoveHandler", "remove_handler", DIRECTORY, Words(),
                  "file endings whose AddHandler (here or in an enclosing section or the vhost) no longer "
                  "applies here: RemoveHandler .php in an upload directory", field="remove_handler",
                  repeat=True),
        Directive("AddCharset", "add_charset", VHOST_DIRECTORY, CharsetPairs(),
                  'the charset of file endings, added to their Content-Type; TOML [["utf-8", ".html"]]',
                  field="add_charset", repeat=True, keyed=True),
        Directive("DefaultLanguage", "default_language", VHOST_DIRECTORY, LanguageTag(),
                  "the Content-Language of files whose endings name no language (AddLanguage)",
                  field="default_language"),
        Directive("RemoveCharset", "remove_charset", VHOST_DIRECTORY, Words(),
                  "file endings that get no charset here from an enclosing AddCharset",
                  field="remove_charset", repeat=True),
        no_effect("RemoveLanguage", "extensions keep the language AddLanguage gives them", EVERYWHERE),
        Directive("AddOutputFilter", "add_output_filter", VHOST_DIRECTORY, FilterPairs(),
                  'output filters of file endings, whatever their content type; itkgw has DEFLATE, and '
                  'passes the others by, as httpd passes a filter no module provides; TOML [["DEFLATE", '
                  '".html"]]', field="add_output_filter", repeat=True, keyed=True),
        Directive("RemoveOutputFilter", "remove_output_filter", VHOST_DIRECTORY, Words(),
                  "file endings that get no output filter here from an enclosing AddOutputFilter",
                  field="remove_output_filter", repeat=True),
        Directive("RemoveType", "remove_type", VHOST_DIRECTORY, Words(),
                  "file endings that have no content type here, neither an enclosing AddType's nor "
                  "TypesConfig's", field="remove_type", repeat=True),
    ),
    settings={Context.VHOST: MimeSettings, Context.DIRECTORY: MimeSettings},
)
