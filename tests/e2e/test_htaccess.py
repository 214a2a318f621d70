""".htaccess files and per-directory rewriting, through a real itkgw.

Each case was compared with Apache 2.4 + mpm-itk + mod_php on the same files:
what a file may hold, the 500 and its log line when it holds more, the merge
with the vhost's sections, and what stock front controllers (WordPress,
Laravel) see in $_SERVER after their rules. The security cases (a file the
tenant cannot read, deny rules obeyed) are in test_security.py.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from itkgw import __version__
from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
from tests.e2e.test_fidelity import raw_exchange
from tests.sites import ALICE, Site


def serve(itkgw_factory, site: Site, *overrides: str, **vhost: Any) -> Itkgw:
    return itkgw_factory([vhost_for(site, "alice.test", php_extensions=[".php"], directory=[
        {"path": str(site.htdocs), "allow_override": list(overrides)}], **vhost)])


def _logged(server: Itkgw, text: str) -> bool:
    deadline = time.monotonic() + 5
    while text not in server.error_log_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_what_an_htaccess_sets_applies_below_it(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "app/.htaccess", "DirectoryIndex start.html\nphp_value precision 7\n"
                                "AddType text/x-notes .notes\nErrorDocument 404 /app/missing.html\n"
                                "Header set X-App yes\n"
                                "<Files \"secret.txt\">\n    Require all denied\n</Files>\n")
    put(alice, "app/start.html", "start page\n")
    put(alice, "app/missing.html", "not here\n")
    put(alice, "app/ini.php", "<?php echo ini_get('precision');\n")
    put(alice, "app/a.notes", "notes\n")
    put(alice, "app/secret.txt", "secret\n")
    put(alice, "other/secret.txt", "outside\n")
    server = serve(itkgw_factory, alice, "All")
    index = server.request("alice.test", "/app/")
    assert (index.status, index.body, index.headers["X-App"]) == (200, b"start page\n", "yes")
    assert server.request("alice.test", "/app/ini.php").body == b"7"
    assert server.request("alice.test", "/app/a.notes").headers["Content-Type"] == "text/x-notes"
    missing = server.request("alice.test", "/app/nope")
    assert (missing.status, missing.body) == (404, b"not here\n")
    assert server.request("alice.test", "/app/secret.txt").status == 403
    assert server.request("alice.test", "/other/secret.txt").body == b"outside\n"


def test_a_directive_allowoverride_does_not_grant_is_a_500_with_httpd_s_log_line(itkgw_factory, docroots,
                                                                                 put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "opts/.htaccess", "Options -Indexes\n")
    put(alice, "opts/page.html", "page\n")
    put(alice, "typo/.htaccess", "Frobnicate on\n")
    put(alice, "typo/page.html", "page\n")
    put(alice, "itk/.htaccess", "AssignUserID root root\n")
    put(alice, "itk/page.html", "page\n")
    put(alice, "admin/.htaccess", "php_admin_value open_basedir /\n")
    put(alice, "admin/page.html", "page\n")
    server = serve(itkgw_factory, alice, "AuthConfig", "FileInfo", "Limit")
    for folder in ("opts", "typo", "itk", "admin"):
        assert server.request("alice.test", f"/{folder}/page.html").status == 500, folder
    htdocs = alice.htdocs
    assert _logged(server, f"{htdocs}/opts/.htaccess: Options not allowed here")
    assert _logged(server, f"{htdocs}/typo/.htaccess: Invalid command 'Frobnicate', perhaps misspelled or "
                           "defined by a module not included in the server configuration")
    assert _logged(server, f"{htdocs}/itk/.htaccess: AssignUserID not allowed here")
    assert _logged(server, f"{htdocs}/admin/.htaccess: php_admin_value not allowed here")


def test_a_broken_htaccess_is_answered_under_the_vhost_s_own_settings(itkgw_factory, docroots,
                                                                        put: Put) -> None:
    """httpd resets a request's settings to the vhost's before walking: the 500 of a broken
    .htaccess file gets the vhost's "always" headers and ErrorDocument, no section's."""
    alice = docroots[ALICE]
    put(alice, "app/.htaccess", "Frobnicate on\n")
    put(alice, "app/page.html", "page\n")
    server = itkgw_factory([vhost_for(
        alice, "alice.test", headers=[["always", "set", "X-Site", "alice"]],
        error_documents={"500": '"Broken here'},
        directory=[{"path": str(alice.htdocs), "allow_override": ["All"]},
                   {"path": f"{alice.htdocs}/app", "headers": [["always", "set", "X-App", "yes"]],
                    "error_documents": {"500": '"Broken in app'}}])])
    broken = server.request("alice.test", "/app/page.html")
    assert (broken.status, broken.body, broken.headers.get("X-Site"), broken.headers.get("X-App")) == (
        500, b"Broken here", "alice", None)


def test_refusals_are_logged_by_the_module_that_refused_as_httpd_logs_them(itkgw_factory, docroots,
                                                                           put: Put) -> None:
    """The lines fail2ban's apache filters read: Require's refusal is mod_authz_core's AH01630,
    Order/Deny's is mod_access_compat's AH01797, a directory without an index mod_autoindex's."""
    alice = docroots[ALICE]
    put(alice, "required/.htaccess", "Require all denied\n")
    put(alice, "required/a.txt", "a\n")
    put(alice, "ordered/.htaccess", "Order deny,allow\nDeny from all\n")
    put(alice, "ordered/a.txt", "a\n")
    put(alice, "bare/.htaccess", "Options -Indexes\n")
    put(alice, "bare/a.txt", "a\n")
    server = serve(itkgw_factory, alice, "All")
    for path in ("/required/a.txt", "/ordered/a.txt", "/bare/"):
        assert server.request("alice.test", path).status == 403, path
    htdocs = alice.htdocs
    expected = {"authz_core": f"AH01630: client denied by server configuration: {htdocs}/required/a.txt",
                "access_compat": f"AH01797: client denied by server configuration: {htdocs}/ordered/a.txt",
                "autoindex": f"AH01276: Cannot serve directory {htdocs}/bare/: No matching DirectoryIndex"}
    assert _logged(server, "AH01276")
    lines = server.error_log_text().splitlines()
    for module, message in expected.items():
        assert any(f"[{module}:error] [pid " in line and message in line for line in lines), (module, lines)


def test_nonfatal_skips_what_is_not_granted_and_says_so(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "opts/.htaccess", "Options -Indexes\nDirectoryIndex page.html\n<IfModule mod_expires.c>\n"
                                 "    ExpiresActive On\n</IfModule>\n")
    put(alice, "opts/page.html", "page\n")
    server = serve(itkgw_factory, alice, "Indexes", "Nonfatal=Override")
    assert server.request("alice.test", "/opts/").body == b"page\n"
    assert _logged(server, f"{alice.htdocs}/opts/.htaccess: Options not allowed here (skipped: Nonfatal)")


def test_allowoverridelist_lets_the_named_directives_in_and_no_others(itkgw_factory, docroots,
                                                                     put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "listed/a/.htaccess", "Redirect /listed/a/old /listed/new.html\nHeader set X-Listed yes\n"
                                     "Header always set X-Always yes\n")
    put(alice, "listed/a/page.html", "page\n")
    put(alice, "listed/b/.htaccess", "Options -Indexes\n")
    put(alice, "listed/b/page.html", "page\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", directory=[
        {"path": str(alice.htdocs / "listed"), "allow_override": ["None"],
         "allow_override_list": ["Redirect", "Header"]}])])
    page = server.request("alice.test", "/listed/a/page.html")
    assert (page.status, page.headers["X-Listed"], page.headers["X-Always"]) == (200, "yes", "yes")
    # httpd sends its own redirect and error pages with the "always" headers alone.
    moved = server.request("alice.test", "/listed/a/old")
    assert (moved.status, moved.headers["Location"]) == (302, "http://alice.test/listed/new.html")
    assert (moved.headers["X-Listed"], moved.headers["X-Always"]) == (None, "yes")
    assert server.request("alice.test", "/listed/b/page.html").status == 500
    assert _logged(server, f"{alice.htdocs}/listed/b/.htaccess: Options not allowed here")


def test_header_rules_reach_what_a_handler_answers_whatever_its_status(itkgw_factory, docroots,
                                                                      put: Put) -> None:
    """httpd drops the plain Header rules only from its own error pages: a script's 404 or 500
    and an ErrorDocument file keep them, and the file goes out with its validators."""
    alice = docroots[ALICE]
    put(alice, "hd/.htaccess", "Header set X-Site yes\nErrorDocument 404 /hd/sorry.html\n")
    put(alice, "hd/sorry.html", "sorry\n")
    put(alice, "hd/gone.php", "<?php http_response_code(404); echo 'gone';\n")
    put(alice, "hd/broken.php", "<?php http_response_code(500); echo 'broken';\n")
    put(alice, "hd/closed/.htaccess", "Require all denied\n")
    put(alice, "hd/closed/page.html", "page\n")
    server = serve(itkgw_factory, alice, "All")
    for path, status in (("/hd/gone.php", 404), ("/hd/broken.php", 500)):
        answer = server.request("alice.test", path)
        assert (answer.status, answer.headers["X-Site"]) == (status, "yes"), path
    missing = server.request("alice.test", "/hd/nothing.html")
    assert (missing.status, missing.body, missing.headers["X-Site"]) == (404, b"sorry\n", "yes")
    assert missing.headers["ETag"] and missing.headers["Last-Modified"] and missing.headers["Accept-Ranges"]
    refused = server.request("alice.test", "/hd/closed/page.html")  # httpd's own 403 page
    assert (refused.status, refused.headers["X-Site"]) == (403, None)


def test_header_always_acts_on_its_own_headers_and_leaves_a_script_s_be(itkgw_factory, docroots,
                                                                        put: Put) -> None:
    """httpd's "always" rules act on err_headers_out, a handler's headers are in headers_out:
    'Header always unset' or 'edit' leaves a PHP script's header as it is, 'Header always
    set' adds a second one beside it; the plain rules act on the script's. An "always" set of
    Content-Type is the response's type."""
    alice = docroots[ALICE]
    script = "<?php header('X-A: script'); header('X-B: script'); setcookie('c', '1'); echo 'x';\n"
    put(alice, "always/.htaccess", "Header always set X-A rule\nHeader always unset X-B\n"
                                   "Header always edit Set-Cookie ^(.*)$ $1;HttpOnly\n")
    put(alice, "always/x.php", script)
    put(alice, "plain/.htaccess", "Header set X-A rule\nHeader unset X-B\n"
                                  "Header edit Set-Cookie ^(.*)$ $1;HttpOnly\n")
    put(alice, "plain/x.php", script)
    put(alice, "typed/.htaccess", "Header always set Content-Type text/x-log\n")
    put(alice, "typed/a.txt", "a\n")
    server = serve(itkgw_factory, alice, "All")
    always = server.request("alice.test", "/always/x.php").headers
    assert sorted(always.get_all("X-A")) == ["rule", "script"]
    assert (always["X-B"], always["Set-Cookie"]) == ("script", "c=1")
    plain = server.request("alice.test", "/plain/x.php").headers
    assert (plain.get_all("X-A"), plain["X-B"], plain["Set-Cookie"]) == (["rule"], None, "c=1;HttpOnly")
    assert server.request("alice.test", "/typed/a.txt").headers.get_all("Content-Type") == ["text/x-log"]


