"""What a look for .htaccess files saw, and whether it still holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from itkgw.config.model import Address, DirSection, Identity, ServerConfig, VHost
from itkgw.errors import HTTPError
from itkgw.request import access_files
from itkgw.request.dirconf import merge


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


NEXTCLOUD_IF = """Header set X-Top 1
<FilesMatch "\\\\.(css|js)$">
  <If "%{QUERY_STRING} =~ /(^|&)v=/">
    Header set Cache-Control "max-age=15778463, immutable"
  </If>
  <Else>
    Header set Cache-Control "max-age=15778463"
  </Else>
</FilesMatch>
<If "%{QUERY_STRING} == 'a'">
  Header set X-W a
</If>
<ElseIf "%{QUERY_STRING} == 'b'">
  Header set X-W b
</ElseIf>
<Else>
  Header set X-W other
</Else>
"""


def _headers(config: ServerConfig, site: VHost, root: Path, name: str, query: str | None) -> dict[str, str]:
    """The Header rules the merge gives ``name`` for a request whose query is ``query``
    (None: no request to judge the <If> sections by)."""
    access = access_files.sections_along(config, site, str(root), [])
    holds = None if query is None else (lambda condition: condition in {
        "a": ("%{QUERY_STRING} == 'a'",), "b": ("%{QUERY_STRING} == 'b'",),
        "v=1": ("%{QUERY_STRING} =~ /(^|&)v=/",)}.get(query, ()))
    merged = merge(config, site, "/" + name, fs_path=str(root / name), access=access, holds=holds)
    assert merged.conditional
    return {rule.name: rule.value for rule in merged.headers}


def test_if_elseif_and_else_sections_apply_as_their_conditions_say(tmp_path: Path) -> None:
    """An .htaccess file's <If> sections apply last, each as its condition holds and those of
    the <If> and <ElseIf> before it do not; one in a <FilesMatch> to its files alone."""
    config, site = vhost_over(tmp_path)
    (tmp_path / ".htaccess").write_text(NEXTCLOUD_IF)
    assert _headers(config, site, tmp_path, "x.txt", "a") == {"X-Top": "1", "X-W": "a"}
    assert _headers(config, site, tmp_path, "x.txt", "b")["X-W"] == "b"
    assert _headers(config, site, tmp_path, "x.txt", "c")["X-W"] == "other"
    assert _headers(config, site, tmp_path, "x.css", "v=1")["Cache-Control"] == "max-age=15778463, immutable"
    assert _headers(config, site, tmp_path, "x.css", "c")["Cache-Control"] == "max-age=15778463"
    assert _headers(config, site, tmp_path, "x.txt", None) == {"X-Top": "1"}  # nothing judges them


def test_an_else_without_its_if_and_a_bad_condition_are_errors(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    config, site = vhost_over(tmp_path)
    for text, message in (
            ("<Else>\nHeader set X a\n</Else>\n", "<Else> or <ElseIf> section without previous <If>"),
            ('<If "%{HTTPS} ==">\nHeader set X a\n</If>\n', "<If>: cannot parse the expression"),
            ('<If "true">\n<If "true">\n</If>\n</If>\n', "<If> cannot occur within <If> section"),
            ('<If "true">\nRewriteEngine On\n</If>\n', "mod_rewrite's directives in an <If> section are not"),
            ('<If "true">\nHeader set X a\n</If>\n<Files x>\n</Files>\n<Else>\n</Else>\n',
             "without previous")):
        (tmp_path / ".htaccess").write_text(text)
        caplog.clear()
        with pytest.raises(HTTPError) as refused:
            access_files.sections_along(config, site, str(tmp_path), [])
        assert refused.value.status == 500 and message in caplog.text


def test_an_empty_argument_is_a_missing_one_as_httpd_reads_it(tmp_path: Path) -> None:
    config, site = vhost_over(tmp_path)
    for text in ('SetEnv "" y\n', 'ErrorDocument 404 ""\n', 'php_value default_charset ""\n'):
        (tmp_path / ".htaccess").write_text(text)
        with pytest.raises(HTTPError) as refused:
            access_files.sections_along(config, site, str(tmp_path), [])
        assert refused.value.status == 500, text
    (tmp_path / ".htaccess").write_text('SetEnv X ""\nHeader set X-A ""\n')
    assert access_files.sections_along(config, site, str(tmp_path), [])
