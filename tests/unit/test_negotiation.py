"""MultiViews' choice among variants, as httpd 2.4's mod_negotiation makes it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from itkgw.config.model import NOBODY, ModuleSettings
from itkgw.config.modules.negotiation import NegotiationSettings
from itkgw.errors import ConfigErrors
from itkgw.handlers import negotiation
from itkgw.handlers.negotiation import Variant
from itkgw.handlers.static import Validators, etag_matches
from itkgw.http.connection import Request, error_page
from itkgw.request.dirconf import DirConfig
from itkgw.request.mime import MimeTypes
from tests.unit.test_conf_apache import load, vhost_file

STAT = os.stat("/")
DEBIAN = NegotiationSettings(language_priority=("en", "de", "fr"),
                             force_language_priority=("Prefer", "Fallback"))


def variant(name: str, content_type: str = "text/html", languages: tuple[str, ...] = (),
            encoding: str | None = None, length: int = 10) -> Variant:
    return Variant(name, "/d/" + name, content_type, languages, encoding, length, False, STAT)


def request(method: str = "GET", query: str = "", **headers: str) -> Request:
    fields = [(name.replace("_", "-").lower(), value) for name, value in headers.items()]
    return Request(method, "/d/x", "/d/x", query, "1.1", fields, "a.test", "127.0.0.1", 80, "127.0.0.1",
                   40000)


def chosen(variants: list[Variant], settings: NegotiationSettings = DEBIAN, **headers: str) -> str | None:
    best = negotiation.choose(variants, request(**headers), settings)
    return best.name if best is not None else None


def test_a_client_without_q_values_gets_the_exact_type_over_wildcards() -> None:
    both = [variant("x.html"), variant("x.txt", "text/plain")]
    assert chosen(both) == "x.html", "a tie: the first by name"
    assert chosen(both, accept="text/plain") == "x.txt"
    assert chosen(both, accept="text/*") == "x.html"
    assert chosen(both, accept="*/*;q=0.1, text/plain") == "x.txt"
    assert chosen(both, accept="text/html;q=0.5, text/plain;q=0.6") == "x.txt"
    assert chosen(both, accept="image/png") is None


def test_the_smaller_file_wins_a_tie() -> None:
    assert chosen([variant("x.html", length=20), variant("x.txt", "text/plain", length=5)]) == "x.txt"


def test_languages_with_priority_and_fallback() -> None:
    docs = [variant("d.en.html", languages=("en",)), variant("d.fr.html", languages=("fr",))]
    assert chosen(docs) == "d.en.html"
    assert chosen(docs, accept_language="fr") == "d.fr.html"
    assert chosen(docs, accept_language="fr;q=0.5, en;q=0.4") == "d.fr.html"
    assert chosen(docs, accept_language="es") == "d.en.html", "Fallback: LanguagePriority's first"
    assert chosen(docs, NegotiationSettings(), accept_language="es") is None, "no fallback: 406"
    assert chosen(docs, accept_language="en-GB") == "d.en.html"
    assert chosen(docs, accept_language="fr-CA") == "d.fr.html", "a range's prefix fiddled to 0.001"
    fr_first = NegotiationSettings(language_priority=("fr", "en"))
    assert chosen(docs, fr_first) == "d.fr.html", "Prefer: the priority breaks the tie"
    assert chosen(docs, NegotiationSettings(language_priority=("fr",), force_language_priority=("None",))) \
        == "d.en.html"
    with_plain = [*docs, variant("d.html")]
    assert chosen(with_plain, accept_language="de") == "d.en.html", "Fallback's index outranks no language"
    assert chosen(with_plain, NegotiationSettings(), accept_language="de") == "d.html", \
        "no language beats an unwanted one"


def test_encodings_are_taken_only_when_asked_for() -> None:
    files = [variant("e.txt", "text/plain"), variant("e.txt.gz", "text/plain", encoding="gzip", length=5)]
    assert chosen(files) == "e.txt", "identity 1, gzip 0.5 without Accept-Encoding"
    assert chosen(files, accept_encoding="gzip") == "e.txt.gz"
    assert chosen(files, accept_encoding="identity") == "e.txt"


def test_vary_names_the_dimensions_the_variants_differ_in() -> None:
    assert negotiation.vary([variant("a.html")]) == "negotiate"
    assert negotiation.vary([variant("a.html"), variant("a.txt", "text/plain")]) == "negotiate,accept"
    assert negotiation.vary([variant("a.en.html", languages=("en",)), variant("a.de.html", languages=("de",)),
                             variant("a.html.gz", encoding="gzip")]) == \
        "negotiate,accept-language,accept-encoding"
    assert negotiation.vary([variant("a.html")], transparent=False) == ""


def _stat(size: int, mtime: int) -> os.stat_result:
    """A file's stat result with the fields the validators read."""
    return os.stat_result((0o100644, 1, 1, 1, 0, 0, size, mtime, mtime, mtime),
                          {"st_mtime_ns": mtime * 1_000_000_000})


