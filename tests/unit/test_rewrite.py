"""The mod_rewrite subset, run on real request contexts (and real files for -f/-d)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from itkgw.errors import ConfigError
from itkgw.http.connection import Request
from itkgw.request.variables import context_for
from itkgw.rules.expr import parse
from itkgw.rules.expr_context import ExprContext
from itkgw.rules.rewrite import RewriteCond, RewriteConfigError, RewriteResult, RewriteRule, compile_rules

DOCROOT = "/srv/alice"


def request(target: str, host: str = "alice.test:8080", **headers: str) -> Request:
    path, _, query = target.partition("?")
    header_list = [("host", host)] if host else []
    header_list += [(name.replace("_", "-"), value) for name, value in headers.items()]
    return Request(method="GET", target=target, path=path, query=query, http_version="1.1",
                   headers=header_list, host=host.split(":")[0], local_ip="127.0.0.1", local_port=8080,
                   remote_ip="192.0.2.9", remote_port=40000)


def context(target: str, docroot: str = DOCROOT, reqenv: dict[str, str] | None = None,
            **kwargs: str) -> ExprContext:
    return context_for(request(target, **kwargs), "alice.test", docroot, {} if reqenv is None else reqenv)


def rule(pattern: str, substitution: str, *flags: str, conditions: tuple[RewriteCond, ...] = (),
         line: int = 1) -> RewriteRule:
    return RewriteRule(pattern, substitution, flags, conditions, where=f"httpd.conf:{line}")


def run(rules: list[RewriteRule], target: str, ctx: ExprContext | None = None) -> RewriteResult:
    path, _, query = target.partition("?")
    return compile_rules(rules).apply(path, query, ctx or context(target))


# -- the seed example, verbatim -------------------------------------------------------


def test_rewrite_rule_feeds_assign_user_id_expr() -> None:
    rules = compile_rules([RewriteRule("/~([a-z]+)/", "-", ("E=ITKUID:$1",), where="httpd.conf:7")])
    user_expr = parse("%{reqenv:ITKUID}")

    reqenv: dict[str, str] = {}
    ctx = context("/~alice/x.php", reqenv=reqenv)
    result = rules.apply("/~alice/x.php", "", ctx)
    assert (result.path, result.query, result.matched) == ("/~alice/x.php", "", True)
    assert result.env_set == {"ITKUID": "alice"} and reqenv == {"ITKUID": "alice"}
    assert (result.redirect, result.status) == (None, None)
    assert user_expr.string(ctx) == "alice"

    ctx = context("/index.php")
    result = rules.apply("/index.php", "", ctx)
    assert (result.path, result.matched, result.env_set) == ("/index.php", False, {})
    assert user_expr.string(ctx) == ""


def test_flags_may_come_as_written_in_brackets() -> None:
    result = run([rule("^/~([a-z]+)", "-", "[E=ITKUID:$1,E=SITE:%{HTTP_HOST}]")], "/~bob/")
    assert result.env_set == {"ITKUID": "bob", "SITE": "alice.test:8080"}


# -- substitutions ------------------------------------------------------------------------


def test_substitution_replaces_the_path_and_rules_chain() -> None:
    rules = [rule("^/old/(.*)$", "/new/$1"), rule("^/new/(.*)\\.html$", "/pages/$1.php")]
    result = run(rules, "/old/a.html")
    assert (result.path, result.matched, result.redirect, result.status) == ("/pages/a.php", True, None, None)


def test_last_stops_and_dash_leaves_the_path() -> None:
    rules = [rule("^/a", "/b", "L"), rule("^/b", "/c")]
    assert run(rules, "/a").path == "/b"
    assert run([rule("^/a", "-"), rule("^/a", "/z")], "/a").path == "/z"
    assert run([rule("^/x", "/y", "END"), rule("^/y", "/z")], "/x").path == "/y"
    assert run([rule("^/x", "/y", "PT"), rule("^/y", "/z")], "/x").path == "/y"


def test_backreferences_variables_and_escapes_in_substitutions() -> None:
    rules = [rule("^/u/([a-z]+)/(\\d+)$", "/%{HTTP:X-Site}/$2/$1/\\$1/%{REQUEST_METHOD}/%{NO_SUCH_VAR}x")]
    result = run(rules, "/u/alice/42", context("/u/alice/42", X_Site="s1"))
    assert result.path == "/s1/42/alice/$1/GET/x"


def test_nocase_rule() -> None:
    assert run([rule("^/abc$", "/x", "NC")], "/ABC").path == "/x"
    assert run([rule("^/abc$", "/x")], "/ABC").matched is False
    assert run([rule("^/abc$", "/x", "nocase")], "/AbC").path == "/x"


def test_negated_pattern_has_no_backreferences() -> None:
    result = run([rule("!^/keep/(.*)", "/other/[$1]")], "/else")
    assert result.path == "/other/[]"
    assert run([rule("!^/keep", "/other")], "/keep/x").matched is False


def test_query_string_replaced_appended_or_discarded() -> None:
    assert (run([rule("^/a$", "/b?x=1")], "/a?y=2").query) == "x=1"
    assert (run([rule("^/a$", "/b?x=1", "QSA")], "/a?y=2").query) == "x=1&y=2"
    assert (run([rule("^/a$", "/b?x=1", "QSA")], "/a").query) == "x=1"
    assert (run([rule("^/a$", "/b")], "/a?y=2").query) == "y=2"  # no ? in the substitution: kept
    assert (run([rule("^/a$", "/b?")], "/a?y=2").query) == ""  # a lone ? drops it
    assert (run([rule("^/a$", "/b", "QSD")], "/a?y=2").query) == ""
    result = run([rule("^/a$", "/b?q=%{QUERY_STRING}")], "/a?y=2")
    assert (result.path, result.query) == ("/b", "q=y=2")


def test_document_root_substitution_maps_back_to_the_url_path() -> None:
    assert run([rule("^/a$", "/srv/alice/b.php")], "/a").path == "/b.php"
    assert run([rule("^/a$", "%{DOCUMENT_ROOT}/sub/")], "/a").path == "/sub/"
    assert run([rule("^/a$", "/srv/alice")], "/a").path == "/"
    assert run([rule("^/a$", "/srv/alicex/b")], "/a").path == "/srv/alicex/b"  # another path: a URL path


def test_paths_are_normalised_and_unservable_ones_get_400() -> None:
    assert run([rule("^/a$", "/x/./y//../z")], "/a").path == "/x/z"
    result = run([rule("^/a$", "relative/path")], "/a")
    assert result.status == 400
    result = run([rule("^/(.*)$", "/../%{HTTP:X-Evil}")], "/a", context("/a", X_Evil="etc/passwd"))
    assert result.status == 400


def test_skip_and_chain() -> None:
    rules = [rule("^/a", "-", "S=1"), rule("^/a", "/skipped"), rule("^/a", "/reached")]
    assert run(rules, "/a").path == "/reached"
    chained = [rule("^/a", "/b", "C"), rule("^/b", "/c"), rule(".", "-", "E=DONE:%{REQUEST_FILENAME}")]
    assert run(chained, "/a").path == "/c"
    not_applied = run(chained, "/x")  # the first fails, so its chained rule is skipped
    assert (not_applied.path, not_applied.env_set) == ("/x", {"DONE": "/x"})


def test_backreference_escaping_flag() -> None:
    result = run([rule("^/s/(.*)$", "/search?q=$1", "B")], "/s/a b&c")
    assert result.query == "q=a+b%26c"


# -- environment variables ------------------------------------------------------------


def test_env_flag_sets_unsets_and_later_rules_see_it() -> None:
    reqenv = {"OLD": "1", "itkuid": "stale"}
    ctx = context("/~carol/", reqenv=reqenv)
    rules = [
        rule("^/~([a-z]+)", "-", "E=ITKUID:$1", "E=!OLD", "E=EMPTY"),
        rule(".", "-", "E=SEEN:%{ENV:itkuid}"),
    ]
    result = run(rules, "/~carol/", ctx)
    assert result.env_set == {"ITKUID": "carol", "EMPTY": "", "SEEN": "carol"}
    # names are not case sensitive: one set again keeps its place and spelling, as in apr's tables
    assert reqenv == {"itkuid": "carol", "EMPTY": "", "SEEN": "carol"}
    assert list(reqenv) == ["itkuid", "EMPTY", "SEEN"]


def test_env_in_test_strings_falls_back_to_the_server_environment() -> None:
    ctx = context("/a")
    ctx.osenv = {"DEPLOY": "blue"}
    cond = RewriteCond("%{ENV:DEPLOY}", "^blue$")
    assert run([rule("^/a", "/b", conditions=(cond,))], "/a", ctx).path == "/b"


# -- redirects and statuses ----------------------------------------------------------


def test_redirect_flag_qualifies_the_path_with_the_request_host() -> None:
    result = run([rule("^/old$", "/new", "R")], "/old")
    assert result.redirect == (302, "http://alice.test:8080/new")
    result = run([rule("^/old$", "/new", "R=301", "L")], "/old?a=1")
    assert result.redirect == (301, "http://alice.test:8080/new?a=1")
    result = run([rule("^/old$", "new", "R=permanent")], "/old", context("/old", host="alice.test"))
    assert result.redirect == (301, "http://alice.test/new")  # no port in Host: 80, as httpd takes it...
    result = run([rule("^/old$", "/new", "redirect=seeother")], "/old", context("/old", host=""))
    assert result.redirect == (303, "http://alice.test:8080/new")  # ...and without Host: ServerName


def test_redirect_default_port_is_left_out() -> None:
    result = run([rule("^/old$", "/new", "R")], "/old", context("/old", host="www.alice.test:80"))
    assert result.redirect == (302, "http://www.alice.test/new")


def test_redirect_with_and_without_qsa() -> None:
    assert run([rule("^/a$", "/b?x=1", "R")], "/a?y=2").redirect == (302, "http://alice.test:8080/b?x=1")
    assert run([rule("^/a$", "/b?x=1", "R,QSA")], "/a?y=2").redirect == (
        302, "http://alice.test:8080/b?x=1&y=2")
    assert run([rule("^/a$", "/b", "R")], "/a?y=%20").redirect == (302, "http://alice.test:8080/b?y=%20")


def test_redirect_location_is_escaped_unless_ne() -> None:
    result = run([rule("^/a/(.*)$", "/b/$1#top", "R")], "/a/x y")
    assert result.redirect == (302, "http://alice.test:8080/b/x%20y%23top")
    result = run([rule("^/a/(.*)$", "/b/$1#top", "R", "NE")], "/a/x")
    assert result.redirect == (302, "http://alice.test:8080/b/x#top")


def test_absolute_url_substitution_redirects_unless_it_is_this_host() -> None:
    result = run([rule("^/(.*)$", "http://other.test/$1")], "/x?q=1")
    assert result.redirect == (302, "http://other.test/x?q=1")
    result = run([rule("^/(.*)$", "https://alice.test/$1", "R=301")], "/x")
    assert result.redirect == (301, "https://alice.test/x")
    reduced = run([rule("^/(.*)$", "http://alice.test:8080/y/$1")], "/x")
    assert (reduced.path, reduced.redirect) == ("/y/x", None)


def test_redirect_rules_go_on_without_l() -> None:
    rules = [rule("^/a$", "/b", "R"), rule("^http://alice\\.test:8080/b$", "-", "E=SAW:%{REQUEST_FILENAME}")]
    result = run(rules, "/a")
    assert result.env_set == {"SAW": "http://alice.test:8080/b"}
    assert result.redirect == (302, "http://alice.test:8080/b")


@pytest.mark.parametrize(("flag", "status"), [("F", 403), ("forbidden", 403), ("G", 410), ("gone", 410),
                                              ("R=404", 404), ("R=503", 503)])
def test_status_flags(flag: str, status: int) -> None:
    rules = [rule("^/private", "/ignored", flag, "E=WHY:closed"), rule(".", "-", "E=NOT:reached")]
    result = run(rules, "/private/x")
    assert (result.status, result.redirect, result.env_set) == (status, None, {"WHY": "closed"})
    assert run(rules, "/public").status is None


def test_cookie_flags_make_mod_rewrite_s_set_cookie_values() -> None:
    rules = [rule("^/a$", "-", "CO=lang:%{QUERY_STRING}:.alice.test:60:/app:true:1:Lax",
                  "CO=plain:1:alice.test", "CO=plain:2:alice.test", "CO=;semi;a:b;alice.test",
                  "CO=nodomain:1")]
    lang, plain, semi = run(rules, "/a?fr").cookies
    assert lang.startswith("lang=fr; path=/app; domain=.alice.test; expires=")
    assert lang.endswith(" GMT; secure; HttpOnly; SameSite=Lax")
    assert plain == "plain=1; path=/; domain=alice.test"  # a name is set once, the first time
    assert semi == "semi=a:b; path=/; domain=alice.test"  # ";" separates when it comes first


def test_the_next_flag_runs_the_rules_again_until_its_limit(caplog: pytest.LogCaptureFixture) -> None:
    assert run([rule("^(.*)-(.*)$", "$1_$2", "N")], "/a-b-c").path == "/a_b_c"
    with caplog.at_level(logging.ERROR, logger="itkgw.rewrite"):
        looping = run([rule("^(.*)$", "$1x", "N=5")], "/a")
    assert looping.status == 500 and "exceeded maximum number of rounds (5) via the [N] flag" in caplog.text


def test_a_proxy_rule_is_refused_with_httpds_403_and_log_line(caplog: pytest.LogCaptureFixture) -> None:
    rules = [rule("^/api/(.*)$", "http://127.0.0.1:9000/$1", "P"), rule(".", "-", "E=NOT:reached")]
    with caplog.at_level(logging.ERROR, logger="itkgw.rewrite"):
        result = run(rules, "/api/x")
    assert (result.status, result.redirect, result.env_set) == (403, None, {})
    assert "AH00669: attempt to make remote request from mod_rewrite without proxy enabled: " \
           "proxy:http://127.0.0.1:9000/x" in caplog.text
    assert run(rules, "/other").status is None


# -- conditions ------------------------------------------------------------------------------


def cond(test: str, pattern: str, *flags: str) -> RewriteCond:
    return RewriteCond(test, pattern, flags)


def applies(*conditions: RewriteCond, target: str = "/a", ctx: ExprContext | None = None) -> bool:
    return run([rule(".", "-", "E=HIT:1", conditions=conditions)], target, ctx).matched


def test_regex_conditions_are_anded() -> None:
    assert applies(cond("%{HTTP_HOST}", "^alice\\."), cond("%{REQUEST_METHOD}", "GET"))
    assert not applies(cond("%{HTTP_HOST}", "^alice\\."), cond("%{REQUEST_METHOD}", "POST"))
    assert applies(cond("%{HTTP_HOST}", "!^bob\\."))
    assert not applies(cond("%{HTTP_HOST}", "^ALICE"))
    assert applies(cond("%{HTTP_HOST}", "^ALICE", "NC"))


def test_or_chains() -> None:
    no, yes = cond("x", "^no$", "OR"), cond("x", "^x$", "OR")
    assert applies(no, yes, cond("x", "^x$"))
    assert not applies(no, cond("x", "^no$", "ornext"), cond("x", "^no$"))
    assert applies(yes, cond("x", "^no$"))  # A [OR] B: A holds, B is not even tested
    assert not applies(yes, cond("x", "^no$"), cond("x", "^no$"))  # (A or B) and C
    assert not applies(cond("x", "^no$"), cond("x", "^no$", "OR"), cond("x", "^x$"))


def test_percent_backreferences_come_from_the_last_matching_condition() -> None:
    conditions = (cond("%{HTTP_HOST}", "^([a-z]+)\\.test"), cond("%{REQUEST_URI}", "^/([a-z]+)/(\\d+)"))
    rules = [rule("^/(.*)$", "/%1/%2/$1", conditions=conditions)]
    assert run(rules, "/post/42").path == "/post/42/post/42"
    conditions = (cond("%{HTTP_HOST}", "^([a-z]+)\\.test"), cond("%{REQUEST_URI}", "!^/admin/(.*)"))
    rules = [rule("^/(.*)$", "/sites/%1/$1", conditions=conditions)]  # a negated match sets none
    assert run(rules, "/page").path == "/sites/alice/page"


def test_conditions_see_the_rules_groups_and_the_current_path() -> None:
    conditions = (cond("$1", "^alice$"), cond("%{REQUEST_FILENAME}", "^/home/alice$"))
    rules = [rule("^/~([a-z]+)$", "/home/$1"), rule("^/home/([a-z]+)$", "/ok/$1", conditions=conditions)]
    assert run(rules, "/~alice").path == "/ok/alice"


def test_string_and_integer_comparisons() -> None:
    assert applies(cond("%{REQUEST_METHOD}", "=GET"))
    assert not applies(cond("%{REQUEST_METHOD}", "=get"))
    assert applies(cond("%{REQUEST_METHOD}", "=get", "NC"))
    assert applies(cond("%{QUERY_STRING}", '=""'))
    assert applies(cond("%{QUERY_STRING}", '!=""'), target="/a?x")
    assert applies(cond("b", "<c"), cond("b", "<=b"), cond("b", ">a"), cond("b", ">=b"))
    assert applies(cond("abc", ">zz"))  # mod_rewrite orders by length first...
    assert not applies(cond("Zz", ">ABC"))
    assert applies(cond("Zz", ">ABC", "NC"))  # ...but not with NC
    assert applies(cond("10", "-gt9"), cond("9", "-lt10"), cond("5", "-eq5"), cond("5", "-ne6"),
                   cond("5", "-ge5"), cond("5", "-le5"))
    assert not applies(cond("5", "!-eq5"))


def test_expr_conditions() -> None:
    conditions = (cond("expr", "%{REQUEST_URI} =~ m#^/~([a-z]+)# && %{REQUEST_METHOD} == 'GET'"),)
    rules = [rule(".", "-", "E=ITKUID:%1", conditions=conditions)]
    assert run(rules, "/~dave/x").env_set == {"ITKUID": "dave"}
    assert not applies(cond("expr", "!%{REQUEST_METHOD} == 'GET'"))
    assert applies(cond("expr", "%{REQUEST_FILENAME} == '/a'"))


def test_file_tests_on_real_files(tmp_path: Path) -> None:
    root = tmp_path / "www"
    (root / "dir").mkdir(parents=True)
    (root / "empty.txt").write_bytes(b"")
    (root / "page.php").write_bytes(b"<?php")
    (root / "run.cgi").write_bytes(b"#!/bin/sh\n")
    (root / "run.cgi").chmod(0o755)
    os.symlink("page.php", root / "link.php")

    def holds(target: str, pattern: str) -> bool:
        ctx = context(target, docroot=str(root))
        return applies(cond("%{DOCUMENT_ROOT}%{REQUEST_FILENAME}", pattern), target=target, ctx=ctx)

    assert holds("/page.php", "-f") and not holds("/dir", "-f") and not holds("/missing", "-f")
    assert holds("/dir", "-d") and not holds("/page.php", "-d")
    assert holds("/page.php", "-s") and not holds("/empty.txt", "-s")
    assert holds("/run.cgi", "-x") and not holds("/page.php", "-x")
    assert holds("/link.php", "-l") and holds("/link.php", "-L") and holds("/link.php", "-h")
    assert not holds("/page.php", "-l")
    assert holds("/missing", "!-f") and not holds("/page.php", "!-f")


def test_front_controller_pattern(tmp_path: Path) -> None:
    (tmp_path / "static.css").write_bytes(b"body{}")
    rules = [rule("^/(.*)$", "/index.php?route=$1", "QSA", "L", conditions=(
        cond("%{DOCUMENT_ROOT}%{REQUEST_FILENAME}", "!-f"),
        cond("%{DOCUMENT_ROOT}%{REQUEST_FILENAME}", "!-d"),
    ))]
    result = run(rules, "/blog/1?x=2", context("/blog/1?x=2", docroot=str(tmp_path)))
    assert (result.path, result.query) == ("/index.php", "route=blog/1&x=2")
    result = run(rules, "/static.css", context("/static.css", docroot=str(tmp_path)))
    assert (result.path, result.matched) == ("/static.css", False)


# -- configuration errors ------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "message"), [
    (rule("^/(a", "/b", line=12),
     "httpd.conf:12: RewriteRule: cannot compile regular expression '^/(a': missing ), unterminated "
     "subpattern"),
    (rule("^/a", "/b", "Q", line=3), "httpd.conf:3: RewriteRule: unknown flag 'Q'"),
    (rule("^/a", "/b", "L,BOGUS=1", line=3), "httpd.conf:3: RewriteRule: unknown flag 'BOGUS'"),
    (rule("^/a", "/b", "R=999", line=5), "httpd.conf:5: RewriteRule: invalid HTTP response code '999' "
     "for flag 'R' (use a 3xx status to redirect, 4xx or 5xx to refuse)"),
    (rule("^/a", "/b", "R=418", line=5), "httpd.conf:5: RewriteRule: invalid HTTP response code '418' "
     "for flag 'R' (use a 3xx status to redirect, 4xx or 5xx to refuse)"),
    (rule("^/a", "/b", "R=200", line=5), "httpd.conf:5: RewriteRule: invalid HTTP response code '200' "
     "for flag 'R' (use a 3xx status to redirect, 4xx or 5xx to refuse)"),
    (rule("^/a", "-", "E=U:%{LA-U:REMOTE_USER}", line=7),
     "httpd.conf:7: RewriteRule: lookahead %{LA-U:REMOTE_USER} is not supported (use %{REMOTE_USER})"),
    (rule("^/a", "/b", conditions=(cond("%{HTTP_HOST}", "^(x"),), line=8),
     "httpd.conf:8: RewriteCond: cannot compile regular expression '^(x': missing ), unterminated "
     "subpattern"),
    (rule("^/a", "/b", conditions=(cond("%{HTTP_HOST}", "x", "NC", "XX"),), line=8),
     "httpd.conf:8: RewriteCond: unknown flag 'XX'"),
    (rule("^/a", "/b", conditions=(cond("%{REQUEST_URI}", "-U"),), line=9),
     "httpd.conf:9: RewriteCond: lookahead test -U is not supported (use -f or -d on "
     "%{DOCUMENT_ROOT}%{REQUEST_URI})"),
    (rule("^/a", "/b", conditions=(cond("expr", "%{NOPE} == 'x'"),), line=10),
     "httpd.conf:10: RewriteCond: cannot compile expression \"%{NOPE} == 'x'\": unknown variable "
     "'NOPE' at character 1 of \"%{NOPE} == 'x'\""),
    (rule("^/a", "/b", conditions=(cond("%{SSL:SSL_CIPHER}", "x"),), line=11),
     "httpd.conf:11: RewriteCond: %{SSL:SSL_CIPHER} is not supported (itkgw has no TLS)"),
])
def test_configuration_errors_name_the_rule(bad: RewriteRule, message: str) -> None:
    with pytest.raises(RewriteConfigError) as caught:
        compile_rules([rule("^/fine", "-"), bad])
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ConfigError)
    assert caught.value.where == bad.where


def test_accepted_flags_compile() -> None:
    flags = ("B", "C", "DPI", "E=A:1", "END", "L", "NC", "NE", "NS", "PT", "QSA", "QSD", "R=307", "S=2")
    assert len(compile_rules([rule("^/a", "/b", *flags)])) == 1
    assert len(compile_rules([rule("^/a", "-", "env=A:1", "last", "qsappend", "passthrough",
                                   "noescape", "redirect=permanent")])) == 1


# -- per directory ---------------------------------------------------------------------------


def in_directory(rules: list[RewriteRule], filename: str, path_info: str = "", query: str = "",
                 directory: str = f"{DOCROOT}/blog", base: str | None = None) -> RewriteResult:
    return compile_rules(rules).apply_in_directory(filename, path_info, query, context("/x"), directory, base)


def test_per_directory_patterns_see_the_path_below_the_directory_and_its_path_info() -> None:
    rules = [rule("^post/([0-9]+)/(.*)$", "show.php?id=$1&rest=$2", "L")]
    result = in_directory(rules, f"{DOCROOT}/blog/post", "/12/comments")
    assert (result.path, result.query) == ("/blog/show.php", "id=12&rest=comments")


def test_rewrite_base_replaces_the_directory_and_document_root_is_stripped_without_it() -> None:
    rules = [rule("^(.*)$", "index.php", "L")]
    with_base = in_directory(rules, "/srv/elsewhere/app/x", directory="/srv/elsewhere/app", base="/app/")
    assert with_base.path == "/app/index.php"
    assert in_directory(rules, f"{DOCROOT}/blog/x").path == "/blog/index.php"


def test_a_per_directory_result_equal_to_the_request_is_no_redirect() -> None:
    rules = [rule("^index\\.php$", "index.php", "L")]
    assert in_directory(rules, f"{DOCROOT}/blog/index.php").path == ""
    assert in_directory([rule("^nothing$", "x")], f"{DOCROOT}/blog/y").matched is False


def test_request_filename_is_the_file_without_its_path_info() -> None:
    rules = [rule(".*", "-", "E=FN:%{REQUEST_FILENAME}")]
    result = in_directory(rules, f"{DOCROOT}/blog/env.php", "/extra")
    assert result.env_set == {"FN": f"{DOCROOT}/blog/env.php"}


def test_a_per_directory_redirect_with_a_base_is_an_absolute_url() -> None:
    result = in_directory([rule("^old$", "new", "R=301")], f"{DOCROOT}/blog/old", base="/blog/")
    assert result.redirect == (301, "http://alice.test:8080/blog/new")


def test_ne_keeps_a_per_directory_redirect_unescaped() -> None:
    result = in_directory([rule("^x$", "/blog/y#top", "NE", "R=302")], f"{DOCROOT}/blog/x")
    assert result.redirect == (302, "http://alice.test:8080/blog/y#top")
    escaped = in_directory([rule("^x$", "/blog/y#top", "R=302")], f"{DOCROOT}/blog/x")
    assert escaped.redirect == (302, "http://alice.test:8080/blog/y%23top")


def test_a_rewritten_query_with_a_space_is_refused_unless_b_escapes_it() -> None:
    """httpd 2.4.56's answer to CVE-2023-25690: a 403, where [B] would have escaped the space."""
    spaced = in_directory([rule("^(.+)$", "t.php?p=$1", "L")], f"{DOCROOT}/blog/a b")
    assert spaced.status == 403
    assert in_directory([rule("^(.+)$", "t.php?p=$1", "B", "L")], f"{DOCROOT}/blog/a b").status is None
    assert run([rule("^/(.+)$", "/t.php?p=$1")], "/a b").status == 403