def test_with_allowoverride_none_the_file_is_never_opened(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "closed/.htaccess", "Frobnicate on\n").chmod(0)
    put(alice, "closed/page.html", "page\n")
    server = serve(itkgw_factory, alice, "None")
    assert server.request("alice.test", "/closed/page.html").body == b"page\n"


def test_options_in_an_htaccess_decide_which_symbolic_links_the_walk_follows(itkgw_factory, docroots,
                                                                            put: Put, request) -> None:
    alice = docroots[ALICE]
    put(alice, "real.html", "real\n")
    put(alice, "shut/.htaccess", "Options -FollowSymLinks\n")
    put(alice, "plain/page.html", "page\n")
    put(alice, "closed/open/.htaccess", "Options +FollowSymLinks\n")
    put(alice, "closed/plain/page.html", "page\n")
    for folder in ("shut", "plain", "closed/open", "closed/plain"):
        link = alice.htdocs / folder / "link.html"
        link.symlink_to(alice.htdocs / "real.html")
        os.lchown(link, alice.user.pw_uid, alice.user.pw_gid)
        request.addfinalizer(link.unlink)
    server = itkgw_factory([vhost_for(alice, "alice.test", directory=[
        {"path": str(alice.htdocs), "allow_override": ["Options"]},
        {"path": str(alice.htdocs / "closed"), "options": ["None"]}])])
    followed = {folder: server.request("alice.test", f"/{folder}/link.html").status
                for folder in ("shut", "plain", "closed/open", "closed/plain")}
    assert followed == {"shut": 403, "plain": 200, "closed/open": 200, "closed/plain": 403}
    assert _logged(server, "Symbolic link not allowed or link target not accessible: "
                           f"{alice.htdocs}/shut/link.html")


def test_a_link_to_nothing_is_httpd_s_403_not_a_missing_file(itkgw_factory, docroots, put: Put,
                                                              request) -> None:
    """httpd's walk finds the link and cannot follow it: AH00037 and 403, below it too."""
    alice = docroots[ALICE]
    put(alice, "links/page.html", "page\n")
    link = alice.htdocs / "links" / "gone.html"
    link.symlink_to(alice.htdocs / "links" / "nothing.html")
    os.lchown(link, alice.user.pw_uid, alice.user.pw_gid)
    request.addfinalizer(link.unlink)
    server = serve(itkgw_factory, alice, "None")
    assert server.request("alice.test", "/links/gone.html").status == 403
    assert server.request("alice.test", "/links/gone.html/more").status == 403
    assert server.request("alice.test", "/links/missing.html").status == 404
    assert _logged(server, f"AH00037: Symbolic link not allowed or link target not accessible: {link}")


def test_early_header_rules_never_run_in_a_directory_a_note_shows_nothing_echo_copies(itkgw_factory, docroots,
                                                                              put: Put) -> None:
    """httpd reads "early" rules in an .htaccess file and never runs them there; Header note
    fills the request's notes alone; Header echo sends request headers back. None is a 500."""
    alice = docroots[ALICE]
    put(alice, "early/.htaccess", "Header set X-Early yes early\nRequestHeader set X-Foo bar early\n"
                                  "Header note X-Late late\nHeader set X-Late yes\nHeader echo ^X-Trace\n")
    put(alice, "early/p.php", "<?php echo $_SERVER['HTTP_X_FOO'] ?? 'none';\n")
    server = serve(itkgw_factory, alice, "All")
    answer = server.request("alice.test", "/early/p.php", headers={"X-Trace-Id": "7", "x-trace": "8",
                                                                   "X-Other": "9"})
    assert (answer.status, answer.body) == (200, b"none")
    assert (answer.headers["X-Early"], answer.headers["X-Late"]) == (None, "yes")
    # echo: the request's headers whose names (as the client spelled them) the regex matches
    assert (answer.headers["X-Trace-Id"], answer.headers["x-trace"], answer.headers["X-Other"]) == (
        "7", None, None)


def test_requestheader_changes_what_the_script_sees_after_rewriting_looked(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "rh/.htaccess", "RequestHeader unset X-Drop\nRequestHeader set X-Forwarded-Proto https\n"
                               "RequestHeader append X-List two\nRequestHeader setifempty X-Empty filled\n"
                               "RequestHeader merge X-Merge b\n"
                               "RewriteEngine On\nRewriteRule ^ - [E=SEEN_DROP:%{HTTP:X-Drop}]\n")
    put(alice, "rh/h.php", "<?php foreach (['HTTP_X_DROP', 'HTTP_X_FORWARDED_PROTO', 'HTTP_X_LIST', "
                           "'HTTP_X_EMPTY', 'HTTP_X_MERGE', 'SEEN_DROP'] as $k) "
                           "echo $k, '=', $_SERVER[$k] ?? '(unset)', \"\\n\";\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    seen = server.request("alice.test", "/rh/h.php", headers={"X-Drop": "gone", "X-List": "one",
                                                                "X-Merge": "a, b"})
    assert seen.body.decode().splitlines() == [
        "HTTP_X_DROP=(unset)", "HTTP_X_FORWARDED_PROTO=https", "HTTP_X_LIST=one, two", "HTTP_X_EMPTY=filled",
        "HTTP_X_MERGE=a, b", "SEEN_DROP=gone"]


def _expires_after_date(answer) -> float:
    return (parsedate_to_datetime(answer.headers["Expires"]) - parsedate_to_datetime(answer.headers["Date"])
            ).total_seconds()


def test_mod_expires_gives_expiry_by_type_as_under_apache(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "ex/.htaccess", "ExpiresActive On\nExpiresDefault A1209600\n"
                               'ExpiresByType text/css "access plus 1 month 2 days"\n'
                               'ExpiresByType image/* "modification plus 1 hour"\n')
    put(alice, "ex/a.css", "x{}\n")
    put(alice, "ex/a.txt", "text\n")
    os.utime(put(alice, "ex/old.gif", "GIF89a"), (1_000_000_000, 1_000_000_000))
    put(alice, "ex/private.php", "<?php header('Cache-Control: private'); echo 'x';\n")
    put(alice, "ex/own.php", "<?php header('Expires: Wed, 01 Jan 2031 00:00:00 GMT'); echo 'x';\n")
    server = serve(itkgw_factory, alice, "Indexes")
    css = server.request("alice.test", "/ex/a.css")
    assert (css.headers["Cache-Control"], _expires_after_date(css)) == ("max-age=2764800", 2764800)
    assert server.request("alice.test", "/ex/a.txt").headers["Cache-Control"] == "max-age=1209600"
    old = server.request("alice.test", "/ex/old.gif")  # an hour after 2001: now, never the past
    assert (old.headers["Cache-Control"], _expires_after_date(old)) == ("max-age=0", 0)
    private = server.request("alice.test", "/ex/private.php")
    assert private.headers["Cache-Control"] == "private, max-age=1209600"
    own = server.request("alice.test", "/ex/own.php")
    assert (own.headers["Expires"], own.headers["Cache-Control"]) == ("Wed, 01 Jan 2031 00:00:00 GMT", None)
    assert server.request("alice.test", "/ex/missing.css").headers["Expires"] is None


def test_adddefaultcharset_labels_plain_text_and_html_without_a_charset(itkgw_factory, docroots,
                                                                       put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "cs/.htaccess", "AddDefaultCharset utf-8\n")
    put(alice, "cs/on/.htaccess", "AddDefaultCharset On\n")
    for name, text in (("a.txt", "hi\n"), ("a.html", "<p>\n"), ("a.css", "x{}\n"), ("on/a.txt", "hi\n"),
                       ("own.php", "<?php header('Content-Type: text/plain;charset=UTF-8'); echo 1;\n")):
        put(alice, f"cs/{name}", text)
    server = serve(itkgw_factory, alice, "FileInfo")
    types = {name: server.request("alice.test", f"/cs/{name}").headers["Content-Type"]
             for name in ("a.txt", "a.html", "a.css", "on/a.txt", "own.php", "missing")}
    assert types == {"a.txt": "text/plain; charset=utf-8", "a.html": "text/html; charset=utf-8",
                     "a.css": "text/css", "on/a.txt": "text/plain; charset=iso-8859-1",
                     "own.php": "text/plain;charset=UTF-8", "missing": "text/html; charset=iso-8859-1"}


#: SetEnvIf lines as hosting customers write them (the Authorization one is WordPress
#: REST plugins' and Nextcloud's); each result was compared with Apache + mod_setenvif.
SETENVIF = """SetEnvIf Authorization "(.+)" HTTP_AUTHORIZATION=$1
SetEnvIfNoCase User-Agent "^curl" IS_CURL
SetEnvIf Request_URI "\\.php$" IS_SCRIPT=yes
SetEnvIf X-Missing ^$ NO_HEADER
SetEnvIf ^X-Sec.* secret SECRET_HEADER=$0
BrowserMatch "Mozilla" MOZILLA !IS_CURL
SetEnvIf IS_SCRIPT ^yes$ CHAINED=from-var
SetEnvIf X-Pass ^ok$ ALLOWED
<Files deny.txt>
Require env ALLOWED
</Files>
"""


def test_setenvif_sets_request_variables_before_access_rules_look(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "se/.htaccess", SETENVIF)
    put(alice, "se/e.php", "<?php foreach (['HTTP_AUTHORIZATION', 'IS_CURL', 'IS_SCRIPT', 'NO_HEADER', "
                           "'SECRET_HEADER', 'MOZILLA', 'CHAINED'] as $k) "
                           "echo $k, '=', $_SERVER[$k] ?? '(unset)', \"\\n\";\n")
    put(alice, "se/deny.txt", "ok\n")
    server = serve(itkgw_factory, alice, "All")
    seen = server.request("alice.test", "/se/e.php", headers={
        "Authorization": "Bearer t", "X-Secret": "top secret", "User-Agent": "curl/7.88"})
    assert seen.body.decode().splitlines() == [
        "HTTP_AUTHORIZATION=Bearer t", "IS_CURL=1", "IS_SCRIPT=yes", "NO_HEADER=1", "SECRET_HEADER=$0",
        "MOZILLA=(unset)", "CHAINED=from-var"]
    browser = server.request("alice.test", "/se/e.php", headers={"User-Agent": "Mozilla/5.0"}).body.decode()
    assert "MOZILLA=1" in browser and "IS_CURL=(unset)" in browser
    assert server.request("alice.test", "/se/deny.txt").status == 403
    assert server.request("alice.test", "/se/deny.txt", headers={"X-Pass": "ok"}).body == b"ok\n"


#: <Limit> files as old .htaccess hardening snippets write them, and what Apache 2.4.71 +
#: mod_authz_core + mod_access_compat answered GET, POST, PUT and OPTIONS with.
LIMITS = {
    "post": ("<Limit POST>\nRequire all denied\n</Limit>\n", (200, 403, 405, 200)),
    "except": ("<LimitExcept GET>\nRequire all denied\n</LimitExcept>\n", (200, 403, 403, 403)),
    "compat": ("<Limit GET POST>\norder deny,allow\ndeny from all\nallow from all\n</Limit>\n"
               "<Limit PUT DELETE>\norder deny,allow\ndeny from all\n</Limit>\n", (200, 200, 403, 200)),
    "mixed": ("Require all denied\n<Limit GET>\nRequire all granted\n</Limit>\n", (200, 403, 403, 403)),
    "order": ("<Limit POST>\norder allow,deny\n</Limit>\n", (200, 403, 405, 200)),
    # The configuration closes these two; their .htaccess rules replace its own.
    "closed/opened": ("<Limit POST>\nRequire all granted\n</Limit>\n", (200, 200, 405, 200)),
    "closed/granted": ("Require all granted\n", (200, 200, 405, 200)),
}


