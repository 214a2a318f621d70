"""mod_deflate through a real itkgw: what a browser that accepts gzip gets, and one that does not.

Each case was compared with Apache 2.4 + mpm-itk + mod_php + mod_deflate on
the same files (Debian's deflate.conf types): statuses, headers and, for a
file, the compressed bytes.
"""

from __future__ import annotations

import gzip
import os
import random
import zlib

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
from tests.sites import ALICE, Site

GZIP = {"Accept-Encoding": "gzip, deflate"}
TYPES = {"DEFLATE": ["text/html", "text/plain", "text/css"]}


def page(size: int, seed: int = 1) -> str:
    words = ["alpha", "beta", "gamma", "delta", "itkgw", "apache", "server", "php"]
    rng = random.Random(seed)
    text = "<html><body>" + " ".join(rng.choice(words) for _ in range(size // 5)) + "</body></html>\n"
    return text[-size:] if size < len(text) else text


def serve(itkgw_factory, site: Site, **vhost: object) -> Itkgw:
    return itkgw_factory([vhost_for(site, "alice.test", php_extensions=[".php"], **vhost)])


def httpd_gzip(data: bytes) -> bytes:
    """The gzip member httpd's mod_deflate makes of a body it has whole."""
    deflater = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15, 9)
    trailer = zlib.crc32(data).to_bytes(4, "little") + len(data).to_bytes(4, "little")
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + deflater.compress(data) + deflater.flush() + trailer


def test_a_file_of_a_listed_type_is_gzipped_for_a_client_that_accepts_it(itkgw_factory, docroots,
                                                                         put: Put) -> None:
    alice = docroots[ALICE]
    text = page(20000)
    put(alice, "big.html", text)
    put(alice, "big.bin", text)
    server = serve(itkgw_factory, alice, add_output_filter_by_type=TYPES)
    plain = server.request("alice.test", "/big.html")
    zipped = server.request("alice.test", "/big.html", headers=GZIP)
    assert plain.body == text.encode() and plain.headers["Vary"] == "Accept-Encoding"
    assert plain.headers["Content-Encoding"] is None
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    assert zipped.body == httpd_gzip(text.encode()), "byte for byte what httpd sends"
    assert zipped.headers["Content-Length"] == str(len(zipped.body))
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    other = server.request("alice.test", "/big.bin", headers=GZIP)
    assert other.body == text.encode() and other.headers["Vary"] is None
    refused = server.request("alice.test", "/big.html", headers={"Accept-Encoding": "gzip;q=0"})
    assert refused.body == text.encode() and refused.headers["Vary"] == "Accept-Encoding"


def test_small_bodies_error_pages_and_not_modified_answers_are_left_alone(itkgw_factory, docroots,
                                                                         put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "s68.html", "x" * 68)
    put(alice, "s69.html", "x" * 69)
    server = serve(itkgw_factory, alice, add_output_filter_by_type=TYPES)
    small = server.request("alice.test", "/s68.html", headers=GZIP)
    assert small.body == b"x" * 68 and small.headers["Vary"] is None
    assert gzip.decompress(server.request("alice.test", "/s69.html", headers=GZIP).body) == b"x" * 69
    missing = server.request("alice.test", "/nothing-here", headers=GZIP)
    assert missing.status == 404 and missing.headers["Content-Encoding"] is None
    etag = server.request("alice.test", "/s69.html").headers["ETag"]
    unchanged = server.request("alice.test", "/s69.html", headers={**GZIP, "If-None-Match": etag})
    assert unchanged.status == 304 and unchanged.headers["ETag"] == etag
    assert unchanged.headers["Vary"] is None


def test_a_range_and_a_head_are_of_the_gzip_while_it_is_held_whole(itkgw_factory, docroots,
                                                                   put: Put) -> None:
    """httpd's byte ranges and length come after mod_deflate: they are the compressed body's;
    a file over 64 KiB streams, chunked, and its ranges are ignored."""
    alice = docroots[ALICE]
    put(alice, "big.html", page(20000))
    put(alice, "huge.txt", page(70000, seed=2))
    server = serve(itkgw_factory, alice, add_output_filter_by_type=TYPES)
    whole = server.request("alice.test", "/big.html", headers=GZIP).body
    part = server.request("alice.test", "/big.html", headers={**GZIP, "Range": "bytes=0-10"})
    assert (part.status, part.body) == (206, whole[:11])
    assert part.headers["Content-Range"] == f"bytes 0-10/{len(whole)}"
    head = server.request("alice.test", "/big.html", method="HEAD", headers=GZIP)
    assert head.headers["Content-Length"] == str(len(whole)) and head.body == b""
    streamed = server.request("alice.test", "/huge.txt", headers={**GZIP, "Range": "bytes=0-10"})
    assert streamed.status == 200 and streamed.headers["Transfer-Encoding"] == "chunked"
    assert gzip.decompress(streamed.body) == page(70000, seed=2).encode()


def test_php_output_is_gzipped_as_it_comes(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "page.php", '<?php echo str_repeat("hello php ", 500);\n')
    put(alice, "tiny.php", "<?php echo 'hi';\n")
    put(alice, "long.php", '<?php for ($i = 0; $i < 20000; $i++) echo "line $i ", md5($i), "\\n";\n')
    server = serve(itkgw_factory, alice, add_output_filter_by_type=TYPES)
    short = server.request("alice.test", "/page.php", headers=GZIP)
    assert short.headers["Content-Encoding"] == "gzip"
    assert short.headers["Content-Length"] == str(len(short.body))
    assert gzip.decompress(short.body) == b"hello php " * 500
    tiny = server.request("alice.test", "/tiny.php", headers=GZIP)
    assert tiny.body == b"hi" and tiny.headers["Vary"] is None
    long = server.request("alice.test", "/long.php", headers=GZIP)
    assert long.headers["Transfer-Encoding"] == "chunked"
    lines = gzip.decompress(long.body).decode().splitlines()
    assert len(lines) == 20000 and lines[-1].startswith("line 19999 ")


def test_set_output_filter_deflates_every_type_but_what_no_gzip_spares(itkgw_factory, docroots,
                                                                       put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "data.bin", page(5000))
    put(alice, "photo.png", page(5000))
    server = serve(itkgw_factory, alice, set_output_filter="DEFLATE",
                   set_env_if=[{"attribute": "Request_URI", "pattern": r"\.png$", "env": ["no-gzip"]}])
    assert server.request("alice.test", "/data.bin", headers=GZIP).headers["Content-Encoding"] == "gzip"
    spared = server.request("alice.test", "/photo.png", headers=GZIP)
    assert spared.headers["Content-Encoding"] is None and spared.headers["Vary"] is None


def test_add_output_filter_deflates_file_endings_and_passes_filters_itkgw_has_not(itkgw_factory, docroots,
                                                                                  put: Put) -> None:
    """mod_mime's AddOutputFilter in an .htaccess file: DEFLATE by file ending, whatever the type
    (a PHP script's output too), taken back below by RemoveOutputFilter; a filter no module
    provides (INCLUDES without mod_include) is passed by, as httpd passes it."""
    alice = docroots[ALICE]
    put(alice, "of/.htaccess", "AddOutputFilter DEFLATE txt .php\nAddType text/html .shtml\n"
                               "AddOutputFilter INCLUDES .shtml\nSetOutputFilter INCLUDES\n")
    put(alice, "of/big.txt", page(5000))
    put(alice, "of/big.html", page(5000))
    put(alice, "of/big.php", "<?php echo str_repeat('itkgw ', 1000);\n")
    put(alice, "of/page.shtml", '<!--#echo var="DATE_LOCAL" -->')
    put(alice, "of/below/.htaccess", "RemoveOutputFilter .txt\n")
    put(alice, "of/below/big.txt", page(5000))
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], directory=[
        {"path": f"{alice.htdocs}/of", "allow_override": ["All"]}])])
    zipped = server.request("alice.test", "/of/big.txt", headers=GZIP)
    assert (zipped.headers["Content-Encoding"], zipped.headers["Vary"]) == ("gzip", "Accept-Encoding")
    assert gzip.decompress(zipped.body) == page(5000).encode()
    php = server.request("alice.test", "/of/big.php", headers=GZIP)
    assert php.headers["Content-Encoding"] == "gzip" and gzip.decompress(php.body) == b"itkgw " * 1000
    assert server.request("alice.test", "/of/big.html", headers=GZIP).headers["Content-Encoding"] is None
    assert server.request("alice.test", "/of/below/big.txt", headers=GZIP).headers["Content-Encoding"] is None
    included = server.request("alice.test", "/of/page.shtml")
    assert (included.status, included.body) == (200, b'<!--#echo var="DATE_LOCAL" -->')


