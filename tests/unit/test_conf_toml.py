"""The TOML config reader and the directive table it shares with the Apache reader.

What an admin sees: the model a config gives, and for a broken config every
problem at once, each with where it is, what is wrong and what to do.
"""

from __future__ import annotations

import dataclasses
import grp
import os
import pwd
from pathlib import Path

import pytest

from itkgw.config.directive import SERIES, Context
from itkgw.config.kinds import parse_address
from itkgw.config.model import (
    Address,
    DirSection,
    HeaderRule,
    Identity,
    PHPSetting,
    Redirect,
    ServerConfig,
    VHost,
)
from itkgw.config.modules.pool import PoolSettings
from itkgw.config.table import (
    BY_KEY,
    DIRECTIVES,
    MODELS,
    OWNED,
    STRUCTURAL_FIELDS,
    apache_directive,
    model_fields,
)
from itkgw.config.toml_reader import Loaded, load_toml, loads_toml
from itkgw.errors import ConfigError, ConfigErrors
from itkgw.rules.authz import AccessCompat, Require, RequireGroup
from itkgw.rules.rewrite import RewriteCond, RewriteRule

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "conf"
ROOT = Identity("root", "root", 0, 0)


def identity(user: str, group: str) -> Identity:
    return Identity(user, group, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "itkgw.toml"
    path.write_text(text)
    return str(path)


def load(tmp_path: Path, text: str, compat: str | None = None) -> Loaded:
    return load_toml(write(tmp_path, text), compat)


def problems(tmp_path: Path, text: str, compat: str | None = None) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text, compat)
    return caught.value.errors


def config(root: Path, server: str = "", vhost: str = "") -> str:
    """A valid config with one vhost, plus extra top-level and vhost lines."""
    return (f'user = "daemon"\ngroup = "daemon"\nlisten = ["127.0.0.1:8080"]\nphp_cgi = "/bin/sh"\n'
            f'default_identity = ["nobody", "nogroup"]\n{server}\n'
            f'[[vhost]]\nserver_name = "a.test"\ndocument_root = "{root}"\n{vhost}\n')


def only(errors: list[ConfigError]) -> tuple[str, str, str]:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0].where, errors[0].message, errors[0].hint


# -- the directive table -------------------------------------------------------


@pytest.mark.parametrize("context", list(Context))
def test_the_table_and_the_model_agree_both_ways(context: Context) -> None:
    """Every row fills a field of the core model, or of its module's own settings (OWNED)."""
    set_by_table = {d.model_field for d in DIRECTIVES
                    if context in d.contexts and (d.key or d.model_field) not in OWNED[context]}
    assert set_by_table <= model_fields(context), "a directive fills a field the model does not have"
    assert set_by_table | STRUCTURAL_FIELDS[context] == model_fields(context), "a field no directive sets"
    assert not set_by_table & STRUCTURAL_FIELDS[context]


@pytest.mark.parametrize("context", list(Context))
def test_each_toml_key_means_one_directive_per_context(context: Context) -> None:
    in_context = [d for d in DIRECTIVES if context in d.contexts]
    assert len(in_context) == len(BY_KEY[context])


def test_apache_names_are_unique_and_every_directive_is_documented() -> None:
    names = [d.name.lower() for d in DIRECTIVES if d.name]
    names += [a.name.lower() for d in DIRECTIVES for a in d.aliases]
    assert len(names) == len(set(names))
    assert all(d.doc and d.apache_contexts and d.series <= set(SERIES) for d in DIRECTIVES)
    assert all(d.name or d.key for d in DIRECTIVES)
    assert all(d.contexts for d in DIRECTIVES if d.key), "a TOML key needs the tables it may appear in"


def test_rows_without_a_toml_key_say_which_setting_they_feed() -> None:
    feeding = {d.name: d.model_field for d in DIRECTIVES if not d.key and d.model_field}
    assert feeding == {
        "CustomLog": "access_log", "RedirectPermanent": "redirects", "RedirectTemp": "redirects",
        "RedirectMatch": "redirects",
        "php_flag": "php_settings", "php_admin_value": "php_settings", "php_admin_flag": "php_settings",
        "RewriteCond": "rewrite_rules", "Order": "access", "Allow": "access", "Deny": "access",
        "Satisfy": "access", "SetEnvIfNoCase": "set_env_if", "BrowserMatch": "set_env_if",
        "BrowserMatchNoCase": "set_env_if", "SetEnvIfExpr": "set_env_if", "PassEnv": "set_env",
    }
    for field in set(feeding.values()):
        assert any(d.key == field for d in DIRECTIVES), f"{field} has a TOML row"


def test_only_the_24_features_are_missing_from_22() -> None:
    missing = {d.key for d in DIRECTIVES if d.key and not d.available_in("2.2")}
    assert missing == {"limit_uid_range", "limit_gid_range", "enable_capabilities", "assign_user_id_expr",
                       "assign_group_id_expr", "require", "cgi_script_timeout", "proxy_timeout",
                       "proxy_pass_match", "proxy_fcgi_backend_type", "cgi_pass_auth", "allow_override_list",
                       "merge_slashes"}
    apache_only = {d.name for d in DIRECTIVES if not d.key and not d.available_in("2.2")}
    assert apache_only == {"IncludeOptional", "Define", "UnDefine", "DefaultRuntimeDir", "Mutex",
                           "SetEnvIfExpr", "ErrorLogFormat", "Protocols", "ProtocolsHonorOrder"}


def test_apache_names_are_found_case_insensitively() -> None:
    found = apache_directive("maxclientsvhost", "2.2", "x.conf:3")
    assert found is not None
    directive, warning = found
    assert (directive.key, warning) == ("max_clients_vhost", None)
    assert directive.contexts == {Context.VHOST}


