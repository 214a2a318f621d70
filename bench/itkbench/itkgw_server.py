"""itkgw, one server per variant (a file in bench/variants/).

The code run is this checkout's working tree, or with ``--itkgw-commit`` the
package as of a git revision, exported into the work directory; either is
compiled first as etc/provision compiles it (itkgw/native.py).

A variant is a TOML snippet on top of the config every variant shares, so a
new itkgw handler (php-cgi exec today, managed FastCGI later) is one more file
and one more row in the tables.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import toml

from itkbench import forkprof, nginx_fpm, systems
from itkbench.processes import Launched
from itkbench.sites import OVERRIDE_TREES, WEB_USER, Site

log = logging.getLogger("itkbench")

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
BUILD_NATIVE = "etc/build-native"
VARIANTS_DIR = BENCH / "variants"


@dataclass(frozen=True)
class Variant:
    """One way to run itkgw: a row label and the config keys it sets."""

    key: str
    label: str
    server: dict[str, Any] = field(default_factory=dict)
    vhost: dict[str, Any] = field(default_factory=dict)
    #: Start a php-fpm pool per user, as the nginx row does, and hand .php files to it.
    fpm_pools: bool = False

    @classmethod
    def load(cls, path: Path) -> Variant:
        data = tomllib.loads(path.read_text())
        unknown = set(data) - {"label", "server", "vhost", "fpm_pools"}
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)} (label, fpm_pools, [server], [vhost])")
        return cls(key=path.stem, label=data.get("label", f"itkgw {path.stem}"),
                   server=data.get("server", {}), vhost=data.get("vhost", {}),
                   fpm_pools=bool(data.get("fpm_pools", False)))


def export_commit(revision: str, destination: Path) -> Path:
    """The itkgw package as of ``revision``, unpacked under ``destination`` (read-only git)."""
    destination.mkdir(mode=0o755)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "itkgw"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
    builder = subprocess.run(["git", "-C", str(REPO), "archive", revision, BUILD_NATIVE],
                             capture_output=True).stdout  # none before the request path was compiled
    if builder:
        subprocess.run(["tar", "-x", "-C", str(destination)], input=builder, check=True)
    return destination


def prepare_native(source: Path, python: str, profiling: bool) -> str:
    """Compile ``source``'s request path for ``python`` as etc/provision does (a build that
    matches is kept); what ``itkgw -V`` then says of it. Profiled runs are Python: cProfile
    sees no compiled function."""
    if profiling:
        return "no, profiled as Python (ITKGW_NATIVE=0)"
    builder = source / BUILD_NATIVE
    if not builder.exists():
        return "no, this revision has no compiled build"
    built = subprocess.run([python, str(builder)], capture_output=True, text=True)
    if built.returncode != 0:
        log.warning("etc/build-native failed, itkgw runs as Python:\n%s", built.stderr[-2000:])
    version = subprocess.run([python, "-m", "itkgw", "-V"], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(source)}).stdout
    return next((line.split(":", 1)[1].strip() for line in version.splitlines()
                 if line.startswith("Compiled:")), "no, this revision has no compiled build")


def describe_source(revision: str | None) -> str:
    """Which itkgw code ran, for the results."""
    if revision is not None:
        return "commit " + _git("rev-parse", "--short", revision)
    changed = _git("status", "--porcelain", "--", "itkgw")
    return "working tree at commit " + _git("rev-parse", "--short", "HEAD") + (
        " with uncommitted changes" if changed else "")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def load_variants(directory: Path = VARIANTS_DIR) -> list[Variant]:
    """Every ``*.toml`` in ``directory``, by file name."""
    return [Variant.load(path) for path in sorted(directory.glob("*.toml"))]


class Itkgw(systems.System):
    kind = "itkgw"

    def __init__(self, workdir: Path, sites: list[Site], variant: Variant, source: Path = REPO,
                 profile_dir: Path | None = None, python: str = sys.executable) -> None:
        super().__init__(workdir, sites)
        self.variant = variant
        self.source = source
        self.profile_dir = profile_dir
        self.python = python
        self.name = variant.label

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "user": WEB_USER,
            "group": WEB_USER,
            "listen": [f"127.0.0.1:{self.port}"],
            "pid_file": str(self.workdir / "itkgw.pid"),
            "error_log": str(self.workdir / "error.log"),
            "log_level": "warn",
            "start_servers": systems.START_SERVERS,
            "min_spare_servers": systems.MIN_SPARE,
            "max_spare_servers": systems.MAX_SPARE,
            "max_request_workers": systems.MAX_WORKERS,
            "max_connections_per_child": 0,
            "keep_alive": True,
            "keep_alive_timeout": systems.KEEP_ALIVE_TIMEOUT,
            "max_keep_alive_requests": systems.MAX_KEEP_ALIVE_REQUESTS,
        }
        config.update(self.variant.server)
        config["vhost"] = [
            {
                "server_name": site.server_name,
                "document_root": str(site.docroot),
                "assign_user_id": [site.user.pw_name, site.user.pw_name],
                "cgi_extensions": [".cgi"],
                "directory": [{"path": str(site.docroot / tree), "allow_override": [override]}
                              for tree, override in OVERRIDE_TREES.items()],
                **self.variant.vhost,
                **self.fpm_handler(site),
            }
            for site in self.sites
        ]
        return config

    def fpm_socket(self, site: Site) -> str:
        return str(self.workdir / f"fpm-{site.user.pw_name}.sock")

    def fpm_handler(self, site: Site) -> dict[str, Any]:
        """With fpm_pools, .php files of ``site`` go to its own pool (mod_proxy_fcgi's SetHandler)."""
        if not self.variant.fpm_pools:
            return {}
        handler = f"proxy:unix:{self.fpm_socket(site)}|fcgi://localhost"
        return {"php_extensions": [], "files": [{"path": r"\.php$", "regex": True, "set_handler": handler}]}

    def argv(self, config_path: Path) -> list[str]:
        """``-m itkgw``, or under :mod:`itkbench.forkprof` when profiling."""
        args = ["-f", str(config_path), "-D", "FOREGROUND"]
        if self.profile_dir is not None:
            return [self.python, "-m", "itkbench.forkprof", str(self.profile_dir), *args]
        return [self.python, "-m", "itkgw", *args]

    def launch(self) -> None:
        if self.variant.fpm_pools:
            self._launch_fpm()
        config_path = self.workdir / "itkgw.toml"
        config_path.write_text(toml.dumps(self.config()))
        path = [str(self.source)]
        if self.profile_dir is not None:
            forkprof.prepare(self.profile_dir)
            path.append(str(BENCH))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": ":".join(path)}
        if self.profile_dir is not None:
            env["ITKGW_NATIVE"] = "0"
        self.launched.append(Launched("itkgw", self.argv(config_path), self.workdir, env=env))

    def _launch_fpm(self) -> None:
        """One pool per user, as nginx+php-fpm has; each socket only its user may open,
        since itkgw connects from the process already running as that user."""
        text = nginx_fpm.FPM_GLOBAL.format(root=self.workdir)
        for site in self.sites:
            text += nginx_fpm.FPM_POOL.format(user=site.user.pw_name, socket=self.fpm_socket(site),
                                              web_user=site.user.pw_name,
                                              pm=nginx_fpm.STATIC_PM.format(children=nginx_fpm.FPM_CHILDREN))
        fpm_config = self.workdir / "php-fpm.conf"
        fpm_config.write_text(text)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        self.launched.append(Launched("php-fpm", [nginx_fpm.PHP_FPM, "-F", "-y", str(fpm_config)],
                                      self.workdir, env=env))
