"""Access log lines as mod_log_config writes them (compared with Apache 2.4.71's)."""

from __future__ import annotations

from itkgw.mpm.log import as_sent, format_access

FIELDS: dict[str, object] = {
    "h": "127.0.0.1", "r": "GET /a.txt?x=1 HTTP/1.1", "s": 200, "b": 0, "t": 0.0, "v": "alice.test",
    "p": 80, "p local": 8080, "p remote": 51234, "U": "/a.txt", "q": "?x=1", "m": "GET",
    "H": "HTTP/1.1", "u": None, "O": 266, "I": 103, "f": "/srv/a.txt", "R": None,
    "o": [("X-Test", "one"), ("x-test", "two")], "e": {"MYVAR": "set", "EMPTY": ""},
}


def test_each_field_as_httpd_writes_it() -> None:
    line = format_access("%p %{local}p %{remote}p %{canonical}p %q %b %O %I %f %R %u", FIELDS, {})
    assert line == "80 8080 51234 80 ?x=1 - 266 103 /srv/a.txt - -"


def test_response_headers_and_variables_by_name() -> None:
    fields = {**FIELDS, "o": [*FIELDS["o"], ("Content-Type", "text/html; charset=UTF-8"),  # type: ignore[misc]
                              ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]}
    line = format_access('"%{X-Test}o" %{Missing}o %{Content-Type}o "%{Set-Cookie}o" %{MYVAR}e "%{EMPTY}e" '
                         '%{NONE}e %{Referer}i', fields, {"referer": 'a "quoted" one'})
    assert line == '"one" - text/html "a=1, b=2" set "" - a \\"quoted\\" one'


def test_debian_s_vhost_combined_counts_the_bytes_sent_with_their_head() -> None:
    line = format_access("vhost_combined", {**FIELDS, "t": 1_700_000_000.0}, {})
    assert line.startswith("alice.test:80 127.0.0.1 - - [")
    assert line.endswith('] "GET /a.txt?x=1 HTTP/1.1" 200 266 "-" "-"')


def test_bytes_past_ascii_are_escaped_as_ap_escape_logitem_escapes_them() -> None:
    """A request line is the text of the bytes sent; a path decoded from UTF-8 goes in as
    as_sent makes it; either way each byte past ASCII is \\xhh."""
    fields = {**FIELDS, "r": "GET /caf\xc3\xa9 HTTP/1.1", "U": as_sent("/café"), "f": as_sent("/srv/\udce9")}
    assert format_access("%r %U %f", fields, {"x-name": "\xe9t\xe9"}) + format_access("%{X-Name}i", fields, {
        "x-name": "\xe9t\xe9"}) == "GET /caf\\xc3\\xa9 HTTP/1.1 /caf\\xc3\\xa9 /srv/\\xe9\\xe9t\\xe9"


def test_body_bytes_keep_alive_count_and_connection_status() -> None:
    fields = {**FIELDS, "B": 0, "k": 2, "X": "+", "V": "www.alice.test"}
    assert format_access("%b %B %k %X %V", fields, {}) == "- 0 2 + www.alice.test"
