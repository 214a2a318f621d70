"""A chunked request body read whole into a file first, for backends that need its length.

A CGI-style backend learns the body's size from CONTENT_LENGTH alone (php-cgi
and php-fpm read nothing without it), so a body sent chunked is read to its
end first, as mod_fcgid and mod_proxy_fcgi do: into an unlinked file of the
connection child, which runs as the request's identity, so memory stays flat
whatever its size.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

#: How much of a spooled body is read back at a time.
_READ = 65536


@contextmanager
def with_length(body: Iterator[bytes], env: dict[str, str]) -> Iterator[Iterator[bytes]]:
    """``body`` read into a file, CONTENT_LENGTH in ``env`` set to its size; the body
    again, from the file."""
    with tempfile.TemporaryFile(prefix="itkgw-body-") as spool:
        size = 0
        for chunk in body:
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        env["CONTENT_LENGTH"] = str(size)
        yield iter(lambda: spool.read(_READ), b"")
