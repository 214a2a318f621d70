"""mod_autoindex's settings and the parts of its drawing that need no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from itkgw.config.modules.autoindex import AutoindexSettings, resolve_options
from itkgw.config.toml_reader import loads_toml
from itkgw.handlers.autoindex import file_size
from tests.unit.test_conf_apache import only, problems, the_vhost, vhost_file


@pytest.mark.parametrize(("size", "shown"), [
    (-1, "  - "), (0, "  0 "), (3, "  3 "), (972, "972 "), (973, "1.0K"), (2000, "2.0K"), (9 * 1024, "9.0K"),
    (10 * 1024, " 10K"), (10 * 1024 + 600, " 11K"), (5 << 20, "5.0M"), (700 << 20, "700M"), (3 << 30, "3.0G"),
])
def test_sizes_are_apr_strfsize_s_four_characters(size: int, shown: str) -> None:
    assert file_size(size) == shown


def test_index_options_add_remove_and_start_afresh_as_httpd_s() -> None:
    assert resolve_options((("FancyIndexing", "HTMLTable"), ("+FoldersFirst", "-HTMLTable"))) == {
        "FancyIndexing": "", "FoldersFirst": ""}
    # A keyword without + or - drops what the levels around set.
    assert resolve_options((("FancyIndexing", "NameWidth=*"), ("IgnoreCase",))) == {"IgnoreCase": ""}
    assert resolve_options((("fancyindexing", "charset=UTF-8"),)) == {"FancyIndexing": "", "Charset": "UTF-8"}


def test_the_settings_of_a_directory_add_to_the_vhost_s_and_come_first(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server="AddIcon /icons/text.gif .txt\nIndexIgnore *.bak\n",
                      body=f"IndexOptions FancyIndexing\n<Directory {tmp_path}>\nIndexOptions +HTMLTable\n"
                           "AddIcon (LOG,/icons/log.gif) .txt\nIndexIgnore *~\nDefaultIcon /icons/u.gif\n"
                           "</Directory>")
    section = vhost.directories[0].modules.get(AutoindexSettings)
    here = section.over(vhost.modules.get(AutoindexSettings))
    assert resolve_options(here.index_options or ()) == {"FancyIndexing": "", "HTMLTable": ""}
    assert here.icon_rules() == (("path", "/icons/log.gif", "*.txt"), ("path", "/icons/text.gif", "*.txt"))
    assert here.alt_rules() == (("path", "LOG", "*.txt"),)
    assert sorted(p for line in here.index_ignore or () for p in line) == ["*.bak", "*~"]
    assert (here.default_icon, vhost.modules.get(AutoindexSettings).default_icon) == ("/icons/u.gif", None)
    reset = AutoindexSettings(index_ignore=(("*~",),), index_ignore_reset=True).over(here)
    assert reset.index_ignore == (("*~",),)


@pytest.mark.parametrize(("line", "message"), [
    ("IndexOptions FancyIndexing Sparkles", "IndexOptions: unknown keyword 'Sparkles'"),
    ("IndexOptions NameWidth=3", "IndexOptions NameWidth=3: the width must be * or a number of at least 5"),
    ("IndexOptions DescriptionWidth=10",
     "IndexOptions DescriptionWidth=10: the width must be * or a number of at least 12"),
    ("IndexOptions IconHeight=big", "IndexOptions IconHeight=big: the size must be a number of pixels"),
    ("IndexOptions Charset=", "IndexOptions Charset=: a value is needed"),
    ("IndexOptions FancyIndexing TrackModified",
     "IndexOptions TrackModified is not implemented by itkgw's listing"),
    ("AddIcon /icons/a.gif", "expected at least 2 words, got 1"),
    ("IndexOrderDefault Sideways Name", "expected Ascending|Descending and Name|Date|Size|Description"),
])
def test_bad_autoindex_lines_name_the_problem(tmp_path: Path, line: str, message: str) -> None:
    assert message in only(problems(tmp_path, vhost_file(tmp_path, body=line)))


def test_toml_reads_what_the_apache_lines_say() -> None:
    config = loads_toml('''
        user = "nobody"
        group = "nogroup"
        listen = ["127.0.0.1:8080"]
        [[vhost]]
        server_name = "a.test"
        document_root = "/tmp"
        index_options = [["FancyIndexing", "HTMLTable"], ["+FoldersFirst"]]
        add_icon = [["(TXT,/icons/text.gif)", ".txt", ".log"]]
        index_ignore = [["*~"]]
        order_default = ["Descending", "Date"]
        ''', "itkgw.toml").config
    settings = config.vhosts[0].modules.get(AutoindexSettings)
    assert resolve_options(settings.index_options or ()) == {"FancyIndexing": "", "HTMLTable": "",
                                                             "FoldersFirst": ""}
    assert settings.icon_rules() == (("path", "/icons/text.gif", "*.txt"),
                                     ("path", "/icons/text.gif", "*.log"))
    assert settings.order_default == ("Descending", "Date")
