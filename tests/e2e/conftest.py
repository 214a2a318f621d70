"""Fixtures for end-to-end tests: a real itkgw, run as root, per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.itkgw_proc import MODEL_VARIABLE, ConfigFiles, Itkgw, VHosts, stop_all
from tests.sites import NOT_ROOT, Site, Users

ItkgwFactory = Callable[..., Itkgw]
#: start(files, main=..., args=...): an itkgw serving config files written as text.
StartFiles = Callable[..., ConfigFiles]
Files = Callable[[ConfigFiles], Mapping[str, str]]


#: Test files run under both process models (each test twice, ``[itk]`` and ``[pool]``): the
#: identity, security, limit and life-cycle promises hold whichever model serves, and so do
#: remembered routes (kept per connection in itk, per pool worker in pool). The rest run
#: under ITKGW_TEST_MODEL's model, itk by default.
BOTH_MODELS = frozenset({"test_identity", "test_security", "test_limits", "test_lifecycle",
                         "test_known_files"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test of BOTH_MODELS that does not choose its model itself runs under each."""
    if metafunc.module.__name__.rsplit(".", 1)[-1] not in BOTH_MODELS or "model" in metafunc.fixturenames:
        return
    metafunc.parametrize("serving_model", ["itk", "pool"], indirect=True)


@pytest.fixture(autouse=True)
def serving_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The process model the servers this test starts run under, for a test of BOTH_MODELS
    (a fixture every test has, so that the parametrization above reaches it); None for
    the rest, which run under ITKGW_TEST_MODEL's."""
    model: str | None = getattr(request, "param", None)
    if model is not None:
        monkeypatch.setenv(MODEL_VARIABLE, model)
    return model


@pytest.fixture(autouse=True)
def _root_only() -> None:
    """The whole tree needs root: itkgw's master binds ports and switches users."""
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)


@pytest.fixture
def itkgw_factory(tmp_path: Path, test_users: Users) -> Iterator[ItkgwFactory]:
    """``itkgw_factory(vhosts, **settings)`` starts an itkgw and returns it.

    Keyword arguments are those of :class:`Itkgw` (``single_process``,
    ``listen_count``, ``user``) or top-level config keys. The workers run as
    ``itkt-www`` unless ``user`` says otherwise. Every server started is
    stopped at teardown, and the test fails if one leaves a process behind.
    """
    started: list[Itkgw] = []

    def start(vhosts: VHosts, **settings: Any) -> Itkgw:
        workdir = tmp_path / f"itkgw-{len(started)}"
        workdir.mkdir()
        settings.setdefault("user", test_users.www.pw_name)
        server = Itkgw(workdir, vhosts, **settings)
        started.append(server)
        return server.start()

    yield start
    stop_all(started, {user.pw_uid for user in test_users.all()})


@pytest.fixture
def start(tmp_path: Path, test_users: Users) -> Iterator[StartFiles]:
    """``start(files, main=..., args=...)`` starts an itkgw on config files written as text.

    Every server is stopped at teardown; the test fails if one leaves a
    process behind, or a process of a test user outlives them.
    """
    started: list[ConfigFiles] = []

    def start_one(files: Files, *, main: str, args: tuple[str, ...] = ()) -> ConfigFiles:
        workdir = tmp_path / f"itkgw-{len(started)}"
        workdir.mkdir()
        server = ConfigFiles(workdir, files, main=main, args=args)
        started.append(server)
        return server.start()

    yield start_one
    stop_all(started, {user.pw_uid for user in test_users.all()})


Put = Callable[[Site, str, str], Path]


@pytest.fixture
def readable_dir() -> Iterator[Path]:
    """A directory every process may read, removed afterwards (pytest's own tmp_path is
    inside a 0700 directory): for files the server's or another user's processes open."""
    directory = Path(tempfile.mkdtemp(prefix="itkt-readable-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


@pytest.fixture
def put() -> Iterator[Put]:
    """``put(site, relative_path, text)``: a file of the tenant's own (0640, or 0750 for .cgi),
    with any directories it needs; all removed afterwards."""
    made: list[Path] = []

    def make(site: Site, relative: str, text: str) -> Path:
        path = site.htdocs / relative
        for directory in reversed(path.relative_to(site.htdocs).parents[:-1]):
            folder = site.htdocs / directory
            if not folder.exists():
                folder.mkdir(mode=0o750)
                os.chown(folder, site.user.pw_uid, site.user.pw_gid)
                made.append(folder)
        path.write_text(text)
        os.chown(path, site.user.pw_uid, site.user.pw_gid)
        path.chmod(0o750 if path.suffix == ".cgi" else 0o640)
        made.append(path)
        return path

    yield make
    for path in reversed(made):
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink()
