"""php-tests/run: what it makes of tests written for run-tests.php, before any request."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "php-tests" / "run"
_LOADER = importlib.machinery.SourceFileLoader("php_tests_run", str(_PATH))
_SPEC = importlib.util.spec_from_loader("php_tests_run", _LOADER)
assert _SPEC is not None
runner = importlib.util.module_from_spec(_SPEC)
sys.modules["php_tests_run"] = runner  # its dataclasses look their module up there
_LOADER.exec_module(runner)


def test_error_level_constants_become_the_number_php_ini_makes_of_them() -> None:
    assert runner._ini_number("E_ALL&~E_NOTICE") == "32759"
    assert runner._ini_number("E_ALL & ~E_DEPRECATED & ~E_STRICT") == "22527"
    assert runner._ini_number("E_WARNING | E_NOTICE") == "10"
    for untouched in ("32767", "E_NO_SUCH_LEVEL", "on", "./tests/basic/", "E_ALL; system('x')"):
        assert runner._ini_number(untouched) == untouched


def _test(tmp_path: Path, text: str) -> object:
    path = tmp_path / "t.phpt"
    path.write_text(text)
    return runner.phpt.parse(path)


def test_a_test_bound_to_run_tests_php_s_own_context_is_skipped_with_the_reason(tmp_path: Path) -> None:
    reads_env = _test(tmp_path, "--TEST--\nx\n--FILE--\n<?php echo getenv('TEST_PHP_EXECUTABLE');\n"
                                "--EXPECT--\nx\n")
    assert "TEST_PHP_EXECUTABLE" in runner._run_tests_context(reads_env)
    relative = _test(tmp_path, "--TEST--\nx\n--INI--\nsession.save_path=./tests/basic/\n--FILE--\n"
                               "<?php echo 1;\n--EXPECT--\n1\n")
    assert "relative to the php-src checkout" in runner._run_tests_context(relative)
    plain = _test(tmp_path, "--TEST--\nx\n--INI--\nprecision=14\n--FILE--\n<?php echo 1;\n--EXPECT--\n1\n")
    assert runner._run_tests_context(plain) == ""
