"""mod_fcgid's directives in both syntaxes and both series: what they set, what they refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from itkgw.config.convert import to_toml
from itkgw.config.modules.fcgid import FcgidServerSettings, FcgidSettings, Wrapper
from itkgw.config.modules.php import PHPRunSettings
from itkgw.config.toml_reader import loads_toml
from itkgw.request.dirconf import merge
from tests.unit.test_conf_apache import load, only, problems, the_vhost, vhost_file

PHP_CGI = "/usr/bin/php-cgi"

FULL = f"""
AddHandler fcgid-script .php .fcgi
FcgidWrapper "{PHP_CGI} -d display_errors=0" .php
FcgidMaxProcessesPerClass 4
FcgidMinProcessesPerClass 0
FcgidIdleTimeout 60
FcgidMaxRequestsPerProcess 500
FcgidProcessLifeTime 600
FcgidIOTimeout 20
FcgidConnectTimeout 2
FcgidBusyTimeout 30
FcgidMaxRequestLen 1048576
FcgidInitialEnv PHPRC /etc/php/8.2/cgi
FcgidInitialEnv EMPTY
FcgidPassHeader Authorization
<Directory /srv/app>
    Options +ExecCGI
    FcgidWrapper /bin/sh virtual
</Directory>
"""


@pytest.mark.parametrize("compat", ["2.2", "2.4"])
def test_every_directive_reads_in_both_series(tmp_path: Path, compat: str) -> None:
    vhost = the_vhost(tmp_path, FULL, compat=compat)
    settings = vhost.modules.get(FcgidSettings)
    assert settings.extensions == (".php", ".fcgi")
    assert settings.wrappers == (Wrapper((PHP_CGI, "-d", "display_errors=0"), ".php"),)
    assert (settings.value("max_processes_per_class"), settings.value("min_processes_per_class"),
            settings.value("idle_timeout"), settings.value("max_requests_per_process"),
            settings.value("process_life_time"), settings.value("io_timeout"),
            settings.value("connect_timeout"), settings.value("busy_timeout"),
            settings.value("max_request_len")) == (4, 0, 60, 500, 600, 20, 2, 30, 1048576)
    assert settings.initial_env == (("PHPRC", "/etc/php/8.2/cgi"), ("EMPTY", ""))
    assert settings.pass_headers == ("Authorization",)
    section = [s for s in vhost.directories if s.path == "/srv/app"][0]
    assert section.modules.get(FcgidSettings).wrappers == (Wrapper(("/bin/sh",), "", virtual=True),)


def test_unset_limits_are_mod_fcgid_s_defaults(tmp_path: Path) -> None:
    settings = the_vhost(tmp_path).modules.get(FcgidSettings)
    assert [settings.value(name) for name in ("max_processes_per_class", "min_processes_per_class",
                                               "idle_timeout", "max_requests_per_process",
                                               "process_life_time", "io_timeout", "connect_timeout",
                                               "busy_timeout", "max_request_len")] == [
        100, 3, 300, 0, 3600, 40, 3, 300, 131072]


def test_a_wrapper_for_a_suffix_wins_over_one_for_every_file(tmp_path: Path) -> None:
    settings = FcgidSettings(wrappers=(Wrapper(("/bin/sh",)), Wrapper((PHP_CGI,), ".php")))
    assert settings.wrapper_for("/srv/x/index.php") == Wrapper((PHP_CGI,), ".php")
    assert settings.wrapper_for("/srv/x/app.fcgi") == Wrapper(("/bin/sh",))
    assert FcgidSettings().wrapper_for("/srv/x/app.fcgi") is None


def test_a_section_s_wrappers_add_to_the_vhost_s_by_suffix(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, f"""
        AddHandler fcgid-script .php .pl
        FcgidWrapper {PHP_CGI} .php
        FcgidWrapper /bin/sh .pl
        FcgidWrapper /bin/true .pl
        <Directory {tmp_path}/perl>
            FcgidWrapper /usr/bin/env .pl
        </Directory>"""))
    vhost = loaded.config.vhosts[0]
    top = merge(loaded.config, vhost, "/x.pl").modules.get(FcgidSettings)
    assert top.wrapper_for("x.pl") == Wrapper(("/bin/true",), ".pl")  # the later line for a suffix wins
    below = merge(loaded.config, vhost, "/perl/x.pl").modules.get(FcgidSettings)
    assert below.wrapper_for("x.pl") == Wrapper(("/usr/bin/env",), ".pl")
    assert below.wrapper_for("x.php") == Wrapper((PHP_CGI,), ".php")  # kept from the vhost


def test_server_wide_settings_and_the_old_names_with_a_warning(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, server="MaxProcessCount 20\nIdleTimeout 45\n"
                                       "FcgidIPCDir /run/fcgid-test\nFcgidIdleScanInterval 10\n"))
    assert loaded.config.modules.get(FcgidServerSettings) == FcgidServerSettings(20, "/run/fcgid-test")
    assert loaded.config.vhosts[0].modules.get(FcgidSettings).idle_timeout == 45
    warnings = "\n".join(loaded.warnings)
    assert "MaxProcessCount is deprecated, use FcgidMaxProcesses instead" in warnings
    assert "IdleTimeout is deprecated, use FcgidIdleTimeout instead" in warnings
    assert "FcgidIdleScanInterval: itkgw's backend manager checks its processes every second" in warnings


def test_spawn_control_reads_in_both_names_and_defaults_to_mod_fcgid_s(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, server="FcgidSpawnScoreUpLimit 4\nSpawnScore 2\n"
                                       "FcgidTerminationScore -1\nFcgidTimeScore 3\n"))
    server = loaded.config.modules.get(FcgidServerSettings)
    names = ("spawn_score", "termination_score", "time_score", "spawn_score_up_limit")
    assert [server.spawn_value(name) for name in names] == [2, -1, 3, 4]
    assert [FcgidServerSettings().spawn_value(name) for name in names] == [1, 2, 1, 10]
    assert "SpawnScore is deprecated, use FcgidSpawnScore instead" in "\n".join(loaded.warnings)
    again = loads_toml(to_toml(loaded.config), "converted.toml").config
    assert again.modules.get(FcgidServerSettings) == server


@pytest.mark.parametrize(("line", "words"), [
    ("FcgidWrapper php-cgi .php", "the wrapper must be an absolute path"),
    ("FcgidWrapper /no/such/php-cgi .php", "/no/such/php-cgi is not an executable program"),
    (f"FcgidWrapper {PHP_CGI} php", "Invalid wrapper file extension 'php'"),
    (f"FcgidWrapper {PHP_CGI} .php fast", "the only flag FcgidWrapper knows is virtual"),
    ("FcgidIdleTimeout soon", "expected"),
    ("FcgidPassHeader Bad:Header", "is not a header name"),
    ("FcgidCmdOptions /usr/bin/php-cgi MaxProcesses 3", "set the limits with Fcgid* directives"),
    ("FcgidAuthorizer /srv/auth.fcgi", "FastCGI authorizers are not supported"),
])
def test_wrong_lines_say_what_is_wrong(tmp_path: Path, line: str, words: str) -> None:
    error = only(problems(tmp_path, vhost_file(tmp_path, line)))
    assert "httpd.conf:" in error and words in error


def test_php_handler_picks_kept_processes_or_one_php_cgi_per_request(tmp_path: Path) -> None:
    assert the_vhost(tmp_path).modules.get(PHPRunSettings).persistent
    assert not the_vhost(tmp_path, "PHPHandler cgi").modules.get(PHPRunSettings).persistent
    assert "is not one of fcgid, cgi" in only(problems(tmp_path, vhost_file(tmp_path, "PHPHandler mod_php")))


def test_fcgid_script_is_the_handler_of_its_files(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, FULL))
    vhost = loaded.config.vhosts[0]
    assert merge(loaded.config, vhost, "/app.fcgi").handler_for(f"{tmp_path}/app.fcgi") == "fcgid"
    assert merge(loaded.config, vhost, "/index.php").handler_for(f"{tmp_path}/index.php") == "fcgid"


def test_convert_writes_toml_that_reads_back_the_same(tmp_path: Path) -> None:
    apache = load(tmp_path, vhost_file(tmp_path, FULL, server="FcgidMaxProcesses 30\n")).config
    text = to_toml(apache)
    assert 'fcgid_wrapper = [{ command = "/usr/bin/php-cgi -d display_errors=0", suffix = ".php" }]' in text
    again = loads_toml(text, "converted.toml").config
    assert again.modules == apache.modules
    assert again.vhosts[0].modules == apache.vhosts[0].modules
    sections = [section.modules for section in apache.vhosts[0].directories]
    assert [section.modules for section in again.vhosts[0].directories] == sections
