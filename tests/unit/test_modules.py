"""The modules' declarations and the table assembled from them."""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass

import pytest

from itkgw.config import modules
from itkgw.config.directive import Module
from itkgw.config.kinds import Duration
from itkgw.config.model import ModuleSettings
from itkgw.config.table import DIRECTIVES, LOADED_MODULES, MODULES, OWNED, SECTIONS
from itkgw.errors import ConfigError


def test_every_file_of_the_modules_folder_is_a_module_of_the_table() -> None:
    files = {info.name for info in pkgutil.iter_modules(modules.__path__)}
    assert files == set(MODULES)
    assert all(isinstance(module, Module) and module.doc for module in MODULES.values())


def test_the_table_is_the_union_of_the_modules() -> None:
    rows = [row for module in MODULES.values() for row in module.directives]
    assert list(DIRECTIVES) == rows
    assert len(SECTIONS) == sum(len(module.sections) for module in MODULES.values())


def test_each_apache_module_owns_its_directives() -> None:
    owner = {row.name: name for name, module in MODULES.items() for row in module.directives}
    assert owner["AssignUserID"] == owner["MaxClientsVHost"] == "mpm_itk"
    assert owner["RewriteRule"] == "rewrite"
    assert owner["Require"] == "authz_core"
    assert owner["Order"] == "access_compat"
    assert owner["php_admin_value"] == "php"
    assert owner["StartServers"] == "prefork"


def test_ifmodule_knows_every_module_by_its_identifier_and_source_file() -> None:
    assert {"mpm_itk_module", "mpm_itk.c", "rewrite_module", "mod_rewrite.c", "cgi_module"} <= LOADED_MODULES
    assert "proxy_module" not in LOADED_MODULES  # mod_proxy's other directives are not implemented


def test_two_modules_cannot_claim_one_directive() -> None:
    from itkgw.config import table

    claimed = {"serverroot": (MODULES["core"].directives[0], None)}
    with pytest.raises(TypeError, match="modules core and cgi both declare serverroot"):
        table._claim(claimed, "serverroot", MODULES["cgi"].directives[0], None)


# -- the modules' own settings ------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    timeout: float | None = None
    count: int | None = None


@dataclass(frozen=True)
class Other:
    flag: bool | None = None


def test_settings_a_module_never_set_are_its_defaults() -> None:
    assert ModuleSettings().get(Limits) == Limits()
    assert ModuleSettings((Other(True),)).get(Limits) == Limits()


def test_a_later_section_overrides_only_what_it_sets() -> None:
    vhost = ModuleSettings((Limits(timeout=5.0, count=3),))
    section = ModuleSettings((Limits(count=7), Other(flag=False)))
    merged = vhost.overlay(section)
    assert merged.get(Limits) == Limits(timeout=5.0, count=7)
    assert merged.get(Other) == Other(flag=False)
    assert vhost.overlay(ModuleSettings()) == vhost


def test_every_setting_a_module_keeps_is_filled_by_one_of_its_directives() -> None:
    for context, owned in OWNED.items():
        for key, (settings, name) in owned.items():
            module = next(m for m in MODULES.values() if settings in m.settings.values())
            assert any(row.model_field == name and (row.key or row.model_field) == key
                       for row in module.directives), (context, key)


# -- time intervals --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("20", 20.0), ("500ms", 0.5), ("2min", 120.0), ("2sec", 2.0), ("1h", 3600.0), ("+3", 3.0),
    ("007", 7.0), ("0", None),
])
def test_a_duration_reads_as_httpd_reads_it(text: str, seconds: float | None) -> None:
    assert Duration().from_args([text], "f:1") == seconds


@pytest.mark.parametrize("text", ["-1", "2x", "2S", "0.5", "2m", "2MS", "99999999999999"])
def test_a_duration_httpd_refuses_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="has wrong format"):
        Duration().from_args([text], "f:1")


def test_a_duration_in_toml_is_seconds() -> None:
    assert Duration().from_toml(0.25, "k") == 0.25
    assert Duration().from_toml(0, "k") is None
    with pytest.raises(ConfigError, match="negative"):
        Duration().from_toml(-1, "k")
    with pytest.raises(ConfigError, match="expected a time interval"):
        Duration().from_toml("20s", "k")
