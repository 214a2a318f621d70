""".htaccess files, read as the tenant and judged by AllowOverride, through a real itkgw.

Each case was compared with Apache 2.4 + mpm-itk + mod_php on the same files:
what a file may hold, the 500 and its log line when it holds more, the merge
with the vhost's sections. The security cases (a file the tenant cannot
read, deny rules obeyed) are in test_security.py.
"""

from __future__ import annotations

import http.client
import os
import time
from typing import Any

import pytest

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
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


def test_nonfatal_skips_what_is_not_granted_and_says_so(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "opts/.htaccess", "Options -Indexes\nDirectoryIndex page.html\n<IfModule mod_expires.c>\n"
                                 "    ExpiresActive On\n</IfModule>\n")
    put(alice, "opts/page.html", "page\n")
    server = serve(itkgw_factory, alice, "Indexes", "Nonfatal=Override")
    assert server.request("alice.test", "/opts/").body == b"page\n"
    assert _logged(server, f"{alice.htdocs}/opts/.htaccess: Options not allowed here (skipped: Nonfatal)")


def test_with_allowoverride_none_the_file_is_never_opened(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "closed/.htaccess", "Frobnicate on\n").chmod(0)
    put(alice, "closed/page.html", "page\n")
    server = serve(itkgw_factory, alice, "None")
    assert server.request("alice.test", "/closed/page.html").body == b"page\n"


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


def test_rewrite_rules_in_an_htaccess_are_a_500_until_read(itkgw_factory, docroots, put: Put) -> None:
    """Serving as if the rules were absent would lose what they route or deny."""
    alice = docroots[ALICE]
    put(alice, "blog/.htaccess", "RewriteEngine On\nRewriteRule ^ index.php [L]\n")
    put(alice, "blog/page.html", "page\n")
    server = serve(itkgw_factory, alice, "All")
    assert server.request("alice.test", "/blog/page.html").status == 500
    assert _logged(server, f"{alice.htdocs}/blog/.htaccess: RewriteEngine in an .htaccess file is not "
                           "supported by itkgw yet")


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
