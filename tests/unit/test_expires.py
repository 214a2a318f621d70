"""mod_expires' headers, counted as httpd counts them."""

from __future__ import annotations

from itkgw.config.modules.expires import ExpiresSettings
from itkgw.handlers.expires import add_expiry

DATE = "Sat, 05 Dec 2026 04:00:00 GMT"
REQUEST_TIME = 1796443200.75  # 0.75 s into the Date's second


def _expiry(code: str, mtime: float | None) -> dict[str, str]:
    settings = ExpiresSettings(active=True, by_type=(("text/plain", code),))
    return dict(add_expiry([("Date", DATE), ("Content-Type", "text/plain")], settings, mtime, REQUEST_TIME))


def test_an_access_expiry_is_its_seconds_after_the_date() -> None:
    headers = _expiry("A3600", mtime=0.0)
    assert (headers["Cache-Control"], headers["Expires"]) == ("max-age=3600", "Sat, 05 Dec 2026 05:00:00 GMT")


def test_a_modification_expiry_is_what_is_left_after_the_request_to_the_second_below() -> None:
    """httpd: max-age is apr_time_sec(mtime + seconds - request time), Expires mtime + seconds."""
    headers = _expiry("M3600", mtime=REQUEST_TIME - 0.5)
    assert (headers["Cache-Control"], headers["Expires"]) == ("max-age=3599", "Sat, 05 Dec 2026 05:00:00 GMT")


def test_a_modification_expiry_already_past_is_the_request_time() -> None:
    headers = _expiry("M60", mtime=REQUEST_TIME - 3600)
    assert (headers["Cache-Control"], headers["Expires"]) == ("max-age=0", DATE)


def test_a_script_s_own_expires_is_left_alone_and_no_file_no_modification_expiry() -> None:
    settings = ExpiresSettings(active=True, default="M60")
    own = [("Date", DATE), ("Content-Type", "text/plain"), ("Expires", "0")]
    assert add_expiry(own, settings, 1.0, REQUEST_TIME) == own
    assert add_expiry(own[:2], settings, None, REQUEST_TIME) == own[:2]
