"""mod_dir: index files of a directory."""

from __future__ import annotations

from itkgw.config.directive import VHOST_DIRECTORY, Directive, Module
from itkgw.config.kinds import Words

MODULE = Module(
    "dir",
    "mod_dir: index files of a directory",
    identifiers=("dir_module", "mod_dir.c"),
    directives=(
        Directive("DirectoryIndex", "directory_index", VHOST_DIRECTORY, Words(),
                  "index files, in order (Apache's default: index.html)", repeat=True),
    ),
)
