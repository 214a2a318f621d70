"""RewriteMap: maps read as mod_rewrite reads them, looked up by the rules' ${name:key|default}."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from itkgw.errors import ConfigError
from itkgw.rules.rewrite import RewriteCond, RewriteRule, compile_rules
from itkgw.rules.rewrite_map import RewriteMap, lookup, parse_map, text_map_entries
from tests.unit.test_rewrite import context

TEXT_MAP = (b"# moved pages\n"
            b"old-page /new-page extra words ignored\n"
            b"  indented /never\n"
            b"twice /first\n"
            b"twice /second\n"
            b"tabbed\t\t/tabbed-value\n"
            b"no-value\n"
            b"caf\xc3\xa9 /utf-8\n")


def test_a_text_map_holds_the_first_word_after_each_key_of_its_first_line() -> None:
    assert text_map_entries(TEXT_MAP) == {"old-page": "/new-page", "twice": "/first",
                                          "tabbed": "/tabbed-value", "café": "/utf-8"}


def test_a_text_map_is_read_again_once_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "moved.map"
    path.write_bytes(TEXT_MAP)
    maps = (parse_map("moved", f"txt:{path}", "httpd.conf:3"),)
    assert lookup(maps, "moved", "old-page") == "/new-page"
    assert lookup(maps, "moved", "indented") is None
    path.write_bytes(b"old-page /newer-page-now\n")  # another size: read again whatever the clock says
    assert lookup(maps, "moved", "old-page") == "/newer-page-now"


def test_a_map_that_cannot_be_read_has_no_values_and_says_so(tmp_path: Path, caplog) -> None:
    path = tmp_path / "gone.map"
    path.write_bytes(TEXT_MAP)
    maps = (parse_map("gone", str(path), "httpd.conf:3"),)  # no type: a text map
    os.unlink(path)
    with caplog.at_level(logging.ERROR, logger="itkgw.rewrite"):
        assert lookup(maps, "gone", "old-page") is None
    assert f"AH00661: mod_rewrite: can't access text RewriteMap file {path}" in caplog.text


def test_a_random_map_picks_one_of_a_key_s_values(tmp_path: Path) -> None:
    path = tmp_path / "servers.map"
    path.write_bytes(b"static a.example|b.example|c.example\nempty |\n")
    maps = (parse_map("servers", f"rnd:{path}", "httpd.conf:3"),)
    picked = {lookup(maps, "servers", "static") for _ in range(200)}
    assert picked == {"a.example", "b.example", "c.example"}
    assert lookup(maps, "servers", "empty") is None  # an empty alternative is no value


@pytest.mark.parametrize(("function", "key", "value"), [
    ("tolower", "MiXeD-Ä", "mixed-Ä"),  # ASCII letters only, as httpd's C locale
    ("toupper", "MiXeD-ä", "MIXED-ä"),
    ("escape", "a b/c;d?é", "a%20b/c;d%3f%c3%a9"),
    ("unescape", "a%20b%2Fc%zz%41%00after", "a b/c%zzA"),
])
def test_internal_maps_are_httpd_s_functions(function: str, key: str, value: str) -> None:
    assert lookup((RewriteMap("f", "int", function),), "f", key) == value


def test_the_last_map_of_a_name_counts_and_an_unknown_name_has_nothing() -> None:
    maps = (RewriteMap("case", "int", "toupper"), RewriteMap("case", "int", "tolower"))
    assert lookup(maps, "case", "AbC") == "abc"
    assert lookup(maps, "nosuch", "AbC") is None


def test_substitutions_and_test_strings_look_up_keys_with_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "moved.map"
    path.write_bytes(TEXT_MAP)
    maps = (parse_map("moved", f"txt:{path}", "httpd.conf:1"), RewriteMap("lc", "int", "tolower"))
    rules = compile_rules([
        RewriteRule("^/m/(.*)", "${moved:$1|/fallback/$1}", ("R=301", "L"), where="httpd.conf:2"),
        RewriteRule("^/nest/(.*)", "/x/${lc:${moved:${lc:$1}|D-%{HTTP:X-Name}}}", ("R", "L"),
                    (), where="httpd.conf:3"),
        RewriteRule("^/cond", "/hit/${moved:%{QUERY_STRING}}", ("R", "L"),
                    (RewriteCond("${moved:%{QUERY_STRING}|NO}", "!=NO"),),
                    where="httpd.conf:5"),
        RewriteRule("^/none/(.*)", "/x/${nomap:$1}/${nomap:$1|dflt}", ("R", "L"), where="httpd.conf:6")])

    def redirected(target: str, **headers: str) -> tuple[int, str] | None:
        path, _, query = target.partition("?")
        return rules.apply(path, query, context(target, **headers), maps).redirect

    assert redirected("/m/old-page") == (301, "http://alice.test:8080/new-page")
    assert redirected("/m/missing") == (301, "http://alice.test:8080/fallback/missing")
    assert redirected("/nest/OLD-PAGE") == (302, "http://alice.test:8080/x//new-page")
    assert redirected("/nest/Other", X_Name="NaMe") == (302, "http://alice.test:8080/x/d-name")
    assert redirected("/cond?twice") == (302, "http://alice.test:8080/hit//first?twice")
    assert redirected("/cond?nobody") is None
    assert redirected("/none/k") == (302, "http://alice.test:8080/x//dflt")


@pytest.mark.parametrize(("spec", "message"), [
    ("dbm:/etc/m.db", "RewriteMap m: dbm maps are not supported"),
    ("DBM=sdbm:/etc/m.db", "RewriteMap m: dbm maps are not supported"),
    ("prg:/usr/local/bin/mapper", "RewriteMap m: prg maps are not supported"),
    ("fastdbd:SELECT 1", "RewriteMap m: fastdbd maps are not supported"),
    ("int:rot13", "RewriteMap: internal map not found:rot13"),
    ("rnd:/nonexistent/servers.map", "RewriteMap: file for map m not found:/nonexistent/servers.map"),
])
def test_maps_itkgw_cannot_look_in_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_map("m", spec, "httpd.conf:7")
    assert caught.value.where == "httpd.conf:7" and caught.value.message == message
