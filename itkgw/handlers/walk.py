"""The path to a file, walked as Apache's directory walk does for FollowSymLinks and SymLinksIfOwnerMatch.

Each component from / down is opened relative to the directory before it
(openat with O_PATH and O_NOFOLLOW), so a component is judged and then used
as the same object, whatever is renamed meanwhile. A component that is a
symbolic link is followed only where the Options of the directory holding
it allow: FollowSymLinks, or SymLinksIfOwnerMatch when the link and its
target have one owner (with both set, the owner must match, as in httpd's
resolve_symlink). Anything else is refused with 403 and httpd's AH00037 line.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from itkgw.errors import HTTPError

_PATH = os.O_PATH | os.O_CLOEXEC
_FOLLOW_OPTIONS = frozenset({"FollowSymLinks", "SymLinksIfOwnerMatch"})


def refused(path: str) -> HTTPError:
    return HTTPError(403, f"AH00037: Symbolic link not allowed or link target not accessible: {path}")


def walk(path: str, options_at: Callable[[str], frozenset[str]], follow_all: bool = False) -> int:
    """An O_PATH descriptor of ``path``, reached one component at a time.

    ``options_at(directory)`` gives the Options in effect for a directory.
    Raises HTTPError(403) for a link the Options do not let through, and
    OSError as the open of a component fails (the caller maps it). With
    ``follow_all`` (every directory lets any link through: FollowSymLinks
    without SymLinksIfOwnerMatch) the kernel's own resolution judges the same,
    so the path is opened at once, as httpd then does.
    """
    if follow_all:
        return os.open(path, _PATH)
    fd = os.open("/", _PATH | os.O_DIRECTORY)
    directory = "/"
    try:
        for name in (part for part in path.split("/") if part):
            entry = os.open(name, _PATH | os.O_NOFOLLOW, dir_fd=fd)
            link = os.fstat(entry)
            if stat.S_ISLNK(link.st_mode):
                os.close(entry)
                entry = _follow(fd, directory, name, link, options_at(directory))
            os.close(fd)
            fd, directory = entry, os.path.join(directory, name)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _follow(parent: int, directory: str, name: str, link: os.stat_result, options: frozenset[str]) -> int:
    """The target of the link ``name`` in ``parent``, if ``options`` let it be followed."""
    where = os.path.join(directory, name)
    if not options & _FOLLOW_OPTIONS:
        raise refused(where)
    try:
        target = os.open(name, _PATH, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.EACCES, errno.ENOTDIR):
            raise refused(where) from None
        raise
    # The owner is compared with the link this walk judged, even if the name
    # now holds another: the target must still belong to that link's owner.
    if "SymLinksIfOwnerMatch" in options and os.fstat(target).st_uid != link.st_uid:
        os.close(target)
        raise refused(where)
    return target


def reopen(fd: int, flags: int = os.O_RDONLY) -> int:
    """A readable descriptor of the file an O_PATH descriptor names (the same file)."""
    return os.open(f"/proc/self/fd/{fd}", flags | os.O_CLOEXEC)
