"""Status lines as httpd's header filter writes them (compared with Apache 2.4.71)."""

from __future__ import annotations

import pytest

from itkgw.http.status_lines import status_line


@pytest.mark.parametrize("status,named,line", [
    (404, None, "404 Not Found"),
    (413, None, "413 Request Entity Too Large"),
    (226, None, "226 IM Used"),
    # codes httpd has no phrase for, with no line named: httpd's 500 line (the status stays)
    (418, None, "500 Internal Server Error"),
    (452, None, "500 Internal Server Error"),
    (600, None, "500 Internal Server Error"),
    # a named line is kept; a bare code gets httpd's phrase when there is one
    (452, "452 Custom Words", "452 Custom Words"),
    (404, "404 Gone Away", "404 Gone Away"),
    (600, "600 Custom Words", "600 Custom Words"),
    (404, "404", "404 Not Found"),
    (452, "452", "452 "),
    (404, "404 ", "404 "),
    # a named line that does not fit the status: as if none was named
    (404, "404\tGone Away", "404 Not Found"),
    (404, "405 Other", "404 Not Found"),
    (425, "425\tToo Early", "500 Internal Server Error"),
])
def test_the_line_of_a_status(status: int, named: str | None, line: str) -> None:
    assert status_line(status, named) == line
