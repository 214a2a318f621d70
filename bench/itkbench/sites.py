"""The two bench users and their docroots, the same files in each.

Docroots are owned by their user with the web server's group, mode 0750
(files 0640), as nginx hosts set them up: nginx's workers (``www-data``)
read the static files through the group, while Apache+mpm-itk and itkgw read
them as the owner after switching to it. PHP and CGI run as the owner on all
three.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

USERS = ("itkb-alice", "itkb-bob")
#: The group nginx's workers run as, and the user Apache's and itkgw's workers start as.
WEB_USER = "www-data"
NOLOGIN = "/usr/sbin/nologin"

HELLO_PHP = '<?php\necho "Hello from PHP\\n";\n'
HELLO_CGI = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nHello from CGI\\n'\n"
_LINE = b"itkbench static file: the same bytes on every system and every vhost.\n"


def _static(size: int) -> bytes:
    return (_LINE * (size // len(_LINE) + 1))[:size]


#: name -> (content, mode). The harness checks each body before loading it.
FILES: dict[str, tuple[bytes, int]] = {
    "1k.txt": (_static(1024), 0o640),
    "100k.txt": (_static(100 * 1024), 0o640),
    "hello.php": (HELLO_PHP.encode(), 0o640),
    "hello.cgi": (HELLO_CGI.encode(), 0o750),
}

#: The .htaccess rows' two trees below each docroot, by the AllowOverride their top
#: directory gets: the same four directories, each with the same ``.htaccess``, and
#: the same files at the bottom. Under ``All`` a request reads all four files; under
#: ``None`` it opens none.
OVERRIDE_TREES = {"all": "All", "none": "None"}
DEEP_DIRS = ("l1", "l2", "l3")
#: What a customer's .htaccess typically holds when it is not a rewrite front controller.
HTACCESS = """\
Options -Indexes
DirectoryIndex index.php index.html
AddType text/plain .txt
<Files "*.bak">
    Require all denied
</Files>
"""
DEEP_FILES = ("1k.txt", "hello.php")


def deep_path(tree: str, file_name: str) -> str:
    """``all/l1/l2/l3/1k.txt``: a file four directories below the docroot."""
    return "/".join((tree, *DEEP_DIRS, file_name))


#: What each file's URL must answer with (a 200 with this body).
EXPECTED_BODY: dict[str, bytes] = {
    "1k.txt": FILES["1k.txt"][0],
    "100k.txt": FILES["100k.txt"][0],
    "hello.php": b"Hello from PHP\n",
    "hello.cgi": b"Hello from CGI\n",
}
EXPECTED_BODY.update({deep_path(tree, name): EXPECTED_BODY[name]
                      for tree in OVERRIDE_TREES for name in DEEP_FILES})


@dataclass(frozen=True)
class Site:
    """One user's vhost: its name and its docroot."""

    user: pwd.struct_passwd
    docroot: Path

    @property
    def server_name(self) -> str:
        return f"{self.user.pw_name}.localhost"


def create_users(names: Sequence[str]) -> list[str]:
    """Create the missing ones of ``names`` as system users; return those created."""
    created = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", NOLOGIN, name],
                check=True,
            )
            created.append(name)
    return created


#: itkgw's default FcgidIPCDir, where it keeps each identity's FastCGI sockets, sessions and uploads.
ITKGW_IPC_DIR = "/run/itkgw/fcgid"


def remove_users(names: Sequence[str]) -> None:
    """Remove users (userdel takes their own groups with them), and what itkgw kept for them."""
    for name in names:
        user = pwd.getpwnam(name)
        for kept in Path(ITKGW_IPC_DIR).glob(f"{user.pw_uid}.*"):  # with any group
            shutil.rmtree(kept, ignore_errors=True)
        subprocess.run(["userdel", name], check=True)


def build_sites(base: Path, names: Sequence[str] = USERS) -> list[Site]:
    """``base/<user>/htdocs`` for each user, holding :data:`FILES`."""
    web_gid = grp.getgrnam(WEB_USER).gr_gid
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    base.chmod(0o755)
    sites = []
    for name in names:
        user = pwd.getpwnam(name)
        site = Site(user=user, docroot=base / name / "htdocs")
        for directory in (site.docroot.parent, site.docroot):
            directory.mkdir()
            _own(directory, user.pw_uid, web_gid, 0o750)
        for file_name, (content, mode) in FILES.items():
            path = site.docroot / file_name
            path.write_bytes(content)
            _own(path, user.pw_uid, web_gid, mode)
        for tree in OVERRIDE_TREES:
            _build_deep_tree(site.docroot / tree, user.pw_uid, web_gid)
        sites.append(site)
    return sites


def _build_deep_tree(top: Path, uid: int, gid: int) -> None:
    """``top`` and :data:`DEEP_DIRS` below it, an ``.htaccess`` in each, :data:`DEEP_FILES` at the bottom."""
    directories = [top]
    for name in DEEP_DIRS:
        directories.append(directories[-1] / name)
    for directory in directories:
        directory.mkdir()
        _own(directory, uid, gid, 0o750)
        access_file = directory / ".htaccess"
        access_file.write_text(HTACCESS)
        _own(access_file, uid, gid, 0o640)
    for file_name in DEEP_FILES:
        path = directories[-1] / file_name
        path.write_bytes(FILES[file_name][0])
        _own(path, uid, gid, FILES[file_name][1])


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid)
    os.chmod(path, mode)
