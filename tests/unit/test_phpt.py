"""php-tests/phpt.py: reading .phpt files and judging outputs as run-tests.php does."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "php-tests" / "phpt.py"
_SPEC = importlib.util.spec_from_file_location("phpt", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
phpt = importlib.util.module_from_spec(_SPEC)
sys.modules["phpt"] = phpt
_SPEC.loader.exec_module(phpt)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.phpt"
    path.write_text(text)
    return path


def test_sections_are_read_to_the_next_marker(tmp_path: Path) -> None:
    test = phpt.parse(write(tmp_path, "--TEST--\nA title\n--GET--\na=1\n--FILE--\n<?php echo 1;\n"
                                      "--EXPECT--\n1\n"))
    assert test.title == "A title"
    assert test.text("GET") == "a=1\n"
    assert test.code == "<?php echo 1;\n"
    assert test.expectation() == ("EXPECT", "1\n")


@pytest.mark.parametrize(("text", "problem"), [
    ("--FILE--\n<?php\n--EXPECT--\n\n", "no --TEST-- section"),
    ("--TEST--\nt\n--EXPECT--\nx\n", "no --FILE-- section"),
    ("--TEST--\nt\n--FILE--\nx\n", "no EXPECT"),
    ("--TEST--\nt\n--FILE--\nx\n--EXPECT--\nx\n--BOGUS--\n", "unknown sections: BOGUS"),
    ("stray\n--TEST--\nt\n", "text before the first section"),
])
def test_what_is_not_a_test_is_named(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(phpt.FormatError, match=problem):
        phpt.parse(write(tmp_path, text))


@pytest.mark.parametrize(("expected", "output", "passes"), [
    ("int(%d)", "int(42)", True),
    ("int(%d)", "int(-1)", False),
    ("int(%i)", "int(-1)", True),
    ("%s in %s on line %d", "Warning: x in /a/b.php on line 3", True),
    ("a%Sb", "ab", True),
    ("a%sb", "ab", False),
    ("start\n%a\nend", "start\nmany\nlines\nend", True),
    ("%x-%f-%c", "ff-1.5e3-z", True),
    ("%rfoo|bar%r!", "bar!", True),
    ("a.b", "axb", False),
    ("dir%efile", "dir/file", True),
])
def test_expectf_placeholders(expected: str, output: str, passes: bool) -> None:
    assert phpt.matches("EXPECTF", expected, output) is passes


def test_outputs_are_compared_trimmed_with_lf_line_ends() -> None:
    assert phpt.matches("EXPECT", "\nline one\nline two\n\n", "line one\r\nline two   ")
    assert not phpt.matches("EXPECT", "line one", "line  one")
    assert phpt.matches("EXPECTREGEX", "a+b", "aaab")
    assert phpt.first_difference("a\nb", "a\nc") == "line 2: expected 'b', got 'c'"
