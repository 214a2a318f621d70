"""mod_expires at response time: Expires and Cache-Control max-age from the content type.

A response that already has an Expires header (a script's own) is left alone,
as mod_expires leaves it. ``M`` expiries count from the served file's
modification (the script's, for a script), so a response without a file has
none.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from itkgw.config.modules.expires import ExpiresSettings
from itkgw.http.connection import format_http_date


def add_expiry(headers: list[tuple[str, str]], settings: ExpiresSettings, mtime: float | None,
               request_time: float) -> list[tuple[str, str]]:
    """``headers`` with Expires and max-age added when the settings give this response an expiry.
    An access expiry counts from the response's Date where it has one, as httpd's Date is its
    request time: max-age is then exactly its seconds. A modification expiry's max-age is what
    is left of it after the request's time, to the second below, as httpd's apr_time_sec gives
    it (a file changed 0.4 s before the request and M3600: 3599)."""
    if any(name.lower() == "expires" for name, _ in headers):
        return headers
    now = request_time
    date = next((value for name, value in headers if name.lower() == "date"), None)
    if date is not None:
        now = parsedate_to_datetime(date).timestamp()
    content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
    code = settings.code_for(content_type)
    if code is None or (code[0] != "A" and mtime is None):
        return headers
    seconds = int(code[1:])
    if code[0] == "A":
        expires, left = now + seconds, seconds
    else:
        assert mtime is not None
        expires = max(mtime + seconds, request_time)  # never in the past, as mod_expires clamps it
        left = int(expires - request_time)
    cache_control = [value for name, value in headers if name.lower() == "cache-control"]
    kept = [(name, value) for name, value in headers if name.lower() != "cache-control"]
    return [*kept, ("Cache-Control", ", ".join([*cache_control, f"max-age={left}"])),
            ("Expires", format_http_date(expires))]
