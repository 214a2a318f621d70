"""When the directory walk may trust the kernel with symbolic links: every directory follows any link."""

from __future__ import annotations

import pytest

from itkgw.config.model import Address, DirSection, VHost
from itkgw.request.dirconf import follows_any_link


def vhost(options: tuple[str, ...] = ("FollowSymLinks",), *sections: DirSection) -> VHost:
    return VHost(server_name="a.test", document_root="/srv/a", listen=(Address("*", 80),), options=options,
                 directories=sections)


@pytest.mark.parametrize(("options", "section_options", "follows"), [
    (("FollowSymLinks",), None, True),
    (("FollowSymLinks",), ("+Indexes",), True),
    (("FollowSymLinks",), ("Indexes", "FollowSymLinks"), True),
    (("FollowSymLinks",), ("-FollowSymLinks",), False),
    (("FollowSymLinks",), ("Indexes",), False),             # a plain word replaces: no FollowSymLinks
    (("FollowSymLinks",), ("+SymLinksIfOwnerMatch",), False),
    ((), None, False),
    (("SymLinksIfOwnerMatch",), None, False),
])
def test_every_directory_must_follow_any_link(options: tuple[str, ...],
                                              section_options: tuple[str, ...] | None, follows: bool) -> None:
    sections = (DirSection(path="/srv/a/sub", options=section_options),) if section_options else ()
    assert follows_any_link(vhost(options, *sections)) is follows


def test_a_location_section_does_not_count() -> None:
    """FollowSymLinks works in <Directory> sections only, as httpd's documentation says."""
    location = DirSection(path="/x", kind="location", options=("-FollowSymLinks",))
    assert follows_any_link(vhost(("FollowSymLinks",), location))