def test_a_negotiated_etag_carries_the_list_validator_and_matches_itself() -> None:
    st = _stat(size=15, mtime=1767261600)
    directory = _stat(size=4096, mtime=1772359200)
    validator = negotiation.list_validator(directory, now=1800000000)
    assert validator == '"64bf38887c800"'
    etag = Validators.of(st, 1800000000, validator).etag
    assert etag == '"f-64750a7e4a800;64bf38887c800'
    assert etag_matches([etag], etag, weak=True) and not etag_matches(['"f-64750a7e4a800"'], etag, weak=True)
    assert negotiation.list_validator(directory, now=1772359200.5).startswith("W/")
    assert Validators.of(st, 1800000000, 'W/"1"').etag.startswith("W/")


def test_the_406_page_lists_the_variants() -> None:
    variants = [variant("b.html", length=2), variant("b.en.txt", "text/plain", ("en",))]
    refused = negotiation.not_acceptable(variants, "/d/b")
    assert dict(refused.headers)["Alternates"] == (
        '{"b.html" 1 {type text/html} {length 2}}, '
        '{"b.en.txt" 1 {type text/plain} {language en} {length 10}}')
    page = error_page(406, notes=refused.notes).decode()
    assert page.endswith("server.</p>\nAvailable variants:\n<ul>\n<li><a href=\"b.html\">b.html</a> , type "
                         "text/html</li>\n<li><a href=\"b.en.txt\">b.en.txt</a> , type text/plain, language "
                         "en</li>\n</ul>\n</body></html>\n")


def test_a_file_is_a_variant_when_each_ending_means_something(tmp_path: Path) -> None:
    for name in ("foo.html", "foo.html.en", "foo.zzq", "foo.php", "foo.bak.html", "foobar.html", "foo"):
        (tmp_path / name).write_text("x")
    (tmp_path / "foo.d").mkdir()
    dirconf = DirConfig(str(tmp_path), NOBODY, None, (), False, False, "/", str(tmp_path))
    dirconf.languages[".en"] = "en"
    dirconf.handlers[".php"] = "application/x-httpd-php"
    mime = MimeTypes({"html": "text/html"})

    def names(name: str, conf: DirConfig = dirconf) -> list[str]:
        found, _ = negotiation.find_variants(str(tmp_path), name, lambda path: conf, mime, lambda path: False)
        return [each.name for each in found]

    assert names("foo") == ["foo.html", "foo.html.en"]
    assert [each.languages for each in negotiation.find_variants(
        str(tmp_path), "foo", lambda path: dirconf, mime, lambda path: False)[0]] == [(), ("en",)]
    assert names("foo.bak") == ["foo.bak.html"], "the name asked for holds the ending with no meaning"
    assert names("foo.html") == ["foo.html.en"]
    handlers = dataclasses.replace(dirconf, modules=ModuleSettings((NegotiationSettings(
        multiviews_match=("Handlers",)),)))
    assert names("foo", handlers) == ["foo.html", "foo.html.en", "foo.php"], "MultiviewsMatch Handlers"
    found, _ = negotiation.find_variants(str(tmp_path), "foo", lambda path: handlers, mime,
                                         lambda path: False)
    script = found[-1]
    assert script.content_type == "application/x-httpd-cgi" and script.handled
    assert names("nothing") == []
    assert negotiation.find_variants(str(tmp_path), "foo", lambda path: dirconf, mime,
                                     lambda path: path.endswith(".en"))[0][0].name == "foo.html"


def test_the_directives_read_and_refuse_as_httpd(tmp_path: Path) -> None:
    body = ("LanguagePriority en de\nForceLanguagePriority Prefer Fallback\nMultiviewsMatch handlers\n"
            "AddLanguage EN-GB .engb")
    vhost = load(tmp_path, vhost_file(tmp_path, body=body)).config.vhosts[0]
    assert vhost.modules.get(NegotiationSettings) == NegotiationSettings(("en", "de"), ("Prefer", "Fallback"),
                                                                         ("Handlers",))
    assert vhost.add_language == (("en-gb", ".engb"),)
    for wrong in ("ForceLanguagePriority Sometimes", "ForceLanguagePriority None Prefer",
                  "MultiviewsMatch Any Handlers", "AddLanguage en_GB .x"):
        with pytest.raises(ConfigErrors):
            load(tmp_path, vhost_file(tmp_path, body=wrong))
