"""The ap_expr subset: both forms, every function and operator, and the parse errors."""

from __future__ import annotations

import hashlib
import time

import pytest

from itkgw import SERVER_SOFTWARE
from itkgw.config.model import Address, ModuleSettings, VHost
from itkgw.config.modules.core import RequestSettings
from itkgw.http.connection import Request
from itkgw.request.variables import context_for, context_of
from itkgw.rules.expr import ExprError, parse, parse_condition
from itkgw.rules.expr_context import ExprContext
from itkgw.rules.pcre import compile_regex


def make_context(**overrides: object) -> ExprContext:
    variables = {
        "HTTP_HOST": "Alice.Example.COM:8080",
        "REQUEST_URI": "/~alice/x.php",
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": "a=1&b=2",
        "REMOTE_ADDR": "10.1.2.3",
        "SERVER_NAME": "alice.example.com",
        "SERVER_PORT": "8080",
    }
    headers = {"host": "Alice.Example.COM:8080", "x-forwarded-for": "192.0.2.7", "user-agent": "curl/8"}
    context = ExprContext(variables=variables, headers=headers, reqenv={"ITKUID": "alice"},
                          osenv={"HOME": "/root", "ITKUID": "from-os", "ONLY_OS": "os"})
    for name, value in overrides.items():
        setattr(context, name, value)
    return context


def string(text: str, ctx: ExprContext | None = None) -> str:
    return parse(text).string(ctx or make_context())


def boolean(text: str, ctx: ExprContext | None = None) -> bool:
    return parse_condition(text).boolean(ctx or make_context())


# -- the string form (AssignUserIDExpr) ---------------------------------------


def test_string_form_interpolates_variables_and_keeps_the_rest_literal() -> None:
    assert string("%{reqenv:ITKUID}") == "alice"
    assert string("user_%{tolower:%{HTTP_HOST}}") == "user_alice.example.com:8080"
    assert string("'%{REQUEST_METHOD}' \"x\" && y") == "'GET' \"x\" && y"
    assert string("plain") == "plain"
    assert string("") == ""


def test_string_form_unknown_request_env_is_empty() -> None:
    assert string("%{reqenv:NOPE}") == ""
    assert string("%{reqenv:ITKUID}", make_context(reqenv={})) == ""


def test_variable_and_function_names_are_not_case_sensitive() -> None:
    assert string("%{http_host}") == "Alice.Example.COM:8080"
    assert string("%{REQENV:ITKUID}%{ToLower:AB}") == "aliceab"


def test_string_form_escapes_and_literal_percent_and_dollar() -> None:
    assert string(r"a\tb\x41\101\n") == "a\tbAA\n"
    assert string(r"\%{HTTP_HOST}") == "%{HTTP_HOST}"
    assert string("100% $x $") == "100% $x $"


def test_backrefs_in_the_string_form_are_empty_without_a_match() -> None:
    assert string("[$1]") == "[]"


def test_request_variables_headers_and_environments() -> None:
    assert string("%{HTTP:X-Forwarded-For}") == "192.0.2.7"
    assert string("%{http:USER-AGENT}") == "curl/8"
    assert string("%{HTTP:Missing}") == ""
    assert string("%{REQUEST_URI}|%{QUERY_STRING}|%{REMOTE_ADDR}") == "/~alice/x.php|a=1&b=2|10.1.2.3"
    assert string("%{HTTP_USER_AGENT}") == "curl/8"  # from the headers when not a variable
    assert string("%{REMOTE_USER}") == ""  # known to ap_expr, unknown to this request


def test_env_looks_up_the_request_environment_then_the_servers() -> None:
    assert string("%{ENV:ITKUID}") == "alice"
    assert string("%{env:itkuid}") == "alice"  # request env names are not case sensitive
    assert string("%{ENV:ONLY_OS}") == "os"
    assert string("%{reqenv:ONLY_OS}") == ""
    assert string("%{osenv:ITKUID}") == "from-os"
    assert string("%{osenv:only_os}") == ""  # the process environment is case sensitive
    assert string("%{note:anything}") == ""