def test_maxclients_is_22s_name_and_a_deprecated_alias_in_24() -> None:
    found_22 = apache_directive("MaxClients", "2.2", "x.conf:3")
    found_24 = apache_directive("MaxClients", "2.4", "x.conf:3")
    assert found_22 is not None and found_24 is not None
    assert found_22 == (found_24[0], None)
    assert found_24[0].key == "max_request_workers"
    assert found_24[1] == "x.conf:3: MaxClients is deprecated, use MaxRequestWorkers instead"
    found = apache_directive("MaxRequestsPerChild", "2.4", "x.conf:4")
    assert found is not None and found[0].key == "max_connections_per_child"


def test_22_refuses_24_names_saying_what_to_use() -> None:
    with pytest.raises(ConfigError) as renamed:
        apache_directive("MaxRequestWorkers", "2.2", "x.conf:3")
    assert (renamed.value.where, renamed.value.message, renamed.value.hint) == (
        "x.conf:3", "MaxRequestWorkers is not available with --compat=2.2", "mpm-itk 2.2 calls it MaxClients")
    with pytest.raises(ConfigError) as missing:
        apache_directive("LimitUIDRange", "2.2", "x.conf:9")
    assert str(missing.value) == ("x.conf:9: LimitUIDRange is not available with --compat=2.2 "
                                  "(mpm-itk 2.2 has no LimitUIDRange; use --compat=2.4)")


def test_names_outside_the_table_are_left_to_the_apache_reader() -> None:
    assert apache_directive("SSLEngine", "2.4", "x.conf:1") is None
    assert apache_directive("<VirtualHost>", "2.4", "x.conf:1") is None


def test_directives_that_steer_reading_are_in_the_table_without_a_toml_key() -> None:
    for name in ("LoadModule", "LoadFile", "Include", "ServerLimit"):
        found = apache_directive(name, "2.4", "x.conf:1")
        assert found is not None and found[0].key == "", name


def by_name(name: str) -> object:
    found = apache_directive(name, "2.4", "x.conf:1")
    assert found is not None
    return found[0].kind


