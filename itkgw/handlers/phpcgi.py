"""PHP through php-cgi, one process per request, run as a CGI program.

php-cgi refuses to run a script unless REDIRECT_STATUS is set
(cgi.force_redirect): that proves a web server started it, not a user who
found the binary under a URL. It opens SCRIPT_FILENAME; its command line is
the bare binary, since every process's command line is readable by all.

The vhost's php_value / php_admin_value settings reach it as an ini file in a
directory only the request's identity can enter, added to php-cgi's scan
directories through PHP_INI_SCAN_DIR: another tenant cannot read them (a
database password in mysqli.default_pw), and a ``?-x`` query, which makes
php-cgi skip its command line (CVE-2012-1823's fix), cannot drop them. The
file also turns ``.user.ini`` files off, which mod_php never reads.

An admin value is written a second time in a ``[PATH=/top]`` section for the
script's top directory: php-cgi applies such a section at the system level
for every script below it, and a value set there is locked against
ini_set(), as mod_php locks php_admin_value.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from itkgw.config.model import PHPSetting, ServerConfig, VHost
from itkgw.config.modules.core import RequestSettings
from itkgw.errors import HTTPError
from itkgw.handlers.cgi import PHP_HEAD, SAFE_PATH, cgi_environ, run_cgi, with_request_variables
from itkgw.request.variables import wire

if TYPE_CHECKING:
    from itkgw.http.connection import HTTPConnection, Request

#: An ini setting's name; also a directory name php's ini parser reads back unchanged in ``[PATH=...]``.
_INI_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


#: What every request's ini file says: mod_php reads no .user.ini, so neither does php-cgi;
#: a status line the script sets ("HTTP/1.0 404 Not Found") comes through as it is, not made
#: a Status header, so that it is answered as mod_php answers it (cgi.parse_cgi_head).
_FIXED_INI = "user_ini.filename =\ncgi.rfc2616_headers = 1\n"


def php_ini_text(settings: Mapping[str, PHPSetting] | None = None, defaults: Mapping[str, str] | None = None,
                 lock_top: str = "", system_only: frozenset[str] = frozenset()) -> str:
    """An ini file: itkgw's ``defaults`` (where uploads go...), which the settings may
    change, a ``name=value`` line per php_value / php_admin_value, then the admin
    values again under ``[PATH=lock_top]`` (lock_section's), which locks them for
    scripts below it; nothing else is in that section. A php_value of a setting in
    ``system_only`` is left out, as mod_php ignores it (disable_functions, allow_url_include:
    only php.ini and php_admin_value set those).

    Raises ValueError for a setting php would misread: a newline in a value
    would start a second ini line (``auto_prepend_file=...``).
    """
    settings = settings or {}
    lines = [ini_line(name, value) + "\n" for name, value in (defaults or {}).items()]
    lines += [ini_line(name, setting.value) + "\n" for name, setting in settings.items()
              if setting.admin or name not in system_only]
    admin = [ini_line(name, setting.value) + "\n" for name, setting in settings.items() if setting.admin]
    locked = f"[PATH={lock_top}]\n" + "".join(admin) if admin and lock_top else ""
    return _FIXED_INI + "".join(lines) + locked


@functools.lru_cache(maxsize=4)
def system_only(php_cgi: str) -> frozenset[str]:
    """The ini settings this php-cgi lets only php.ini and php_admin_value set (PHP_INI_SYSTEM),
    as its extensions declare them; asked once (about 50 ms), none when it cannot say."""
    with tempfile.NamedTemporaryFile("w", suffix=".php", prefix="itkgw-ini-") as script:
        script.write('<?php foreach (ini_get_all(null, true) as $name => $entry)'
                     ' if (($entry["access"] & 3) == 0) echo $name, "\\n";')
        script.flush()
        try:
            found = subprocess.run([php_cgi, "-q", script.name], capture_output=True, timeout=30,
                                   env={"PATH": SAFE_PATH}, stdin=subprocess.DEVNULL, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            logging.getLogger("itkgw.php").warning("cannot ask %s which settings only php.ini may set (%s): "
                                                   "php_value sets them all", php_cgi, exc)
            return frozenset()
    return frozenset(found.stdout.decode("latin-1").split())


def lock_section(script: str) -> str:
    """The directory a ``[PATH=]`` section names to cover ``script``: its top directory
    (``/srv`` for /srv/alice/www/x.php); empty when there is none php would match."""
    parts = script.split("/")
    if len(parts) < 3 or parts[0] or not _INI_NAME.fullmatch(parts[1]):
        return ""
    return "/" + parts[1]


def ini_line(name: str, value: str) -> str:
    """An ini line that gives ``name`` the string ``value`` as it is, as mod_php hands PHP a
    php_value: quoted, so php neither evaluates constants and operators (``E_ALL & ~E_NOTICE``)
    nor turns keywords into numbers (``On``) nor expands ``${VAR}``. ValueError for a setting
    php would misread: a newline would start a second ini line."""
    if not _INI_NAME.fullmatch(name) or any(c in value for c in "\0\r\n"):
        raise ValueError(f"php setting {name!r} = {value!r} cannot be passed to php")
    quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'{name}="{quoted}"'


#: The variable php-cgi is handed the Authorization header in without CGIPassAuth: PHP makes
#: getallheaders() of every HTTP_ variable, and this one's name becomes "Authorization" there,
#: the header mod_php lists, while $_SERVER['HTTP_AUTHORIZATION'] stays unset as under mod_php
#: (php-cgi reads the credentials from that variable alone: with_php_auth hands them on).
PHP_AUTHORIZATION = "HTTP_Authorization"


def php_authorization_as(cgi_pass_auth: bool | None) -> str:
    """cgi_environ's ``authorization_as`` for PHP."""
    return "HTTP_AUTHORIZATION" if cgi_pass_auth else PHP_AUTHORIZATION


#: What PHP's base64_decode reads, leniently, of a Basic credential: these, nothing else.
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def with_php_auth(env: Mapping[str, str], request: Request) -> dict[str, str]:
    """``env`` with PHP_AUTH_USER and PHP_AUTH_PW (a Basic credential) or PHP_AUTH_DIGEST, as
    mod_php reads them from the Authorization header itself: httpd hands its scripts
    HTTP_AUTHORIZATION only under CGIPassAuth (or a variable set to it), so PHP's $_SERVER
    has none without, and php-cgi, which reads the credentials from that variable, parses
    them itself where it is."""
    if "HTTP_AUTHORIZATION" in env:
        return dict(env)
    values = request.header_values("authorization")
    variables = _credentials(", ".join(values).encode("latin-1")) if values else {}
    if "PHP_AUTH_USER" not in variables and request.remote_user is not None:
        variables["PHP_AUTH_USER"] = wire(request.remote_user)  # a user httpd logged in otherwise
    return {**env, **variables}


def _credentials(authorization: bytes) -> dict[str, str]:
    """PHP's php_handle_auth_data: "Basic " (any case) and a lenient base64 of user:password,
    each cut at a NUL as PHP's strings are (an empty password is none); else "Digest " and
    the rest."""
    scheme = authorization[:7].lower()
    if scheme.startswith(b"basic "):
        decoded = _lenient_base64(authorization[6:]).split(b"\0", 1)[0]
        user, colon, password = decoded.partition(b":")
        if colon and password:
            return {"PHP_AUTH_USER": os.fsdecode(user), "PHP_AUTH_PW": os.fsdecode(password)}
        if colon:
            return {"PHP_AUTH_USER": os.fsdecode(user)}
    if scheme == b"digest ":
        return {"PHP_AUTH_DIGEST": os.fsdecode(authorization[7:])}
    return {}


def _lenient_base64(text: bytes) -> bytes:
    """base64_decode() without strict: anything outside the alphabet (padding too) is skipped,
    and a last character that makes no whole byte is dropped."""
    sextets = bytes(char for char in text if char in _BASE64_ALPHABET)
    whole = len(sextets) - len(sextets) % 4
    tail = sextets[whole:] if len(sextets) % 4 > 1 else b""
    return base64.b64decode(sextets[:whole] + tail + b"=" * (-len(tail) % 4))


def php_environ(cgi_env: Mapping[str, str]) -> dict[str, str]:
    """The CGI environment plus what php-cgi needs to run SCRIPT_FILENAME."""
    if "SCRIPT_FILENAME" not in cgi_env:
        raise ValueError("php-cgi needs SCRIPT_FILENAME to find the script")
    return {"REDIRECT_STATUS": "200", **cgi_env}  # an internal redirect's own status wins


_REQUEST_DEFAULTS = RequestSettings()


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
    settings: Mapping[str, PHPSetting] | None = None,
    extra_env: Mapping[str, str] | None = None,
    request_settings: RequestSettings = _REQUEST_DEFAULTS,
    context_prefix: str = "",
) -> None:
    """Run a PHP file through php-cgi and stream its response, with ``settings`` as its ini.
    As under mod_php, the script sees the credentials of the Authorization header (with_php_auth).
    ``document_root`` and ``context_prefix``: CONTEXT_DOCUMENT_ROOT and CONTEXT_PREFIX (see
    cgi_environ)."""
    env = with_request_variables(cgi_environ(request, vhost, config, script_name, script_filename, path_info,
                                             document_root, settings=request_settings,
                                             authorization_as=php_authorization_as(request_settings.cgi_pass_auth),
                                             context_prefix=context_prefix),
                                 extra_env or {})
    env = php_environ(with_php_auth(env, request))
    with _private_dir(log) as directory:
        try:
            text = php_ini_text(settings, {"upload_tmp_dir": os.path.join(directory, "uploads")},
                                lock_section(script_filename), system_only(config.php_cgi))
        except ValueError as exc:
            raise HTTPError(500, str(exc)) from None
        os.mkdir(os.path.join(directory, "uploads"), 0o700)
        _write_new(os.path.join(directory, "ini", "itkgw.ini"), text)
        # The leading ":" keeps php's own scan directory.
        env["PHP_INI_SCAN_DIR"] = ":" + os.path.join(directory, "ini")
        run_cgi(conn, [config.php_cgi], env, os.path.dirname(script_filename), conn.limits.timeout, log,
                script_filename, PHP_HEAD, runs_on=True)


