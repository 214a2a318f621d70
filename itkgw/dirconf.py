"""Mapping a request path onto the filesystem and merging <Directory> sections.

This runs before the identity switch, so it never touches the filesystem:
the merge is by path prefix, shortest section first, as Apache merges
<Directory> sections by depth.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from itkgw.config import Identity, ServerConfig, VHost


@dataclass(frozen=True)
class DirConfig:
    """The settings that apply to one request's filesystem path."""

    fs_path: str
    identity: Identity
    nice_value: int | None
    directory_index: tuple[str, ...]
    exec_cgi: bool
    #: Every file below a ScriptAlias directory is a CGI script.
    script_alias: bool
    #: URL prefix and directory the path was mapped through.
    base_url: str
    base_dir: str


def map_path(vhost: VHost, url_path: str) -> tuple[str, str, str, bool]:
    """(filesystem path, URL prefix, base directory, is-ScriptAlias) of a path."""
    for prefix, directory in vhost.script_alias:
        stem = prefix.rstrip("/")
        if url_path == stem or url_path.startswith(stem + "/"):
            rest = url_path[len(stem):].lstrip("/")
            return os.path.join(directory, rest), stem + "/", directory, True
    root = vhost.document_root.rstrip("/")
    return root + url_path, "/", root, False


def merge(config: ServerConfig, vhost: VHost, url_path: str) -> DirConfig:
    """Apply the vhost's settings, then each matching <Directory>, shortest first."""
    fs_path, base_url, base_dir, script_alias = map_path(vhost, url_path)
    identity = vhost.assign_user_id or config.user
    nice = vhost.nice_value
    index = vhost.directory_index
    exec_cgi = vhost.exec_cgi
    sections = sorted(
        (s for s in vhost.directories if _below(fs_path, s.path)),
        key=lambda s: len(s.path.rstrip("/")),
    )
    for section in sections:
        identity = section.assign_user_id or identity
        nice = section.nice_value if section.nice_value is not None else nice
        index = section.directory_index if section.directory_index is not None else index
        exec_cgi = section.exec_cgi if section.exec_cgi is not None else exec_cgi
    return DirConfig(fs_path, identity, nice, index, exec_cgi, script_alias, base_url, base_dir)


def _below(path: str, section: str) -> bool:
    section = section.rstrip("/")
    return path == section or path.startswith(section + "/") or section == ""