def test_limit_sections_in_htaccess_answer_each_method_as_apache_does(itkgw_factory, docroots,
                                                                     put: Put) -> None:
    alice = docroots[ALICE]
    for folder, (text, _) in LIMITS.items():
        put(alice, f"lim/{folder}/.htaccess", text)
        put(alice, f"lim/{folder}/x.txt", "x\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", directory=[
        {"path": str(alice.htdocs), "allow_override": ["All"]},
        {"path": str(alice.htdocs / "lim" / "closed"), "require": ["all denied"]}])])
    answered = {folder: tuple(server.request("alice.test", f"/lim/{folder}/x.txt", method=method).status
                              for method in ("GET", "POST", "PUT", "OPTIONS")) for folder in LIMITS}
    assert answered == {folder: statuses for folder, (_, statuses) in LIMITS.items()}


def test_header_rules_with_env_apply_as_the_request_s_variables_say(itkgw_factory, docroots,
                                                                    put: Put) -> None:
    """mod_deflate's stock companion line, and a RequestHeader only some requests get."""
    alice = docroots[ALICE]
    put(alice, "hv/.htaccess", "SetEnvIfNoCase Request_URI \\.gif$ dont-vary\n"
                               "Header append Vary User-Agent env=!dont-vary\n"
                               "SetEnvIf X-Api ^1$ API\nRequestHeader set X-From-Api yes env=API\n")
    put(alice, "hv/a.txt", "text\n")
    put(alice, "hv/a.gif", "GIF89a")
    put(alice, "hv/h.php", "<?php echo $_SERVER['HTTP_X_FROM_API'] ?? '-';\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    assert server.request("alice.test", "/hv/a.txt").headers["Vary"] == "User-Agent"
    assert server.request("alice.test", "/hv/a.gif").headers["Vary"] is None
    assert server.request("alice.test", "/hv/h.php", headers={"X-Api": "1"}).body == b"yes"
    assert server.request("alice.test", "/hv/h.php").body == b"-"


def test_header_values_fill_in_mod_headers_format_specifiers(itkgw_factory, docroots, put: Put) -> None:
    """Nextcloud's Authorization relay for FastCGI (SetEnvIfNoCase, then RequestHeader set with
    %{VAR}e), and %t, %D, %% and an unset variable's (null) in a response header; a file
    served twice gets fresh values (its route is not reused with old ones)."""
    alice = docroots[ALICE]
    put(alice, "hf/.htaccess", 'SetEnvIfNoCase ^Authorization$ "(.+)" XAUTHORIZATION=$1\n'
                               "RequestHeader set XAuthorization %{XAUTHORIZATION}e env=XAUTHORIZATION\n"
                               'Header set X-Timing "%t %D 100%% %{NOPE}e"\n')
    put(alice, "hf/h.php", "<?php echo $_SERVER['HTTP_XAUTHORIZATION'] ?? '-';\n")
    put(alice, "hf/a.txt", "text\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    relayed = server.request("alice.test", "/hf/h.php", headers={"Authorization": "Bearer abc"})
    assert relayed.body == b"Bearer abc"
    assert server.request("alice.test", "/hf/h.php").body == b"-"
    stamps = []
    for _ in range(2):
        timing = server.request("alice.test", "/hf/a.txt").headers["X-Timing"]
        now, took, percent, unset = timing.split(" ")
        assert (now[:2], took[:2], percent, unset) == ("t=", "D=", "100%", "(null)"), timing
        assert abs(int(now[2:]) / 1e6 - time.time()) < 60 and int(took[2:]) >= 0
        stamps.append(now)
        time.sleep(0.01)
    assert stamps[0] != stamps[1]


def test_header_values_as_expressions_escapes_and_load_formats(itkgw_factory, docroots, put: Put) -> None:
    """mod_headers' expr= value (a string ap_expr, case-sensitive prefix: no Vary for the headers
    it reads), its \\t and \\\\ escapes, %l, %i and %b; a value that makes a CR or LF answers 500,
    and a format or an expression it cannot read is the .htaccess file's error (500), as httpd's."""
    alice = docroots[ALICE]
    put(alice, "hx/.htaccess", 'Header set X-Expr "expr=%{QUERY_STRING}/%{HTTP:X-In}/%{tolower:ABC}"\n'
                               'Header set X-Tab "a\\tb\\\\c \\q"\n'
                               'Header set X-Load "%l %i %b"\n')
    bad = {"hn": 'Header set X-Bad "a\\nb"', "hf": 'Header set X-Bad "50%off"',
           "he": 'Header set X-Bad "EXPR=%{REQUEST_METHOD}"'}
    for folder in ("hx", *bad):
        if folder in bad:
            put(alice, f"{folder}/.htaccess", bad[folder] + "\n")
        put(alice, f"{folder}/a.txt", "text\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    answer = server.request("alice.test", "/hx/a.txt?q=1", headers={"X-In": "v"})
    assert answer.status == 200
    assert answer.headers["X-Expr"] == "q=1/v/abc" and answer.headers["Vary"] is None
    assert answer.headers["X-Tab"] == "a\tb\\c \\q"
    load, idle, busy = answer.headers["X-Load"].split(" ")
    assert re.fullmatch(r"l=[0-9]+\.[0-9]{2}/[0-9]+\.[0-9]{2}/[0-9]+\.[0-9]{2}", load), load
    assert re.fullmatch(r"i=[0-9]+", idle) and re.fullmatch(r"b=[0-9]+", busy)
    assert 0 < int(busy[2:]) <= 100 and int(idle[2:]) + int(busy[2:]) <= 100
    refused = server.request("alice.test", "/hn/a.txt")
    assert refused.status == 500 and refused.headers["X-Bad"] is None
    logged = server.error_log_text()
    assert r"AH02430: Response header 'X-Bad' value of 'a\nb' contains invalid characters" in logged
    assert server.request("alice.test", "/hf/a.txt").status == 500
    assert server.request("alice.test", "/he/a.txt").status == 500
    assert "Unrecognized header format %o" in server.error_log_text()


#: SetEnvIfExpr among SetEnvIf lines; each result was compared with Apache + mod_setenvif.
SETENVIFEXPR = r"""SetEnvIfExpr "req('X-Proto') == 'https'" A=on
SetEnvIfExpr "%{HTTP_USER_AGENT} =~ m#^curl/([0-9]+)\.([0-9]+)#" B=major$1.minor$2 C
SetEnvIfExpr "-z req('X-None')" D=empty
SetEnvIf X-Proto "^(.*)$" E=$1
SetEnvIfExpr "reqenv('E') == 'https'" F
SetEnvIfExpr "%{QUERY_STRING} =~ /x=([a-z]+)/" A=q$1
SetEnvIfExpr "%{REQUEST_FILENAME} =~ /env\.php$/" G=file !D
"""


def test_setenvifexpr_sets_variables_when_its_expression_holds(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "sx/.htaccess", SETENVIFEXPR)
    put(alice, "sx/env.php", "<?php foreach (['A', 'B', 'C', 'D', 'E', 'F', 'G'] as $n) "
                             "echo $n, '=', var_export(getenv($n), true), ' ';\n")
    in_vhost = [{"expr": "req('X-Tenant') =~ /^t-([a-z]+)$/", "env": ["TENANT=$1"]}]
    server = serve(itkgw_factory, alice, "FileInfo", set_env_if=in_vhost)
    curl = server.request("alice.test", "/sx/env.php",
                          headers={"User-Agent": "curl/8.1.2", "X-Proto": "https"})
    assert curl.body == b"A='on' B='major8.minor1' C='1' D=false E='https' F='1' G='file' "
    browser = server.request("alice.test", "/sx/env.php?x=abc", headers={"User-Agent": "Mozilla",
                                                                          "X-None": "x"})
    assert browser.body == b"A='qabc' B=false C=false D=false E='' F=false G='file' "
    put(alice, "tenant.php", "<?php echo getenv('TENANT');\n")
    assert server.request("alice.test", "/tenant.php", headers={"X-Tenant": "t-acme"}).body == b"acme"


def test_a_changed_htaccess_counts_from_the_next_request(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    htaccess = put(alice, "live/.htaccess", "Header set X-Version one\n")
    put(alice, "live/page.html", "page\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        versions = []
        for text in ("Header set X-Version one\n", "Header set X-Version two-and-longer\n"):
            htaccess.write_text(text)
            os.utime(htaccess, ns=(time.time_ns(), time.time_ns()))
            connection.request("GET", "/live/page.html", headers={"Host": "alice.test"})
            response = connection.getresponse()
            response.read()
            versions.append(response.getheader("X-Version"))
    finally:
        connection.close()
    assert versions == ["one", "two-and-longer"]


def test_redirect_and_redirect_match_in_an_htaccess_as_under_apache(itkgw_factory, docroots,
                                                                     put: Put) -> None:
    """DokuWiki's <IfModule alias_module> RedirectMatch 404 /\\.git among them."""
    alice = docroots[ALICE]
    put(alice, "old/.htaccess", "Redirect 301 /old/page.html /new.html\n<IfModule alias_module>\n"
                                "    RedirectMatch 404 /\\.git\n</IfModule>\n"
                                "RedirectMatch 302 ^/old/item/([0-9]+)$ http://other.test/items/$1\n"
                                "RedirectMatch 302 ^/old/tag/(.*)$ /tags/$1?from=old\n"
                                "Redirect 301 /old/dir /new/dir\n")
    put(alice, "old/page.html", "page\n")
    put(alice, "old/.git/config", "[core]\n")
    put(alice, "old/kept.html", "kept\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    moved = server.request("alice.test", "/old/page.html?x=1")
    assert (moved.status, moved.headers["Location"]) == (301, "http://alice.test/new.html?x=1")
    assert server.request("alice.test", "/old/.git/config").status == 404
    item = server.request("alice.test", "/old/item/42?y=2")
    assert (item.status, item.headers["Location"]) == (302, "http://other.test/items/42?y=2")
    # What the path gives the target is escaped; a target with its own query keeps it alone.
    tag = server.request("alice.test", "/old/tag/a%20b?y=2")
    assert (tag.status, tag.headers["Location"]) == (302, "http://alice.test/tags/a%20b?from=old")
    below = server.request("alice.test", "/old/dir/x%20y.html?z=1")
    assert below.headers["Location"] == "http://alice.test/new/dir/x%20y.html?z=1"
    assert server.request("alice.test", "/old/kept.html").body == b"kept\n"


#: What the front controllers below print of $_SERVER.
FRONT_CONTROLLER = """<?php
foreach (['REQUEST_METHOD', 'REQUEST_URI', 'SCRIPT_NAME', 'PHP_SELF', 'PATH_INFO', 'QUERY_STRING',
          'REDIRECT_URL', 'REDIRECT_STATUS', 'REDIRECT_QUERY_STRING', 'REDIRECT_HTTP_AUTHORIZATION',
          'HTTP_AUTHORIZATION'] as $name) {
    echo $name, '=', $_SERVER[$name] ?? '(unset)', "\n";
}
echo 'POST=', json_encode($_POST), "\n";
"""

#: WordPress's own .htaccess (as wp-admin writes it for a blog in /blog/).
WORDPRESS = """# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteBase /blog/
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /blog/index.php [L]
</IfModule>
# END WordPress
"""

#: Laravel's public/.htaccess.
LARAVEL = """<IfModule mod_rewrite.c>
    <IfModule mod_negotiation.c>
        Options -MultiViews -Indexes
    </IfModule>

    RewriteEngine On

    # Handle Authorization Header
    RewriteCond %{HTTP:Authorization} .
    RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]

    # Handle X-XSRF-Token Header
    RewriteCond %{HTTP:x-xsrf-token} .
    RewriteRule .* - [E=HTTP_X_XSRF_TOKEN:%{HTTP:X-XSRF-Token}]

    # Redirect Trailing Slashes If Not A Folder...
    RewriteCond %{REQUEST_FILENAME} !-d
    RewriteCond %{REQUEST_URI} (.+)/$
    RewriteRule ^ %1 [L,R=301]

    # Send Requests To Front Controller...
    RewriteCond %{REQUEST_FILENAME} !-d
    RewriteCond %{REQUEST_FILENAME} !-f
    RewriteRule ^ index.php [L]
</IfModule>
"""


def _server_values(body: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body.decode().splitlines())


def test_a_rewritten_query_is_the_one_passed_on_and_server_port_is_httpds(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    """httpd sets the rule's query on the request before its internal redirect, so the script's
    REDIRECT_QUERY_STRING is the rule's; %{SERVER_PORT} is the Host header's (80 without one),
    as UseCanonicalName Off gives it to scripts too."""
    alice = docroots[ALICE]
    put(alice, "q/.htaccess", "RewriteEngine On\nRewriteRule ^a$ show.php?y=2 [L]\n"
                              "RewriteRule ^b$ show.php?port=%{SERVER_PORT}&name=%{SERVER_NAME} [L]\n")
    put(alice, "q/show.php", "<?php foreach (['QUERY_STRING', 'REDIRECT_QUERY_STRING', 'SERVER_PORT']\n"
                             "    as $k) echo $k, '=', $_SERVER[$k] ?? '(unset)', \"\\n\";\n")
    server = serve(itkgw_factory, alice, "All")
    assert _server_values(server.request("alice.test", "/q/a?x=1").body) == {
        "QUERY_STRING": "y=2", "REDIRECT_QUERY_STRING": "y=2", "SERVER_PORT": "80"}
    named = _server_values(server.request("alice.test", "/q/b").body)
    assert named["QUERY_STRING"] == "port=80&name=alice.test"


def test_the_answer_to_a_rewritten_request_names_the_headers_the_rules_read(itkgw_factory, docroots,
                                                                           put: Put) -> None:
    """httpd's Vary after a per-directory rewrite's internal redirect: the headers its held
    conditions read, and those an expr condition read, made one header as httpd's filter does."""
    alice = docroots[ALICE]
    put(alice, "v/.htaccess", "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} mobile [NC]\n"
                              "RewriteCond %{HTTP:Accept-Language} fr\nRewriteRule ^a$ m.txt [L]\n"
                              "RewriteCond expr \"req('X-Test') =~ /^ab/\"\nRewriteRule ^b$ m.txt [L]\n")
    put(alice, "v/m.txt", "mobile\n")
    server = serve(itkgw_factory, alice, "All")
    both = server.request("alice.test", "/v/a", headers={"User-Agent": "Mobile", "Accept-Language": "fr"})
    assert (both.body, both.headers["Vary"]) == (b"mobile\n", "User-Agent,Accept-Language")
    expressed = server.request("alice.test", "/v/b", headers={"X-Test": "abc"})
    assert (expressed.body, expressed.headers["Vary"]) == (b"mobile\n", "X-Test")


def test_header_rules_with_an_expr_condition_apply_as_it_holds(itkgw_factory, docroots, put: Put) -> None:
    """mod_headers' expr=: the HSTS line that applies over HTTPS alone, a rule on a request
    header, and RequestHeader's for PHP; the request headers they read are named in Vary,
    held or not, as httpd's ap_expr notes them."""
    alice = docroots[ALICE]
    put(alice, "hx/.htaccess", "Header always set Strict-Transport-Security max-age=1 "
                               "\"expr=%{HTTPS} == 'on'\"\n"
                               "Header set X-Plain yes \"expr=%{HTTPS} == 'off'\"\n"
                               "Header set X-Test-Seen yes \"expr=req('X-Test') == 'a'\"\n"
                               "RequestHeader set X-Curl 1 \"expr=%{HTTP_USER_AGENT} =~ /curl/\"\n")
    put(alice, "hx/a.txt", "a\n")
    put(alice, "hx/p.php", "<?php echo $_SERVER['HTTP_X_CURL'] ?? 'none';\n")
    server = serve(itkgw_factory, alice, "All")
    plain = server.request("alice.test", "/hx/a.txt")
    assert (plain.headers["Strict-Transport-Security"], plain.headers["X-Plain"]) == (None, "yes")
    assert (plain.headers["X-Test-Seen"], plain.headers["Vary"]) == (None, "User-Agent,X-Test")
    assert server.request("alice.test", "/hx/a.txt", headers={"X-Test": "a"}).headers["X-Test-Seen"] == "yes"
    curl = server.request("alice.test", "/hx/p.php", headers={"User-Agent": "curl/8"})
    assert (curl.body, curl.headers["Vary"]) == (b"1", "User-Agent,X-Test")
    assert server.request("alice.test", "/hx/p.php", headers={"User-Agent": "firefox"}).body == b"none"


@pytest.mark.parametrize("model", ["itk", "pool"])
def test_if_elseif_and_else_in_an_htaccess_file_apply_per_request(itkgw_factory, docroots, put: Put,
                                                                  model: str) -> None:
    """Nextcloud's .htaccess has <If> in a <FilesMatch>: httpd judges the sections for each
    request (the same file answered by one route and then another, a keep-alive connection
    too), naming the request headers their conditions read in Vary; one holds php_value."""
    alice = docroots[ALICE]
    put(alice, "nc/.htaccess", '<FilesMatch "\\.(css|js)$">\n'
                               '  <If "%{QUERY_STRING} =~ /(^|&)v=/">\n'
                               '    Header set Cache-Control "max-age=15778463, immutable"\n  </If>\n'
                               '  <Else>\n    Header set Cache-Control "max-age=15778463"\n  </Else>\n'
                               '</FilesMatch>\n'
                               '<If "%{QUERY_STRING} == \'a\'">\n  Header set X-W a\n</If>\n'
                               '<ElseIf "%{QUERY_STRING} == \'b\'">\n  Header set X-W b\n</ElseIf>\n'
                               '<Else>\n  Header set X-W other\n</Else>\n'
                               '<If "req(\'X-Block\') == \'1\'">\n  Require all denied\n</If>\n'
                               '<If "%{REQUEST_URI} =~ m#\\.php$#">\n'
                               '  php_value default_charset ISO-8859-1\n</If>\n')
    put(alice, "nc/style.css", "a{}\n")
    put(alice, "nc/page.txt", "page\n")
    put(alice, "nc/charset.php", "<?php echo ini_get('default_charset');\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], directory=[
        {"path": str(alice.htdocs), "allow_override": ["All"]}])], process_model=model)
    assert server.request("alice.test", "/nc/style.css?v=2").headers["Cache-Control"] == \
        "max-age=15778463, immutable"
    assert server.request("alice.test", "/nc/style.css").headers["Cache-Control"] == "max-age=15778463"
    kept = raw_exchange(server.port, b"".join(
        b"GET /nc/page.txt%s HTTP/1.1\r\nHost: alice.test\r\n%s\r\n" % (query, closing)
        for query, closing in ((b"?a", b""), (b"?b", b""), (b"", b"Connection: close\r\n"))))
    assert [line for line in kept.split(b"\r\n") if line.startswith(b"X-W: ")] == [
        b"X-W: a", b"X-W: b", b"X-W: other"]
    assert b"\r\nVary: X-Block\r\n" in kept
    assert server.request("alice.test", "/nc/page.txt", headers={"X-Block": "1"}).status == 403
    assert server.request("alice.test", "/nc/charset.php").body == b"ISO-8859-1"


def test_rewrite_cookies_go_with_any_answer_and_next_runs_the_rules_again(itkgw_factory, docroots,
                                                                         put: Put) -> None:
    """CO= sets its cookie on the answer whatever it is (the page a rule forbids, the script a
    rule leads to, beside the script's own); N starts the rules again, a 500 past its limit."""
    alice = docroots[ALICE]
    put(alice, "co/.htaccess", "RewriteEngine On\n"
                               "RewriteCond %{QUERY_STRING} lang=(\\w+)\n"
                               "RewriteRule ^page$ page.php [CO=lang:%1:alice.test,L]\n"
                               "RewriteRule ^closed$ - [CO=seen:1:alice.test,F]\n"
                               "RewriteRule ^(.*)-(.*)$ $1_$2 [N]\n"
                               "RewriteRule ^loop$ loop [N=3]\n")
    put(alice, "co/page.php", "<?php setcookie('php', '1'); echo 'page';\n")
    put(alice, "co/a_b_c", "abc\n")
    server = serve(itkgw_factory, alice, "All")
    page = server.request("alice.test", "/co/page?lang=fr")
    assert page.body == b"page" and sorted(page.headers.get_all("Set-Cookie")) == [
        "lang=fr; path=/; domain=alice.test", "php=1"]
    closed = server.request("alice.test", "/co/closed")
    assert (closed.status, closed.headers["Set-Cookie"]) == (403, "seen=1; path=/; domain=alice.test")
    assert server.request("alice.test", "/co/a-b-c").body == b"abc\n"
    assert server.request("alice.test", "/co/loop").status == 500
    assert _logged(server, "exceeded maximum number of rounds (3) via the [N] flag")


def test_default_language_and_add_language_name_every_answer_of_their_files(itkgw_factory, docroots,
                                                                           put: Put) -> None:
    """mod_mime's languages go on a file's answer whatever serves it, a script's too, first in
    its Content-Language (a script's own languages after them, as httpd's header filter joins
    them); DefaultLanguage for a file whose endings name none, as written."""
    alice = docroots[ALICE]
    put(alice, "lang/.htaccess", "DefaultLanguage DE\nAddLanguage fr .fr\n")
    put(alice, "lang/page.html", "de\n")
    put(alice, "lang/page.fr.html", "fr\n")
    put(alice, "lang/script.php", "<?php header('Content-Language: en, de'); echo 'php';\n")
    server = serve(itkgw_factory, alice, "All")
    assert server.request("alice.test", "/lang/page.html").headers["Content-Language"] == "DE"
    assert server.request("alice.test", "/lang/page.fr.html").headers["Content-Language"] == "fr"
    for _ in range(2):  # the second time by the route remembered
        assert server.request("alice.test", "/lang/script.php").headers["Content-Language"] == "DE,en"
    assert server.request("alice.test", "/lang/missing").headers["Content-Language"] is None


def test_wordpress_pretty_permalinks_reach_index_php_as_under_apache(itkgw_factory, docroots,
                                                                      put: Put) -> None:
    """The values Apache 2.4.71 + mpm-itk + mod_php gave for the same files on this machine."""
    alice = docroots[ALICE]
    put(alice, "blog/.htaccess", WORDPRESS)
    put(alice, "blog/index.php", FRONT_CONTROLLER)
    put(alice, "blog/readme.txt", "a real file\n")
    server = serve(itkgw_factory, alice, "All")
    pretty = server.request("alice.test", "/blog/hello-world/?p=1", headers={"Authorization": "Bearer tok"})
    assert _server_values(pretty.body) == {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/blog/hello-world/?p=1", "SCRIPT_NAME": "/blog/index.php",
        "PHP_SELF": "/blog/index.php", "PATH_INFO": "(unset)", "QUERY_STRING": "p=1",
        "REDIRECT_URL": "/blog/hello-world/", "REDIRECT_STATUS": "200", "REDIRECT_QUERY_STRING": "p=1",
        "REDIRECT_HTTP_AUTHORIZATION": "Bearer tok", "HTTP_AUTHORIZATION": "Bearer tok", "POST": "[]"}
    posted = _server_values(server.request("alice.test", "/blog/wp-json/wp/v2/posts", method="POST",
                                           body=b"a=1", headers={
                                               "Content-Type": "application/x-www-form-urlencoded"}).body)
    assert (posted["REQUEST_METHOD"], posted["POST"], posted["REDIRECT_URL"]) == (
        "POST", '{"a":"1"}', "/blog/wp-json/wp/v2/posts")
    assert posted["REDIRECT_QUERY_STRING"] == "(unset)" and posted["HTTP_AUTHORIZATION"] == ""
    assert server.request("alice.test", "/blog/readme.txt").body == b"a real file\n"


def test_laravel_public_htaccess_routes_to_its_front_controller(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "app/.htaccess", LARAVEL)
    put(alice, "app/index.php", FRONT_CONTROLLER)
    put(alice, "app/robots.txt", "User-agent: *\n")
    server = serve(itkgw_factory, alice, "All")
    routed = server.request("alice.test", "/app/users/5?x=1", headers={"Authorization": "Bearer tok"})
    assert routed.headers["Vary"] == "Authorization"
    values = _server_values(routed.body)
    assert (values["REQUEST_URI"], values["SCRIPT_NAME"], values["QUERY_STRING"], values["REDIRECT_URL"]) == (
        "/app/users/5?x=1", "/app/index.php", "x=1", "/app/users/5")
    assert values["REDIRECT_HTTP_AUTHORIZATION"] == values["HTTP_AUTHORIZATION"] == "Bearer tok"
    slash = server.request("alice.test", "/app/users/")
    assert (slash.status, slash.headers["Location"]) == (301, "http://alice.test/app/users")
    assert server.request("alice.test", "/app/robots.txt").body == b"User-agent: *\n"


#: Drupal's FilesMatch of files no one may fetch.
_PRYING_EYES = (
    "\\.(engine|inc|install|make|module|profile|po|sh|.*sql|theme|twig|tpl(\\.php)?|xtmpl|yml)"
    "(~|\\.sw[op]|\\.bak|\\.orig|\\.save)?$|^(\\..*|Entries.*|Repository|Root|Tag|Template)$|^#.*#$|"
    "\\.php(~|\\.sw[op]|\\.bak|\\.orig|\\.save)$")

#: The parts of Drupal's stock .htaccess that decide routing and refusals.
DRUPAL = '<FilesMatch "' + _PRYING_EYES + '">\n' + """  <IfModule mod_authz_core.c>
    Require all denied
  </IfModule>
  <IfModule !mod_authz_core.c>
    Order allow,deny
  </IfModule>
</FilesMatch>
Options -Indexes
DirectoryIndex index.php index.html index.htm
AddType image/svg+xml svg svgz
AddEncoding gzip svgz
<IfModule mod_expires.c>
  ExpiresActive On
  ExpiresDefault A1209600
  <FilesMatch \\.php$>
    ExpiresActive Off
  </FilesMatch>
</IfModule>
<IfModule !mod_rewrite.c>
  FallbackResource /index.php
</IfModule>
<IfModule mod_rewrite.c>
  RewriteEngine on
  RewriteRule ^ - [E=protossl]
  RewriteCond %{HTTPS} on
  RewriteRule ^ - [E=protossl:s]
  RewriteRule ^ - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
  RewriteRule "(^|/)\\." - [F]
  RewriteRule ^core/install.php core/install.php?rewrite=ok [QSA,L]
  RewriteCond %{REQUEST_FILENAME} !-f
  RewriteCond %{REQUEST_FILENAME} !-d
  RewriteCond %{REQUEST_URI} !=/favicon.ico
  RewriteRule ^ index.php [L]
  RewriteCond %{REQUEST_URI} !/core/[^/]*\\.php$
  RewriteRule "^(.+/.*|autoload)\\.php($|/)" - [F]
  <IfModule mod_headers.c>
    RewriteCond %{HTTP:Accept-encoding} gzip
    RewriteCond %{REQUEST_FILENAME}\\.gz -s
    RewriteRule ^(.*)\\.css $1\\.css\\.gz [QSA]
    RewriteRule \\.css\\.gz$ - [T=text/css,E=no-gzip:1]
    <FilesMatch "(\\.js\\.gz|\\.css\\.gz)$">
      Header set Content-Encoding gzip
      Header append Vary Accept-Encoding
    </FilesMatch>
  </IfModule>
</IfModule>
<IfModule mod_headers.c>
  Header always set X-Content-Type-Options nosniff
  RequestHeader unset Proxy
</IfModule>
"""


def test_drupal_htaccess_routes_refuses_and_serves_compressed_files_as_under_apache(
        itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "d/.htaccess", DRUPAL)
    put(alice, "d/index.php", FRONT_CONTROLLER)
    put(alice, "d/core/install.php", "<?php echo 'install ', $_SERVER['QUERY_STRING'];\n")
    put(alice, "d/sites/x/settings.php", "<?php echo 'settings';\n")
    put(alice, "d/x.module", "module source\n")
    put(alice, "d/logo.svgz", "svgz bytes\n")
    put(alice, "d/style.css", "x{}\n")
    put(alice, "d/style.css.gz", "gzipped css\n")
    server = serve(itkgw_factory, alice, "All")
    routed = _server_values(server.request("alice.test", "/d/node/1").body)
    assert (routed["REQUEST_URI"], routed["SCRIPT_NAME"], routed["REDIRECT_URL"]) == (
        "/d/node/1", "/d/index.php", "/d/node/1")
    assert _server_values(server.request("alice.test", "/d/").body)["SCRIPT_NAME"] == "/d/index.php"
    for refused in ("/d/sites/x/settings.php", "/d/x.module", "/d/.hidden"):
        answer = server.request("alice.test", refused)
        assert (answer.status, answer.headers["X-Content-Type-Options"]) == (403, "nosniff"), refused
    assert server.request("alice.test", "/d/core/install.php?a=1").body == b"install rewrite=ok&a=1"
    svgz = server.request("alice.test", "/d/logo.svgz")
    assert (svgz.headers["Content-Type"], svgz.headers["Content-Encoding"]) == ("image/svg+xml", "gzip")
    assert svgz.headers["Cache-Control"] == "max-age=1209600"
    assert server.request("alice.test", "/d/node/1").headers["Expires"] is None  # PHP: ExpiresActive Off
    css = server.request("alice.test", "/d/style.css", headers={"Accept-Encoding": "gzip"})
    assert (css.body, css.headers["Content-Type"], css.headers["Content-Encoding"]) == (
        b"gzipped css\n", "text/css", "gzip")
    # The rewrite's condition named the header first, as %{HTTP:Accept-encoding}: httpd's
    # answer keeps that spelling through the redirect, and names it once.
    assert css.headers["Vary"] == "Accept-encoding"
    assert server.request("alice.test", "/d/style.css").body == b"x{}\n"


def test_rewrite_rules_in_a_directory_section_and_their_flags(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "shop/show.php", "<?php echo $_GET['id'] ?? '-', ' ', $_SERVER['REDIRECT_URL'] ?? '-';\n")
    put(alice, "shop/private/data.txt", "data\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], directory=[
        {"path": str(alice.htdocs / "shop"), "rewrite_engine": True, "rewrite_rules": [
            {"pattern": "^private/", "substitution": "-", "flags": ["F"], "conditions": []},
            {"pattern": "^item/([0-9]+)$", "substitution": "show.php?id=$1", "flags": ["L", "QSA"],
             "conditions": []},
            {"pattern": "^gone$", "substitution": "-", "flags": ["G"], "conditions": []}]}])])
    assert server.request("alice.test", "/shop/item/42?ref=x").body == b"42 /shop/item/42"
    assert server.request("alice.test", "/shop/private/data.txt").status == 403
    assert server.request("alice.test", "/shop/gone").status == 410
    assert server.request("alice.test", "/shop/show.php?id=7").body == b"7 -"


def test_end_stops_the_rules_for_the_internal_redirect_too_and_l_does_not(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    alice = docroots[ALICE]
    for flag in ("END", "L"):
        put(alice, f"{flag}/.htaccess", f"RewriteEngine On\nRewriteRule ^a$ b [{flag}]\nRewriteRule ^b$ c\n")
        put(alice, f"{flag}/b", "file b\n")
        put(alice, f"{flag}/c", "file c\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    assert server.request("alice.test", "/END/a").body == b"file b\n"
    assert server.request("alice.test", "/L/a").body == b"file c\n"


def test_an_htaccess_makes_other_files_php_by_addhandler_or_a_rewrite_flag(itkgw_factory, docroots,
                                                                           put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "added/.htaccess", "AddHandler application/x-httpd-php .html\n")
    put(alice, "added/page.html", "<?php echo 'ran ', 1 + 1;\n")
    put(alice, "flagged/.htaccess", "RewriteEngine On\nRewriteRule \\.txt$ - [H=application/x-httpd-php]\n")
    put(alice, "flagged/page.txt", "<?php echo 'ran ', 2 + 2;\n")
    put(alice, "flagged/page.html", "<?php echo 'ran';\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    assert server.request("alice.test", "/added/page.html").body == b"ran 2"
    assert server.request("alice.test", "/flagged/page.txt").body == b"ran 4"
    assert server.request("alice.test", "/flagged/page.html").body == b"<?php echo 'ran';\n"


def test_rewriteoptions_inherit_runs_the_parent_s_rules_in_the_child_s_place(itkgw_factory, docroots,
                                                                           put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "ro/.htaccess", "RewriteEngine On\nRewriteRule ^p$ parent.html [L]\n")
    put(alice, "ro/sub/.htaccess", "RewriteEngine On\nRewriteOptions Inherit\n"
                                   "RewriteRule ^c$ child.html [L]\n")
    put(alice, "ro/first/.htaccess", "RewriteEngine On\nRewriteOptions InheritBefore\n"
                                     "RewriteRule ^p$ child.html [L]\n")
    put(alice, "ro/own/.htaccess", "RewriteEngine On\nRewriteRule ^c$ child.html [L]\n")
    for folder in ("ro", "ro/sub", "ro/first", "ro/own"):
        put(alice, f"{folder}/parent.html", f"{folder} parent\n")
        put(alice, f"{folder}/child.html", f"{folder} child\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    answers = {url: server.request("alice.test", url) for url in (
        "/ro/sub/p", "/ro/sub/c", "/ro/first/p", "/ro/own/p")}
    assert {url: (a.status, a.body) for url, a in answers.items()} == {
        "/ro/sub/p": (200, b"ro/sub parent\n"), "/ro/sub/c": (200, b"ro/sub child\n"),
        "/ro/first/p": (200, b"ro/first parent\n"), "/ro/own/p": (404, answers["/ro/own/p"].body)}


def test_a_rewrite_loop_ends_at_httpd_s_limit(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "loop/.htaccess", "RewriteEngine On\nRewriteRule ^(.*)$ /loop/x$1 [L]\n")
    server = serve(itkgw_factory, alice, "All")
    assert server.request("alice.test", "/loop/a").status == 500
    assert _logged(server, "AH00124: Request exceeded the limit of 10 internal redirects")


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_php_value_in_an_htaccess_yields_to_php_admin_value(itkgw_factory, docroots, put: Put,
                                                            handler: str) -> None:
    alice = docroots[ALICE]
    put(alice, "site/.htaccess", "php_value precision 9\nphp_value open_basedir /\n")
    put(alice, "site/ini.php", "<?php echo ini_get('precision'), ' ', ini_get('open_basedir');\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], php_handler=handler,
                                      directory=[{"path": str(alice.htdocs), "allow_override": ["Options"],
                                                  "php_settings": [{"name": "open_basedir", "admin": True,
                                                                    "value": str(alice.htdocs)}]}])])
    assert server.request("alice.test", "/site/ini.php").body == f"9 {alice.htdocs}".encode()


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_a_php_value_is_the_text_written_as_mod_php_hands_it_on(itkgw_factory, docroots, put: Put,
                                                                handler: str) -> None:
    """No constants (E_ALL is text, so error_reporting() is 0), keywords or ${VAR}; "none" is
    the empty value; an empty argument is a missing one (a 500, as httpd's TAKE2)."""
    alice = docroots[ALICE]
    put(alice, "app/.htaccess", 'php_value error_reporting "E_ALL & ~E_NOTICE"\n'
                                'php_value arg_separator.output "&amp;"\nphp_value session.name yes\n'
                                'php_value include_path ".:${NO_SUCH_VARIABLE}"\n'
                                "php_value auto_prepend_file none\n")
    put(alice, "app/ini.php", "<?php foreach (['error_reporting', 'arg_separator.output', 'session.name',"
                              " 'include_path', 'auto_prepend_file'] as $k) echo ini_get($k), '|';"
                              " echo error_reporting();\n")
    put(alice, "empty/.htaccess", 'php_value default_charset ""\n')
    put(alice, "empty/ini.php", "<?php echo 1;\n")
    server = serve(itkgw_factory, alice, "All", php_handler=handler)
    assert server.request("alice.test", "/app/ini.php").body == \
        b"E_ALL & ~E_NOTICE|&amp;|yes|.:${NO_SUCH_VARIABLE}||0"
    assert _logged(server, "AH00111: Config variable ${NO_SUCH_VARIABLE} is not defined")
    assert server.request("alice.test", "/empty/ini.php").status == 500


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_variables_reach_php_in_httpd_s_order_setenv_last(itkgw_factory, docroots, put: Put,
                                                          handler: str) -> None:
    """SetEnv wins over SetEnvIf and a rewrite's E= (mod_env sets it last) and is what goes on as
    REDIRECT_; $_SERVER lists the earlier request's, then the request's own, then the headers
    in the order sent, then the server's, as under mod_php."""
    alice = docroots[ALICE]
    put(alice, "app/.htaccess", "SetEnv XA fromsetenv\nSetEnvIf Request_URI . XB=fromif XA=fromif\n"
                                "RewriteEngine On\nRewriteRule ^go$ k.php [E=XC:rewrite,E=XA:rewrite,L]\n")
    put(alice, "app/k.php", "<?php foreach ($_SERVER as $k => $v)"
                            " if (preg_match('/^(REDIRECT_)?(X|HTTP_)/', $k)) echo $k, '=', $v, ' ';"
                            " echo implode(',', array_keys(getallheaders()));\n")
    server = serve(itkgw_factory, alice, "All", php_handler=handler)
    answer = server.request("alice.test", "/app/go", headers={"X-Second": "2", "Accept": "*/*"})
    assert answer.body.decode() == (
        "REDIRECT_XB=fromif REDIRECT_XA=fromsetenv REDIRECT_XC=rewrite XB=fromif XA=fromsetenv "
        "HTTP_ACCEPT_ENCODING=identity HTTP_HOST=alice.test HTTP_X_SECOND=2 HTTP_ACCEPT=*/* "
        "Accept-Encoding,Host,X-Second,Accept"), answer.body


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_getenv_finds_a_setenv_variable_of_three_letters(itkgw_factory, docroots, put: Put,
                                                         handler: str) -> None:
    """PHP's FastCGI table cannot find a three-letter parameter by getenv(); SetEnv's reach it
    through the processes' environment, as mod_php's getenv() finds them."""
    alice = docroots[ALICE]
    put(alice, "app/.htaccess", "SetEnv FOO bar\nSetEnv LONGER yes\n")
    put(alice, "app/k.php", "<?php echo getenv('FOO'), '|', $_SERVER['FOO'], '|', getenv('LONGER');\n")
    put(alice, "other/k.php", "<?php var_dump(getenv('FOO'));\n")
    server = serve(itkgw_factory, alice, "All", php_handler=handler)
    assert server.request("alice.test", "/app/k.php").body == b"bar|bar|yes"
    assert server.request("alice.test", "/other/k.php").body == b"bool(false)\n"


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_php_value_cannot_set_what_only_php_ini_sets(itkgw_factory, docroots, put: Put, handler: str) -> None:
    """mod_php ignores php_value of a PHP_INI_SYSTEM setting: a tenant's .htaccess can neither
    lift disable_functions nor turn allow_url_include on; php_admin_value of the vhost can."""
    alice = docroots[ALICE]
    names = ("disable_functions", "allow_url_include", "precision")
    script = "<?php echo json_encode(array_map('ini_get', " + json.dumps(list(names)) + "));\n"
    put(alice, "plain/ini.php", script)
    put(alice, "tenant/.htaccess", "php_value disable_functions none\nphp_flag allow_url_include on\n"
                                   "php_value precision 9\n")
    put(alice, "tenant/ini.php", script)
    admin = [{"name": "disable_functions", "admin": True, "value": "phpinfo"}]
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], php_handler=handler,
                                      directory=[{"path": str(alice.htdocs), "allow_override": ["Options"],
                                                  "php_settings": admin}])])
    plain = json.loads(server.request("alice.test", "/plain/ini.php").body)
    tenant = json.loads(server.request("alice.test", "/tenant/ini.php").body)
    assert plain[0] == "phpinfo" and tenant == [plain[0], plain[1], "9"]


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_php_flag_engine_off_serves_php_files_as_they_are(itkgw_factory, docroots, put: Put,
                                                          handler: str) -> None:
    """A shared host's guard for upload directories: mod_php declines there, and httpd's
    default handler sends the file; PHP is back on below where a deeper .htaccess says so."""
    alice = docroots[ALICE]
    source = "<?php echo 'ran';\n"
    put(alice, "uploads/.htaccess", "php_flag engine off\n")
    put(alice, "uploads/shell.php", source)
    put(alice, "uploads/on/.htaccess", "php_value engine 1\n")
    put(alice, "uploads/on/page.php", source)
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], php_handler=handler,
                                      directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])])
    assert server.request("alice.test", "/uploads/shell.php").body == source.encode()
    assert server.request("alice.test", "/uploads/on/page.php").body == b"ran"


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_an_errordocument_script_runs_as_httpd_s_internal_redirect_to_it(itkgw_factory, docroots, put: Put,
                                                                          handler: str) -> None:
    """Never sent as source: it runs, as a GET with the failed request's headers and body, its
    answer keeps the error's status, and REDIRECT_* say what failed. A missing document is
    httpd's page with its "Additionally" line."""
    alice = docroots[ALICE]
    put(alice, "err/.htaccess", "ErrorDocument 404 /err/page.php\nErrorDocument 403 /err/page.php\n"
                                "ErrorDocument 410 /err/none.php\n"
                                "RewriteEngine On\nRewriteRule ^closed$ - [F]\nRewriteRule ^gone$ - [G]\n")
    put(alice, "err/page.php", "<?php echo $_SERVER['REQUEST_METHOD'], ' ',\n"
                               "$_SERVER['REDIRECT_STATUS'], ' ', $_SERVER['REDIRECT_URL'], ' ',\n"
                               "$_SERVER['REDIRECT_REQUEST_METHOD'], ' ',\n"
                               "json_encode($_POST), ' ', file_get_contents('php://input');\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], php_handler=handler,
                                      directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])])
    missing = server.request("alice.test", "/err/nope")
    assert (missing.status, missing.body) == (404, b"GET 404 /err/nope GET [] ")
    closed = server.request("alice.test", "/err/closed", method="POST", body=b"a=1",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (closed.status, closed.body) == (403, b"GET 403 /err/closed POST [] a=1")
    gone = server.request("alice.test", "/err/gone")
    assert gone.status == 410
    assert (b"<p>Additionally, a 404 Not Found\nerror was encountered while trying to use an ErrorDocument "
            b"to handle the request.</p>") in gone.body


def test_a_plugin_s_version_checked_htaccess_is_read_as_httpd_2_4_reads_it(itkgw_factory, docroots,
                                                                            put: Put) -> None:
    """<IfVersion> blocks (WordPress plugins guard their directories so), and the directives
    httpd 2.4 accepts there without effect (DefaultType, ContentDigest) or with
    AllowOverride FileInfo (SetOutputFilter, AddOutputFilterByType)."""
    alice = docroots[ALICE]
    put(alice, "guarded/.htaccess", "<IfVersion < 2.4>\nOrder deny,allow\nDeny from all\n</IfVersion>\n"
                                    "<IfVersion >= 2.4>\nRequire all denied\n</IfVersion>\n")
    put(alice, "guarded/secret.txt", "secret\n")
    put(alice, "old/.htaccess", "DefaultType text/plain\nContentDigest On\nSetOutputFilter DEFLATE\n"
                                "AddOutputFilterByType DEFLATE text/html\n")
    put(alice, "old/page.txt", "page\n")
    server = serve(itkgw_factory, alice, "All")
    assert server.request("alice.test", "/guarded/secret.txt").status == 403
    assert server.request("alice.test", "/old/page.txt").body == b"page\n"


#: The rewrite part of Joomla's stock htaccess.txt.
JOOMLA = """Options +FollowSymlinks
Options -Indexes
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteCond %{QUERY_STRING} base64_encode[^(]*\\\\([^)]*\\\\) [OR]
RewriteCond %{QUERY_STRING} (<|%3C)([^s]*s)+cript.*(>|%3E) [NC,OR]
RewriteCond %{QUERY_STRING} GLOBALS(=|\\\\[|\\\\%[0-9A-Z]{0,2}) [OR]
RewriteCond %{QUERY_STRING} _REQUEST(=|\\\\[|\\\\%[0-9A-Z]{0,2})
RewriteRule .* index.php [F]
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteCond %{REQUEST_URI} !^/index\\\\.php
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule .* index.php [L]
</IfModule>
"""

#: DokuWiki's .htaccess in its root, and the one in each of its data directories.
DOKUWIKI = """<Files ~ "^([\\\\._]ht|README$|VERSION$|COPYING$)">
    <IfModule mod_authz_core.c>
        Require all denied
    </IfModule>
    <IfModule !mod_authz_core.c>
        Order allow,deny
        Deny from all
    </IfModule>
</Files>
<IfModule alias_module>
    RedirectMatch 404 /\\\\.git
</IfModule>
"""
DOKUWIKI_DATA = """<IfModule mod_authz_core.c>
    AuthType None
    Require all denied
</IfModule>
<IfModule !mod_authz_core.c>
    Order allow,deny
    Deny from all
</IfModule>
"""


def test_joomla_htaccess_routes_and_refuses_attacks(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "j/.htaccess", JOOMLA)
    put(alice, "j/index.php", FRONT_CONTROLLER)
    put(alice, "j/media/site.css", "css\n")
    server = serve(itkgw_factory, alice, "All")
    routed = _server_values(server.request("alice.test", "/j/component/content/article/1?lang=en").body)
    assert (routed["SCRIPT_NAME"], routed["REDIRECT_URL"], routed["QUERY_STRING"]) == (
        "/j/index.php", "/j/component/content/article/1", "lang=en")
    assert server.request("alice.test", "/j/any?x=GLOBALS[y]").status == 403
    assert server.request("alice.test", "/j/media/site.css").body == b"css\n"


def test_dokuwiki_htaccess_files_keep_its_data_and_version_control_out_of_reach(itkgw_factory, docroots,
                                                                                  put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "wiki/.htaccess", DOKUWIKI)
    put(alice, "wiki/doku.php", "<?php echo 'wiki';\n")
    put(alice, "wiki/README", "readme\n")
    put(alice, "wiki/.git/HEAD", "ref\n")
    put(alice, "wiki/data/.htaccess", DOKUWIKI_DATA)
    put(alice, "wiki/data/pages/start.txt", "====== start ======\n")
    put(alice, "wiki/conf/.htaccess", DOKUWIKI_DATA)
    put(alice, "wiki/conf/users.auth.php", "# users\n")
    server = serve(itkgw_factory, alice, "All")
    page = server.request("alice.test", "/wiki/doku.php")
    assert (page.status, page.body) == (200, b"wiki"), server.error_log_text()
    for refused in ("/wiki/README", "/wiki/data/pages/start.txt", "/wiki/conf/users.auth.php",
                    "/wiki/data/.htaccess"):
        assert server.request("alice.test", refused).status == 403, refused
    assert server.request("alice.test", "/wiki/.git/HEAD").status == 404


#: htpasswd's four kinds of hash (-B, -m, -s, -d), as it wrote them.
HTPASSWD = ("alice:$2y$05$hGLL.mM8B80bVk2G8je2o.DuiynX7Qps8A.SMgY9thsqPDqv6tU..\n"
            "bob:$apr1$Qd3y3Ed8$oddEotqnW.1HHgbQqkBI1.\n"
            "carol:{SHA}stOsjhQ+/Zr2RzmhAD8uggClG7Y=\n"
            "dave:3mSVqty7xFx1M\n")
PASSWORDS = {"alice": "secret", "bob": "bobpw", "carol": "carolpw", "dave": "davepw"}


def _login(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_password_protected_directory_asks_for_a_login_as_httpd(itkgw_factory, docroots, put: Put) -> None:
    """The password file is the tenant's own (0640): read as the tenant, as mpm-itk reads it."""
    alice = docroots[ALICE]
    put(alice, "data/.htaccess", "Require all denied\n")
    put(alice, "data/.htpasswd", HTPASSWD)
    put(alice, "data/.htgroup", "admins: carol dave\n")
    auth = f'AuthType Basic\nAuthName "Members"\nAuthUserFile {alice.htdocs}/data/.htpasswd\n'
    put(alice, "private/.htaccess", auth + "Require valid-user\n")
    put(alice, "private/index.html", "members\n")
    put(alice, "private/who.php", "<?php echo $_SERVER['REMOTE_USER'], ' ', $_SERVER['AUTH_TYPE'], ' ', "
                                  "$_SERVER['PHP_AUTH_USER'];\n")
    put(alice, "admins/.htaccess",
        auth + f"AuthGroupFile {alice.htdocs}/data/.htgroup\nRequire group admins\n")
    put(alice, "admins/index.html", "admins\n")
    server = serve(itkgw_factory, alice, "All")
    asked = server.request("alice.test", "/private/")
    assert (asked.status, asked.headers["WWW-Authenticate"]) == (401, 'Basic realm="Members"')
    assert b"could not verify that you\nare authorized" in asked.body
    for user, password in PASSWORDS.items():
        answer = server.request("alice.test", "/private/", headers=_login(user, password))
        assert (answer.status, answer.body) == (200, b"members\n"), user
    assert server.request("alice.test", "/private/who.php", headers=_login("bob", "bobpw")).body == \
        b"bob Basic bob"
    assert server.request("alice.test", "/private/", headers=_login("alice", "nope")).status == 401
    assert server.request("alice.test", "/private/", headers=_login("zed", "x")).status == 401
    assert server.request("alice.test", "/admins/", headers=_login("carol", "carolpw")).status == 200
    refused = server.request("alice.test", "/admins/", headers=_login("alice", "secret"))
    assert (refused.status, refused.headers["WWW-Authenticate"]) == (401, 'Basic realm="Members"')
    assert _logged(server, 'AH01617: user alice: authentication failure for "/private/": Password Mismatch')
    assert _logged(server, "AH01618: user zed not found: /private/")
    assert _logged(server, 'AH01631: user alice: authorization failure for "/admins/": ')
    assert "- carol [" in server.access_log_text("alice.test")


def test_a_login_is_a_choice_among_the_rules_as_mod_authz_core_merges_them(itkgw_factory, docroots,
                                                                             put: Put) -> None:
    """An address that grants needs no login; <RequireAll> with a refusing rule is a 403, never
    a login prompt; 2.2's Satisfy Any asks for one only where Allow does not admit."""
    alice = docroots[ALICE]
    put(alice, "data/.htaccess", "Require all denied\n")
    put(alice, "data/.htpasswd", HTPASSWD)
    auth = f'AuthType Basic\nAuthName "R"\nAuthUserFile {alice.htdocs}/data/.htpasswd\n'
    rules = {"local-or-login": "Require ip 127.0.0.1\nRequire valid-user\n",
             "far-and-login": "<RequireAll>\nRequire ip 10.0.0.0/8\nRequire valid-user\n</RequireAll>\n",
             "any-of-two": "Order deny,allow\nDeny from all\nAllow from 10.0.0.1\nRequire valid-user\n"
                           "Satisfy any\n",
             "not-bob": "<RequireAll>\nRequire valid-user\nRequire not user bob\n</RequireAll>\n",
             "text-page": 'Require valid-user\nErrorDocument 401 "Please log in"\n'}
    for name, lines in rules.items():
        put(alice, f"{name}/.htaccess", auth + lines)
        put(alice, f"{name}/index.html", f"{name}\n")
    server = serve(itkgw_factory, alice, "All")

    def status(name: str, login: tuple[str, str] | None = None) -> int:
        return server.request("alice.test", f"/{name}/", headers=_login(*login) if login else None).status

    assert status("local-or-login") == 200
    assert (status("far-and-login"), status("far-and-login", ("alice", "secret"))) == (403, 403)
    assert (status("any-of-two"), status("any-of-two", ("alice", "secret"))) == (401, 200)
    assert (status("not-bob", ("alice", "secret")), status("not-bob", ("bob", "bobpw"))) == (200, 401)
    page = server.request("alice.test", "/text-page/")
    assert (page.status, page.body, page.headers["WWW-Authenticate"]) == (
        401, b"Please log in", 'Basic realm="R"')


FRONT = ("<?php echo 'SN=', $_SERVER['SCRIPT_NAME'], ' RU=', $_SERVER['REQUEST_URI'], ' QS=', "
         "$_SERVER['QUERY_STRING'], ' M=', $_SERVER['REQUEST_METHOD'], ' R=', "
         "$_SERVER['REDIRECT_URL'] ?? '-';\n")


def test_fallback_resource_hands_what_is_not_on_disk_to_the_front_controller(itkgw_factory, docroots,
                                                                               put: Put) -> None:
    """As mod_dir's fast redirect: the script sees the request's own URI and method and no
    REDIRECT_ variables; files, scripts and a missing .php (a handler's) are left alone."""
    alice = docroots[ALICE]
    put(alice, "app/.htaccess", "FallbackResource /app/index.php\nOptions +Indexes\n")
    put(alice, "app/index.php", FRONT)
    put(alice, "app/style.css", "css\n")
    put(alice, "app/empty/keep.txt", "kept\n")
    put(alice, "app/empty/.htaccess", "DirectoryIndex none.html\n")
    put(alice, "off/.htaccess", "FallbackResource /app/index.php\n")
    put(alice, "off/inner/.htaccess", "FallbackResource disabled\n")
    server = serve(itkgw_factory, alice, "All", "Indexes")
    assert server.request("alice.test", "/app/blog/2024/hello?page=2").body == \
        b"SN=/app/index.php RU=/app/blog/2024/hello?page=2 QS=page=2 M=GET R=-"
    assert server.request("alice.test", "/app/form", method="POST", body=b"a=1").body == \
        b"SN=/app/index.php RU=/app/form QS= M=POST R=-"
    assert server.request("alice.test", "/app/empty/").body == \
        b"SN=/app/index.php RU=/app/empty/ QS= M=GET R=-"
    assert server.request("alice.test", "/app/style.css").body == b"css\n"
    assert server.request("alice.test", "/app/missing.php").status == 404
    assert server.request("alice.test", "/off/inner/nothing").status == 404
    assert server.request("alice.test", "/off/nothing").status == 200


def test_a_directory_index_named_by_url_is_served_as_mod_dir_s_fast_redirect(itkgw_factory, docroots,
                                                                            put: Put) -> None:
    """DirectoryIndex names with a slash are URLs: /app/index.php from another folder, or
    a file in a subfolder; the script sees the client's URI and query, no REDIRECT_ variables."""
    alice = docroots[ALICE]
    put(alice, "app/index.php", FRONT)
    put(alice, "shop/.htaccess", "DirectoryIndex missing.html /app/index.php\n")
    put(alice, "nested/.htaccess", "DirectoryIndex public/index.php\n")
    put(alice, "nested/public/index.php", FRONT)
    put(alice, "listed/.htaccess", "DirectoryIndex /nothing.php\nOptions +Indexes\n")
    put(alice, "listed/a.txt", "a\n")
    server = serve(itkgw_factory, alice, "All", "Indexes")
    assert server.request("alice.test", "/shop/?page=2").body == \
        b"SN=/app/index.php RU=/shop/?page=2 QS=page=2 M=GET R=-"
    assert server.request("alice.test", "/shop/", method="POST", body=b"a=1").body == \
        b"SN=/app/index.php RU=/shop/ QS= M=POST R=-"
    assert server.request("alice.test", "/nested/").body == \
        b"SN=/nested/public/index.php RU=/nested/ QS= M=GET R=-"
    listing = server.request("alice.test", "/listed/")
    assert (listing.status, b"a.txt" in listing.body) == (200, True)


def test_a_handler_no_module_provides_serves_the_file_as_it_is(itkgw_factory, docroots, put: Put) -> None:
    """As httpd: SetHandler or AddHandler of a handler it has no module for (server-info, SSI's
    server-parsed, a typo) serves the files as they are, with AH00157 in the log, not a 500;
    cPanel's PHP handler names run PHP."""
    alice = docroots[ALICE]
    put(alice, "info/.htaccess", "SetHandler server-info\n")
    put(alice, "info/a.txt", "plain\n")
    put(alice, "ssi/.htaccess", "AddHandler server-parsed .shtml\nAddType text/html .shtml\n")
    put(alice, "ssi/a.shtml", "<!--#echo var=\"DATE_LOCAL\" -->\n")
    put(alice, "cpanel/.htaccess", "AddHandler application/x-httpd-ea-php74 .php\n")
    put(alice, "cpanel/a.php", "<?php echo 6 * 7;\n")
    server = serve(itkgw_factory, alice, "All")
    info = server.request("alice.test", "/info/a.txt")
    assert (info.status, info.body) == (200, b"plain\n")
    ssi = server.request("alice.test", "/ssi/a.shtml")
    assert (ssi.status, ssi.headers["Content-Type"], ssi.body) == (200, "text/html",
                                                                   b"<!--#echo var=\"DATE_LOCAL\" -->\n")
    assert server.request("alice.test", "/cpanel/a.php").body == b"42"
    assert _logged(server, 'AH00157: handler "server-parsed" not found for: ')


def test_force_type_remove_handler_and_directory_slash_as_mod_mime_and_mod_dir(itkgw_factory, docroots,
                                                                               put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "typed/.htaccess", 'ForceType text/plain\n<Files "run">\nForceType application/x-httpd-php\n'
                                  "</Files>\n")
    put(alice, "typed/page.html", "<b>plain</b>\n")
    put(alice, "typed/run", "<?php echo 6 * 7;\n")
    put(alice, "typed/undone/.htaccess", "ForceType None\n")
    put(alice, "typed/undone/page.html", "<b>html</b>\n")
    put(alice, "scripts/.htaccess", "AddHandler application/x-httpd-php .inc\n")
    put(alice, "scripts/a.inc", "<?php echo 'ran';\n")
    put(alice, "scripts/uploads/.htaccess", "RemoveHandler .inc\n")
    put(alice, "scripts/uploads/b.inc", "<?php echo 'ran';\n")
    put(alice, "listed/.htaccess", "DirectorySlash Off\nOptions +Indexes\n")
    put(alice, "listed/index.html", "index\n")
    server = serve(itkgw_factory, alice, "All")
    plain = server.request("alice.test", "/typed/page.html")
    assert (plain.headers["Content-Type"], plain.body) == ("text/plain", b"<b>plain</b>\n")
    assert server.request("alice.test", "/typed/run").body == b"42"
    assert server.request("alice.test", "/typed/undone/page.html").headers["Content-Type"] == "text/html"
    assert server.request("alice.test", "/scripts/a.inc").body == b"ran"
    assert server.request("alice.test", "/scripts/uploads/b.inc").body == b"<?php echo 'ran';\n"
    named = server.request("alice.test", "/listed")
    assert (named.status, b"<title>Index of /listed</title>" in named.body) == (200, True)  # no redirect
    assert server.request("alice.test", "/listed/").body == b"index\n"


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_a_rewrite_to_a_script_with_path_info_runs_it_with_that_path_info(itkgw_factory, docroots, put: Put,
                                                                          handler: str) -> None:
    """CodeIgniter's 'RewriteRule ^(.*)$ index.php/$1': PHP runs index.php with PATH_INFO as
    under mod_php (php-cgi, seeing REDIRECT_URL, looked for the script at PATH_TRANSLATED and
    answered 'No input file specified.')."""
    alice = docroots[ALICE]
    put(alice, "ci/.htaccess", "RewriteEngine On\nRewriteCond %{REQUEST_FILENAME} !-f\n"
                               "RewriteRule ^(.*)$ index.php/$1 [L]\n")
    names = ", ".join(f"$_SERVER['{name}'] ?? null" for name in ("SCRIPT_NAME", "PATH_INFO", "PHP_SELF",
                                                                  "REQUEST_URI"))
    put(alice, "ci/index.php", f"<?php echo json_encode([{names}]);\n")
    server = serve(itkgw_factory, alice, "All", php_handler=handler)
    answer = server.request("alice.test", "/ci/users/5?x=1")
    assert (answer.status, json.loads(answer.body)) == (
        200, ["/ci/index.php", "/users/5", "/ci/index.php/users/5", "/ci/users/5?x=1"])


def test_server_signature_signs_httpd_s_own_pages_listings_and_scripts_variable(itkgw_factory, docroots,
                                                                                put: Put) -> None:
    """Debian's security.conf says ServerSignature On: httpd's error pages and directory
    listings end with the banner and the server's name and port, as does SERVER_SIGNATURE;
    EMail makes the name a link to ServerAdmin; Off (the default) leaves them out."""
    alice = docroots[ALICE]
    put(alice, "on/.htaccess", "ServerSignature On\nOptions +Indexes +ExecCGI\n")
    put(alice, "on/a.txt", "a\n")
    put(alice, "on/sig.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s' \"$SERVER_SIGNATURE\"\n")
    put(alice, "mail/.htaccess", "ServerSignature EMail\n")
    server = serve(itkgw_factory, alice, "All", server_admin="web@alice.test", cgi_extensions=[".cgi"],
                   exec_cgi=True)
    line = f"<address>Apache/2.4.62 (Debian) itkgw/{__version__} Server at alice.test Port 8080</address>\n"
    missing = server.request("alice.test:8080", "/on/nope")
    assert missing.status == 404 and missing.body.endswith(f"<hr>\n{line}</body></html>\n".encode())
    listing = server.request("alice.test:8080", "/on/")
    assert listing.body.endswith(f"</ul>\n{line}</body></html>\n".encode()), listing.body
    signed = server.request("alice.test:8080", "/on/sig.cgi")
    assert signed.body == line.encode(), signed.body
    mailed = server.request("alice.test", "/mail/nope").body
    assert b'Server at <a href="mailto:web@alice.test">alice.test</a> Port 80</address>' in mailed
    assert b"<address>" not in server.request("alice.test", "/nope").body


def test_an_old_style_error_message_and_a_see_other_redirect_read_as_httpd_reads_them(
        itkgw_factory, docroots, put: Put) -> None:
    """'ErrorDocument 403 "No way' (httpd 2.0's documented form: the quote never closes) is the
    message, not a broken .htaccess; a 303's page says where the answer is, as httpd's does."""
    alice = docroots[ALICE]
    put(alice, "shut/.htaccess", 'ErrorDocument 403 "No way, sorry\nRequire all denied\n')
    put(alice, "shut/a.txt", "a\n")
    put(alice, "moved/.htaccess", "Redirect seeother /moved/old /moved/new\n")
    server = serve(itkgw_factory, alice, "All")
    refused = server.request("alice.test", "/shut/a.txt")
    assert (refused.status, refused.body) == (403, b"No way, sorry")
    other = server.request("alice.test", "/moved/old")
    assert (other.status, other.headers["Location"]) == (303, "http://alice.test/moved/new")
    assert b'<p>The answer to your request is located <a href="http://alice.test/moved/new">here</a>.</p>' \
        in other.body


def test_file_etag_says_what_a_file_s_etag_is_made_of(itkgw_factory, docroots, put: Put) -> None:
    """FileETag None (performance guides' line) sends no ETag, and no ETag can match then;
    All adds the inode in front, as httpd does; -INode below takes it away again."""
    alice = docroots[ALICE]
    put(alice, "none/.htaccess", "FileETag None\n")
    put(alice, "none/a.txt", "a\n")
    put(alice, "all/.htaccess", "FileETag All\n")
    put(alice, "all/a.txt", "a\n")
    put(alice, "all/less/.htaccess", "FileETag -INode\n")
    put(alice, "all/less/a.txt", "a\n")
    server = serve(itkgw_factory, alice, "FileInfo")
    time.sleep(1.1)  # an ETag is weak for a second after the file changed
    bare = server.request("alice.test", "/none/a.txt")
    assert (bare.status, bare.headers["ETag"], bare.headers["Last-Modified"] is not None) == (200, None, True)
    assert server.request("alice.test", "/none/a.txt", headers={"If-None-Match": '""'}).status == 200
    for path, with_inode in (("/all/a.txt", True), ("/all/less/a.txt", False)):
        st = os.stat(alice.htdocs / path.lstrip("/"))
        expected = f"{st.st_size:x}-{st.st_mtime_ns // 1000:x}"
        tag = server.request("alice.test", path).headers["ETag"]
        assert tag == (f'"{st.st_ino:x}-{expected}"' if with_inode else f'"{expected}"'), path
        assert server.request("alice.test", path, headers={"If-None-Match": tag}).status == 304


def test_add_charset_and_remove_type_label_files_as_mod_mime_does(itkgw_factory, docroots, put: Put) -> None:
    """The HTML5 Boilerplate's AddCharset; RemoveType taking back even TypesConfig's type
    (httpd then sends none); RemoveCharset below; the same on the request's second pass
    (a file served before is answered by the route it took)."""
    alice = docroots[ALICE]
    put(alice, "site/.htaccess", "AddCharset UTF-8 .html .css\nAddDefaultCharset off\n")
    put(alice, "site/a.html", "<p>a</p>\n")
    put(alice, "site/a.css", "p {}\n")
    put(alice, "site/raw/.htaccess", "RemoveType .txt\nRemoveCharset .css\n")
    put(alice, "site/raw/a.txt", "text\n")
    put(alice, "site/raw/a.css", "p {}\n")
    server = serve(itkgw_factory, alice, "All")
    for _ in range(2):
        types = {path: server.request("alice.test", path).headers["Content-Type"]
                 for path in ("/site/a.html", "/site/a.css", "/site/raw/a.txt", "/site/raw/a.css")}
        assert types == {"/site/a.html": "text/html; charset=utf-8", "/site/a.css": "text/css; charset=utf-8",
                         "/site/raw/a.txt": None, "/site/raw/a.css": "text/css"}


def test_a_phps_file_shows_its_highlighted_source_and_never_runs(itkgw_factory, docroots, put: Put) -> None:
    """mod_php's application/x-httpd-php-source, as Debian's php.conf gives .phps files."""
    alice = docroots[ALICE]
    put(alice, "src/.htaccess", '<FilesMatch "\\.phps$">\nSetHandler application/x-httpd-php-source\n'
                                "</FilesMatch>\nAddHandler type-map .var\n")
    put(alice, "src/show.phps", "<?php\n// note\necho 6 * 7;\n")
    put(alice, "src/index.var", "URI: index.html.en\nContent-Type: text/html\n")
    server = serve(itkgw_factory, alice, "All")
    shown = server.request("alice.test", "/src/show.phps")
    assert (shown.status, shown.headers["Content-Type"]) == (200, "text/html; charset=UTF-8")
    assert shown.body.startswith(b'<code><span style="color: #000000">') and b"&lt;?php" in shown.body
    assert b"//&nbsp;note" in shown.body and b"42" not in shown.body
    assert server.request("alice.test", "/src/missing.phps").status == 404
    type_map = server.request("alice.test", "/src/index.var")  # no negotiation: served as it is
    assert type_map.body == b"URI: index.html.en\nContent-Type: text/html\n"


def test_header_edit_rewrites_the_values_a_script_sends_and_request_header_edit_what_it_sees(
        itkgw_factory, docroots, put: Put) -> None:
    """mod_headers' edit (first match) and edit* (every match), each value of a header alone."""
    alice = docroots[ALICE]
    put(alice, "h/.htaccess", 'Header edit Set-Cookie ^(.*)$ "$1; HttpOnly"\nHeader edit* X-List , ;\n'
                              "RequestHeader edit X-In secret hidden\n")
    put(alice, "h/c.php", "<?php setcookie('a', 'b'); setcookie('c', 'd'); header('X-List: 1,2,3');\n"
                          "echo $_SERVER['HTTP_X_IN'];\n")
    server = serve(itkgw_factory, alice, "All")
    answer = server.request("alice.test", "/h/c.php", headers={"X-In": "my secret"})
    assert answer.headers.get_all("Set-Cookie") == ["a=b; HttpOnly", "c=d; HttpOnly"]
    assert (answer.headers["X-List"], answer.body) == ("1;2;3", b"my hidden")
