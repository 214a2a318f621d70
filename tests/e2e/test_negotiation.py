"""Options MultiViews through a real itkgw: which file answers a name that is not there.

Each case was compared with Apache 2.4 + mpm-itk + mod_php + mod_negotiation,
given Debian's mime.conf and negotiation.conf and the same files: status,
headers (the ETag with its lost closing quote included) and body.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
from tests.sites import ALICE, Site

#: What Debian's mime.conf and negotiation.conf give every vhost, in part.
LANGUAGES = [["en", ".en"], ["fr", ".fr"], ["de", ".de"]]
PRIORITY = ["en", "de", "fr"]


def serve(itkgw_factory, site: Site, directory: str, **section: object) -> Itkgw:
    sections = [{"path": str(site.htdocs / directory), "options": ["+MultiViews"], **section}]
    return itkgw_factory([vhost_for(site, "alice.test", php_extensions=[".php"], add_language=LANGUAGES,
                                    language_priority=PRIORITY, directory=sections,
                                    force_language_priority=["Prefer", "Fallback"])])


def list_validator(directory: Path) -> str:
    return f"{os.stat(directory).st_mtime_ns // 1000:x}"


def test_a_name_without_its_extension_gets_the_file_and_says_so(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    page = put(alice, "mv1/about.html", "<h1>about</h1>\n")
    os.utime(page, (1767261600, 1767261600))
    os.utime(page.parent, (1772359200, 1772359200))
    server = serve(itkgw_factory, alice, "mv1")
    answer = server.request("alice.test", "/mv1/about")
    assert (answer.status, answer.body) == (200, b"<h1>about</h1>\n")
    assert answer.headers["Content-Location"] == "about.html"
    assert (answer.headers["Vary"], answer.headers["TCN"]) == ("negotiate", "choice")
    assert answer.headers["Content-Type"] == "text/html"
    assert answer.headers["ETag"] == '"f-64750a7e4a800;64bf38887c800', "httpd 2.4 loses the closing quote"
    unchanged = server.request("alice.test", "/mv1/about", headers={"If-None-Match": answer.headers["ETag"]})
    assert unchanged.status == 304
    head = server.request("alice.test", "/mv1/about", method="HEAD")
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", "15")
    direct = server.request("alice.test", "/mv1/about.html")
    assert direct.headers["ETag"] == '"f-64750a7e4a800"' and direct.headers["Content-Location"] is None
    assert server.request("alice.test", "/mv1/about/").status == 404
    assert server.request("alice.test", "/mv1/nothing").status == 404


def test_accept_chooses_among_types_and_nothing_acceptable_is_a_406(itkgw_factory, docroots,
                                                                    put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "mv2/both.html", "x\n")
    put(alice, "mv2/both.txt", "y\n")
    server = serve(itkgw_factory, alice, "mv2")
    cases = {"": b"x\n", "text/plain": b"y\n", "text/html;q=0.5, text/plain;q=0.6": b"y\n",
             "text/*": b"x\n", "*/*;q=0.1, text/plain": b"y\n"}
    for accept, body in cases.items():
        answer = server.request("alice.test", "/mv2/both", headers={"Accept": accept} if accept else {})
        assert (answer.status, answer.body, answer.headers["Vary"]) == (200, body, "negotiate,accept"), accept
    refused = server.request("alice.test", "/mv2/both", headers={"Accept": "image/png"})
    assert refused.status == 406
    assert refused.headers["Alternates"] == ('{"both.html" 1 {type text/html} {length 2}}, '
                                             '{"both.txt" 1 {type text/plain} {length 2}}')
    assert (refused.headers["Vary"], refused.headers["TCN"]) == ("negotiate,accept", "list")
    assert refused.body.decode().endswith(
        "<p>An appropriate representation of the requested resource could not be found on this server.</p>\n"
        "Available variants:\n<ul>\n<li><a href=\"both.html\">both.html</a> , type text/html</li>\n"
        "<li><a href=\"both.txt\">both.txt</a> , type text/plain</li>\n</ul>\n</body></html>\n")
    assert f"AH00690: no acceptable variant: {alice.htdocs}/mv2/both" in server.error_log_text()


def test_accept_language_with_languagepriority_and_its_fallback(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "mv3/doc.en.html", "EN\n")
    put(alice, "mv3/doc.fr.html", "FR\n")
    put(alice, "mv3/lang.html.de", "DE\n")
    server = serve(itkgw_factory, alice, "mv3")
    cases = {"": b"EN\n", "fr": b"FR\n", "es": b"EN\n", "fr;q=0.5, en;q=0.4": b"FR\n", "de-AT": b"EN\n",
             "en-GB": b"EN\n"}
    for accept, body in cases.items():
        asked = {"Accept-Language": accept} if accept else {}
        answer = server.request("alice.test", "/mv3/doc", headers=asked)
        assert (answer.status, answer.body) == (200, body), accept
        assert answer.headers["Vary"] == "negotiate,accept-language"
        assert answer.headers["Content-Language"] == body.decode().strip().lower()
    single = server.request("alice.test", "/mv3/lang")
    assert (single.body, single.headers["Content-Location"], single.headers["Vary"]) == (
        b"DE\n", "lang.html.de", "negotiate")
    assert server.request("alice.test", "/mv3/lang.html.de").headers["Content-Language"] == "de"


def test_only_files_whose_every_extension_means_something_are_variants(itkgw_factory, docroots,
                                                                       put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "mv4/page.php", '<?php echo "php page\\n";')
    put(alice, "mv4/notes.zzq", "old\n")
    put(alice, "mv4/multi.html", "A\n")
    put(alice, "mv4/multi.html.zzq", "B\n")
    server = serve(itkgw_factory, alice, "mv4")
    assert server.request("alice.test", "/mv4/page").status == 404, "a handler's ending alone is no variant"
    assert server.request("alice.test", "/mv4/notes").status == 404
    log = server.error_log_text()
    assert (f"AH00687: Negotiation: discovered file(s) matching request: {alice.htdocs}/mv4/page "
            "(None could be negotiated).") in log
    answer = server.request("alice.test", "/mv4/multi")
    assert (answer.body, answer.headers["Content-Location"], answer.headers["Vary"]) == (
        b"A\n", "multi.html", "negotiate"), "multi.html.zzq: an ending with no meaning, no variant"
    assert server.request("alice.test", "/mv4/multi.html").body == b"A\n"


def test_multiviewsmatch_any_runs_a_script_as_it_was_asked_for(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "mv5/page.php", '<?php echo $_SERVER["SCRIPT_NAME"], " ", $_SERVER["REQUEST_URI"], " ", '
                               'get_current_user(), " ", $_SERVER["REQUEST_METHOD"], "\\n";')
    server = serve(itkgw_factory, alice, "mv5", multiviews_match=["Any"])
    answer = server.request("alice.test", "/mv5/page?q=1")
    assert answer.status == 200
    assert answer.body.decode() == f"/mv5/page.php /mv5/page?q=1 {alice.user.pw_name} GET\n"
    assert (answer.headers["Content-Location"], answer.headers["TCN"]) == ("page.php", "choice")
    posted = server.request("alice.test", "/mv5/page", method="POST", body=b"")
    assert posted.body.decode() == f"/mv5/page.php /mv5/page {alice.user.pw_name} POST\n"
    assert posted.headers["Content-Location"] is None and posted.headers["TCN"] is None


def test_a_chosen_script_takes_the_rest_of_the_path_as_path_info(itkgw_factory, docroots, put: Put) -> None:
    """MultiViews' clean URLs: /article/12 runs article.php with PATH_INFO /12, without the
    headers of a transparent choice; a static file takes no PATH_INFO."""
    alice = docroots[ALICE]
    put(alice, "mv9/article.php", '<?php echo $_SERVER["SCRIPT_NAME"], " ", $_SERVER["PATH_INFO"], " ", '
                                  '$_SERVER["REQUEST_URI"], "\n";')
    put(alice, "mv9/doc.html", "static\n")
    server = serve(itkgw_factory, alice, "mv9", multiviews_match=["Any"])
    answer = server.request("alice.test", "/mv9/article/12/comments?x=1")
    assert answer.status == 200
    assert answer.body == b"/mv9/article.php /12/comments /mv9/article/12/comments?x=1\n"
    assert [answer.headers[name] for name in ("Content-Location", "Vary", "TCN")] == [None, None, None]
    assert server.request("alice.test", "/mv9/doc/extra").status == 404


def test_a_directoryindex_without_its_extension_and_multiviews_off(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "mv6/index.html", "idx\n")
    put(alice, "plain/about.html", "about\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", directory_index=["index"], directory=[
        {"path": str(alice.htdocs / "mv6"), "options": ["+MultiViews"]}])])
    index = server.request("alice.test", "/mv6/")
    assert (index.status, index.body, index.headers["Content-Location"]) == (200, b"idx\n", "index.html")
    assert ";" not in index.headers["ETag"], "mod_dir's subrequest keeps the file's own ETag"
    assert server.request("alice.test", "/plain/about").status == 404, "MultiViews is off there"


def test_a_variant_the_access_rules_refuse_is_passed_over(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "mv7/doc.en.html", "EN\n")
    put(alice, "mv7/doc.fr.html", "FR\n")
    server = itkgw_factory([vhost_for(
        alice, "alice.test", add_language=LANGUAGES,
        directory=[{"path": str(alice.htdocs / "mv7"), "options": ["+MultiViews"]}],
        files=[{"path": r"\.en\.html$", "regex": True, "require": ["all denied"]}])])
    answer = server.request("alice.test", "/mv7/doc")  # else a tie, which doc.en.html wins by its name
    assert (answer.status, answer.body) == (200, b"FR\n")
    assert server.request("alice.test", "/mv7/doc", headers={"Accept-Language": "en"}).status == 406
    assert server.request("alice.test", "/mv7/doc.en.html").status == 403


def test_a_tenant_turns_multiviews_on_and_off_in_htaccess(itkgw_factory, docroots, put: Put) -> None:
    """Shared hosting's way: Options +MultiViews in the site's .htaccess (AllowOverride
    Options), and -MultiViews below it, as Laravel's public/.htaccess writes it."""
    alice = docroots[ALICE]
    put(alice, "mv8/.htaccess", "Options +MultiViews\n")
    put(alice, "mv8/about.html", "about\n")
    put(alice, "mv8/app/.htaccess", "<IfModule mod_negotiation.c>\n    Options -MultiViews\n</IfModule>\n")
    put(alice, "mv8/app/about.html", "app about\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", directory=[
        {"path": str(alice.htdocs / "mv8"), "allow_override": ["Options"]}])])
    answer = server.request("alice.test", "/mv8/about")
    assert (answer.status, answer.body, answer.headers["Content-Location"]) == (200, b"about\n", "about.html")
    assert server.request("alice.test", "/mv8/app/about").status == 404
