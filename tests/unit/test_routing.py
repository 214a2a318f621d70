"""Vhost selection and the per-directory merge."""

from __future__ import annotations

import pytest

from itkgw.config.model import (
    NOBODY,
    Address,
    DirSection,
    Identity,
    ModuleSettings,
    PHPSetting,
    ServerConfig,
    VHost,
)
from itkgw.config.modules.mime import MimeSettings
from itkgw.request.dirconf import Mapped, apply_options, map_path, merge
from itkgw.request.mime import MimeTypes
from itkgw.request.routing import identity_by_vhost_alone
from itkgw.request.vhosts import VHostTable
from itkgw.rules.authz import Require, RequireGroup

WWW = Identity("www-data", "www-data", 33, 33)
ALICE = Identity("alice", "alice", 1001, 1001)
BOB = Identity("bob", "bob", 1002, 1002)


def vhost(name: str, *listen: Address, aliases: tuple[str, ...] = (), **kwargs: object) -> VHost:
    return VHost(server_name=name, document_root=f"/srv/{name}", listen=listen, server_alias=aliases,
                 **kwargs)  # type: ignore[arg-type]


ANY_80 = Address("*", 80)
LOCAL_80 = Address("127.0.0.1", 80)


def test_host_header_picks_the_vhost_case_insensitively() -> None:
    table = VHostTable((vhost("a.test", ANY_80), vhost("b.test", ANY_80)))
    chosen = table.select("127.0.0.1", 80, "B.TEST")
    assert chosen is not None and chosen.server_name == "b.test"


def test_unknown_host_gets_the_first_vhost_of_the_address() -> None:
    table = VHostTable((vhost("a.test", ANY_80), vhost("b.test", ANY_80)))
    chosen = table.select("127.0.0.1", 80, "nobody.test")
    assert chosen is not None and chosen.server_name == "a.test"


def test_wildcard_aliases() -> None:
    table = VHostTable((vhost("a.test", ANY_80), vhost("b.test", ANY_80, aliases=("*.b.test", "b?.test"))))
    assert table.select("127.0.0.1", 80, "www.b.test").server_name == "b.test"  # type: ignore[union-attr]
    assert table.select("127.0.0.1", 80, "b2.test").server_name == "b.test"  # type: ignore[union-attr]
    assert table.select("127.0.0.1", 80, "b.test.evil").server_name == "a.test"  # type: ignore[union-attr]


def test_exact_address_vhosts_win_over_wildcard_ones() -> None:
    table = VHostTable((vhost("any.test", ANY_80), vhost("local.test", LOCAL_80)))
    assert table.select("127.0.0.1", 80, "any.test").server_name == "local.test"  # type: ignore[union-attr]
    assert table.select("10.0.0.1", 80, "any.test").server_name == "any.test"  # type: ignore[union-attr]


def test_no_vhost_on_the_port() -> None:
    assert VHostTable((vhost("a.test", ANY_80),)).select("127.0.0.1", 81, "a.test") is None


def config_with(*vhosts: VHost) -> ServerConfig:
    return ServerConfig(user=WWW, listen=(ANY_80,), vhosts=vhosts)


def test_directory_sections_merge_shortest_first() -> None:
    site = vhost("a.test", ANY_80, assign_user_id=ALICE, nice_value=5, directories=(
        DirSection(path="/srv/a.test/shared/deeper", nice_value=15),
        DirSection(path="/srv/a.test/shared", assign_user_id=BOB, nice_value=10),
    ))
    config = config_with(site)
    top = merge(config, site, "/index.php")
    assert (top.identity, top.nice_value) == (ALICE, 5)
    shared = merge(config, site, "/shared/x.php")
    assert (shared.identity, shared.nice_value) == (BOB, 10)
    deeper = merge(config, site, "/shared/deeper/x.php")
    assert (deeper.identity, deeper.nice_value) == (BOB, 15)
    sibling = merge(config, site, "/sharedfoo/x.php")
    assert sibling.identity == ALICE


@pytest.mark.parametrize("setting", [
    {"directories": (DirSection(path="/srv/a.test/shared", assign_user_id=BOB),)},
    {"directories": (DirSection(path="/shared", kind="location", nice_value=10),)},
    {"directories": (DirSection(path="/srv/a.test", assign_user_id_expr="%{HTTP_HOST}"),)},
    {"assign_user_id_expr": "%{HTTP_HOST}"},
    {"assign_group_id_expr": "%{HTTP_HOST}"},
    {"user_dir": "public_html"},
])
def test_a_vhost_whose_sections_or_expressions_choose_the_identity_is_not_of_one_identity(
        setting: dict[str, object]) -> None:
    """A front passes the connections of a vhost of one identity on without planning their
    requests: any section, expression or UserDir that may choose another must make it plan."""
    assert identity_by_vhost_alone(vhost("a.test", ANY_80, assign_user_id=ALICE))
    assert identity_by_vhost_alone(vhost("a.test", ANY_80, assign_user_id=ALICE, nice_value=5, directories=(
        DirSection(path="/srv/a.test/private", options=("-Indexes",)),)))
    assert not identity_by_vhost_alone(vhost("a.test", ANY_80, assign_user_id=ALICE, **setting))