def test_string_functions() -> None:
    assert string("%{toupper:abc-É}") == "ABC-É"  # ASCII only, as apr_toupper
    assert string("%{tolower:ABC}") == "abc"
    assert string("%{escape:a b/c?d%e;f~}") == "a%20b/c%3fd%25e;f~"
    assert string("%{unescape:a%20b%2Fc%2fd}") == "a b%2Fc%2fd"  # %2F stays, as ap_unescape_url_keep2f
    assert string("%{unescape:bad%zz}") == ""
    assert string("%{unescape:nul%00}") == ""
    assert string("%{base64:alice:secret}") == "YWxpY2U6c2VjcmV0"
    assert string("%{unbase64:YWxpY2U6c2VjcmV0}") == "alice:secret"
    assert string("%{unbase64:YWxpY2U}") == "alice"  # missing padding is fine
    assert string("%{md5:alice}") == hashlib.md5(b"alice").hexdigest()
    assert string("%{sha1:alice}") == hashlib.sha1(b"alice").hexdigest()


def test_function_arguments_may_nest() -> None:
    assert string("%{toupper:%{tolower:%{HTTP_HOST}}x}") == "ALICE.EXAMPLE.COM:8080X"


def test_time_variables() -> None:
    before = time.localtime()
    year, stamp, month, wday = string("%{TIME_YEAR}|%{TIME}|%{TIME_MON}|%{TIME_WDAY}").split("|")
    assert year == str(before.tm_year)
    assert len(stamp) == 14 and stamp.isdigit()
    assert len(month) == 2 and 1 <= int(month) <= 12
    assert wday in "0123456"
    assert string("%{TIME_WDAY}", make_context(variables={})) == str((time.localtime().tm_wday + 1) % 7)


# -- the condition form (Require expr, RewriteCond expr) -----------------------


def test_constants_and_logic() -> None:
    assert boolean("true")
    assert not boolean("false")
    assert boolean("!false")
    assert not boolean("true && false")
    assert boolean("true || false")
    assert boolean("false || true && true")  # && binds tighter than ||
    assert not boolean("(false || true) && false")
    assert boolean("!true || true")  # ! binds tighter than ||
    assert boolean("not false and (false or true)")


def test_string_comparisons() -> None:
    assert boolean("%{REQUEST_METHOD} == 'GET'")
    assert boolean("%{REQUEST_METHOD} = \"GET\"")
    assert boolean("%{REQUEST_METHOD} != 'POST'")
    assert boolean("'abc' < 'abd'")
    assert boolean("'abc' <= 'abc'")
    assert boolean("'b' > 'abc'")
    assert boolean("'b' >= 'b'")
    assert not boolean("'B' == 'b'")


def test_integer_comparisons_with_and_without_dash() -> None:
    assert boolean("%{SERVER_PORT} -eq 8080")
    assert boolean("10 -gt 9")  # as integers, not strings
    assert not boolean("'10' > '9'")  # as strings
    assert boolean("10 gt 9 && 9 lt 10 && 3 le 3 && 3 ge 3 && 1 ne 2 && 2 eq 2")
    assert boolean("-5 -lt 0")
    assert boolean("'7abc' -eq 7")  # leading digits count, as apr_atoi64
    assert boolean("'abc' -eq 0")


def test_regex_match_and_captures() -> None:
    assert boolean("%{REQUEST_URI} =~ /^\\/~([a-z]+)\\// && $1 == 'alice'")
    assert boolean("%{REQUEST_URI} =~ m#^/~([a-z]+)/# && $1 == 'alice' && $0 == '/~alice/'")
    assert boolean("%{HTTP_HOST} =~ /^alice\\./i")
    assert not boolean("%{HTTP_HOST} =~ /^alice\\./")
    assert boolean("%{HTTP_HOST} !~ /^bob/")
    assert not boolean("%{HTTP_HOST} !~ /Alice/")
    assert boolean("'x' =~ /(a)?x/ && -z $1")  # a group that took no part is empty
    expression = parse_condition("%{REQUEST_URI} =~ m#^/~([a-z]+)/#")
    assert expression.boolean_and_captures(make_context()) == (True, ("/~alice/", "alice"))


def test_posix_classes_in_regexes() -> None:
    assert boolean("%{HTTP_HOST} =~ /^[[:alpha:]]+\\.[[:alnum:]-]+/")
    assert not boolean("'42' =~ /^[[:alpha:]]+$/")
    assert compile_regex("(?<user>[a-z]+)").match("bob").group("user") == "bob"  # type: ignore[union-attr]


