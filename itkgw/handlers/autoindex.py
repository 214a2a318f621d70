"""mod_autoindex's listing of a directory, drawn as httpd 2.4 draws it.

A directory without a DirectoryIndex file, where Options Indexes is on, is
answered with the list of its entries: a plain ``<ul>``, or with
FancyIndexing a table (HTMLTable) or a ``<pre>`` block, with the icons, the
widths, the order (the client's ``?C=M;O=D`` or IndexOrderDefault) and the
HeaderName / ReadmeName files of its settings. Entries that IndexIgnore
names, and those the access rules refuse (``.htaccess`` under Debian's
``<FilesMatch "^\\.ht">``), are left out, as httpd's per-entry subrequest
leaves them out. The directory is read as the request's identity.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, unquote

from itkgw.config.modules.autoindex import AutoindexSettings, resolve_options
from itkgw.http.connection import HTTPConnection, Request
from itkgw.rules.expr import escape_uri

_DOCTYPE = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
#: IndexOptions XHTML's start of the page.
_XHTML_START = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
                '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
                '<html xmlns="http://www.w3.org/1999/xhtml">\n')
_DEFAULT_WIDTH = 23
_KEYS = {"N": "name", "M": "date", "S": "size", "D": "description"}
_ORDER_KEYS = {"Name": "N", "Date": "M", "Size": "S", "Description": "D"}
#: Icon or alt rules: (kind, icon or alt text, pattern), in the order they are tried.
_Rules = tuple[tuple[str, str, str], ...]
#: What ap_os_escape_path leaves as it is in a name (httpd escapes the rest as %xx, lower case).
_PATH_SAFE = "$-_.+!*'(),:@&=~/"


@dataclass
class Entry:
    """One line of the listing; ``name`` ends in / for a directory, is "/" for the parent."""

    name: str
    size: int
    mtime: float
    icon: str | None = None
    alt: str | None = None
    description: str | None = None
    folder: bool = False
    #: The parent's link: a URL path, where the others link their name.
    href: str | None = None


@dataclass(frozen=True)
class Layout:
    """What the IndexOptions in effect ask of the listing."""

    options: dict[str, str]
    #: The client's F=, V= and P= again, for the column links (httpd's colargs).
    colargs: str = ""

    def has(self, name: str) -> bool:
        return name in self.options

    @property
    def fancy(self) -> bool:
        return self.has("FancyIndexing")

    @property
    def table(self) -> bool:
        return self.fancy and self.has("HTMLTable")

    def width(self, name: str) -> int | None:
        """NameWidth / DescriptionWidth: a number, or None for * (as wide as needed)."""
        value = self.options.get(name, "")
        return None if value == "*" else int(value) if value.isdigit() else _DEFAULT_WIDTH


def serve_listing(conn: HTTPConnection, request: Request, directory: str, settings: AutoindexSettings,
                  content_type_of: Callable[[str], tuple[str | None, str | None]],
                  refused: Callable[[str], bool]) -> None:
    """Answer the current request with the listing of ``directory`` (its path on disk).
    ``content_type_of(filename)`` gives a file's type and encoding (for icons and the
    header/readme files), ``refused(filename)`` whether the access rules keep it out."""
    layout = Layout(resolve_options(settings.index_options or ()))
    asked = {} if layout.has("IgnoreClient") else _client_args(request.query)
    layout, pattern = _client_layout(layout, asked)
    key, ascending = _order(asked, settings)
    entries = _entries(directory, request.path, settings, layout, content_type_of, refused, pattern)
    _sort(entries, key, ascending, layout)
    title = escape(request.path.rstrip("/") or "/", quote=False)
    head = _head(directory, title, settings, layout, content_type_of)
    if not layout.fancy:
        body = _plain(entries)
    elif layout.table:
        body = _table(entries, key, ascending, settings, layout)
    else:
        body = _pre(entries, key, ascending, settings, layout)
    tail = _tail(directory, settings, layout, content_type_of, conn.signature)
    page = (head + body + tail).encode("utf-8", "surrogateescape")
    charset = layout.options.get("Charset") or "ISO-8859-1"
    content_type = f"{layout.options.get('Type') or 'text/html'};charset={charset}"
    conn.send_response_head(200, [("Content-Type", content_type), ("Content-Length", str(len(page)))],
                            hold=True)
    if request.method != "HEAD":
        conn.send_data(page)
    conn.end_response()


# -- what is listed ------------------------------------------------------------


def _client_args(query: str) -> dict[str, str]:
    """The query's C= (column), O= (order), F= (0 plain, 1 fancy, 2 table), V= (version sort)
    and P= (a pattern, URL-decoded), read as httpd reads them: one character each but P's,
    parts split by ; or &, and nothing more after a part it cannot read."""
    asked: dict[str, str] = {}
    for part in re.split(r"[;&]", query) if query else ():
        name, equals, value = part.partition("=")
        if not equals or name not in _CLIENT_VALUES or (name != "P" and value not in _CLIENT_VALUES[name]):
            break
        if name == "P":
            value = unquote(value, errors="surrogateescape")
        asked[name] = value
    return asked


#: What each of the client's arguments may be (P: any pattern).
_CLIENT_VALUES = {"C": ("N", "M", "S", "D"), "O": ("A", "D"), "F": ("0", "1", "2"), "V": ("0", "1"), "P": ()}


#: What F= asks for: a plain list, the fancy one in <pre>, or a table.
_FORMS: dict[str, dict[str, str]] = {"0": {}, "1": {"FancyIndexing": ""},
                                     "2": {"FancyIndexing": "", "HTMLTable": ""}}


def _client_layout(layout: Layout, asked: dict[str, str]) -> tuple[Layout, str | None]:
    """The listing's form as the client's F= and V= change it, the links that keep them (and
    P=), and the P= pattern (None: every entry)."""
    options = dict(layout.options)
    if "F" in asked:
        options.pop("HTMLTable", None)
        options.pop("FancyIndexing", None)
        options.update(_FORMS[asked["F"]])
    if "V" in asked:
        if asked["V"] == "1":
            options["VersionSort"] = ""
        else:
            options.pop("VersionSort", None)
    pattern = asked.get("P") or None
    colargs = "".join(f";{name}={asked[name]}" for name in ("F", "V") if name in asked)
    if pattern is not None:
        colargs += ";P=" + quote(pattern, safe=_PATH_SAFE, errors="surrogateescape")
    return Layout(options, colargs), pattern


def _order(asked: dict[str, str], settings: AutoindexSettings) -> tuple[str, bool]:
    """The sort column (N, M, S, D) and direction: the client's C= and O= unless IgnoreClient,
    else IndexOrderDefault, else by name ascending."""
    order, column = settings.order_default or ("Ascending", "Name")
    key, ascending = _ORDER_KEYS[column], order == "Ascending"
    return asked.get("C", key), asked["O"] == "A" if "O" in asked else ascending


def _shown_by(pattern: str | None, name: str) -> bool:
    """P='s wildcard match, as apr_fnmatch's NOESCAPE and PERIOD read it: a leading dot is
    matched only by a dot."""
    if pattern is None:
        return True
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def _entries(directory: str, url: str, settings: AutoindexSettings, layout: Layout,
             content_type_of: Callable[[str], tuple[str | None, str | None]],
             refused: Callable[[str], bool], pattern: str | None = None) -> list[Entry]:
    entries = []
    icons, alts = settings.icon_rules(), settings.alt_rules()
    if url.rstrip("/"):
        parent = url.rstrip("/").rsplit("/", 1)[0] + "/"
        parent_icon, parent_alt = _parent_icon(icons, alts)
        entries.append(Entry("/", -1, -1, parent_icon, parent_alt, href=parent))
    ignored = [pattern for line in settings.index_ignore or () for pattern in line]
    descriptions = [(text, pattern) for text, *patterns in settings.add_description or ()
                    for pattern in patterns]
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not _shown_by(pattern, name) or any(_ignores(ignore, name, path) for ignore in ignored):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue  # a dangling link, or nothing this identity may look at: not listed
        is_dir = stat.S_ISDIR(st.st_mode)
        if refused(path + "/" if is_dir else path):
            continue
        entry = Entry(name + "/" if is_dir else name, -1, -1)
        if layout.fancy:  # a plain list has no dates, sizes or icons: it sorts by name alone
            entry.mtime = st.st_mtime
            _dress(entry, path, is_dir, icons, alts, layout, content_type_of)
            entry.description = next((text for text, pattern in descriptions
                                      if _matches(_path_pattern(pattern), path)), None)
            if entry.description is None and not is_dir and layout.has("ScanHTMLTitles"):
                entry.description = _html_title(path, content_type_of)
            if not is_dir:
                entry.size = st.st_size
        entries.append(entry)
    return entries


def _html_title(path: str, content_type_of: Callable[[str], tuple[str | None, str | None]]) -> str | None:
    """ScanHTMLTitles: the <title> of an HTML file that has no description, as mod_autoindex's
    find_title reads it: in the file's first 8 KiB, up to the next tag, its line breaks as
    spaces (those at its very start dropped)."""
    content_type, encoding = content_type_of(path)
    if not (content_type or "").lower().startswith("text/html") or encoding:
        return None
    try:
        with open(path, "rb") as file:
            start = file.read(_TITLE_SCAN - 1).split(b"\0", 1)[0]
    except OSError:
        return None
    found = start.lower().find(b"<title>")
    if found < 0:
        return None
    title = start[found + 7:].split(b"<", 1)[0]
    return title.lstrip(b"\r\n").replace(b"\r", b" ").replace(b"\n", b" ").decode("latin-1")


#: How much of a file find_title reads (httpd's MAX_STRING_LEN).
_TITLE_SCAN = 8192


def _dress(entry: Entry, path: str, is_dir: bool, icons: _Rules, alts: _Rules, layout: Layout,
           content_type_of: Callable[[str], tuple[str | None, str | None]]) -> None:
    """A fancy entry's icon and alt: a directory's by its path, else ^^DIRECTORY^^ and "DIR";
    a file's by its path, type or encoding (DefaultIcon is the drawing's fallback)."""
    if is_dir:
        entry.folder = layout.has("FoldersFirst")
        entry.icon = _find(icons, path, None, None) or _find(icons, "^^DIRECTORY^^", None, None)
        entry.alt = _find(alts, path, None, None) or _find(alts, "^^DIRECTORY^^", None, None) or "DIR"
    else:
        content_type, encoding = content_type_of(path)
        entry.icon = _find(icons, path, content_type, encoding)
        entry.alt = _find(alts, path, content_type, encoding)


def _parent_icon(icons: _Rules, alts: _Rules) -> tuple[str | None, str]:
    icon = _find(icons, "..", None, None) or _find(icons, "^^DIRECTORY^^", None, None)
    alt = _find(alts, "..", None, None) or _find(alts, "^^DIRECTORY^^", None, None) or "PARENTDIR"
    return icon, alt


def _ignores(pattern: str, name: str, path: str) -> bool:
    """IndexIgnore: a pattern with a / is matched against the whole path, else the name."""
    return fnmatch.fnmatchcase(path if "/" in pattern else name, pattern)


def _path_pattern(pattern: str) -> str:
    return pattern if any(c in pattern for c in "*?^") or pattern.startswith("/") else "*" + pattern


def _matches(pattern: str, text: str, fold: bool = False) -> bool:
    """httpd's ap_strcmp_match: * and ? wildcards over the whole text."""
    if fold:
        return fnmatch.fnmatch(text.lower(), pattern.lower())
    return fnmatch.fnmatchcase(text, pattern)


