"""Basic logins: the hashes htpasswd writes, the password and group files, httpd's answers."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from itkgw.config.modules.auth_basic import AuthSettings
from itkgw.errors import HTTPError
from itkgw.http.connection import Request
from itkgw.request.authn import authenticate, groups_of, md5_crypt, password_matches

#: What htpasswd -B, -m, -s and -d wrote for these passwords.
HASHES = {
    "alice": ("secret", "$2y$05$hGLL.mM8B80bVk2G8je2o.DuiynX7Qps8A.SMgY9thsqPDqv6tU.."),
    "bob": ("bobpw", "$apr1$Qd3y3Ed8$oddEotqnW.1HHgbQqkBI1."),
    "carol": ("carolpw", "{SHA}stOsjhQ+/Zr2RzmhAD8uggClG7Y="),
    "dave": ("davepw", "3mSVqty7xFx1M"),
}


@pytest.mark.parametrize("user", sorted(HASHES))
def test_each_kind_of_htpasswd_hash_checks_its_password(user: str) -> None:
    password, stored = HASHES[user]
    assert password_matches(password.encode(), stored.encode())
    assert not password_matches(password.encode() + b"x", stored.encode())
    assert not password_matches(b"", stored.encode())


def test_md5_crypt_is_freebsd_s_with_apache_s_magic() -> None:
    """The $1$ form is glibc's own, so the two implementations check each other."""
    assert md5_crypt(b"password", b"saltsalt", b"$1$") == b"$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"
    assert md5_crypt(b"bobpw", b"Qd3y3Ed8", b"$apr1$") == b"$apr1$Qd3y3Ed8$oddEotqnW.1HHgbQqkBI1."


def test_plain_text_is_never_a_password() -> None:
    """httpd on Unix takes no plain-text entries: "secret" stored as such does not log in."""
    assert not password_matches(b"secret", b"secret")


def request_with(authorization: str | None) -> Request:
    headers = [("authorization", authorization)] if authorization is not None else []
    return Request("GET", "/members/", "/members/", "", "1.1", headers, "a.test", "127.0.0.1", 80,
                   "127.0.0.1", 40000)


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    users = tmp_path / "htpasswd"
    users.write_text("# users\n" + "".join(f"{user}:{stored}\n" for user, (_, stored) in HASHES.items()))
    return AuthSettings("basic", "Members", str(users))


def test_a_good_login_names_the_user(settings: AuthSettings) -> None:
    request = request_with(basic("bob:bobpw"))
    assert authenticate(request, settings) == "bob"
    assert (request.remote_user, request.auth_type) == ("bob", "Basic")


@pytest.mark.parametrize(("authorization", "logged"), [
    (None, ""),
    (basic("alice:wrong"), 'AH01617: user alice: authentication failure for "/members/": Password Mismatch'),
    (basic("zed:x"), "AH01618: user zed not found: /members/"),
    ("Bearer token", "AH01614: client used wrong authentication scheme: /members/"),
])
def test_a_missing_or_failed_login_is_a_401_with_the_realm(settings: AuthSettings, caplog,
                                                           authorization: str | None, logged: str) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(HTTPError) as caught:
        authenticate(request_with(authorization), settings)
    challenge = [("WWW-Authenticate", 'Basic realm="Members"')]
    assert (caught.value.status, caught.value.headers) == (401, challenge)
    assert logged in caplog.text


@pytest.mark.parametrize(("changed", "logged"), [
    ({"auth_type": None}, "AH00027: No authentication done but request not allowed without authentication"),
    ({"name": None}, "AH01615: need AuthName: /members/"),
    ({"user_file": None}, "AH01619: AuthUserFile not specified in the configuration"),
    ({"user_file": "/nonexistent/htpasswd"}, "AH01620: Could not open password file: /nonexistent/htpasswd"),
])
def test_a_section_that_cannot_ask_for_a_login_is_a_500(settings: AuthSettings, caplog,
                                                        changed: dict[str, object], logged: str) -> None:
    broken = AuthSettings(**{**settings.__dict__, **changed})
    with caplog.at_level(logging.ERROR), pytest.raises(HTTPError) as caught:
        authenticate(request_with(basic("alice:secret")), broken)
    assert caught.value.status == 500
    assert logged in caplog.text


def test_a_group_file_lists_members_by_group(tmp_path: Path) -> None:
    groups = tmp_path / "htgroup"
    groups.write_text("# groups\nadmins: alice carol\nstaff:bob alice\nempty:\n")
    assert groups_of(str(groups), "alice") == {"admins", "staff"}
    assert groups_of(str(groups), "dave") == frozenset()
    assert groups_of(None, "alice") == frozenset()
