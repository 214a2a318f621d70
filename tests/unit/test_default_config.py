"""The demo config in etc/ and the one embedded in the package must not drift."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "etc" / "itkgw.toml"
EMBEDDED_CONFIG = REPO / "itkgw" / "default.toml"


def test_embedded_default_is_byte_identical_to_etc_itkgw_toml() -> None:
    assert EMBEDDED_CONFIG.read_bytes() == DEMO_CONFIG.read_bytes(), (
        "itkgw/default.toml must be a copy of etc/itkgw.toml: cp etc/itkgw.toml itkgw/default.toml"
    )


def test_installed_package_ships_the_default_config() -> None:
    shipped = resources.files("itkgw").joinpath("default.toml").read_bytes()
    assert shipped == DEMO_CONFIG.read_bytes()


def test_demo_config_serves_alice_and_bob_as_their_own_users() -> None:
    config = tomllib.loads(DEMO_CONFIG.read_text())
    assert config["listen"] == ["127.0.0.1:8080"]
    assert (config["user"], config["group"]) == ("www-data", "www-data")
    vhosts = {vhost["server_name"]: vhost for vhost in config["vhost"]}
    assert sorted(vhosts) == ["alice.localhost", "bob.localhost"]
    for name in ("alice", "bob"):
        vhost = vhosts[f"{name}.localhost"]
        assert vhost["assign_user_id"] == [f"itkdemo-{name}", f"itkdemo-{name}"]
        assert vhost["document_root"] == f"/srv/itkgw-demo/{name}/htdocs"
        assert vhost["script_alias"] == {"/cgi-bin/": f"/srv/itkgw-demo/{name}/cgi-bin/"}