def test_in_lists() -> None:
    assert boolean("%{REQUEST_METHOD} -in {'GET', 'HEAD'}")
    assert boolean("%{REQUEST_METHOD} in {'HEAD','GET'}")
    assert not boolean("%{REQUEST_METHOD} -in {'POST'}")


def test_unary_operators() -> None:
    assert boolean("-n %{REQUEST_URI}")
    assert boolean("-z %{reqenv:NOPE}")
    assert boolean("-z ''")
    assert boolean("-T 'yes' && !-T 'off' && !-T '0' && !-T 'False' && !-T ''")
    assert boolean("-R '10.0.0.0/8'")
    assert not boolean("-R '192.168.0.0/16'")


def test_ip_and_string_matching_operators() -> None:
    assert boolean("%{REMOTE_ADDR} -ipmatch '10.1'")  # partial address, as apr_ipsubnet
    assert boolean("%{REMOTE_ADDR} -ipmatch '10.1.2.0/255.255.255.0'")
    assert boolean("'::ffff:10.1.2.3' -ipmatch '10.0.0.0/8'")
    assert boolean("'2001:db8::1' -ipmatch '2001:db8::/32'")
    assert not boolean("'2001:db8::1' -ipmatch '10.0.0.0/8'")
    assert not boolean("'not-an-ip' -ipmatch '10.0.0.0/8'")
    assert boolean("'/a/b.php' -strmatch '/a/*.php'")
    assert boolean("'/a/b/c.php' -strmatch '/a/*.php'")  # * matches / in -strmatch
    assert not boolean("'/a/b/c.php' -fnmatch '/a/*.php'")  # but not in -fnmatch
    assert boolean("'/a/b.php' -fnmatch '/a/?.[pP]hp'")
    assert boolean("'ABC' -strcmatch 'a*'")
    assert not boolean("'ABC' -strmatch 'a*'")


def test_functions_and_concatenation_in_the_condition_form() -> None:
    assert boolean("tolower(%{HTTP_HOST}) == 'alice.example.com:8080'")
    assert boolean("req('X-Forwarded-For') == '192.0.2.7' && http('user-agent') == 'curl/8'")
    assert boolean("'user_' . toupper(%{reqenv:ITKUID}) . 1 == \"user_ALICE1\"")
    assert boolean("\"%{REQUEST_METHOD}-%{reqenv:ITKUID}\" == 'GET-alice'")
    assert boolean("md5('alice') == '%s'" % hashlib.md5(b"alice").hexdigest())


def test_each_form_refuses_the_other_use() -> None:
    with pytest.raises(ExprError, match="comparison operator expected"):
        parse("%{HTTP_HOST}").boolean(make_context())
    assert parse("true").boolean(make_context())  # a string that is also a valid condition
    assert parse_condition("%{REQUEST_METHOD} == 'GET'").string(make_context()) == "GET == 'GET'"