def test_vhost_without_assign_user_id_runs_as_the_default_identity_never_as_the_workers() -> None:
    site = vhost("a.test", ANY_80)
    assert merge(config_with(site), site, "/").identity == NOBODY != WWW


def test_script_alias_maps_outside_the_document_root() -> None:
    site = vhost("a.test", ANY_80, script_alias=(("/cgi-bin/", "/srv/cgi/"),))
    assert map_path(site, "/cgi-bin/x.cgi") == Mapped("/srv/cgi/x.cgi", "/cgi-bin/", "/srv/cgi/", True,
                                                      "/cgi-bin/", "/srv/cgi/")
    assert map_path(site, "/cgi-binx") == Mapped("/srv/a.test/cgi-binx", "/", "/srv/a.test", False, "",
                                                 "/srv/a.test")


def test_alias_maps_a_prefix_without_making_it_cgi_and_names_the_context() -> None:
    site = vhost("a.test", ANY_80, alias=(("/icons", "/usr/share/icons"),))
    assert map_path(site, "/icons/a.png") == Mapped("/usr/share/icons/a.png", "/icons/", "/usr/share/icons",
                                                    False, "/icons", "/usr/share/icons")


def test_an_alias_with_a_trailing_slash_does_not_take_the_path_without_it() -> None:
    """mod_alias matches the whole alias: /al stays below DocumentRoot for Alias /al/ (httpd's
    404 there, not a redirect to /al/), while Alias /icons takes /icons itself."""
    site = vhost("a.test", ANY_80, alias=(("/al/", "/srv/aliased/"), ("/icons", "/usr/share/icons")))
    assert map_path(site, "/al").fs_path == "/srv/a.test/al"
    assert map_path(site, "/al/").fs_path == "/srv/aliased/"
    assert map_path(site, "/al/x.txt").fs_path == "/srv/aliased/x.txt"
    assert map_path(site, "/icons").fs_path == "/usr/share/icons"


def test_options_merge_as_apache_does() -> None:
    assert apply_options(frozenset({"FollowSymLinks"}), ("+ExecCGI",)) == {"FollowSymLinks", "ExecCGI"}
    assert apply_options(frozenset({"FollowSymLinks", "ExecCGI"}), ("-ExecCGI",)) == {"FollowSymLinks"}
    assert apply_options(frozenset({"ExecCGI"}), ("Indexes",)) == {"Indexes"}  # a plain word replaces
    assert "ExecCGI" in apply_options(frozenset(), ("All",))
    assert "MultiViews" not in apply_options(frozenset(), ("All",)), "All is all but MultiViews, as httpd's"
    assert "MultiViews" in apply_options(frozenset(), ("All", "MultiViews"))
    assert apply_options(frozenset({"ExecCGI"}), ("None",)) == frozenset()


@pytest.mark.parametrize("value,runs", [
    ("off", False), ("0", False), ("no", False), ("false", False), ("", False), ("junk", False),
    ("on", True), ("1", True), ("Yes", True), ("TRUE", True), ("2", True),
])
def test_php_engine_off_makes_php_files_static_as_php_reads_the_flag(value: str, runs: bool) -> None:
    site = vhost("a.test", ANY_80, directories=(
        DirSection(path="/srv/a.test/up", php_settings=(PHPSetting("engine", value),)),))
    config = config_with(site)
    handler = merge(config, site, "/up/x.php").handler_for("/srv/a.test/up/x.php")
    assert handler == ("php" if runs else "static")
    assert merge(config, site, "/x.php").handler_for("/srv/a.test/x.php") == "php"


def test_an_added_php_type_is_the_handler_of_its_files_as_under_mod_php() -> None:
    """AddType with a type mod_php handles runs that handler, source highlighting included."""
    site = vhost("a.test", ANY_80, directories=(
        DirSection(path="/srv/a.test", add_type=(("application/x-httpd-php", ".htm"),
                                                 ("application/x-httpd-php-source", ".phps"))),))
    config = config_with(site)
    assert merge(config, site, "/x.htm").handler_for("/srv/a.test/x.htm") == "php"
    assert merge(config, site, "/x.phps").handler_for("/srv/a.test/x.phps") == "php-source"


