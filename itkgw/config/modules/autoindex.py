"""mod_autoindex: the listing of a directory that has no DirectoryIndex file, under Options Indexes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds import Flag, Kind, Text
from itkgw.errors import ConfigError

#: IndexOptions keywords itkgw draws the listing by, as mod_autoindex 2.4 knows them.
LISTING_OPTIONS = ("FancyIndexing", "HTMLTable", "FoldersFirst", "IgnoreCase", "VersionSort",
                   "SuppressLastModified", "SuppressSize", "SuppressDescription", "SuppressColumnSorting",
                   "SuppressRules", "SuppressIcon", "IgnoreClient", "SuppressHTMLPreamble", "IconsAreLinks",
                   "UseOldDateFormat", "XHTML", "ScanHTMLTitles")
#: Keywords with a value: ``NameWidth=30``, ``Charset=UTF-8``... (IconWidth and IconHeight
#: without one: httpd's default size).
VALUE_OPTIONS = ("NameWidth", "DescriptionWidth", "Charset", "Type", "IconWidth", "IconHeight")
#: Keywords of httpd's that itkgw does not draw: refused, as any setting it would not honour.
NOT_DRAWN = ("TrackModified", "AddAltClass", "DirectoryWidth", "ShowForbidden")

_BY_LOWER = {name.lower(): name for name in (*LISTING_OPTIONS, *VALUE_OPTIONS)}
_NOT_DRAWN = {name.lower(): name for name in NOT_DRAWN}


def resolve_options(lines: tuple[tuple[str, ...], ...]) -> dict[str, str]:
    """The IndexOptions in effect after ``lines`` (outermost first): a keyword without + or -
    starts the set afresh, as in httpd, +Keyword adds to it, -Keyword takes it out. Values
    (NameWidth=*) map to their text, flags to ""."""
    options: dict[str, str] = {}
    for words in lines:
        if any(word[:1] not in "+-" for word in words):
            options = {}
        for word in words:
            sign = word[:1] if word[:1] in "+-" else ""
            name, _, value = word[len(sign):].partition("=")
            name = _BY_LOWER[name.lower()]
            if sign == "-":
                options.pop(name, None)
            else:
                options[name] = value
    return options


@dataclass(frozen=True)
class WordLines(Kind):
    """A directive whose lines each keep their words together (AddIcon's icon and the names it
    is for): a tuple of lines, each at least ``least`` words."""

    least: int = 1
    expects: ClassVar[str] = "a list of lines, each a list of words"
    toml_example: ClassVar[str] = '[["/icons/text.gif", ".txt", ".log"]]'
    args_example: ClassVar[str] = "AddIcon /icons/text.gif .txt .log"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, ...], ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        return tuple(self.line(self.string_list(line, where), where) for line in value)

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, ...], ...]:
        return (self.line(args, where),)

    def line(self, words: list[str], where: str) -> tuple[str, ...]:
        if len(words) < self.least:
            raise ConfigError(where, f"expected at least {self.least} words, got {len(words)}",
                              f"write it as {self.args_example}")
        return tuple(words)


@dataclass(frozen=True)
class IndexOptionWords(WordLines):
    """One IndexOptions line: keywords, each plain, +added or -removed, some with =value."""

    expects: ClassVar[str] = "IndexOptions keywords such as FancyIndexing HTMLTable NameWidth=*"
    toml_example: ClassVar[str] = '[["FancyIndexing", "HTMLTable", "NameWidth=*"]]'
    args_example: ClassVar[str] = "IndexOptions FancyIndexing HTMLTable NameWidth=*"

    def line(self, words: list[str], where: str) -> tuple[str, ...]:
        super().line(words, where)
        for word in words:
            name, equals, value = word.lstrip("+-").partition("=")
            if name.lower() in _NOT_DRAWN:
                raise ConfigError(where, f"IndexOptions {_NOT_DRAWN[name.lower()]} is not implemented by "
                                  "itkgw's listing", "remove the keyword")
            known = _BY_LOWER.get(name.lower())
            if known is None:
                raise ConfigError(where, f"IndexOptions: unknown keyword '{word}'",
                                  "the keywords are " + ", ".join((*LISTING_OPTIONS, "NameWidth=",
                                                                   "DescriptionWidth=", "Charset=", "Type=",
                                                                   "IconWidth[=]", "IconHeight[=]")))
            removed = not equals and word[:1] == "-"
            least = 5 if known == "NameWidth" else 12  # httpd's bounds
            if known in ("NameWidth", "DescriptionWidth") and not (
                    value == "*" or (value.isdigit() and int(value) >= least) or removed):
                raise ConfigError(where, f"IndexOptions {word}: the width must be * or a number of at "
                                  f"least {least}", f"write {known}=* or {known}=40")
            if known in ("IconWidth", "IconHeight") and equals and not value.isdigit():
                raise ConfigError(where, f"IndexOptions {word}: the size must be a number of pixels",
                                  f"write {known}=16, or {known} alone for httpd's default")
            if known in ("Charset", "Type") and not value:
                raise ConfigError(where, f"IndexOptions {word}: a value is needed", f"write {known}=UTF-8"
                                  if known == "Charset" else "write Type=text/html")
        return tuple(words)


@dataclass(frozen=True)
class SortOrder(Kind):
    """IndexOrderDefault: Ascending or Descending, then Name, Date, Size or Description."""

    expects: ClassVar[str] = "Ascending|Descending and Name|Date|Size|Description"
    toml_example: ClassVar[str] = '["Descending", "Date"]'
    args_example: ClassVar[str] = "IndexOrderDefault Descending Date"

    def from_toml(self, value: object, where: str) -> tuple[str, str]:
        return self.pair(self.string_list(value, where), where)

    def from_args(self, args: list[str], where: str) -> tuple[str, str]:
        return self.pair(args, where)

    def pair(self, words: list[str], where: str) -> tuple[str, str]:
        orders = {"ascending": "Ascending", "descending": "Descending"}
        keys = {"name": "Name", "date": "Date", "size": "Size", "description": "Description"}
        if len(words) != 2 or words[0].lower() not in orders or words[1].lower() not in keys:
            raise self.wrong_args(words, where)
        return orders[words[0].lower()], keys[words[1].lower()]


@dataclass(frozen=True)
class AutoindexSettings:
    """mod_autoindex of one level. The lists add to those of the levels around, ahead of them
    (IndexIgnore too, unless IndexIgnoreReset); the single values replace them."""

    index_options: tuple[tuple[str, ...], ...] | None = None
    index_ignore: tuple[tuple[str, ...], ...] | None = None
    index_ignore_reset: bool | None = None
    add_icon: tuple[tuple[str, ...], ...] | None = None
    add_icon_by_type: tuple[tuple[str, ...], ...] | None = None
    add_icon_by_encoding: tuple[tuple[str, ...], ...] | None = None
    add_alt: tuple[tuple[str, ...], ...] | None = None
    add_alt_by_type: tuple[tuple[str, ...], ...] | None = None
    add_alt_by_encoding: tuple[tuple[str, ...], ...] | None = None
    add_description: tuple[tuple[str, ...], ...] | None = None
    default_icon: str | None = None
    header_name: str | None = None
    readme_name: str | None = None
    order_default: tuple[str, str] | None = None
    style_sheet: str | None = None
    head_insert: str | None = None

    def over(self, earlier: AutoindexSettings) -> AutoindexSettings:
        def inner_first(name: str) -> tuple[tuple[str, ...], ...] | None:
            """httpd's merge appends the outer level's rules after this level's: these win."""
            mine, theirs = getattr(self, name), getattr(earlier, name)
            return (mine or ()) + (theirs or ()) if mine is not None or theirs is not None else None

        options = (earlier.index_options or ()) + (self.index_options or ())
        return AutoindexSettings(
            index_options=options or None,
            index_ignore=self.index_ignore if self.index_ignore_reset else inner_first("index_ignore"),
            add_icon=inner_first("add_icon"), add_icon_by_type=inner_first("add_icon_by_type"),
            add_icon_by_encoding=inner_first("add_icon_by_encoding"), add_alt=inner_first("add_alt"),
            add_alt_by_type=inner_first("add_alt_by_type"),
            add_alt_by_encoding=inner_first("add_alt_by_encoding"),
            add_description=inner_first("add_description"),
            default_icon=self.default_icon or earlier.default_icon,
            header_name=self.header_name or earlier.header_name,
            readme_name=self.readme_name or earlier.readme_name,
            order_default=self.order_default or earlier.order_default,
            style_sheet=self.style_sheet or earlier.style_sheet,
            head_insert=self.head_insert or earlier.head_insert)

    def icon_rules(self) -> tuple[tuple[str, str, str], ...]:
        """The AddIcon* lines as (kind, icon, pattern) rules, in the order they are tried."""
        return tuple(_rules("encoding", self.add_icon_by_encoding, icon=True)
                     + _rules("type", self.add_icon_by_type, icon=True)
                     + _rules("path", self.add_icon, icon=True))

    def alt_rules(self) -> tuple[tuple[str, str, str], ...]:
        """AddAlt* lines, and the ALT of every AddIcon* (ALT,/icon) line."""
        rules = []
        for kind, lines in (("encoding", self.add_icon_by_encoding), ("type", self.add_icon_by_type),
                            ("path", self.add_icon)):
            rules += [(kind, alt, pattern) for kind, alt, pattern in _rules(kind, lines, icon=False) if alt]
        rules += _rules("encoding", self.add_alt_by_encoding, icon=None)
        rules += _rules("type", self.add_alt_by_type, icon=None)
        rules += _rules("path", self.add_alt, icon=None)
        return tuple(rules)


