"""php-tests/: the .phpt suite, run through a real itkgw with each PHP handler.

The runner starts its own itkgw and users; this only runs it, as a developer
would (``php-tests/run --handler NAME php-tests/cases``), and asks that no test
fails and that the cases ran rather than skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sites import NOT_ROOT

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "php-tests" / "cases"

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason=NOT_ROOT),
              pytest.mark.skipif(not os.access("/usr/bin/php-cgi", os.X_OK), reason="needs /usr/bin/php-cgi")]


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_every_case_passes(handler: str) -> None:
    command = [sys.executable, str(REPO / "php-tests" / "run"), "--handler", handler, str(CASES)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL ")]
    assert result.returncode == 0 and not failed, result.stdout + result.stderr
    cases = len(list(CASES.glob("*.phpt")))
    assert lines[-1] == f"{cases} passed, 0 failed, 0 skipped", result.stdout
