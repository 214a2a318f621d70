"""mod_autoindex through a real itkgw: a directory without an index file under Options Indexes.

The expected pages are what Apache 2.4 + mpm-itk drew for the same tree and
the same settings, byte for byte (dates in the server's local time, as
httpd's apr_time_exp_lt gives them).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
from tests.sites import ALICE, Site

PREAMBLE = ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
            "<html>\n <head>\n  <title>Index of /autolist</title>\n </head>\n <body>\n")
#: A day the files of the listing were last changed, and how httpd shows it.
STAMP = time.mktime((2024, 1, 2, 3, 4, 5, 0, 0, -1))
SHOWN = time.strftime("%Y-%m-%d %H:%M", time.localtime(STAMP))
#: Debian's mods-available/autoindex.conf, the lines these files need.
DEBIAN = {
    "index_options": [["FancyIndexing", "VersionSort", "HTMLTable", "NameWidth=*", "DescriptionWidth=*",
                       "Charset=UTF-8"]],
    "add_icon_by_type": [["(TXT,/icons/text.gif)", "text/*"], ["(IMG,/icons/image2.gif)", "image/*"]],
    "add_icon": [["/icons/binary.gif", ".bin", ".exe"], ["/icons/back.gif", ".."],
                 ["/icons/folder.gif", "^^DIRECTORY^^"], ["/icons/blank.gif", "^^BLANKICON^^"]],
    "default_icon": "/icons/unknown.gif",
    "readme_name": "README.html",
    "header_name": "HEADER.html",
    "index_ignore": [[".??*", "*~", "*#", "RCS", "CVS", "*,v", "*,t"]],
}


def autolist_tree(site: Site, put: Put) -> Path:
    """autolist/: three files, a name to escape, a subdirectory, a file to ignore, .htaccess."""
    put(site, "autolist/one.txt", "one\n")
    put(site, "autolist/two.html", "<p>two</p>\n")
    put(site, "autolist/a&b <x>.txt", "a&b")
    put(site, "autolist/big.bin", "x" * 2000)
    put(site, "autolist/old.txt~", "backup")
    put(site, "autolist/sub/inner.txt", "inner\n")
    put(site, "autolist/.htaccess", "# nothing\n")
    put(site, "autolist/closed/.htaccess", "Require all denied\n")
    autolist = site.htdocs / "autolist"
    for path in (*autolist.rglob("*"), autolist / "sub", autolist / "closed"):
        os.utime(path, (STAMP, STAMP), follow_symlinks=False)
    return autolist


def serve(itkgw_factory, site: Site, **directory: Any) -> Itkgw:
    section = {"path": f"{site.htdocs}/autolist", "options": ["Indexes"], "allow_override": ["All"],
               **directory}
    return itkgw_factory([vhost_for(site, "alice.test", directory=[section],
                                    files=[{"path": r"^\.ht", "regex": True, "require": ["all denied"]}])])


def test_a_plain_listing_is_httpd_s_list_of_names(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    autolist_tree(alice, put)
    server = serve(itkgw_factory, alice)
    page = server.request("alice.test", "/autolist/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html;charset=ISO-8859-1"
    # .htaccess is refused by <FilesMatch "^\.ht">, closed/ by its own .htaccess: neither is autolist.
    assert page.body.decode() == PREAMBLE + (
        '<h1>Index of /autolist</h1>\n'
        '<ul><li><a href="/"> Parent Directory</a></li>\n'
        '<li><a href="a&amp;b%20%3cx%3e.txt"> a&amp;b &lt;x&gt;.txt</a></li>\n'
        '<li><a href="big.bin"> big.bin</a></li>\n'
        '<li><a href="old.txt~"> old.txt~</a></li>\n'
        '<li><a href="one.txt"> one.txt</a></li>\n'
        '<li><a href="sub/"> sub/</a></li>\n'
        '<li><a href="two.html"> two.html</a></li>\n'
        '</ul>\n</body></html>\n')
    inner = server.request("alice.test", "/autolist/sub/").body.decode()
    assert ('<ul><li><a href="/autolist/"> Parent Directory</a></li>\n'
            '<li><a href="inner.txt"> inner.txt</a>') in inner


def test_debian_s_fancy_table_with_icons_ignores_and_readme(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    autolist_tree(alice, put)
    put(alice, "autolist/README.html", "<b>read me</b>\n")
    os.utime(alice.htdocs / "autolist" / "README.html", (STAMP, STAMP))
    server = serve(itkgw_factory, alice, **DEBIAN)
    page = server.request("alice.test", "/autolist/")
    assert page.headers["Content-Type"] == "text/html;charset=UTF-8"

    def row(icon: str, alt: str, href: str, name: str, size: str, date: str = SHOWN) -> str:
        return (f'<tr><td valign="top"><img src="/icons/{icon}" alt="[{alt}]"></td><td><a href="{href}">'
                f'{name}</a></td><td align="right">{date}  </td><td align="right">{size}</td><td>&nbsp;</td>'
                '</tr>\n')

    assert page.body.decode() == PREAMBLE + (
        '<h1>Index of /autolist</h1>\n  <table>\n'
        '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a>'
        '</th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th><th>'
        '<a href="?C=D;O=A">Description</a></th></tr>\n'
        '   <tr><th colspan="5"><hr></th></tr>\n'
        '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/">Parent '
        'Directory</a></td><td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>\n'
        + row("text.gif", "TXT", "README.html", "README.html", " 15 ")
        + row("text.gif", "TXT", "a&amp;b%20%3cx%3e.txt", "a&amp;b &lt;x&gt;.txt", "  3 ")
        + row("binary.gif", "   ", "big.bin", "big.bin", "2.0K")
        + row("text.gif", "TXT", "one.txt", "one.txt", "  4 ")
        + row("folder.gif", "DIR", "sub/", "sub/", "  - ")
        + row("text.gif", "TXT", "two.html", "two.html", " 11 ")
        + '   <tr><th colspan="5"><hr></th></tr>\n</table>\n<b>read me</b>\n</body></html>\n')


def test_the_client_chooses_the_order_and_folders_come_first(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    autolist_tree(alice, put)
    server = serve(itkgw_factory, alice, index_options=[["FancyIndexing", "HTMLTable", "FoldersFirst",
                                                         "SuppressLastModified", "SuppressDescription"]])
    body = server.request("alice.test", "/autolist/?C=S;O=D").body.decode()
    names = [line.split('">', 2)[2].split("<")[0] for line in body.splitlines() if line.startswith("<tr><td")]
    assert names == ["Parent Directory", "sub/", "big.bin", "two.html", "old.txt~", "one.txt",
                     "a&amp;b &lt;x&gt;.txt"]
    # The column sorted by links to the other direction; the others ask for ascending.
    assert '<a href="?C=N;O=A">Name</a></th><th><a href="?C=S;O=A">Size</a>' in body
    name_width = '<td><a href="big.bin">big.bin</a>' + " " * 16 + '</td><td align="right">2.0K</td></tr>'
    assert name_width in body  # NameWidth 23 by default: names padded to it, as httpd pads them


def test_the_client_picks_the_form_and_a_pattern_and_the_links_keep_them(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    """mod_autoindex's F= (0 plain, 1 fancy, 2 table), V= and P= (a wildcard, no dot files
    unless it starts with one); the column links carry them; IgnoreClient ignores them all."""
    alice = docroots[ALICE]
    autolist_tree(alice, put)
    server = serve(itkgw_factory, alice, index_options=[["FancyIndexing", "HTMLTable"]])
    body = server.request("alice.test", "/autolist/?F=1;V=1;P=o*").body.decode()
    assert "<table>" not in body and "<pre>" in body
    assert '<a href="?C=N;O=D;F=1;V=1;P=o*">Name</a>' in body
    assert 'href="one.txt"' in body and 'href="old.txt~"' in body and 'href="two.html"' not in body
    plain = server.request("alice.test", "/autolist/?F=0;P=*.txt").body.decode()
    assert plain.count("<li>") == 3 and "<pre>" not in plain  # the parent, one.txt, a&b <x>.txt
    ignoring = serve(itkgw_factory, alice, index_options=[["FancyIndexing", "HTMLTable", "IgnoreClient"]])
    assert 'href="two.html"' in ignoring.request("alice.test", "/autolist/?F=0;P=o*").body.decode()


def test_indexes_off_is_403_and_a_post_is_404_as_in_httpd(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    autolist_tree(alice, put)
    put(alice, "autolist/sub/.htaccess", "Options -Indexes\n")
    server = serve(itkgw_factory, alice)
    assert server.request("alice.test", "/autolist/sub/").status == 403
    assert "server-generated directory index forbidden by Options directive" in server.error_log_text()
    assert server.request("alice.test", "/autolist/", method="POST", body=b"x=1").status == 404
    head = server.request("alice.test", "/autolist/", method="HEAD")
    assert (head.status, head.body) == (200, b"")


def test_index_options_in_htaccess_need_allowoverride_indexes(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    autolist_tree(alice, put)
    rules = "IndexOptions FancyIndexing HTMLTable\nIndexIgnore *.txt\n"
    (alice.htdocs / "autolist" / ".htaccess").write_text(rules)
    allowed = serve(itkgw_factory, alice, allow_override=["Indexes"])
    body = allowed.request("alice.test", "/autolist/").body.decode()
    assert "<table>" in body and "one.txt" not in body and "big.bin" in body
    refused = serve(itkgw_factory, alice, allow_override=["FileInfo"])
    assert refused.request("alice.test", "/autolist/").status == 500


def test_suppress_html_preamble_leaves_the_page_to_an_html_header_file_only(itkgw_factory, docroots,
                                                                            put: Put) -> None:
    """As httpd: with an HTML HeaderName and ReadmeName the page is theirs, start and end; without
    a header file, or with a text one, the preamble is drawn all the same."""
    alice = docroots[ALICE]
    autolist_tree(alice, put)
    options = {"index_options": [["FancyIndexing", "HTMLTable", "SuppressHTMLPreamble"]],
               "header_name": "HEADER.html", "readme_name": "README.html"}
    server = serve(itkgw_factory, alice, **options)
    bare = server.request("alice.test", "/autolist/").body.decode()
    assert bare.startswith(PREAMBLE + "<h1>Index of /autolist</h1>\n") and bare.endswith("</body></html>\n")
    put(alice, "autolist/HEADER.html", "<html><body><p>head</p>\n")
    put(alice, "autolist/README.html", "<p>tail</p></body></html>\n")
    page = server.request("alice.test", "/autolist/").body.decode()
    assert page.startswith("<html><body><p>head</p>\n  <table>\n")
    assert page.endswith("</table>\n<p>tail</p></body></html>\n")


def test_a_style_sheet_s_table_names_its_cells_and_xhtml_closes_empty_elements(itkgw_factory, docroots,
                                                                             put: Put) -> None:
    """IndexStyleSheet: httpd names the title, the table, its rows (even, odd) and each column's
    cells for the style sheet; IndexOptions XHTML starts the page as XHTML and closes <hr />."""
    alice = docroots[ALICE]
    put(alice, "autolist/one.txt", "one\n")
    os.utime(alice.htdocs / "autolist" / "one.txt", (STAMP, STAMP))
    server = serve(itkgw_factory, alice, index_options=[["FancyIndexing", "HTMLTable", "XHTML"]],
                   style_sheet="/s.css")
    page = server.request("alice.test", "/autolist/").body.decode()
    assert page.startswith('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
                           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
                           '<html xmlns="http://www.w3.org/1999/xhtml">\n <head>\n')
    assert '<link rel="stylesheet" href="/s.css" type="text/css" />' in page
    assert '  <h1 id="indextitle">Index of /autolist</h1>\n  <table id="indexlist">\n' in page
    assert ('   <tr class="even"><td class="indexcolicon">&nbsp;</td><td class="indexcolname">'
            '<a href="/">Parent Directory</a>') in page
    assert ('   <tr class="odd"><td class="indexcolicon">&nbsp;</td><td class="indexcolname">'
            f'<a href="one.txt">one.txt</a>                </td><td class="indexcollastmod">{SHOWN}  </td>'
            '<td class="indexcolsize">  4 </td><td class="indexcoldesc">&nbsp;</td></tr>\n') in page
    assert '   <tr class="indexbreakrow"><th colspan="5"><hr /></th></tr>\n</table>' in page


def test_html_titles_describe_pages_and_icons_take_their_size(itkgw_factory, docroots, put: Put) -> None:
    """ScanHTMLTitles: a page without an AddDescription is described by its <title> (line breaks
    made spaces); IconWidth and IconHeight size every icon, httpd's 20 by 22 without a number."""
    alice = docroots[ALICE]
    put(alice, "autolist/page.html", "<html><head><TITLE>\nOur\nmenu</TITLE></head></html>\n")
    put(alice, "autolist/plain.txt", "<title>not html</title>\n")
    put(alice, "autolist/told.html", "<title>its own</title>\n")
    server = serve(itkgw_factory, alice, index_options=[["FancyIndexing", "HTMLTable", "ScanHTMLTitles",
                                                         "IconWidth", "IconHeight=16"]],
                   add_icon=[["/icons/text.gif", ".html", ".txt"]], add_description=[["Told", "told.html"]])
    page = server.request("alice.test", "/autolist/").body.decode()
    assert '<a href="page.html">page.html</a>' in page and "<td>Our menu</td>" in page
    assert "<td>Told</td>" in page and "its own" not in page and "not html" not in page
    assert '<img src="/icons/text.gif" alt="[   ]" width="20" height="16">' in page
