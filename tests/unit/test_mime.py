"""Content-Type lookups against the system's mime.types and small files of our own."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from itkgw.errors import ConfigError
from itkgw.request.mime import FALLBACK_TYPES, MimeTypes

SYSTEM_TYPES = "/etc/mime.types"


@pytest.fixture(scope="module")
def system() -> MimeTypes:
    if not os.path.exists(SYSTEM_TYPES) and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "media-types"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.path.exists(SYSTEM_TYPES):
        pytest.skip(f"{SYSTEM_TYPES} is missing (install the media-types package)")
    return MimeTypes.load(SYSTEM_TYPES)


@pytest.mark.parametrize(("filename", "expected"), [
    ("index.html", "text/html"),
    ("style.css", "text/css"),
    ("photo.jpg", "image/jpeg"),
    ("logo.png", "image/png"),
    ("doc.pdf", "application/pdf"),
    ("/srv/www/site/Docs/REPORT.PDF", "application/pdf"),
    ("Index.HTML", "text/html"),
])
def test_system_table_knows_common_types(system: MimeTypes, filename: str, expected: str) -> None:
    assert system.content_type(filename) == expected


@pytest.mark.parametrize(("filename", "expected"), [
    # Every extension counts and the last known one wins, as in mod_mime.
    ("index.html.en", "text/html"),
    ("shell.php.jpg", "image/jpeg"),
    ("backup.tar.gz", "application/gzip"),
])
def test_system_table_several_extensions(system: MimeTypes, filename: str, expected: str) -> None:
    assert system.content_type(filename) == expected


@pytest.mark.parametrize("filename", ["README", "data.itkgw-unknown", "/srv/www/dir.d/Makefile", "."])
def test_unknown_type_gets_no_content_type(system: MimeTypes, filename: str) -> None:
    assert system.content_type(filename) is None


def test_directory_dots_do_not_count(system: MimeTypes) -> None:
    assert system.content_type("/srv/www/site.html/notes") is None


def test_small_file(tmp_path: Path) -> None:
    types_file = tmp_path / "mime.types"
    types_file.write_text(
        "# a comment line: text/x-comment cmt\n"
        "\n"
        "application/x-first\tdup one\n"
        "application/x-second  DUP\n"
        "text/x-itkgw itk ITKX\n"
        "text/x-no-extensions\n"
    )
    table = MimeTypes.load(str(types_file))
    assert table.content_type("a.itk") == "text/x-itkgw"
    assert table.content_type("a.itkx") == "text/x-itkgw"
    assert table.content_type("a.ITK") == "text/x-itkgw"
    assert table.content_type("a.one") == "application/x-first"
    assert table.content_type("a.dup") == "application/x-second"  # a later line wins
    assert table.content_type("a.cmt") is None
    assert table.content_type("a.mime") is None


def test_file_overrides_fallback(tmp_path: Path) -> None:
    types_file = tmp_path / "mime.types"
    types_file.write_text("application/javascript js\n")
    table = MimeTypes.load(str(types_file))
    assert table.content_type("app.js") == "application/javascript"
    assert table.content_type("index.html") == "text/html"


def test_missing_file_gives_fallbacks(tmp_path: Path) -> None:
    table = MimeTypes.load(str(tmp_path / "absent.types"))
    for extension in ("html", "css", "js", "json", "txt", "png", "jpg", "gif", "svg", "ico",
                      "pdf", "xml", "woff2"):
        assert table.content_type(f"file.{extension}") == FALLBACK_TYPES[extension]
    assert table.content_type("file.docx") is None


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        MimeTypes.load(str(tmp_path))  # a directory: exists, cannot be read as a file
    assert str(tmp_path) in str(caught.value)


def test_default_type_for_unknown_names(tmp_path: Path) -> None:
    table = MimeTypes.load(str(tmp_path / "absent.types"), default_type="text/plain")
    assert table.content_type("README") == "text/plain"
    assert table.content_type("index.html") == "text/html"