def test_a_per_directory_redirect_without_a_base_keeps_the_directory_path_as_httpd_s_does() -> None:
    """httpd adds the stripped directory back and makes that the URL: RewriteBase's reason.
    An absolute substitution is a URL path already."""
    result = in_directory([rule("^old$", "new", "R=301")], f"{DOCROOT}/blog/old")
    assert result.redirect == (301, f"http://alice.test:8080{DOCROOT}/blog/new")
    result = in_directory([rule("^old$", "/blog/new", "R=301")], f"{DOCROOT}/blog/old")
    assert result.redirect == (301, "http://alice.test:8080/blog/new")


# -- Vary --------------------------------------------------------------------------------


@pytest.mark.parametrize(("test", "flags", "sent", "vary"), [
    ("%{HTTP_USER_AGENT}", (), {"user_agent": "Curlish/1"}, ("User-Agent",)),
    ("%{HTTP:X-Token}", (), {"x_token": "Curlish"}, ("X-Token",)),
    ("%{HTTP_REFERER}", (), {"referer": "Curlish"}, ("Referer",)),
    ("%{HTTP_HOST}", (), {}, ()),  # httpd leaves Host out of Vary
    ("%{HTTP_USER_AGENT}", ("NV",), {"user_agent": "Curlish/1"}, ()),
])
def test_vary_names_the_request_headers_the_conditions_read(test: str, flags: tuple[str, ...],
                                                              sent: dict[str, str],
                                                              vary: tuple[str, ...]) -> None:
    condition = RewriteCond(test, ".*" if "HOST" in test else "^Curl", flags)
    result = run([rule("^/ua$", "/a.txt", "L", conditions=(condition,))], "/ua", context("/ua", **sent))
    assert (result.path, result.vary) == ("/a.txt", vary)


def test_a_header_the_request_lacks_or_a_condition_that_failed_adds_no_vary() -> None:
    """As httpd's lookup_header: only a header present is named; an [OR] condition that failed
    drops what it read."""
    absent = RewriteCond("%{HTTP_USER_AGENT}", "^$", ())
    assert run([rule("^/ua$", "/a.txt", "L", conditions=(absent,))], "/ua").vary == ()
    failed = RewriteCond("%{HTTP_REFERER}", "^nomatch", ("OR",))
    held = RewriteCond("%{HTTP_USER_AGENT}", "^Curl", ())
    ctx = context("/ua", user_agent="Curlish", referer="elsewhere")
    assert run([rule("^/ua$", "/a.txt", "L", conditions=(failed, held))], "/ua", ctx).vary == ("User-Agent",)


def test_a_pass_through_rule_says_its_path_is_the_request_s_uri_from_now_on() -> None:
    assert run([rule("^/old/(.*)$", "/new/$1", "PT")], "/old/a").passthrough
    assert not run([rule("^/old/(.*)$", "/new/$1", "L")], "/old/a").passthrough
    assert not run([rule("^/old/(.*)$", "-", "PT"), rule("^/old", "/x")], "/old/a").passthrough