def test_header_rules_see_what_deflate_did(itkgw_factory, docroots, put: Put) -> None:
    """mod_headers' rules run after the DEFLATE filter, as httpd's filters do: an edit of the
    ETag sees its -gzip, an unset Vary takes DEFLATE's too, an appended one comes after it,
    for a file and for a script's answer held until its size is known."""
    alice = docroots[ALICE]
    text = page(20000)
    for directory in ("edit", "unset", "append"):
        put(alice, f"{directory}/big.html", text)
        os.utime(alice.htdocs / directory / "big.html", (1_700_000_000, 1_700_000_000))  # a strong ETag
        put(alice, f"{directory}/small.php", "<?php echo str_repeat('abc ', 40);")
    put(alice, "edit/.htaccess", 'Header edit "ETag" "^\\"(.*)-gzip\\"$" "\\"$1\\""\n')
    put(alice, "unset/.htaccess", "Header unset Vary\n")
    put(alice, "append/.htaccess", "Header append Vary Cookie\n")
    server = serve(itkgw_factory, alice, add_output_filter_by_type=TYPES,
                   directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])
    plain = server.request("alice.test", "/edit/big.html")
    zipped = server.request("alice.test", "/edit/big.html", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["ETag"] == plain.headers["ETag"]
    for path in ("/unset/big.html", "/unset/small.php"):
        answer = server.request("alice.test", path, headers=GZIP)
        assert answer.headers["Content-Encoding"] == "gzip" and answer.headers["Vary"] is None
    for path in ("/append/big.html", "/append/small.php"):
        assert server.request("alice.test", path, headers=GZIP).headers["Vary"] == "Accept-Encoding,Cookie"
