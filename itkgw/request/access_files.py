""".htaccess files on the way to a file, read as the request's identity.

Called only after the identity switch: the files are opened by the tenant, so
one that the tenant cannot read (a symlink into another tenant's tree, a file
chmod 000) fails as it would for the tenant, never with the worker's rights.
Where AllowOverride is None the file is not even looked for. Each file is
read once per process while its inode, size and mtime stay the same, as
httpd would read it per request.
"""

from __future__ import annotations

import errno
import logging
import os

from itkgw.config.apache_reader import AccessFile, read_access_file
from itkgw.config.model import DirSection, ServerConfig, VHost
from itkgw.config.overrides import Overrides
from itkgw.errors import HTTPError
from itkgw.request.dirconf import access_file_dirs

log = logging.getLogger("itkgw.core")
#: httpd's "alert" level (itkgw's error log knows it by that name), at which it reports a
#: broken .htaccess file.
_ALERT = 55

#: A file as it was read: its device, inode, size and mtime.
Stamp = tuple[int, int, int, int]
#: Each path a look for access files tried, with the stamp of what it found (None: no file).
Seen = list[tuple[str, Stamp | None]]

#: (path, what AllowOverride grants there) -> (its stamp, the file as read).
_read: dict[tuple[str, Overrides], tuple[Stamp, AccessFile]] = {}
_READ_LIMIT = 256


def sections_along(config: ServerConfig, vhost: VHost, directory: str,
                   seen: Seen | None = None) -> tuple[DirSection, ...]:
    """The sections of the .htaccess files from / down to ``directory``, in the directory
    walk's order; each path tried goes into ``seen`` with what was found there. Raises
    HTTPError(500) naming the file for one httpd would refuse, and OSError when one exists
    but cannot be read."""
    found: list[DirSection] = []
    for current, overrides in access_file_dirs(config, vhost, directory):
        for name in vhost.access_file_name:
            path = os.path.join(current, name)
            stamp = _stamp(path)
            if seen is not None:
                seen.append((path, stamp))
            if stamp is not None:
                found.extend(_access_file(path, stamp, overrides, config).sections)
                break  # httpd reads the first AccessFileName that exists
    return tuple(found)


def unchanged(seen: Seen | tuple[tuple[str, Stamp | None], ...]) -> bool:
    """Whether every path of ``seen`` still holds what it held (no file changed, went or came)."""
    try:
        return all(_stamp(path) == stamp for path, stamp in seen)
    except OSError:
        return False


def _stamp(path: str) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _access_file(path: str, stamp: Stamp, overrides: Overrides, config: ServerConfig) -> AccessFile:
    kept = _read.get((path, overrides))
    if kept is not None and kept[0] == stamp:
        parsed = kept[1]
    else:
        parsed = read_access_file(path, overrides, config.compat, config.loaded_modules)
        if len(_read) >= _READ_LIMIT:
            _read.clear()
        _read[(path, overrides)] = (stamp, parsed)
    for skipped in parsed.skipped:
        log.warning("%s: %s (skipped: Nonfatal)", path, skipped.message)
    if parsed.error is not None:
        log.log(_ALERT, "%s: %s", path, parsed.error.message)
        raise HTTPError(500)
    return parsed
