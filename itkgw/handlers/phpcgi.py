"""PHP through php-cgi, one process per request, run as a CGI program.

php-cgi refuses to run a script unless REDIRECT_STATUS is set
(cgi.force_redirect): that proves a web server started it, not a user who
found the binary under a URL. It opens SCRIPT_FILENAME; no script path and
nothing from the query string is ever put on its command line.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from itkgw.config.model import ServerConfig, VHost
from itkgw.errors import HTTPError
from itkgw.handlers.cgi import cgi_environ, run_cgi

if TYPE_CHECKING:
    from itkgw.http.connection import HTTPConnection, Request

_INI_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def php_argv(config: ServerConfig, ini: Mapping[str, str] | None = None) -> list[str]:
    """php-cgi with a ``-d name=value`` option per php_value / php_admin_value.

    Raises ValueError for a setting php-cgi would misread: a newline in a
    value would start a second ini line (``auto_prepend_file=...``).
    """
    argv = [config.php_cgi]
    for name, value in (ini or {}).items():
        if not _INI_NAME.fullmatch(name) or any(c in value for c in "\0\r\n"):
            raise ValueError(f"php setting {name!r} = {value!r} cannot be passed to php-cgi")
        argv += ["-d", f"{name}={value}"]
    return argv


def php_environ(cgi_env: Mapping[str, str]) -> dict[str, str]:
    """The CGI environment plus what php-cgi needs to run SCRIPT_FILENAME."""
    if "SCRIPT_FILENAME" not in cgi_env:
        raise ValueError("php-cgi needs SCRIPT_FILENAME to find the script")
    return {**cgi_env, "REDIRECT_STATUS": "200"}


def php_ignores_options(query: str) -> bool:
    """Whether php-cgi skips its whole command line, ``-d`` included, for this query.

    php-cgi's fix for CVE-2012-1823: a query string without "=" that, url
    decoded and past leading bytes up to space, starts with "-" could be
    Apache passing it as arguments, so php-cgi reads no options at all.
    """
    if "=" in query:
        return False
    decoded = unquote_to_bytes(query.encode("latin-1").replace(b"+", b" "))
    return decoded.lstrip(bytes(range(0x21))).startswith(b"-")


def run_php(
    conn: HTTPConnection,
    request: Request,
    vhost: VHost,
    config: ServerConfig,
    script_filename: str,
    script_name: str,
    path_info: str,
    document_root: str,
    log: logging.Logger,
    ini: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> None:
    """Run a PHP file through php-cgi and stream its response.

    With ``ini`` settings, a query string that would make php-cgi drop them
    is refused (403): otherwise any client could switch off a vhost's
    php_admin_value (open_basedir, disable_functions) by adding ``?-x``.
    """
    if ini and php_ignores_options(request.query):
        log.error("query string %r would make php-cgi ignore this vhost's php settings, refused: %s",
                  request.query, script_filename)
        raise HTTPError(403)
    env = cgi_environ(request, vhost, config, script_name, script_filename, path_info, document_root)
    env.update(extra_env or {})
    env = php_environ(env)
    run_cgi(conn, php_argv(config, ini), env, os.path.dirname(script_filename), config.timeout, log,
            script_filename)