@pytest.mark.parametrize(("name", "args", "value"), [
    ("NiceValue", ["-5"], -5),
    ("KeepAlive", ["on"], True),
    ("KeepAlive", ["OFF"], False),
    ("Timeout", ["30"], 30),
    ("LogLevel", ["Debug"], "debug"),
    ("ServerAlias", ["a.test", "*.a.test"], ("a.test", "*.a.test")),
    ("CGIExtensions", ["cgi", ".pl"], (".cgi", ".pl")),
    ("Listen", ["8080"], (Address("*", 8080),)),
    ("Listen", ["[::1]:80", "http"], (Address("::1", 80),)),
    ("LimitUIDRange", ["1000", "60000"], (1000, 60000)),
    ("AssignUserID", ["root", "root"], ROOT),
    ("ScriptAlias", ["/cgi-bin/", "/srv/cgi/"], (("/cgi-bin/", "/srv/cgi/"),)),
    ("Options", ["+execcgi", "-Indexes"], ("+ExecCGI", "-Indexes")),
    ("Options", ["Indexes", "FollowSymLinks"], ("Indexes", "FollowSymLinks")),
    ("ErrorLog", ["-"], "-"),
])
def test_apache_arguments_are_read_into_model_values(name: str, args: list[str], value: object) -> None:
    assert by_name(name).from_args(args, "x.conf:1") == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "args", "message", "hint"), [
    ("MaxClientsVHost", ["ten"], "expected an integer of at least 0, got ten",
     "write it as a number, e.g. 10"),
    ("MaxClientsVHost", ["-1"], "-1 is out of range", "use an integer of at least 0"),
    ("KeepAlive", ["yes"], "expected true or false, got yes", "write it as On or Off"),
    ("Listen", ["443", "https"], "protocol 'https' is not supported",
     "itkgw speaks plain http; put TLS in front of it"),
    ("LimitGIDRange", ["5", "1"], "5-1 is not a range of ids",
     "min must not exceed max, both from 0 to 4294967295"),
    ("AssignUserID", ["itkgw-no-such-user", "root"], "user 'itkgw-no-such-user' does not exist",
     "create it with useradd, or fix the name"),
    ("AssignUserID", ["root"], "expected a user and a group, got root",
     "write it as user group, e.g. alice alice"),
    ("DocumentRoot", ["htdocs"], "'htdocs' is not an absolute path", "write the full path, starting with /"),
])
def test_bad_apache_arguments_say_what_to_write(name: str, args: list[str], message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        by_name(name).from_args(args, "x.conf:7")  # type: ignore[attr-defined]
    assert (caught.value.where, caught.value.message, caught.value.hint) == ("x.conf:7", message, hint)


@pytest.mark.parametrize(("text", "address"), [
    ("8080", Address("*", 8080)),
    ("*:80", Address("*", 80)),
    ("127.0.0.1:8080", Address("127.0.0.1", 8080)),
    ("[::1]:80", Address("::1", 80)),
    ("[0:0::1]:80", Address("::1", 80)),
    ("0.0.0.0:80", Address("0.0.0.0", 80)),
])
def test_listen_addresses(text: str, address: Address) -> None:
    assert parse_address(text, "w") == address


@pytest.mark.parametrize(("text", "message"), [
    ("localhost:80", "'localhost:80': 'localhost' is not an IP address"),
    ("::1:80", "'::1:80': an IPv6 address needs brackets"),
    ("127.0.0.1:0", "'127.0.0.1:0': port must be a number from 1 to 65535"),
    ("127.0.0.1:http", "'127.0.0.1:http': port must be a number from 1 to 65535"),
    ("127.0.0.1", "'127.0.0.1' has no port"),
    ("[::1]", "'[::1]' has no port"),
])
def test_bad_listen_addresses(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_address(text, "w")
    assert caught.value.message == message
    assert caught.value.hint.endswith('write "127.0.0.1:8080", "[::1]:8080", "*:8080" or "8080"')


# -- the model a config gives -------------------------------------------------


def test_a_full_config_gives_exactly_this_model(tmp_path: Path) -> None:
    htdocs = tmp_path / "htdocs"
    htdocs.mkdir()
    path = write(tmp_path, f'''
compat = "2.4"
user = "daemon"
group = "daemon"
listen = ["127.0.0.1:8080", "[::1]:8080", "8081"]
server_name = "main.test"
server_admin = "webmaster@main.test"
pid_file = "/run/test.pid"
error_log = "-"
log_level = "Info"
access_log = "/var/log/test/access.log"
access_log_format = "common"
start_servers = 3
min_spare_servers = 2
max_spare_servers = 6
max_request_workers = 40
max_connections_per_child = 1000
timeout = 30
keep_alive = false
keep_alive_timeout = 2
max_keep_alive_requests = 50
limit_request_line = 4096
limit_request_field_size = 2048
limit_request_fields = 50
limit_request_body = 1048576
limit_uid_range = [0, 65534]
limit_gid_range = [0, 65534]
enable_capabilities = false
no_new_privs = true
php_cgi = "/bin/sh"
mime_types = "/etc/mime.types"
default_identity = ["nobody", "nogroup"]

[[vhost]]
server_name = "alice.test"
server_alias = ["www.alice.test", "*.alice.test"]
listen = ["127.0.0.1:8080"]
server_admin = "alice@alice.test"
document_root = "{htdocs}"
assign_user_id = ["root", "root"]
max_clients_vhost = 10
nice_value = 5
directory_index = ["index.php", "index.html"]
exec_cgi = false
cgi_extensions = [".cgi", "pl"]
php_extensions = []
script_alias = {{ "/cgi-bin/" = "/srv/alice/cgi-bin/", "/tools" = "/srv/alice/tools" }}
access_log = "/var/log/test/alice.log"
access_log_format = "%h %r %>s"
error_log = "/var/log/test/alice.error.log"

  [[vhost.directory]]
  path = "{htdocs}/shared"
  assign_user_id = ["daemon", "daemon"]
  nice_value = 10
  directory_index = ["default.htm"]
  exec_cgi = true

  [[vhost.directory]]
  path = "/srv/other/"

[[vhost]]
server_name = "bob.test"
document_root = "{htdocs}"
''')
    loaded = load_toml(path)
    daemon = identity("daemon", "daemon")
    alice = VHost(
        server_name="alice.test", document_root=str(htdocs), listen=(Address("127.0.0.1", 8080),),
        server_alias=("www.alice.test", "*.alice.test"), server_admin="alice@alice.test",
        assign_user_id=ROOT, max_clients_vhost=10, nice_value=5, directory_index=("index.php", "index.html"),
        exec_cgi=False, cgi_extensions=(".cgi", ".pl"), php_extensions=(),
        script_alias=(("/cgi-bin/", "/srv/alice/cgi-bin/"), ("/tools", "/srv/alice/tools")),
        access_log="/var/log/test/alice.log", access_log_format="%h %r %>s",
        error_log="/var/log/test/alice.error.log",
        directories=(
            DirSection(path=f"{htdocs}/shared", assign_user_id=daemon, nice_value=10,
                       directory_index=("default.htm",), exec_cgi=True,
                       where=f"{path}: vhost[1].directory[1]"),
            DirSection(path="/srv/other/", where=f"{path}: vhost[1].directory[2]"),
        ),
        where=f"{path}: vhost[1]",
    )
    listen = (Address("127.0.0.1", 8080), Address("::1", 8080), Address("*", 8081))
    bob = VHost(server_name="bob.test", document_root=str(htdocs), listen=listen, where=f"{path}: vhost[2]")
    assert loaded.config == ServerConfig(
        user=daemon, listen=listen, vhosts=(alice, bob), source=path, compat="2.4",
        server_name="main.test", server_admin="webmaster@main.test", pid_file="/run/test.pid", error_log="-",
        log_level="info", access_log="/var/log/test/access.log", access_log_format="common",
        start_servers=3, min_spare_servers=2, max_spare_servers=6, max_request_workers=40,
        max_connections_per_child=1000, timeout=30, keep_alive=False, keep_alive_timeout=2,
        max_keep_alive_requests=50, limit_request_line=4096, limit_request_field_size=2048,
        limit_request_fields=50, limit_request_body=1048576, limit_uid_range=(0, 65534),
        limit_gid_range=(0, 65534), enable_capabilities=False, no_new_privs=True, php_cgi="/bin/sh",
        mime_types="/etc/mime.types",
    )
    assert loaded.warnings == [
        f"{path}: vhost[1].directory[1].assign_user_id: directory {htdocs}/shared of vhost alice.test runs "
        "as the workers' own user daemon (uid 1): its scripts could stop or trace every worker; give it a "
        "user of its own"]


def test_a_minimal_config_gets_apaches_defaults_and_debians_www_data(tmp_path: Path) -> None:
    try:
        www = identity("www-data", "www-data")
    except KeyError:
        pytest.skip("this system has no www-data user or group")
    if not os.access("/usr/bin/php-cgi", os.X_OK):
        pytest.skip("the default php_cgi, /usr/bin/php-cgi, is not installed")
    path = write(tmp_path, f'listen = ["80", "[::1]:81"]\n[[vhost]]\nserver_name = "a.test"\n'
                           f'document_root = "{tmp_path}"\n')
    loaded = load_toml(path)
    listen = (Address("*", 80), Address("::1", 81))
    vhost = VHost(server_name="a.test", document_root=str(tmp_path), listen=listen, where=f"{path}: vhost[1]")
    assert loaded.config == ServerConfig(user=www, listen=listen, vhosts=(vhost,), source=path)
    assert loaded.config.compat == "2.4" and loaded.config.php_cgi == "/usr/bin/php-cgi"


def test_loads_toml_names_the_source_it_is_given(tmp_path: Path) -> None:
    loaded = loads_toml(config(tmp_path), "<embedded default config>")
    assert loaded.config.source == "<embedded default config>"
    assert loaded.config.vhosts[0].where == "<embedded default config>: vhost[1]"


# -- problems, all reported, each located, each with a hint -------------------


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = config(tmp_path, server='timeout = "60"\nkeepalive = true',
                  vhost='nice_value = "5"\n[[vhost.directory]]\npath = "rel"')
    path = str(tmp_path / "itkgw.toml")
    assert [(e.where, e.message) for e in problems(tmp_path, text)] == [
        (f"{path}: timeout", "expected a number of seconds of at least 1, got a string"),
        (f"{path}: keepalive", "unknown key"),
        (f"{path}: vhost[1].nice_value", "expected an integer, got a string"),
        (f"{path}: vhost[1].directory[1].path", "'rel' is not an absolute path"),
    ]


def test_wrong_type_deep_inside_names_the_key_path(tmp_path: Path) -> None:
    text = config(tmp_path, vhost=f'[[vhost]]\nserver_name = "b.test"\ndocument_root = "{tmp_path}"\n'
                                  '[[vhost.directory]]\npath = "/srv"\nnice_value = "10"')
    assert only(problems(tmp_path, text)) == (
        f"{tmp_path}/itkgw.toml: vhost[2].directory[1].nice_value", "expected an integer, got a string",
        "write it as a number without quotes, e.g. 10")


def test_an_unknown_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    text = config(tmp_path, vhost="max_client_vhost = 4")
    assert only(problems(tmp_path, text)) == (
        f"{tmp_path}/itkgw.toml: vhost[1].max_client_vhost", "unknown key", "did you mean max_clients_vhost?")


def test_a_server_key_after_a_vhost_table_is_a_misplaced_key(tmp_path: Path) -> None:
    # TOML puts every key after [[vhost]] into that vhost: the classic mistake.
    text = config(tmp_path, vhost="max_request_workers = 10")
    assert only(problems(tmp_path, text)) == (
        f"{tmp_path}/itkgw.toml: vhost[1].max_request_workers", "not allowed in a [[vhost]] table",
        "move it to the top level, before the first [[vhost]]")


def test_missing_required_keys(tmp_path: Path) -> None:
    text = 'user = "daemon"\ngroup = "daemon"\nphp_cgi = "/bin/sh"\n[[vhost]]\n[[vhost.directory]]\n'
    where = f"{tmp_path}/itkgw.toml"
    assert [(e.where, e.message, e.hint) for e in problems(tmp_path, text)] == [
        (f"{where}: listen", "required key is missing", 'add the addresses to serve, e.g. listen = ["80"]'),
        (f"{where}: vhost[1].server_name", "required key is missing",
         'every [[vhost]] needs server_name = "www.example.com"'),
        (f"{where}: vhost[1].document_root", "required key is missing",
         'every [[vhost]] needs document_root = "/srv/www/htdocs"'),
        (f"{where}: vhost[1].directory[1].path", "required key is missing",
         'every [[vhost.directory]] needs path = "/srv/www/htdocs/private"'),
    ]


def test_missing_users_and_groups(tmp_path: Path) -> None:
    text = config(tmp_path, vhost='assign_user_id = ["daemon", "itkgw-no-such-group"]').replace(
        'user = "daemon"', 'user = "itkgw-no-such-user"')
    where = f"{tmp_path}/itkgw.toml"
    assert [(e.where, e.message, e.hint) for e in problems(tmp_path, text)] == [
        (f"{where}: user", "user 'itkgw-no-such-user' does not exist",
         "create it with useradd, or fix the name"),
        (f"{where}: vhost[1].assign_user_id", "group 'itkgw-no-such-group' does not exist",
         "create it with groupadd, or fix the name"),
    ]


def test_a_document_root_that_is_no_directory_is_a_warning_as_in_httpd(tmp_path: Path) -> None:
    """httpd warns (AH00112) and serves the other vhosts: one tenant's missing site must not keep
    the server from starting."""
    (tmp_path / "file").write_text("")
    cases = ((tmp_path / "nowhere", "does not exist: its requests are answered 404 until the directory is "
                                    "created"),
             (tmp_path / "file", "is not a directory: its requests are answered 404 until it is one"))
    for root, message in cases:
        assert f"{tmp_path}/itkgw.toml: vhost[1].document_root: {root} {message}" in \
            load(tmp_path, config(root)).warnings


def test_a_document_root_the_checker_cannot_stat_is_a_warning_naming_root(tmp_path: Path) -> None:
    """As another user, -t cannot see inside a 0700 directory; it says so instead of failing."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the check as another user")
    private = tmp_path / "private"
    (private / "htdocs").mkdir(parents=True)
    private.chmod(0o700)
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            warnings = loads_toml(config(private / "htdocs"), "itkgw.toml").warnings
            os.write(write_end, "\n".join(warnings).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    assert os.waitpid(pid, 0)[1] == 0
    assert output == (f"itkgw.toml: vhost[1].document_root: cannot check {private}/htdocs: permission denied "
                      f"for uid {nobody.pw_uid} (root can stat it: run itkgw -t as root)")


def test_php_cgi_must_be_executable_only_if_a_vhost_runs_php(tmp_path: Path) -> None:
    no_php = config(tmp_path, vhost="php_extensions = []").replace('"/bin/sh"', '"/etc/passwd"')
    assert load(tmp_path, no_php).config.php_cgi == "/etc/passwd"
    with_php = config(tmp_path).replace('"/bin/sh"', '"/etc/passwd"')
    assert only(problems(tmp_path, with_php)) == (
        f"{tmp_path}/itkgw.toml: php_cgi",
        "/etc/passwd is not an executable file, and vhost a.test runs PHP with it",
        "install php-cgi, or set php_cgi to its path; vhosts without PHP can set php_extensions = []")


def test_listen_duplicates_overlaps_and_unserved_vhost_addresses(tmp_path: Path) -> None:
    text = config(tmp_path, vhost='listen = ["127.0.0.1:8080", "127.0.0.2:8080"]').replace(
        '["127.0.0.1:8080"]', '["127.0.0.1:8080", "*:9090", "127.0.0.1:8080", "127.0.0.1:9090"]', 1)
    where = f"{tmp_path}/itkgw.toml"
    assert [(e.where, e.message, e.hint) for e in problems(tmp_path, text)] == [
        (f"{where}: listen", "127.0.0.1:8080 is listed twice", "remove one of them"),
        (f"{where}: listen", "*:9090 and 127.0.0.1:9090 overlap: binding both fails",
         "keep *:9090 alone, or list each address instead of it"),
        (f"{where}: vhost[1].listen", "127.0.0.2:8080 is not an address the server listens on",
         'add "127.0.0.2:8080" to listen at the top level'),
    ]


def test_a_wildcard_listen_serves_vhosts_on_specific_addresses(tmp_path: Path) -> None:
    text = config(tmp_path, vhost='listen = ["10.9.8.7:8080", "*:8080"]').replace(
        '["127.0.0.1:8080"]', '["8080"]', 1)
    assert load(tmp_path, text).config.vhosts[0].listen == (Address("10.9.8.7", 8080), Address("*", 8080))


def test_a_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    text = 'user = "daemon"\n\n[[vhost]]\nserver_name = "a"\ndocument_root "/tmp"\n'
    assert only(problems(tmp_path, text)) == (
        f"{tmp_path}/itkgw.toml:5:15", "TOML syntax: Expected '=' after a key in a key/value pair",
        "fix the file there; the format is TOML 1.0, see https://toml.io")
    assert only(problems(tmp_path, 'user = "daemon'))[0] == f"{tmp_path}/itkgw.toml:1:15"


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as missing:
        load_toml(str(tmp_path / "nowhere.toml"))
    assert str(missing.value) == (f"{tmp_path}/nowhere.toml: cannot read: No such file or directory "
                                  "(give an existing, readable config file with -f)")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'server_admin = "caf\xe9"\n')
    with pytest.raises(ConfigErrors) as binary:
        load_toml(str(latin1))
    assert str(binary.value) == f"{latin1}: not UTF-8 text (byte 19) (save the file as UTF-8)"


# -- what Apache adjusts is adjusted, with a warning --------------------------


def test_prefork_sizing_is_corrected_as_apache_does(tmp_path: Path) -> None:
    text = config(tmp_path, server="start_servers = 50\nmin_spare_servers = -3\nmax_spare_servers = 1\n"
                                   "max_request_workers = 0")
    loaded = load(tmp_path, text)
    sizing = (loaded.config.start_servers, loaded.config.min_spare_servers, loaded.config.max_spare_servers,
              loaded.config.max_request_workers)
    assert sizing == (1, 1, 2, 1)
    where = f"{tmp_path}/itkgw.toml"
    assert loaded.warnings == [
        f"{where}: max_request_workers: max_request_workers 0 raised to 1 (at least one worker is needed)",
        f"{where}: min_spare_servers: min_spare_servers -3 raised to 1 (at least one idle worker is kept)",
        f"{where}: max_spare_servers: max_spare_servers 1 raised to 2 (must exceed min_spare_servers)",
        f"{where}: start_servers: start_servers 50 lowered to 1 (no more than max_request_workers)",
    ]


def test_default_sizing_is_checked_against_the_given_values(tmp_path: Path) -> None:
    # min_spare_servers defaults to 5: max_spare_servers = 3 is raised to 6.
    loaded = load(tmp_path, config(tmp_path, server="max_spare_servers = 3"))
    assert loaded.config.max_spare_servers == 6
    assert loaded.warnings == [f"{tmp_path}/itkgw.toml: max_spare_servers: max_spare_servers 3 raised to 6 "
                               "(must exceed min_spare_servers)"]


def test_nice_value_is_clamped_to_minus_20_to_19(tmp_path: Path) -> None:
    loaded = load(tmp_path, config(tmp_path, vhost='nice_value = 30\n[[vhost.directory]]\npath = "/x"\n'
                                                   'nice_value = -21'))
    vhost = loaded.config.vhosts[0]
    assert (vhost.nice_value, vhost.directories[0].nice_value) == (19, -20)
    assert loaded.warnings == [
        f"{tmp_path}/itkgw.toml: vhost[1].nice_value: nice_value 30 clamped to 19",
        f"{tmp_path}/itkgw.toml: vhost[1].directory[1].nice_value: nice_value -21 clamped to -20",
    ]


def test_an_identity_outside_the_id_ranges_starts_with_a_warning(tmp_path: Path) -> None:
    # mpm-itk starts and answers 500 for such a vhost; -t says so beforehand.
    text = config(tmp_path, vhost='assign_user_id = ["root", "root"]').replace("a.test", "alice.localhost")
    loaded = load(tmp_path, text)
    assert loaded.config.vhosts[0].assign_user_id == ROOT
    where = f"{tmp_path}/itkgw.toml: vhost[1].assign_user_id"
    assert loaded.warnings == [
        f"{where}: vhost alice.localhost runs as uid 0 (root), outside LimitUIDRange 1-4294967294: "
        "its requests will get 500",
        f"{where}: vhost alice.localhost runs as gid 0 (root), outside LimitGIDRange 1-4294967294: "
        "its requests will get 500",
    ]


def test_workers_outside_the_uid_range_are_an_error(tmp_path: Path) -> None:
    """The workers switch to User under the set*id filter: outside the range none could boot."""
    daemon = identity("daemon", "daemon")
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, config(tmp_path, server=f"limit_uid_range = [{daemon.uid + 1}, 60000]"))
    assert [str(e) for e in caught.value.errors] == [
        f"{tmp_path}/itkgw.toml: limit_uid_range: the workers' own identity daemon ({daemon.uid}) is outside "
        f"limit_uid_range {daemon.uid + 1}-60000, so no worker could start (widen limit_uid_range to include "
        f"{daemon.uid}, or run the workers as another user)"]


def test_a_name_already_used_on_the_same_address_is_a_warning(tmp_path: Path) -> None:
    text = config(tmp_path, vhost=f'[[vhost]]\nserver_name = "b.test"\nserver_alias = ["A.test"]\n'
                                  f'document_root = "{tmp_path}"\n'
                                  f'[[vhost]]\nserver_name = "a.test"\ndocument_root = "{tmp_path}"\n'
                                  'listen = ["*:8080"]')
    loaded = load(tmp_path, text)
    assert len(loaded.config.vhosts) == 3
    assert loaded.warnings == [f"{tmp_path}/itkgw.toml: vhost[2]: a.test on 127.0.0.1:8080 is also a name of "
                               "vhost[1] (a.test), which gets its requests"]


# -- structured settings and section kinds ----------------------------------------


def test_every_structured_shape_reads_into_the_model(tmp_path: Path) -> None:
    rule = ('{ pattern = "^/~([a-z]+)/", substitution = "-", flags = ["env=ITKUID:$1", "last"], '
            r'conditions = [{ test = "%{HTTP_HOST}", pattern = "^users\\.", flags = ["nocase"] }] }')
    loaded = load(tmp_path, config(tmp_path, server=f'server_root = "{tmp_path}"', vhost=f"""
alias = {{ "/static/" = "/srv/static/" }}
redirects = [{{ url_path = "/old", target = "http://x/new", status = 301 }},
             {{ url_path = "/gone", status = 410 }}]
user_dir = "public_html"
assign_user_id_expr = "%{{reqenv:ITKUID}}"
assign_group_id_expr = "users"
options = ["FollowSymLinks", "ExecCGI"]
add_type = [["text/plain", "log"]]
set_env = {{ A = "1", B = "" }}
unset_env = ["PERL5LIB"]
headers = [["set", "X-Foo", "bar"], ["unset", "X-Bar"]]
php_settings = [{{ name = "memory_limit", value = "64M", admin = true }},
                {{ name = "display_errors", value = false }}]
error_documents = {{ "404" = "/missing.html", "500" = "Sorry." }}
rewrite_engine = true
rewrite_rules = [{rule}]
require = ["all granted"]
access = {{ order = "allow,deny", allow = ["all"] }}
"""))
    vhost = loaded.config.vhosts[0]
    where = f"{tmp_path}/itkgw.toml: vhost[1].rewrite_rules[1]"
    assert (vhost.alias, vhost.user_dir) == ((("/static/", "/srv/static/"),), "public_html")
    assert vhost.redirects == (Redirect("/old", "http://x/new", 301), Redirect("/gone", None, 410))
    assert (vhost.assign_user_id_expr, vhost.assign_group_id_expr) == ("%{reqenv:ITKUID}", "users")
    assert (vhost.options, vhost.add_type) == (("FollowSymLinks", "ExecCGI"), (("text/plain", ".log"),))
    assert (vhost.set_env, vhost.unset_env) == ((("A", "1"), ("B", "")), ("PERL5LIB",))
    assert vhost.headers == (HeaderRule("set", "X-Foo", "bar"), HeaderRule("unset", "X-Bar"))
    assert vhost.php_settings == (PHPSetting("memory_limit", "64M", True), PHPSetting("display_errors", "0"))
    assert vhost.error_documents == ((404, "/missing.html"), (500, "Sorry."))
    assert vhost.rewrite_rules == (RewriteRule("^/~([a-z]+)/", "-", ("E=ITKUID:$1", "L"), (
        RewriteCond("%{HTTP_HOST}", r"^users\.", ("NC",)),), where),)
    assert vhost.require == RequireGroup("any", (Require("all", ("granted",)),))
    assert vhost.access == AccessCompat("allow,deny", ("all",), (), "all")
    assert loaded.config.server_root == str(tmp_path)


def test_section_tables_of_each_kind(tmp_path: Path) -> None:
    path = f"{tmp_path}/itkgw.toml"
    loaded = load(tmp_path, config(tmp_path, vhost="""
[[vhost.files]]
path = '\\.bak$'
regex = true
require = { mode = "all", items = ["all granted", { mode = "none", items = ["ip 10.0.0.1"] }] }

[[vhost.location]]
path = "/cgi-bin/"
set_handler = "cgi-script"
add_handler = [["php5-script", "phtml"]]
limit_request_body = 1024

[[vhost.directory]]
path = "/srv/a"
options = ["+ExecCGI", "-Indexes"]
"""))
    assert loaded.config.vhosts[0].directories == (
        DirSection(path="/srv/a", options=("+ExecCGI", "-Indexes"), where=f"{path}: vhost[1].directory[1]"),
        DirSection(path="/cgi-bin/", kind="location", set_handler="cgi-script",
                   add_handler=(("application/x-httpd-php", ".phtml"),), limit_request_body=1024,
                   where=f"{path}: vhost[1].location[1]"),
        DirSection(path=r"\.bak$", kind="files", regex=True, require=RequireGroup("any", (
            RequireGroup("all", (Require("all", ("granted",)),
                                 RequireGroup("none", (Require("ip", ("10.0.0.1",)),)))),
        )),
            where=f"{path}: vhost[1].files[1]"),
    )


@pytest.mark.parametrize(("vhost", "where", "message", "hint"), [
    ('[[vhost.location]]\npath = "/x"\nnice_valu = 3', "location[1].nice_valu", "unknown key",
     "did you mean nice_value?"),
    ('[[vhost.files]]\nmax_clients_vhost = 3\npath = "*.x"', "files[1].max_clients_vhost",
     "not allowed in a [[vhost.files]] table", "move it into a [[vhost]] table"),
    ("[[vhost.location]]\nregex = true", "location[1].path", "required key is missing",
     'every [[vhost.location]] needs path = "/private/"'),
    ('[[vhost.location]]\npath = "^/(a"\nregex = true', "location[1].path",
     "LocationMatch: cannot compile regular expression '^/(a': missing ), unterminated subpattern at "
     "position 2",
     "write a PCRE pattern Python's re can read (see the itkgw docs for what is not supported: \\K, "
     "\\Q...\\E, recursion)"),
    ('require = ["not ip 10.0.0.1"]', "require", "negative Require directive has no effect in <RequireAny> "
     "directive",
     "every group needs a rule that can grant; Require not belongs in <RequireAll> or <RequireNone>"),
    ('require = ["file-owner"]', "require", "Require file-owner is not supported (its authentication "
     "provider is not part of itkgw)", "itkgw's Require takes all, ip, host, forward-dns, env, method, "
     "local, expr, and valid-user, user and group with AuthType Basic"),
    ('require = { mode = "some", items = [] }', "require",
     "mode must be one of all, any, none and items a list",
     'write it as ["all granted"], or { mode = "all", items = ["ip 10.0.0.0/8", { mode = "any", items = '
     '["host example.com"] }] }'),
    ('access = { order = "allow,deny", allow = ["10.0.0.0/33"] }', "access",
     "'10.0.0.0/33': The specified network mask is invalid.",
     "write Allow from all, an IP, a network (10.0.0.0/8), a host name or env=VAR"),
    ('headers = [["copy", "X-A", "X-B"]]', "headers", "Header copy is not supported",
     "the actions are set, append, add, merge, setifempty, unset, edit, edit*"),
    ('rewrite_rules = [{ pattern = "^/", substitution = "-", flags = ["next=0"] }]', "rewrite_rules[1]",
     "RewriteRule: invalid number of rounds '0' for flag 'N'", "write N, or N=32000"),
    ('redirects = [{ url_path = "/a" }]', "redirects", "URL to redirect to is missing",
     "write it as Redirect [status] /old http://example.com/new"),
    ('error_documents = { "200" = "/x" }', "error_documents", "Unsupported HTTP response code 200",
     "use a status from 300 to 599"),
    ('options = ["Indexes", "+ExecCGI"]', "options",
     "Either all Options must start with + or -, or no Option may.", "sign every word, or none"),
    ('php_settings = [{ name = "a" }]', "php_settings", "value is missing",
     'write it as [{ name = "memory_limit", value = "64M", admin = true }]'),
    ('assign_user_id_expr = "%{reqenv:X"', "assign_user_id_expr",
     "cannot parse AssignUserIDExpr: unterminated variable at character 1",
     "see the ap_expr syntax of Apache 2.4"),
])
def test_bad_structured_values(tmp_path: Path, vhost: str, where: str, message: str, hint: str) -> None:
    errors = problems(tmp_path, config(tmp_path, vhost=vhost))
    assert len(errors) == 1, [str(e) for e in errors]
    assert (errors[0].where, errors[0].message, errors[0].hint) == (
        f"{tmp_path}/itkgw.toml: vhost[1].{where}", message, hint)


def test_name_virtual_hosts_matter_in_22_only(tmp_path: Path) -> None:
    text = config(tmp_path, server='name_virtual_hosts = ["*:8080"]')
    assert load(tmp_path, text, compat="2.2").config.name_virtual_hosts == (Address("*", 8080),)
    in_24 = load(tmp_path, text)
    assert in_24.config.name_virtual_hosts == ()
    assert in_24.warnings == [f"{tmp_path}/itkgw.toml: name_virtual_hosts: has no effect with compat 2.4 "
                              "(Apache 2.4 chooses vhosts by name on every address)"]


# -- --compat ------------------------------------------------------------------


def test_compat_22_refuses_the_24_only_features(tmp_path: Path) -> None:
    text = config(tmp_path, server="limit_uid_range = [1000, 2000]\nenable_capabilities = true")
    where = f"{tmp_path}/itkgw.toml"
    assert [str(e) for e in problems(tmp_path, text, compat="2.2")] == [
        f"{where}: limit_uid_range: not available with --compat=2.2 "
        "(mpm-itk 2.2 has no LimitUIDRange; use --compat=2.4)",
        f"{where}: enable_capabilities: not available with --compat=2.2 "
        "(mpm-itk 2.2 has no EnableCapabilities; use --compat=2.4)",
    ]
    expr = config(tmp_path, vhost='assign_user_id_expr = "%{reqenv:X}"\n[[vhost.location]]\npath = "/"\n'
                                  'require = ["all granted"]')
    assert [str(e) for e in problems(tmp_path, expr, compat="2.2")] == [
        f"{where}: vhost[1].assign_user_id_expr: not available with --compat=2.2 "
        "(mpm-itk 2.2 has AssignUserID only; use --compat=2.4)",
        f"{where}: vhost[1].location[1].require: not available with --compat=2.2 "
        "(Apache 2.2 has Order, Allow, Deny and Satisfy instead; use --compat=2.4)",
    ]
    in_file = 'compat = "2.2"\n' + text
    assert str(problems(tmp_path, in_file)[0]) == (
        f'{where}: limit_uid_range: not available with compat = "2.2" '
        '(mpm-itk 2.2 has no LimitUIDRange; remove it, or set compat = "2.4")')


def test_compat_22_takes_the_sizing_keys_of_both_series(tmp_path: Path) -> None:
    text = config(tmp_path, server="max_request_workers = 20\nmax_connections_per_child = 500")
    loaded = load(tmp_path, text, compat="2.2")
    server = loaded.config
    assert (server.compat, server.max_request_workers, server.max_connections_per_child) == ("2.2", 20, 500)


def test_the_command_line_compat_wins_over_the_file(tmp_path: Path) -> None:
    text = 'compat = "2.2"\n' + config(tmp_path, server="limit_uid_range = [1, 2000]")
    loaded = load(tmp_path, text, compat="2.4")
    assert (loaded.config.compat, loaded.config.limit_uid_range) == ("2.4", (1, 2000))
    assert load(tmp_path, 'compat = "2.4"\n' + config(tmp_path), compat="2.2").config.compat == "2.2"
    assert load(tmp_path, 'compat = "2.2"\n' + config(tmp_path)).config.compat == "2.2"


# -- never a traceback ---------------------------------------------------------


ODD_VALUES: list[object] = [0, -1, "x", "", True, 1.5, [], ["a"], [1, 2], {}, {"a": 1}, [[1]]]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + "}"
    return str(value)


def config_with(root: Path, context: Context, key: str, value: object) -> str:
    """A valid config with one key, in one table, set to ``value``."""
    tables: dict[Context, dict[str, str]] = {
        Context.SERVER: {"user": '"daemon"', "group": '"daemon"', "listen": '["127.0.0.1:8080"]',
                         "php_cgi": '"/bin/sh"'},
        Context.VHOST: {"server_name": '"a.test"', "document_root": f'"{root}"'},
        Context.DIRECTORY: {"path": '"/x"'},
    }
    tables[context][key] = _toml(value)
    headers = {Context.SERVER: "", Context.VHOST: "[[vhost]]\n", Context.DIRECTORY: "[[vhost.directory]]\n"}
    return "".join(headers[c] + "".join(f"{k} = {v}\n" for k, v in tables[c].items()) for c in Context)


@pytest.mark.parametrize("context", list(Context))
def test_any_value_for_any_key_is_a_config_error_not_a_traceback(tmp_path: Path, context: Context) -> None:
    for key in BY_KEY[context]:
        for value in ODD_VALUES:
            try:
                loads_toml(config_with(tmp_path, context, key, value), "t.toml")
            except ConfigErrors as exc:
                assert exc.errors, key
                assert all(e.where.startswith("t.toml") and e.message and e.hint for e in exc.errors), key


# -- the corpus ----------------------------------------------------------------


def render(path: Path) -> str:
    try:
        loaded = loads_toml(path.read_text(), path.name)
    except ConfigErrors as exc:
        return "".join(f"{error}\n" for error in exc.errors)
    return "".join(f"{line}\n" for line in ["ok", *(f"warning: {w}" for w in loaded.warnings)])


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.toml")))
def test_corpus(name: str) -> None:
    assert render(CORPUS / f"{name}.toml") == (CORPUS / f"{name}.expect").read_text()


def test_the_corpus_has_an_expectation_for_every_config() -> None:
    configs = {p.stem for p in CORPUS.glob("*.toml")}
    apache_syntax = {p.stem for p in CORPUS.glob("*.conf")}
    assert configs == {p.stem for p in CORPUS.glob("*.expect")} - apache_syntax
    assert len(configs) >= 15


def test_the_model_classes_are_the_ones_in_config() -> None:
    assert MODELS == {Context.SERVER: ServerConfig, Context.VHOST: VHost, Context.DIRECTORY: DirSection}
    assert all(dataclasses.is_dataclass(model) for model in MODELS.values())


def test_a_fastcgi_handler_is_refused_in_22_as_apache_22_has_no_mod_proxy_fcgi(tmp_path: Path) -> None:
    text = config(tmp_path, server='compat = "2.2"', vhost=(
        '  [[vhost.files]]\n  path = "x.php"\n  set_handler = "proxy:fcgi://127.0.0.1:9000"\n'))
    with pytest.raises(ConfigErrors) as refused:
        loads_toml(text, "t.toml")
    assert only(refused.value.errors) == (
        "t.toml: vhost[1].files[1].set_handler", 'not available with compat = "2.2"',
        'Apache 2.2 has no mod_proxy_fcgi; remove it, or set compat = "2.4"')
    in_24 = loads_toml(text.replace('compat = "2.2"', ""), "t.toml").config
    assert in_24.vhosts[0].directories[0].set_handler == "proxy:fcgi://127.0.0.1:9000"


def test_the_process_model_defaults_to_itk_and_the_command_line_wins(tmp_path: Path) -> None:
    from itkgw.__main__ import with_process_model

    default = load(tmp_path, config(tmp_path)).config
    assert default.modules.get(PoolSettings) == PoolSettings()
    assert PoolSettings().process_model == "itk"
    pool = load(tmp_path, config(tmp_path, 'process_model = "pool"\npool_max_workers = 3')).config
    assert pool.modules.get(PoolSettings) == PoolSettings(process_model="pool", max_workers=3)
    chosen = with_process_model(pool, "itk").modules.get(PoolSettings)
    assert chosen == PoolSettings(process_model="itk", max_workers=3)
    assert with_process_model(pool, None) is pool
