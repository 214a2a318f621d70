"""mod_dir: index files of a directory, the slash after its name, and the fallback resource."""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds import Flag, Text, Words


@dataclass(frozen=True)
class DirSettings:
    """FallbackResource ("disabled" undoes an enclosing one) and DirectorySlash (None: On)."""

    fallback_resource: str | None = None
    directory_slash: bool | None = None

    @property
    def fallback(self) -> str | None:
        """The URL a request for nothing on disk goes to, if any."""
        target = self.fallback_resource
        return None if target is None or target.lower() == "disabled" else target


MODULE = Module(
    "dir",
    "mod_dir: index files of a directory",
    identifiers=("dir_module", "mod_dir.c"),
    directives=(
        Directive("DirectoryIndex", "directory_index", VHOST_DIRECTORY, Words(),
                  "index files, in order (Apache's default: index.html)", repeat=True),
        Directive("FallbackResource", "fallback_resource", VHOST_DIRECTORY, Text(),
                  "the local URL (/index.php) that serves a request for a path with nothing on disk and no "
                  "handler, or a directory without an index file, as a front controller; disabled undoes it",
                  field="fallback_resource"),
        Directive("DirectorySlash", "directory_slash", VHOST_DIRECTORY, Flag(),
                  "On (the default): a directory named without its trailing slash is redirected to it; "
                  "Off: it is served as named, without its DirectoryIndex", field="directory_slash"),
    ),
    settings={Context.VHOST: DirSettings, Context.DIRECTORY: DirSettings},
)
