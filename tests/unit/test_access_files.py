"""What a look for .htaccess files saw, and whether it still holds."""

from __future__ import annotations

import os
from pathlib import Path

from itkgw.config.model import Address, DirSection, Identity, ServerConfig, VHost
from itkgw.request import access_files


def vhost_over(root: Path) -> tuple[ServerConfig, VHost]:
    site = VHost(server_name="a.test", document_root=str(root), listen=(Address("*", 80),),
                 directories=(DirSection(str(root), "directory", allow_override=("All",)),))
    return ServerConfig(user=Identity("www-data", "www-data", 33, 33), listen=(Address("*", 80),),
                        vhosts=(site,)), site


def test_each_path_tried_is_seen_with_what_it_held(tmp_path: Path) -> None:
    config, site = vhost_over(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / ".htaccess").write_text("AddType text/x-mine .mine\n")
    seen: access_files.Seen = []
    sections = access_files.sections_along(config, site, str(tmp_path / "sub"), seen)
    assert [path for path, _ in seen] == [str(tmp_path / ".htaccess"), str(tmp_path / "sub" / ".htaccess")]
    assert seen[0][1] is not None and seen[1][1] is None
    assert len(sections) == 1
    assert access_files.unchanged(seen)


def test_a_file_changed_gone_or_new_is_a_change(tmp_path: Path) -> None:
    config, site = vhost_over(tmp_path)
    (tmp_path / "sub").mkdir()
    top = tmp_path / ".htaccess"
    top.write_text("AddType text/x-mine .mine\n")
    seen: access_files.Seen = []
    access_files.sections_along(config, site, str(tmp_path / "sub"), seen)
    (tmp_path / "sub" / ".htaccess").write_text("")
    assert not access_files.unchanged(seen), "a new file"
    os.unlink(tmp_path / "sub" / ".htaccess")
    assert access_files.unchanged(seen)
    top.write_text("AddType text/x-other .other\n")
    assert not access_files.unchanged(seen), "a changed file"
    seen.clear()
    access_files.sections_along(config, site, str(tmp_path / "sub"), seen)
    top.unlink()
    assert not access_files.unchanged(seen), "a file gone"
