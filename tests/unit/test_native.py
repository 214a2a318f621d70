"""The compiled request path: used only while its build matches every source.

The checks on a manifest run anywhere; the ones that load the compiled
libraries need the build etc/provision makes (etc/build-native), and skip
without one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from itkgw import native

REPO = native.PACKAGE_DIR.parent
NATIVE_SOURCE = native.PACKAGE_DIR / "native.py"
PROVISIONED = native.BUILD_ROOT / native.interpreter_tag()
needs_build = pytest.mark.skipif(native.Build(PROVISIONED).stale_reason() is not None,
                                 reason="no compiled build matching the sources (etc/build-native makes one)")


def write_build(directory: Path, python: str = sys.version, changed: str | None = None,
                libraries: dict[str, str] | None = None) -> native.Build:
    """A build directory whose manifest names the current sources (``changed``: one digest wrong)."""
    sources = {str(path.relative_to(REPO)): native.source_digest(path) for path in native.package_sources()}
    if changed is not None:
        sources[changed] = "0" * 64
    manifest = {"python": python, "sources": sources, "libraries": libraries or {}}
    directory.mkdir(exist_ok=True)
    (directory / native.MANIFEST).write_text(json.dumps(manifest))
    return native.Build(directory)


def test_a_build_of_every_current_source_for_this_interpreter_is_usable(tmp_path: Path) -> None:
    assert write_build(tmp_path).stale_reason() is None


def test_one_changed_source_makes_the_whole_build_unusable(tmp_path: Path) -> None:
    build = write_build(tmp_path, changed="itkgw/http/head.py")
    assert build.stale_reason() == "itkgw/http/head.py changed since it was compiled"


def test_a_change_to_a_module_that_stays_python_makes_the_build_unusable_too(tmp_path: Path) -> None:
    """Compiled code relies on the types the others declare (the configuration's, say)."""
    build = write_build(tmp_path, changed="itkgw/config/kinds.py")
    assert build.stale_reason() == "itkgw/config/kinds.py changed since it was compiled"


def test_a_build_for_another_interpreter_is_unusable(tmp_path: Path) -> None:
    build = write_build(tmp_path, python="3.11.0 (other)")
    assert build.stale_reason() == "built for Python '3.11.0 (other)'"


def test_no_build_is_said_so(tmp_path: Path) -> None:
    assert native.Build(tmp_path / "none").stale_reason() == f"no build in {tmp_path / 'none'}"


def test_the_request_path_is_what_is_compiled() -> None:
    names = {str(path.relative_to(native.PACKAGE_DIR)) for path in native.compiled_sources()}
    assert {"http/connection.py", "handlers/dispatch.py", "request/routing.py", "rules/expr.py",
            "config/model.py", "mpm/child.py", "mpm/front.py", "mpm/pool_worker.py"} <= names
    assert not {"config/apache_reader.py", "config/toml_reader.py", "mpm/master.py", "mpm/privs.py"} & names
    assert not any(name.endswith("__init__.py") for name in names)


def modules_loaded_from(build_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """In a fresh interpreter whose first install() names ``build_dir``: where two compiled
    modules' code came from, and what itkgw.native says of it."""
    code = "\n".join([
        "import importlib.util, sys",
        "from pathlib import Path",
        # itkgw.native alone first: the package's own import then finds the decision made.
        f"spec = importlib.util.spec_from_file_location('itkgw.native', {str(NATIVE_SOURCE)!r})",
        "native = importlib.util.module_from_spec(spec)",
        "sys.modules['itkgw.native'] = native",
        "spec.loader.exec_module(native)",
        f"native.install(Path({str(build_dir)!r}))",
        "import itkgw.http.head as head, itkgw.handlers.dispatch as dispatch",
        "print(head.__file__); print(dispatch.__file__); print(native.state())",
    ])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=REPO, env={**os.environ, **(env or {})})
    head, dispatch, state = result.stdout.splitlines()
    return {"head": head, "dispatch": dispatch, "state": state}


@needs_build
def test_the_provisioned_build_loads_in_place_of_the_sources() -> None:
    loaded = modules_loaded_from(PROVISIONED)
    assert loaded["head"].startswith(str(PROVISIONED)) and loaded["head"].endswith(".so")
    assert loaded["dispatch"].startswith(str(PROVISIONED))
    assert loaded["state"].startswith("yes, ")


@needs_build
def test_a_build_with_one_stale_source_loads_nothing(tmp_path: Path) -> None:
    libraries = native.Build(PROVISIONED).libraries()
    stale = write_build(tmp_path / "stale", changed="itkgw/handlers/dispatch.py",
                        libraries={name: str(path) for name, path in libraries.items()})
    loaded = modules_loaded_from(stale.directory)
    assert loaded["head"] == str(native.PACKAGE_DIR / "http" / "head.py")
    assert loaded["dispatch"] == str(native.PACKAGE_DIR / "handlers" / "dispatch.py")
    assert "itkgw/handlers/dispatch.py changed since it was compiled" in loaded["state"]


@needs_build
def test_itkgw_native_0_runs_the_sources() -> None:
    loaded = modules_loaded_from(PROVISIONED, env={"ITKGW_NATIVE": "0"})
    assert loaded["head"].endswith("head.py")
    assert "ITKGW_NATIVE=0" in loaded["state"]


def test_version_says_whether_the_request_path_runs_compiled() -> None:
    result = subprocess.run([sys.executable, "-m", "itkgw", "-V"], capture_output=True, text=True,
                            check=True, cwd=REPO)
    line = next(line for line in result.stdout.splitlines() if line.startswith("Compiled:"))
    reason = native.Build(PROVISIONED).stale_reason()
    if reason is None:
        assert line == f"Compiled:       yes, {len(native.compiled_sources())} modules ({PROVISIONED})"
    else:
        assert line.startswith("Compiled:       no, running as Python (" + reason)