def _find(rules: _Rules, path: str, content_type: str | None,
          encoding: str | None) -> str | None:
    """The first rule (httpd's find_item) for ``path``: by path always; by encoding when the
    file has one, else by type. ^^DIRECTORY^^ and ^^BLANKICON^^ match only themselves."""
    for kind, data, pattern in rules:
        if kind == "path":
            if _matches(pattern, path):
                return data
        elif path.startswith("^"):
            continue
        elif encoding is not None:
            if kind == "encoding" and _matches(pattern, encoding, fold=True):
                return data
        elif kind == "type" and content_type is not None and _matches(pattern, content_type, fold=True):
            return data
    return None


# -- the order -----------------------------------------------------------------


def _natural(text: str) -> list[tuple[int, int | str]]:
    """A key for apr_strnatcmp's order: runs of digits compare as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


def _sort(entries: list[Entry], key: str, ascending: bool, layout: Layout) -> None:
    """httpd's dsortf: the parent first, then folders (FoldersFirst), then the column, then
    the name (VersionSort, IgnoreCase), the whole reversed for descending but the first two."""
    version, fold = layout.has("VersionSort"), layout.has("IgnoreCase")

    def compare(one: Entry, two: Entry) -> int:
        if one.name == "/":
            return -1
        if two.name == "/":
            return 1
        if one.folder != two.folder:
            return -1 if one.folder else 1
        first, second = (one, two) if ascending else (two, one)
        if key == "M" and first.mtime != second.mtime:
            return 1 if first.mtime > second.mtime else -1
        if key == "S" and first.size != second.size:
            return 1 if first.size > second.size else -1
        if key == "D":
            result = _cmp(first.description or "", second.description or "", version)
            if result:
                return result
        result = 0
        if version and fold:
            result = _cmp(first.name.lower(), second.name.lower(), True)
        if not result and version:
            result = _cmp(first.name, second.name, True)
        if not result and fold:
            result = _cmp(first.name.lower(), second.name.lower(), False)
        return result or _cmp(first.name, second.name, False)

    entries.sort(key=functools.cmp_to_key(compare))


def _cmp(one: str, two: str, natural: bool) -> int:
    left, right = (_natural(one), _natural(two)) if natural else (one.encode("utf-8", "surrogateescape"),
                                                                  two.encode("utf-8", "surrogateescape"))
    return (left > right) - (left < right)  # type: ignore[operator]


# -- drawing --------------------------------------------------------------------


def _anchor(entry: Entry) -> str:
    return escape(escape_uri(entry.href or entry.name), quote=True).replace("&#x27;", "'")


def _shown(entry: Entry) -> str:
    return "Parent Directory" if entry.name == "/" else entry.name


def _html(text: str) -> str:
    """ap_escape_html: &, < and > (and quotes) as entities."""
    return escape(text, quote=True).replace("&#x27;", "'")


def _head(directory: str, title: str, settings: AutoindexSettings, layout: Layout,
          content_type_of: Callable[[str], tuple[str | None, str | None]]) -> str:
    start = _XHTML_START if layout.has("XHTML") else f"{_DOCTYPE}<html>\n"
    preamble = f"{start} <head>\n  <title>Index of {title}</title>\n"
    if settings.style_sheet:
        preamble += f'  <link rel="stylesheet" href="{settings.style_sheet}" type="text/css"{_end(layout)}\n'
    if settings.head_insert:
        preamble += settings.head_insert
    preamble += " </head>\n <body>\n"
    inserted = _inserted(directory, settings.header_name, content_type_of)
    if inserted is None:  # a style sheet's page names the title for it
        heading = '  <h1 id="indextitle">' if settings.style_sheet else "<h1>"
        return preamble + f"{heading}Index of {title}</h1>\n"
    text, html = inserted
    # SuppressHTMLPreamble leaves the page's start to an HTML header file, and only to one.
    return ("" if html and layout.has("SuppressHTMLPreamble") else preamble) + text


def _tail(directory: str, settings: AutoindexSettings, layout: Layout,
          content_type_of: Callable[[str], tuple[str | None, str | None]], signature: str) -> str:
    """The ReadmeName file, else ServerSignature's line, then the page's end."""
    inserted = _inserted(directory, settings.readme_name, content_type_of)
    if inserted is None:
        return signature + "</body></html>\n"
    text, html = inserted
    return text + ("" if html and layout.has("SuppressHTMLPreamble") else "</body></html>\n")


def _inserted(directory: str, name: str | None,
              content_type_of: Callable[[str], tuple[str | None, str | None]]) -> tuple[str, bool] | None:
    """HeaderName / ReadmeName: the file's text as it goes in the page (HTML as it is, other
    text escaped in <pre>) and whether it is HTML; None without such a file."""
    if not name or "/" in name.strip("/"):
        return None
    path = os.path.join(directory, name.strip("/"))
    content_type = (content_type_of(path)[0] or "").split(";")[0].strip().lower()
    if not content_type.startswith("text/"):
        return None
    try:
        with open(path, "rb") as source:
            text = source.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None
    if content_type == "text/html":
        return text, True
    return f"<pre>\n{_html(text)}</pre>\n", False


def _plain(entries: list[Entry]) -> str:
    lines = "".join(f'<li><a href="{_anchor(entry)}"> {_html(_shown(entry))}</a></li>\n' for entry in entries)
    return f"<ul>{lines}</ul>\n"


def _link(label: str, column: str, key: str, ascending: bool, layout: Layout) -> str:
    """emit_link: the header of a column, a link that sorts by it (the other way when it is
    the order already), or the bare label with SuppressColumnSorting."""
    if layout.has("SuppressColumnSorting"):
        return label
    order = "D" if key == column and ascending else "A"
    return f'<a href="?C={column};O={order}{layout.colargs}">{label}</a>'


def _columns(layout: Layout) -> list[tuple[str, str]]:
    return [(label, column) for label, column, option in (
        ("Last modified", "M", "SuppressLastModified"), ("Size", "S", "SuppressSize"),
        ("Description", "D", "SuppressDescription")) if not layout.has(option)]


def _icon_tag(source: str, alt: str, layout: Layout) -> str:
    """An icon, with IconWidth and IconHeight (httpd's 20 by 22 when given no number)."""
    sizes = "".join(f' {attribute}="{layout.options[option] or default}"' for option, attribute, default in (
        ("IconWidth", "width", "20"), ("IconHeight", "height", "22")) if option in layout.options)
    return f'<img src="{_html(source)}" alt="{alt}"{sizes}{_end(layout)}'


def _end(layout: Layout) -> str:
    """The end of an empty element: XHTML's `` />`` under IndexOptions XHTML."""
    return " />" if layout.has("XHTML") else ">"


def _cut(text: str, width: int) -> str:
    """A name longer than its column: its start and ``..>``."""
    return text[:width - 3] + "..>" if len(text) > width else text


_TOP = ' valign="top"'
#: The class of each column's cells in a table drawn for IndexStyleSheet.
_COLUMN_CLASSES = {"I": "indexcolicon", "N": "indexcolname", "M": "indexcollastmod", "S": "indexcolsize",
                   "D": "indexcoldesc"}


def _table(entries: list[Entry], key: str, ascending: bool, settings: AutoindexSettings,
           layout: Layout) -> str:
    """HTMLTable's listing; with IndexStyleSheet, httpd names the table, its rows (even and odd)
    and each column's cells for the style sheet, and aligns nothing itself."""
    styled = bool(settings.style_sheet)
    icons = not layout.has("SuppressIcon")
    blank = _find(settings.icon_rules(), "^^BLANKICON^^", None, None)
    columns = _columns(layout)

    def cell(tag: str, column: str, plain: str) -> str:
        return f'<{tag} class="{_COLUMN_CLASSES[column]}">' if styled else f"<{tag}{plain}>"

    cells = []
    if icons:
        icon = _icon_tag(blank, "[ICO]", layout) if blank else "&nbsp;"
        cells.append(cell("th", "I", _TOP) + f"{icon}</th>")
    cells.append(f'{cell("th", "N", "")}{_link("Name", "N", key, ascending, layout)}</th>')
    cells += [f'{cell("th", column, "")}{_link(label, column, key, ascending, layout)}</th>'
              for label, column in columns]
    count = len(columns) + 1 + (1 if icons else 0)
    rule_row = '<tr class="indexbreakrow">' if styled else "<tr>"
    rule = "" if layout.has("SuppressRules") else \
        f'   {rule_row}<th colspan="{count}"><hr{_end(layout)}</th></tr>\n'
    table = '  <table id="indexlist">' if styled else "  <table>"
    head_row = '<tr class="indexhead">' if styled else "<tr>"
    lines = [f"{table}\n   {head_row}{''.join(cells)}</tr>\n{rule}"]
    name_width = layout.width("NameWidth")
    for number, entry in enumerate(entries):
        line = f'   <tr class="{"odd" if number % 2 else "even"}">' if styled else "<tr>"
        if icons:
            source = entry.icon or settings.default_icon
            icon = _icon_tag(source, f"[{entry.alt or '   '}]", layout) if source else "&nbsp;"
            if layout.has("IconsAreLinks"):
                icon = f'<a href="{_anchor(entry)}">{icon}</a>'
            line += cell("td", "I", _TOP) + f"{icon}</td>"
        shown = _shown(entry)
        line += cell("td", "N", "")
        if name_width is None:
            line += f'<a href="{_anchor(entry)}">{_html(shown)}</a>'
        else:
            shown = _cut(shown, name_width)
            line += f'<a href="{_anchor(entry)}">{_html(shown)}</a>' + " " * (name_width - len(shown))
        for _label, column in columns:
            if column == "M":
                line += ("</td>" + cell("td", "M", ' align="right"') + _date(entry.mtime, layout)) \
                    if entry.mtime != -1 else "</td>" + cell("td", "M", "") + "&nbsp;"
            elif column == "S":
                line += "</td>" + cell("td", "S", ' align="right"') + file_size(entry.size)
            elif column == "D":
                line += "</td>" + cell("td", "D", "") + (
                    _description(entry.description, layout) if entry.description else "&nbsp;")
        lines.append(line + "</td></tr>\n")
    lines.append(f"{rule}</table>\n")
    return "".join(lines)


def _pre(entries: list[Entry], key: str, ascending: bool, settings: AutoindexSettings, layout: Layout) -> str:
    icons = not layout.has("SuppressIcon")
    blank = _find(settings.icon_rules(), "^^BLANKICON^^", None, None)
    name_width = layout.width("NameWidth")
    if name_width is None:
        name_width = max([_DEFAULT_WIDTH, *(len(_shown(entry)) for entry in entries)])
    columns = _columns(layout)
    text = "<pre>"
    if icons:
        text += _icon_tag(blank, "Icon ", layout) + " " if blank else "      "
    text += _link("Name", "N", key, ascending, layout) + " " * (name_width - 4) + " "
    gaps = {"M": "      ", "S": "  ", "D": ""}
    for label, column in columns:
        text += _link(label, column, key, ascending, layout) + gaps[column]
    text += "\n" if layout.has("SuppressRules") else f"<hr{_end(layout)}"
    for entry in entries:
        if icons:
            source = entry.icon or settings.default_icon
            icon = _icon_tag(source, f"[{entry.alt or '   '}]", layout) if source else "     "
            text += (f'<a href="{_anchor(entry)}">{icon}</a> ' if layout.has("IconsAreLinks") else icon + " ")
        shown = _cut(_shown(entry), name_width)
        text += f'<a href="{_anchor(entry)}">{_html(shown)}</a>' + " " * (name_width - len(shown)) + " "
        for _label, column in columns:
            if column == "M":
                text += _date(entry.mtime, layout) if entry.mtime != -1 else " " * 19
            elif column == "S":
                text += file_size(entry.size) + "  "
            elif column == "D" and entry.description:
                text += _description(entry.description, layout)
        text += "\n"
    return text + ("</pre>\n" if layout.has("SuppressRules") else f"<hr{_end(layout)}</pre>\n")


def _date(mtime: float, layout: Layout) -> str:
    form = "%d-%b-%Y %H:%M  " if layout.has("UseOldDateFormat") else "%Y-%m-%d %H:%M  "
    return time.strftime(form, time.localtime(mtime))


def _description(text: str, layout: Layout) -> str:
    """A description cut as mod_autoindex's terminate_description cuts it: to its width in
    visible characters (a tag counts none, an entity one), the last one shown made ">" when
    more follows. Without DescriptionWidth, each suppressed column lends it its room."""
    width = layout.width("DescriptionWidth")
    if width is None:
        return text
    if "DescriptionWidth" not in layout.options:
        width += sum(room for option, room in (("SuppressIcon", 6), ("SuppressLastModified", 19),
                                                ("SuppressSize", 7)) if layout.has(option))
    left, index = width, 0
    while index < len(text) and (left > 0 or text[index] == "<"):
        if text[index] in "<&":
            end = text.find(">" if text[index] == "<" else ";", index)
            if end < 0:
                return text  # an unclosed tag or entity: httpd's count ends there, nothing is cut
            left -= text[index] == "&"
            index = end
        else:
            left -= 1
        index += 1
    return text[:index - 1] + ">" if left == 0 and index < len(text) else text


def file_size(size: int) -> str:
    """apr_strfsize: four characters, "  - " for none, "  3 ", "2.0K", " 12M"."""
    if size < 0:
        return "  - "
    if size < 973:
        return f"{size:3d} "
    units = "KMGTPE"
    unit = 0
    while True:
        remain = size & 1023
        size >>= 10
        if size >= 973:
            unit += 1
            continue
        if size < 9 or (size == 9 and remain < 973):
            tenths = (remain * 5 + 256) // 512
            if tenths >= 10:
                size, tenths = size + 1, 0
            return f"{size}.{tenths}{units[unit]}"
        if remain >= 512:
            size += 1
        return f"{size:3d}{units[unit]}"
