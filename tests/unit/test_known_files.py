"""The remembered static-file routes of one process: found by vhost and path, bounded."""

from __future__ import annotations

import dataclasses

from itkgw.config.model import Address, Identity, VHost
from itkgw.config.modules.deflate import DeflateSettings
from itkgw.handlers.known_files import KnownFile, KnownFiles

ALICE = Identity("alice", "alice", 1001, 1001)


def known(filename: str) -> KnownFile:
    return KnownFile(filename, ALICE, "text/plain", "GET,POST,OPTIONS,HEAD", None, (), "off", False, None,
                     DeflateSettings(), None)


def vhost(name: str) -> VHost:
    return VHost(server_name=name, document_root=f"/srv/{name}", listen=(Address("*", 80),))


def test_a_route_is_found_for_its_own_vhost_and_path_only() -> None:
    routes = KnownFiles()
    a, b = vhost("a.test"), vhost("b.test")
    routes.remember(a, "/x.css", known("/srv/a.test/x.css"))
    assert routes.get(a, "/x.css") == known("/srv/a.test/x.css")
    assert routes.get(b, "/x.css") is None and routes.get(a, "/y.css") is None
    assert routes.get(dataclasses.replace(a), "/x.css") is None, "an equal vhost of another configuration"


def test_past_the_limit_the_oldest_routes_are_dropped() -> None:
    routes = KnownFiles(limit=2)
    a = vhost("a.test")
    for name in ("/1", "/2", "/3"):
        routes.remember(a, name, known(name))
    assert routes.get(a, "/1") is None
    assert routes.get(a, "/2") is not None and routes.get(a, "/3") is not None
