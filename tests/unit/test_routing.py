"""Vhost selection and the per-directory merge."""

from __future__ import annotations

from itkgw.config import Address, DirSection, Identity, ServerConfig, VHost
from itkgw.dirconf import map_path, merge
from itkgw.vhosts import VHostTable

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


def test_vhost_without_assign_user_id_runs_as_the_server_user() -> None:
    site = vhost("a.test", ANY_80)
    assert merge(config_with(site), site, "/").identity == WWW


def test_script_alias_maps_outside_the_document_root() -> None:
    site = vhost("a.test", ANY_80, script_alias=(("/cgi-bin/", "/srv/cgi/"),))
    assert map_path(site, "/cgi-bin/x.cgi") == ("/srv/cgi/x.cgi", "/cgi-bin/", "/srv/cgi/", True)
    assert map_path(site, "/cgi-binx") == ("/srv/a.test/cgi-binx", "/", "/srv/a.test", False)