def test_section_kinds_merge_in_apaches_order() -> None:
    site = vhost("a.test", ANY_80, directories=(
        DirSection(path="/app/", kind="location", set_handler="default-handler"),
        DirSection(path=r"\.php$", kind="files", regex=True, set_handler="application/x-httpd-php"),
        DirSection(path="/srv/a.test", options=("+ExecCGI",), add_handler=(("cgi-script", ".pl"),)),
        DirSection(path="/srv/a.test/private", require=RequireGroup("any", (Require("all", ("denied",)),))),
    ))
    config = config_with(site)
    php = merge(config, site, "/index.php")
    assert php.handler_for(php.fs_path) == "php"
    assert merge(config, site, "/app/index.php").handler_for("/srv/a.test/app/index.php") == "static"
    perl = merge(config, site, "/x.pl")
    assert perl.exec_cgi and perl.handler_for(perl.fs_path) == "cgi"
    assert merge(config, site, "/private/x").require is not None
    assert merge(config, site, "/public/x").require is None


def test_files_sections_in_a_directory_apply_below_it_after_the_outer_ones() -> None:
    """httpd's file walk: <Files> and <FilesMatch> of the vhost in the order written, then those
    written in a <Directory> that covers the file, in the directory walk's order."""
    site = vhost("a.test", ANY_80, directories=(
        DirSection(path="/srv/a.test/deep", kind="directory", nice_value=1),
        DirSection(path="*.php", kind="files", in_directory="/srv/a.test/deep", nice_value=3),
        DirSection(path="/srv/a.test", kind="directory", nice_value=1),
        DirSection(path=r"\.php$", kind="files", regex=True, in_directory="/srv/a.test", nice_value=2),
        DirSection(path=r"^x\.php$", kind="files", regex=True, in_directory=r"^/srv/[a-z.]+/deep",
                   in_directory_regex=True, nice_value=4),
        DirSection(path="*.php", kind="files", nice_value=0, set_handler="application/x-httpd-php"),
    ))
    config = config_with(site)
    assert merge(config, site, "/index.php").nice_value == 2
    assert merge(config, site, "/deep/index.php").nice_value == 3
    assert merge(config, site, "/deep/x.php").nice_value == 4
    assert merge(config, site, "/deep/index.html").nice_value == 1
    outside = vhost("b.test", ANY_80, directories=site.directories)
    assert merge(config_with(outside), outside, "/index.php").nice_value == 0


def test_php_admin_value_is_not_overridden_by_php_value() -> None:
    site = vhost("a.test", ANY_80, php_settings=(PHPSetting("memory_limit", "64M", admin=True),),
                 directories=(DirSection(path="/srv/a.test", php_settings=(
                     PHPSetting("memory_limit", "1G"), PHPSetting("display_errors", "1"))),))
    php = merge(config_with(site), site, "/x.php").php
    assert php == {"memory_limit": PHPSetting("memory_limit", "64M", admin=True),
                   "display_errors": PHPSetting("display_errors", "1")}


def test_setenv_and_add_type() -> None:
    site = vhost("a.test", ANY_80, set_env=(("A", "1"), ("B", "2")), add_type=(("text/plain", ".log"),),
                 directories=(DirSection(path="/srv/a.test/sub", unset_env=("A",)),))
    merged = merge(config_with(site), site, "/sub/x.log")
    assert merged.set_env == {"B": "2"}
    assert merged.content_type_for("/srv/a.test/sub/x.log", MimeTypes({})) == "text/plain"


def test_add_charset_remove_type_and_remove_charset_are_mod_mime_s() -> None:
    """AddCharset labels an ending's type; RemoveType takes back an enclosing AddType and the
    TypesConfig type (Debian's httpd), RemoveCharset an enclosing charset; ForceType wins."""
    mime = MimeTypes({"txt": "text/plain", "html": "text/html", "css": "text/css"})
    site = vhost("a.test", ANY_80, add_type=(("text/x-log", ".log"),), modules=ModuleSettings((
        MimeSettings(add_charset=(("utf-8", ".html"), ("utf-8", ".css"), ("koi8-r", ".ru"))),)), directories=(
        DirSection(path="/srv/a.test/bare", modules=ModuleSettings((
            MimeSettings(remove_type=(".txt", "log"), remove_charset=(".css",)),))),
        DirSection(path="/srv/a.test/forced",
                   modules=ModuleSettings((MimeSettings(force_type="text/plain"),)))))
    config = config_with(site)

    def type_of(path: str) -> str:
        return merge(config, site, path).content_type_for("/srv/a.test" + path, mime)

    assert type_of("/x.html") == "text/html; charset=utf-8"
    assert (type_of("/x.ru.html"), type_of("/x.html.ru")) == ("text/html; charset=utf-8",
                                                             "text/html; charset=koi8-r")
    assert (type_of("/x.txt"), type_of("/x.log"), type_of("/x.css")) == ("text/plain", "text/x-log",
                                                                           "text/css; charset=utf-8")
    assert (type_of("/bare/x.txt"), type_of("/bare/x.log"), type_of("/bare/x.css")) == ("", "", "text/css")
    assert type_of("/bare/x.html") == "text/html; charset=utf-8"
    assert type_of("/forced/x.html") == "text/plain"