def _rules(kind: str, lines: tuple[tuple[str, ...], ...] | None,
           icon: bool | None) -> list[tuple[str, str, str]]:
    """(kind, data, pattern) of each name of each line. ``icon``: the icon of an AddIcon*
    line (True), its (ALT,...) text (False), or an AddAlt* line's text (None)."""
    rules = []
    for first, *names in lines or ():
        if icon is None:
            data = first
        elif first.startswith("(") and first.endswith(")") and "," in first:
            alt, _, image = first[1:-1].partition(",")
            data = image if icon else alt
        else:
            data = first if icon else ""
        for name in names:
            if kind == "path" and not any(c in name for c in "*?^") and not name.startswith("/"):
                name = "*" + name  # an ending, as httpd's push_item makes it
            rules.append((kind, data, name))
    return rules


MODULE = Module(
    "autoindex",
    "mod_autoindex: the listing of a directory without an index file, where Options Indexes allows it",
    identifiers=("autoindex_module", "mod_autoindex.c"),
    directives=(
        Directive("IndexOptions", "index_options", VHOST_DIRECTORY, IndexOptionWords(),
                  "how the listing looks: FancyIndexing, HTMLTable, FoldersFirst, NameWidth=*, "
                  "Charset=..., SuppressSize...; +Keyword and -Keyword change the options around",
                  repeat=True),
        Directive("IndexIgnore", "index_ignore", VHOST_DIRECTORY, WordLines(),
                  "names (wildcards) the listing leaves out", repeat=True),
        Directive("IndexIgnoreReset", "index_ignore_reset", VHOST_DIRECTORY, Flag(),
                  "On: the IndexIgnore names of the levels around do not apply here"),
        Directive("AddIcon", "add_icon", VHOST_DIRECTORY, WordLines(2),
                  "an icon (or (ALT,/icon)) for names, endings, ^^DIRECTORY^^ or ^^BLANKICON^^",
                  repeat=True),
        Directive("AddIconByType", "add_icon_by_type", VHOST_DIRECTORY, WordLines(2),
                  "an icon for content types (text/*)", repeat=True),
        Directive("AddIconByEncoding", "add_icon_by_encoding", VHOST_DIRECTORY, WordLines(2),
                  "an icon for content encodings (x-gzip)", repeat=True),
        Directive("AddAlt", "add_alt", VHOST_DIRECTORY, WordLines(2),
                  "the alt text of the icon of names or endings", repeat=True),
        Directive("AddAltByType", "add_alt_by_type", VHOST_DIRECTORY, WordLines(2),
                  "the alt text of the icon of content types", repeat=True),
        Directive("AddAltByEncoding", "add_alt_by_encoding", VHOST_DIRECTORY, WordLines(2),
                  "the alt text of the icon of content encodings", repeat=True),
        Directive("AddDescription", "add_description", VHOST_DIRECTORY, WordLines(2),
                  "a description (HTML) shown for names or endings", repeat=True),
        Directive("DefaultIcon", "default_icon", VHOST_DIRECTORY, Text(),
                  "the icon of a file no AddIcon rule names"),
        Directive("HeaderName", "header_name", VHOST_DIRECTORY, Text(),
                  "a file of the directory shown above the listing (HTML as it is, text in <pre>)"),
        Directive("ReadmeName", "readme_name", VHOST_DIRECTORY, Text(),
                  "a file of the directory shown below the listing"),
        Directive("IndexOrderDefault", "order_default", VHOST_DIRECTORY, SortOrder(),
                  "the listing's order when the URL asks for none (default Ascending Name)"),
        Directive("IndexStyleSheet", "style_sheet", VHOST_DIRECTORY, Text(),
                  "the URL of a style sheet the listing links"),
        Directive("IndexHeadInsert", "head_insert", VHOST_DIRECTORY, Text(),
                  "HTML put in the listing's <head>"),
    ),
    settings={Context.VHOST: AutoindexSettings, Context.DIRECTORY: AutoindexSettings},
)
