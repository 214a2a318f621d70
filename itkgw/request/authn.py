"""HTTP Basic logins against htpasswd files, as mod_auth_basic and mod_authn_file check them.

Asked only when the access rules of a request cannot grant it without a
user (``Require valid-user``, ``user``, ``group``), and only after the switch
to the request's identity: a tenant's password file is read as the tenant,
never as root. Hashes are those htpasswd writes: bcrypt (``$2y$``), Apache's
MD5 (``$apr1$``), ``{SHA}``, and crypt(3)'s (DES, ``$5$``, ``$6$``), as
apr_password_validate checks them; httpd on Unix takes no plain text.
"""

from __future__ import annotations

import base64
import ctypes
import functools
import hashlib
import hmac
import logging

from itkgw.config.modules.auth_basic import AuthSettings
from itkgw.errors import HTTPError
from itkgw.http.connection import Request

log = logging.getLogger("itkgw.auth_basic")
_file_log = logging.getLogger("itkgw.authn_file")
_group_log = logging.getLogger("itkgw.authz_groupfile")
_core_log = logging.getLogger("itkgw.core")

_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def challenge(settings: AuthSettings) -> list[tuple[str, str]]:
    """The header of a 401 that asks the browser for a login to the section's realm."""
    return [("WWW-Authenticate", f'Basic realm="{settings.name}"')]


def authenticate(request: Request, settings: AuthSettings) -> str:
    """The user the request's Authorization header logs in as. Raises HTTPError: 401 with the
    realm's challenge when there is no login or it fails, 500 when the section cannot ask
    for one; each logged as httpd logs it."""
    uri = request.path
    if settings.auth_type != "basic":
        _core_log.error("AH00027: No authentication done but request not allowed without authentication "
                        "for %s. Authentication not configured?", uri)
        raise HTTPError(500)
    if not settings.name:
        log.error("AH01615: need AuthName: %s", uri)
        raise HTTPError(500)
    header = request.header("authorization")
    if header is None:
        raise HTTPError(401, None, challenge(settings))
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        log.error("AH01614: client used wrong authentication scheme: %s", uri)
        raise HTTPError(401, None, challenge(settings))
    decoded = base64.b64decode(encoded.strip().encode("latin-1", "replace") + b"==", validate=False)
    user, _, password = decoded.decode("latin-1").partition(":")
    request.remote_user = user  # logged (%u) whether or not the password holds, as httpd's r->user
    if not settings.user_file:
        _file_log.error("AH01619: AuthUserFile not specified in the configuration")
        raise HTTPError(500)
    stored = _stored_hash(settings.user_file, user)
    if stored is None:
        log.error("AH01618: user %s not found: %s", user, uri)
        raise HTTPError(401, None, challenge(settings))
    if not password_matches(password.encode("latin-1"), stored.encode("latin-1")):
        log.error('AH01617: user %s: authentication failure for "%s": Password Mismatch', user, uri)
        raise HTTPError(401, None, challenge(settings))
    request.auth_type = "Basic"
    return user


def _stored_hash(path: str, user: str) -> str | None:
    """``user``'s hash in the password file (the field after the name, up to a next colon)."""
    try:
        with open(path, encoding="latin-1") as lines:
            for line in lines:
                if line.startswith("#"):
                    continue
                name, colon, rest = line.rstrip("\r\n").partition(":")
                if colon and name == user:
                    return rest.split(":", 1)[0]
    except OSError as exc:
        _file_log.error("AH01620: Could not open password file: %s (%s)", path, exc.strerror)
        raise HTTPError(500) from None
    return None


def groups_of(path: str | None, user: str) -> frozenset[str]:
    """The groups of AuthGroupFile (``name: user user...`` lines) that list ``user``."""
    if not path:
        return frozenset()
    found = set()
    try:
        with open(path, encoding="latin-1") as lines:
            for line in lines:
                if line.startswith("#"):
                    continue
                name, colon, members = line.partition(":")
                if colon and user in members.split():
                    found.add(name.strip())
    except OSError as exc:
        _group_log.error("AH01667: Could not open group file: %s (%s)", path, exc.strerror)
        raise HTTPError(500) from None
    return frozenset(found)


def password_matches(password: bytes, stored: bytes) -> bool:
    """apr_password_validate: ``password`` against a hash htpasswd wrote."""
    if stored.startswith(b"$apr1$"):
        salt = stored[len(b"$apr1$"):].split(b"$", 1)[0]
        computed = md5_crypt(password, salt, b"$apr1$")
    elif stored.startswith(b"{SHA}"):
        computed = b"{SHA}" + base64.b64encode(hashlib.sha1(password).digest())
    else:
        computed = _crypt(password, stored) or b""
    return bool(computed) and hmac.compare_digest(computed, stored)


def md5_crypt(password: bytes, salt: bytes, magic: bytes) -> bytes:
    """The MD5 crypt of FreeBSD, with Apache's ``$apr1$`` magic (apr_md5_encode)."""
    salt = salt[:8]
    alternate = hashlib.md5(password + salt + password).digest()
    context = password + magic + salt
    for left in range(len(password), 0, -16):
        context += alternate[:min(16, left)]
    length = len(password)
    while length:
        context += b"\0" if length & 1 else password[:1]
        length >>= 1
    final = hashlib.md5(context).digest()
    for round_ in range(1000):
        step = password if round_ & 1 else final
        if round_ % 3:
            step += salt
        if round_ % 7:
            step += password
        step += final if round_ & 1 else password
        final = hashlib.md5(step).digest()
    encoded = b""
    for first, second, third in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        encoded += _to64((final[first] << 16) | (final[second] << 8) | final[third], 4)
    encoded += _to64(final[11], 2)
    return magic + salt + b"$" + encoded


def _to64(value: int, count: int) -> bytes:
    out = bytearray()
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def _crypt(password: bytes, setting: bytes) -> bytes | None:
    """crypt(3) of libcrypt (bcrypt, DES, SHA-crypt); None when it refuses the setting."""
    if b"\0" in password:
        return None
    result = _libcrypt().crypt(password, setting)
    return result if result and not result.startswith(b"*") else None


@functools.cache
def _libcrypt() -> ctypes.CDLL:
    library = ctypes.CDLL("libcrypt.so.1")
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return library