def highlight_source(conn: HTTPConnection, request: Request, php_cgi: str, filename: str,
                     timeout: float) -> None:
    """mod_php's application/x-httpd-php-source: the file's source as highlight_file() draws
    it, never run: php-cgi -s, started as the request's identity as any script is."""
    try:
        drawn = subprocess.run([php_cgi, "-q", "-s", filename], capture_output=True, timeout=timeout,
                               env={"PATH": SAFE_PATH}, stdin=subprocess.DEVNULL,
                               cwd=os.path.dirname(filename), check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise HTTPError(500, f"cannot show the source of {filename} with {php_cgi}: {exc}") from None
    headers = [("Content-Type", "text/html; charset=UTF-8")]
    if request.method != "HEAD":  # mod_php's HEAD carries no length
        headers.append(("Content-Length", str(len(drawn.stdout))))
    conn.send_response_head(200, headers, hold=True)
    conn.send_data(drawn.stdout)
    conn.end_response()


@contextmanager
def _private_dir(log: logging.Logger) -> Iterator[str]:
    """A directory of this request's own (mode 0700, the request's identity's), removed
    with what is left in it: the ini file, and uploads php did not move or delete."""
    directory = tempfile.mkdtemp(prefix="itkgw-php-")
    try:
        yield directory
    finally:
        _remove(directory, log)


def _remove(directory: str, log: logging.Logger) -> None:
    """Remove the request's directory whole: a stop (TERM) arriving meanwhile waits until
    it is gone, or a tenant-owned leftover would stay in /tmp."""

    def failed(function: object, path: str, info: tuple[object, BaseException, object]) -> None:
        log.warning("cannot remove %s after the request: %s", path, info[1])

    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        shutil.rmtree(directory, onerror=failed)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _write_new(path: str, text: str) -> None:
    """``text`` as a new read-only file, its directory made (0700) first."""
    os.mkdir(os.path.dirname(path), 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
