"""The request head parser against h11 itself: the same heads, the same answers."""

from __future__ import annotations

import random
import re

import h11
import pytest

from itkgw.http.head import Head, MalformedHead, parse

BASES = [
    b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
    b"GET /1k.txt?x=1&y=%20 HTTP/1.1\r\nHost: alice.localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n",
    b"POST /form.php HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n",
    b"PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    b"GET http://a.example/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces:   a  b\t \r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n  two\r\n\tthree\r\n\r\n",
]

CASES = [
    b"GET / HTTP/1.1\r\n\r\n",  # no Host
    b"GET / HTTP/1.0\r\n\r\n",  # none needed
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 123456789012345678901\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\x01b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Del: a\x7fb\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost:\r\n\r\n",
    b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nBad Line\r\n\r\n",  # the grammar before the rules
    b"GET / HTTP/1.1\r\n X: continued\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: \xe9t\xe9\x80\r\n\r\n",
    b"GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.2\r\n\r\n",  # read as 1.1: no Host is a 400
    b"GET / HTTP/1\r\nHost: a\r\n\r\n",
    b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / http/1.1\r\nHost: a\r\n\r\n",
]

#: Bytes a mutation inserts: separators, controls, obs-text and ordinary ones.
_NOISE = b" \t\r:,;\x00\x01\x7f\x80\xff(aZ9-"


def h11_answer(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]] | int:
    """What h11 makes of ``head``: the request, or the status it hints."""
    parser = h11.Connection(h11.SERVER)
    parser.receive_data(head)
    try:
        event = parser.next_event()
    except h11.RemoteProtocolError as exc:
        # h11 hints 501 for a Transfer-Encoding it does not read; httpd answers that with 400.
        return 400 if exc.error_status_hint == 501 else exc.error_status_hint
    assert isinstance(event, h11.Request), event
    headers = [(name.decode("latin-1").lower(), value.decode("latin-1"))
               for name, value in event.headers.raw_items()]
    method, version = event.method.decode("ascii"), event.http_version.decode("ascii")
    return method, event.target.decode("latin-1"), version, headers


def httpd_answer(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]] | int:
    """h11's answer, where httpd's strict parsing does not differ from it: a control character
    in a field value, an empty Host of HTTP/1.1, and a Content-Length that is a list or past
    2**63 - 1 (ap_parse_strict_length) are 400; a Transfer-Encoding whose last coding is chunked
    frames the body by it; obs-text in the request target is taken as it is (httpd's strict
    parser refuses controls there, not bytes past ASCII); a version past 1.1 is read as 1.1."""
    lines = head[:-4].split(b"\r\n")
    words = lines[0].split(b" ")
    if len(words) == 3 and re.search(rb"[\x80-\xff]", words[1]):
        answer = httpd_answer(head.replace(words[1], re.sub(rb"[\x80-\xff]", b"x", words[1]), 1))
        return (answer[0], words[1].decode("latin-1"), *answer[2:]) if isinstance(answer, tuple) else answer
    request_line_ok = isinstance(h11_answer(lines[0] + b"\r\nHost: a\r\n\r\n"), tuple)
    if request_line_ok and any(re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line) for line in lines[1:]):
        return 400
    if request_line_ok and any(_strict_length_refuses(line) for line in lines[1:]):
        return 400
    answer = h11_answer(re.sub(rb"(?im)^(transfer-encoding:)[ \t]*[^\r\n]*,[ \t]*chunked[ \t]*\r\n",
                               rb"\1 chunked\r\n", head))
    if isinstance(answer, tuple) and answer[2] >= "1.1" and ("host", "") in answer[3]:
        return 400
    if isinstance(answer, tuple) and answer[2] > "1.1" and not any(name == "host" for name, _ in answer[3]):
        return 400  # HTTP/1.2 and above are read as HTTP/1.1, which needs a Host
    return answer


def _strict_length_refuses(line: bytes) -> bool:
    name, colon, value = line.partition(b":")
    if not colon or line.startswith((b" ", b"\t")) or name.strip().lower() != b"content-length":
        return False
    value = value.strip()
    return b"," in value or (value.isdigit() and int(value) > 2**63 - 1)


def our_answer(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]] | int:
    try:
        parsed = parse(head)
    except MalformedHead as exc:
        return exc.status
    return parsed.method, parsed.target, parsed.http_version, parsed.headers


def mutations(count: int, seed: int) -> list[bytes]:
    """Heads with a byte inserted, replaced or removed somewhere before the closing empty line."""
    rng = random.Random(seed)
    heads = []
    while len(heads) < count:
        base = rng.choice(BASES + CASES)
        at = rng.randrange(len(base) - 4)
        kind = rng.randrange(3)
        noise = bytes([rng.choice(_NOISE)])
        head = (base[:at] + noise + base[at:] if kind == 0 else base[:at] + noise + base[at + 1:] if kind == 1
                else base[:at] + base[at + 1:])
        if head.find(b"\r\n\r\n") != len(head) - 4 or head.count(b"\n") != head.count(b"\r\n"):
            continue  # the head would end elsewhere, or is refused for a bare LF before parsing
        heads.append(head)
    return heads


@pytest.mark.parametrize("head", BASES + CASES)
def test_each_head_gets_the_answer_h11_gives(head: bytes) -> None:
    assert our_answer(head) == httpd_answer(head)


def test_thousands_of_mutated_heads_get_the_answers_h11_gives() -> None:
    differing = [(head, ours, theirs) for head in mutations(4000, seed=20261203)
                 if (ours := our_answer(head)) != (theirs := httpd_answer(head))]
    assert differing == []


def test_a_head_announcing_a_body_is_marked_for_h11_to_frame() -> None:
    assert parse(BASES[2]).framed and parse(BASES[3]).framed
    assert not parse(BASES[1]).framed
    headers = [("host", "alice.localhost:8080"), ("user-agent", "wrk"), ("accept", "*/*")]
    assert parse(BASES[1]) == Head("GET", "/1k.txt?x=1&y=%20", "1.1", headers, False)


def test_folded_lines_are_joined_by_one_space() -> None:
    assert ("x-folded", "one two three") in parse(BASES[6]).headers