# -- parse errors --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("%{FOO}", "unknown variable 'FOO' at character 1 of '%{FOO}'"),
    ("%{HTTP_X_FORWARDED_FOR}", "unknown variable 'HTTP_X_FORWARDED_FOR' at character 1 of "
     "'%{HTTP_X_FORWARDED_FOR}' (request headers are read with %{HTTP:X-Forwarded-For} or "
     "req('X-Forwarded-For'))"),
    ("x%{tolower:abc", "unterminated variable at character 2 of 'x%{tolower:abc'"),
    ("%{", "variable or function name expected after '%{' at the end of '%{'"),
    ("%{a b}", "unexpected character ' ' in variable at character 4 of '%{a b}'"),
    ("%{nosuch:x}", "unknown function 'nosuch' at character 1 of '%{nosuch:x}'"),
    ("%{file:/etc/shadow}", "function 'file' is not supported at character 1 of '%{file:/etc/shadow}' "
     "(it would read a file as the worker, before the identity switch)"),
    ("\\777", "bad character escape sequence at character 1 of '\\\\777'"),
])
def test_string_form_errors(text: str, message: str) -> None:
    with pytest.raises(ExprError) as caught:
        parse(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(("text", "message"), [
    ("", "condition expected at the end of ''"),
    ("%{HTTP_HOST}", "comparison operator expected at the end of '%{HTTP_HOST}'"),
    ("%{HTTP_HOST} ==", "string, number, variable or function expected at the end of '%{HTTP_HOST} =='"),
    ("'abc", "unterminated string at character 1 of \"'abc\""),
    ("(true", "')' expected at the end of '(true'"),
    ("true false", "'&&', '||' or the end of the expression expected at character 6 of 'true false'"),
    ("true & false", "parse error near character '&' at character 6 of 'true & false'"),
    ("'a' =~ abc", "regular expression expected (/regex/ or m#regex#) at character 8 of \"'a' =~ abc\""),
    ("'a' =~ /abc", "unterminated regular expression at character 8 of \"'a' =~ /abc\""),
    ("'a' =~ /a(/", "bad regular expression 'a(': missing ), unterminated subpattern at character 8 "
     "of \"'a' =~ /a(/\""),
    ("'a' =~ /a/x", "invalid regular expression flag(s) at character 11 of \"'a' =~ /a/x\""),
    ("'a' -in {'a' 'b'}", "',' or '}' expected at character 14 of \"'a' -in {'a' 'b'}\""),
    ("'a' -in peers('x')", "unknown list function 'peers' at character 9 of \"'a' -in peers('x')\""),
    ("-q 'a'", "unknown unary operator '-q' at character 1 of \"-q 'a'\""),
    ("-f '/etc/passwd'", "file test -f is not supported at character 1 of \"-f '/etc/passwd'\" "
     "(it would read the file system as the worker, before the identity switch)"),
    ("'a' -nosuch 'b'", "unknown binary operator '-nosuch' at character 5 of \"'a' -nosuch 'b'\""),
    ("'1.2.3.4' -ipmatch 'bogus'", "'bogus' is not an IP address or network at character 11 of "
     "\"'1.2.3.4' -ipmatch 'bogus'\""),
    ("lower(%{HTTP_HOST}) == 'x'", "unknown function 'lower' at character 1 of "
     "\"lower(%{HTTP_HOST}) == 'x'\""),
    ("tolower %{HTTP_HOST} == 'x'", "'(' after function name 'tolower' expected at character 9 of "
     "\"tolower %{HTTP_HOST} == 'x'\""),
])
def test_condition_form_errors(text: str, message: str) -> None:
    with pytest.raises(ExprError) as caught:
        parse_condition(text)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_error_carries_position_and_text() -> None:
    with pytest.raises(ExprError) as caught:
        parse_condition("true && %{NOPE} == 'x'")
    assert (caught.value.position, caught.value.text) == (8, "true && %{NOPE} == 'x'")
    assert caught.value.message == "unknown variable 'NOPE'"


# -- the context of a real request --------------------------------------------------------


def make_request(target: str = "/~alice/x%20y.php?q=%C3%A9", remote_ip: str = "192.0.2.9") -> Request:
    path, _, query = target.partition("?")
    return Request(
        method="POST", target=target, path=path.replace("%20", " "), query=query, http_version="1.1",
        headers=[("host", "alice.test:8080"), ("user-agent", "probe"), ("x-tag", "a"), ("x-tag", "b"),
                 ("cookie", "s=1")],
        host="alice.test", local_ip="127.0.0.1", local_port=8080, remote_ip=remote_ip, remote_port=40000,
    )


def test_context_for_a_request() -> None:
    reqenv: dict[str, str] = {"FROM_SETENV": "1"}
    ctx = context_for(make_request(), "alice.test", "/srv/alice/", reqenv)
    variables = ctx.variables
    assert variables["REQUEST_URI"] == "/~alice/x y.php"  # decoded path without the query, as r->uri
    assert variables["QUERY_STRING"] == "q=%C3%A9"
    assert variables["THE_REQUEST"] == "POST /~alice/x%20y.php?q=%C3%A9 HTTP/1.1"
    assert variables["REQUEST_METHOD"] == "POST"
    assert variables["REQUEST_SCHEME"] == "http" and variables["HTTPS"] == "off"
    assert variables["SERVER_NAME"] == "alice.test" and variables["SERVER_PORT"] == "8080"
    assert variables["SERVER_ADDR"] == "127.0.0.1" and variables["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert variables["REMOTE_ADDR"] == "192.0.2.9" and variables["REMOTE_HOST"] == "192.0.2.9"
    assert variables["DOCUMENT_ROOT"] == "/srv/alice"
    assert variables["REQUEST_FILENAME"] == "/~alice/x y.php"  # not mapped yet: the URL path
    assert variables["HTTP_HOST"] == "alice.test:8080" and variables["HTTP_COOKIE"] == "s=1"
    assert variables["IPV6"] == "off" and variables["SERVER_SOFTWARE"] == SERVER_SOFTWARE
    assert ctx.headers["x-tag"] == "a, b"  # repeated headers joined, as httpd merges them
    assert ctx.reqenv is reqenv
    assert parse("%{reqenv:FROM_SETENV}%{HTTP:User-Agent}").string(ctx) == "1probe"
    mapped = context_for(make_request(), "alice.test", "/srv/alice", {}, filename="/srv/alice/x.php")
    assert mapped.variables["REQUEST_FILENAME"] == mapped.variables["SCRIPT_FILENAME"] == "/srv/alice/x.php"


@pytest.mark.parametrize(("host", "port", "canonical", "name", "server_port"), [
    ("www.alice.test", None, None, "www.alice.test", "80"),  # the Host header's, port 80 without one
    ("www.alice.test", 8080, None, "www.alice.test", "8080"),
    ("www.alice.test", 8080, "on", "alice.test", "80"),  # UseCanonicalName On: ServerName, its port
])
def test_server_name_and_port_follow_use_canonical_name_as_httpds_do(host: str, port: int | None,
                                                                    canonical: str | None, name: str,
                                                                    server_port: str) -> None:
    vhost = VHost(server_name="alice.test", document_root="/srv/alice", listen=(Address("127.0.0.1", 9000),),
                  modules=ModuleSettings((RequestSettings(canonical_name=canonical),)))
    request = make_request()
    request.host, request.host_port, request.local_port = host, port, 9000
    variables = context_of(request, vhost, {}).variables
    assert (variables["SERVER_NAME"], variables["SERVER_PORT"]) == (name, server_port)


def test_an_evaluation_notes_the_request_headers_it_reads_host_aside() -> None:
    """For Vary, as httpd's ap_expr notes them: req(), http() and the HTTP_* variables; Host is
    never named (RFC 7231 7.1.4)."""
    ctx = context_for(make_request(), "alice.test", "/srv/alice", {})
    ctx.read_headers = []
    expression = parse_condition("%{HTTP_USER_AGENT} == 'probe' && req('X-Tag') =~ /a/ && "
                                 "%{HTTP_HOST} != '' && http('Accept') == ''")
    assert expression.boolean(ctx)
    assert ctx.read_headers == ["User-Agent", "X-Tag", "Accept"]
    untracked = context_for(make_request(), "alice.test", "/srv/alice", {})
    assert expression.boolean(untracked) and untracked.read_headers is None


def test_context_for_ipv6_clients() -> None:
    assert context_for(make_request(remote_ip="2001:db8::1"), "a", "/srv", {}).variables["IPV6"] == "on"
    mapped = context_for(make_request(remote_ip="::ffff:192.0.2.1"), "a", "/srv", {})
    assert mapped.variables["IPV6"] == "off"


def test_context_keeps_the_bytes_the_client_sent() -> None:
    request = make_request()
    request.headers.append(("x-latin", "caf\xe9"))  # h11 hands headers over latin-1 decoded
    ctx = context_for(request, "alice.test", "/srv/alice", {})
    assert parse("%{escape:%{HTTP:X-Latin}}").string(ctx) == "caf%e9"


def test_file_tests_are_judged_only_where_the_request_s_identity_judges_them(tmp_path) -> None:
    """An .htaccess file's <If> runs as the request's identity: -d, -e, -f, -s, -L and -x work
    there; anywhere they could run before the switch they stay refused."""
    (tmp_path / "empty").write_text("")
    (tmp_path / "full").write_text("x")
    (tmp_path / "link").symlink_to("full")
    ctx = context_for(make_request(), "alice.test", str(tmp_path), {})
    cases = (("-f", "full", True), ("-d", "", True), ("-s", "empty", False), ("-e", "none", False),
             ("-L", "link", True), ("-x", "full", False), ("-f", "link", True), ("-L", "full", False))
    for test, name, expected in cases:
        condition = parse_condition(f"{test} '{tmp_path}/{name}'", files=True)
        assert condition.boolean(ctx) is expected, (test, name)
    with pytest.raises(ExprError, match="file test -f is not supported"):
        parse_condition(f"-f '{tmp_path}/full'")
    with pytest.raises(ExprError, match="itkgw makes no subrequests"):
        parse_condition("-U '/x'", files=True)
