"""mod_expires at response time: Expires and Cache-Control max-age from the content type.

A response that already has an Expires header (a script's own) is left alone,
as mod_expires leaves it. ``M`` expiries count from the served file's
modification (the script's, for a script), so a response without a file has
none.
"""

from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime

from itkgw.config.modules.expires import ExpiresSettings


def add_expiry(headers: list[tuple[str, str]], settings: ExpiresSettings, mtime: float | None,
               request_time: float) -> list[tuple[str, str]]:
    """``headers`` with Expires and max-age added when the settings give this response an expiry.
    They count from the response's Date where it has one, as httpd's Date is its request time:
    max-age is then exactly Expires less Date."""
    if any(name.lower() == "expires" for name, _ in headers):
        return headers
    date = next((value for name, value in headers if name.lower() == "date"), None)
    if date is not None:
        request_time = parsedate_to_datetime(date).timestamp()
    content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
    code = settings.code_for(content_type)
    base = request_time if code is not None and code[0] == "A" else mtime
    if code is None or base is None:
        return headers
    expires = max(base + int(code[1:]), request_time)  # never in the past, as mod_expires clamps it
    max_age = f"max-age={int(expires - request_time)}"
    cache_control = [value for name, value in headers if name.lower() == "cache-control"]
    kept = [(name, value) for name, value in headers if name.lower() != "cache-control"]
    return [*kept, ("Cache-Control", ", ".join([*cache_control, max_age])),
            ("Expires", formatdate(expires, usegmt=True))]
