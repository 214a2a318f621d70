"""After the identity switch: find the file a request names and hand it to a handler.

Everything here runs as the vhost's user, so a file that user cannot read
fails with EACCES exactly as it would for their own shell. mpm-itk's rule
applies: on a request after the first of a connection, EACCES closes the
connection without a response (the client retries on a fresh connection,
which a root-started process serves) instead of a 403 the client might cache.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from dataclasses import dataclass

from itkgw import cgi, phpcgi, static
from itkgw.config import ServerConfig, VHost
from itkgw.dirconf import DirConfig
from itkgw.errors import CloseConnection, HTTPError
from itkgw.http import HTTPConnection, Request
from itkgw.mime import MimeTypes

log = logging.getLogger("itkgw.core")


@dataclass(frozen=True)
class Target:
    """The file a request resolved to, and the URL path left over after it."""

    filename: str
    script_name: str
    path_info: str
    st: os.stat_result


def _denied(exc: OSError, first: bool, what: str) -> Exception:
    if exc.errno == errno.EACCES and not first:
        return CloseConnection(f"EACCES on {what} after the identity switch")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return HTTPError(403, f"permission denied: {what}")
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP):
        return HTTPError(404, None)
    return HTTPError(500, f"cannot access {what}: {exc.strerror}")


def locate(request: Request, dirconf: DirConfig, first: bool) -> Target:
    """The existing file for the request path, splitting off PATH_INFO.

    Walks up from the full path until an existing entry is found, as
    Apache's directory walk does; what is left over is PATH_INFO.
    """
    path = dirconf.fs_path.rstrip("/") or "/"
    url = request.path
    rest = ""
    while True:
        try:
            st = os.stat(path)
            break
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR) or len(path) <= len(dirconf.base_dir):
                raise _denied(exc, first, path) from None
        parent, name = os.path.split(path)
        rest = "/" + name + rest
        path = parent
    script_name = url[: len(url) - len(rest)] if rest else url
    if rest and stat.S_ISDIR(st.st_mode):
        raise HTTPError(404, None)
    return Target(path, script_name, rest, st)


def serve(conn: HTTPConnection, request: Request, vhost: VHost, dirconf: DirConfig,
          config: ServerConfig, mime: MimeTypes, first: bool) -> None:
    """Serve one request as the already switched identity."""
    target = locate(request, dirconf, first)
    if stat.S_ISDIR(target.st.st_mode):
        if not request.path.endswith("/"):
            static.redirect_to_slash(conn, request)
            return
        target = _index_of(target, dirconf, first)
    if not stat.S_ISREG(target.st.st_mode):
        raise HTTPError(403, f"not a regular file: {target.filename}")
    kind = _handler_kind(target.filename, vhost, dirconf)
    if kind == "php":
        phpcgi.run_php(conn, request, vhost, config, target.filename, target.script_name,
                       target.path_info, dirconf.base_dir, logging.getLogger("itkgw.cgi"))
    elif kind == "cgi":
        if not dirconf.exec_cgi and not dirconf.script_alias:
            raise HTTPError(403, f"Options ExecCGI is off in this directory: {target.filename}")
        env = cgi.cgi_environ(request, vhost, config, target.script_name, target.filename,
                              target.path_info, dirconf.base_dir)
        cgi.run_cgi(conn, [target.filename], env, os.path.dirname(target.filename),
                    config.timeout, logging.getLogger("itkgw.cgi"), target.filename)
    else:
        if target.path_info:
            raise HTTPError(404, None)
        _serve_static(conn, target, mime, first)


def _index_of(directory: Target, dirconf: DirConfig, first: bool) -> Target:
    for name in dirconf.directory_index:
        filename = os.path.join(directory.filename, name)
        try:
            st = os.stat(filename)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                continue
            raise _denied(exc, first, filename) from None
        return Target(filename, directory.script_name.rstrip("/") + "/" + name, "", st)
    raise HTTPError(403, "Cannot serve directory %s: No matching DirectoryIndex (%s) found, "
                    "and server-generated directory index forbidden by Options directive"
                    % (directory.filename, ",".join(dirconf.directory_index)))


def _handler_kind(filename: str, vhost: VHost, dirconf: DirConfig) -> str:
    if dirconf.script_alias:
        return "cgi"
    lower = filename.lower()
    if any(lower.endswith(ext.lower()) for ext in vhost.php_extensions):
        return "php"
    if any(lower.endswith(ext.lower()) for ext in vhost.cgi_extensions):
        return "cgi"
    return "static"


def _serve_static(conn: HTTPConnection, target: Target, mime: MimeTypes, first: bool) -> None:
    try:
        fd = os.open(target.filename, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise _denied(exc, first, target.filename) from None
    try:
        static.serve_file(conn, target.filename, os.fstat(fd), fd, mime)
    finally:
        os.close(fd)
