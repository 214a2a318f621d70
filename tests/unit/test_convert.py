"""``itkgw convert`` and ``itkgw -S``: the two views of a model an admin reads.

What an admin relies on: the TOML written for a config is short and
readable, and serving it gives exactly the server the original gave; the
-S table lists the vhosts as ``httpd -S`` does, with who each runs as.
"""

from __future__ import annotations

import dataclasses
import pwd
import tomllib
from pathlib import Path
from typing import Any

import pytest

from itkgw.config.apache_reader import load_apache
from itkgw.config.convert import string, to_toml
from itkgw.config.model import (
    Address,
    DirSection,
    HeaderRule,
    Identity,
    ModuleSettings,
    PHPSetting,
    Redirect,
    ServerConfig,
    VHost,
)
from itkgw.config.modules.auth_basic import AuthSettings
from itkgw.config.modules.expires import ExpiresSettings
from itkgw.config.modules.headers import RequestHeaderSettings
from itkgw.config.modules.rewrite import DirRewriteSettings
from itkgw.config.modules.setenvif import EnvCondition, SetEnvIfSettings
from itkgw.config.report import vhost_table
from itkgw.config.toml_reader import load_toml, loads_toml
from itkgw.rules.authz import AccessCompat, LimitedAccess, Require, RequireGroup
from itkgw.rules.rewrite import RewriteCond, RewriteRule
from itkgw.rules.rewrite_map import RewriteMap

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus" / "conf"
ETC = REPO / "etc"
DAEMON = Identity("daemon", "daemon", 1, 1)
ROOT = Identity("root", "root", 0, 0)
#: The Apache-syntax examples in etc/, with the series each is written for.
APACHE_EXAMPLES = {"apache22-freebsd/httpd.conf": "2.2", "apache24/apache2.conf": "2.4"}
DEMO_MISSING = "the examples in etc/ need the demo users and docroots: run etc/demo-setup as root"


def without_provenance(value: Any) -> Any:
    """``value`` with every ``where`` and ``source`` emptied: they say where a
    setting was written, which the TOML form cannot keep."""
    if isinstance(value, tuple):
        return tuple(without_provenance(item) for item in value)
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    changes = {f.name: without_provenance(getattr(value, f.name)) for f in dataclasses.fields(value)}
    for name in ("where", "source"):
        if name in changes:
            changes[name] = ""
    return dataclasses.replace(value, **changes)


def assert_round_trip(config: ServerConfig) -> str:
    text = to_toml(config)
    again = loads_toml(text, "converted.toml").config
    assert without_provenance(again) == without_provenance(config), text
    return text


def small_model() -> ServerConfig:
    """A server using every shape the TOML form has, each once."""
    everywhere = Address("*", 8080)
    sections = (
        DirSection(path="/tmp/private", assign_user_id=ROOT, nice_value=5,
                   require=RequireGroup("any", (Require("ip", ("127.0.0.1", "::1")),
                                                RequireGroup("all", (Require("all", ("granted",)),
                                                                     Require("ip", ("10.1.2.3",), True)))))),
        DirSection(path=r"^/tmp/[a-z]+/cgi-bin", regex=True, options=("+ExecCGI", "-Indexes"),
                   add_handler=(("cgi-script", ".sh"),)),
        DirSection(path="/status/", kind="location",
                   access=AccessCompat("allow,deny", ("127.0.0.1",), (), "any")),
        DirSection(path=r"\.(bak|orig)$", kind="files", regex=True,
                   require=RequireGroup("any", (Require("all", ("denied",)),))),
    )
    vhost = VHost(
        server_name="a.test", document_root="/tmp", listen=(everywhere,), server_alias=("www.a.test",),
        assign_user_id=DAEMON, alias=(("/icons/", "/usr/share/icons/"),),
        redirects=(Redirect("/old", "http://a.test/new", 301), Redirect("/gone", None, 410)),
        add_type=(("text/plain", ".log"),), set_env=(("SITE", "a"),),
        headers=(HeaderRule("set", "X-Site", "a"), HeaderRule("unset", "X-Powered-By")),
        php_settings=(PHPSetting("memory_limit", "64M", admin=True),),
        error_documents=((404, "/missing.html"),),
        access_log_format='%h "%r" %>s',
        rewrite_engine=True,
        rewrite_rules=(RewriteRule(r"^/~([a-z-]+)/", "-", ("E=ITKUID:$1",),
                                   (RewriteCond("%{HTTP_HOST}", "^users\\.", ("NC",)),)),
                       RewriteRule("^/old$", "/new")),
        assign_user_id_expr="%{reqenv:ITKUID}",
        directories=sections,
    )
    return ServerConfig(user=DAEMON, listen=(everywhere,), vhosts=(vhost,), php_cgi="/bin/sh", timeout=30,
                        limit_request_body=1 << 20)


#: The two lines longer than this file's own.
RULE_LINE = ('  { pattern = "^/~([a-z-]+)/", substitution = "-", flags = ["E=ITKUID:$1"], '
             "conditions = [{ test = \"%{HTTP_HOST}\", pattern = '^users\\.', flags = [\"NC\"] }] },\n")
REQUIRE_LINE = ('  require = { mode = "any", items = ["ip 127.0.0.1 ::1", '
                '{ mode = "all", items = ["all granted", "not ip 10.1.2.3"] }] }\n')
EXPECTED_SMALL = (
    r"""user = "daemon"
group = "daemon"
listen = ["*:8080"]
timeout = 30
limit_request_body = 1048576
php_cgi = "/bin/sh"

[[vhost]]
server_name = "a.test"
document_root = "/tmp"
listen = ["*:8080"]
server_alias = ["www.a.test"]
assign_user_id = ["daemon", "daemon"]
access_log_format = "%h \"%r\" %>s"
alias = { "/icons/" = "/usr/share/icons/" }
redirects = [
  { url_path = "/old", target = "http://a.test/new", status = 301 },
  { url_path = "/gone", status = 410 },
]
assign_user_id_expr = "%{reqenv:ITKUID}"
add_type = [["text/plain", ".log"]]
set_env = { SITE = "a" }
headers = [["set", "X-Site", "a"], ["unset", "X-Powered-By"]]
php_settings = [
  { name = "memory_limit", value = "64M", admin = true },
]
error_documents = { "404" = "/missing.html" }
rewrite_engine = true
rewrite_rules = [
"""
    + RULE_LINE
    + r"""  { pattern = "^/old$", substitution = "/new" },
]

  [[vhost.directory]]
  path = "/tmp/private"
  assign_user_id = ["root", "root"]
  nice_value = 5
"""
    + REQUIRE_LINE
    + r"""
  [[vhost.directory]]
  path = "^/tmp/[a-z]+/cgi-bin"
  regex = true
  options = ["+ExecCGI", "-Indexes"]
  add_handler = [["cgi-script", ".sh"]]

  [[vhost.location]]
  path = "/status/"
  access = { order = "allow,deny", allow = ["127.0.0.1"], deny = [], satisfy = "any" }

  [[vhost.files]]
  path = '\.(bak|orig)$'
  regex = true
  require = { mode = "any", items = ["all denied"] }
"""
)


def test_the_toml_form_of_a_small_model_is_short_and_readable() -> None:
    assert to_toml(small_model()) == EXPECTED_SMALL


def test_the_toml_form_of_a_small_model_reads_back_equal() -> None:
    assert_round_trip(small_model())


def test_a_22_model_keeps_its_series_and_name_virtual_hosts() -> None:
    everywhere = Address("*", 80)
    section = DirSection(path="/tmp", access=AccessCompat("allow,deny", ("all",)))
    vhost = VHost("a.test", "/tmp", (everywhere,), assign_user_id=DAEMON, directories=(section,))
    config = ServerConfig(user=DAEMON, listen=(everywhere,), vhosts=(vhost,), compat="2.2",
                          name_virtual_hosts=(everywhere,), php_cgi="/bin/sh")
    text = assert_round_trip(config)
    assert text.splitlines()[:5] == ['compat = "2.2"', 'user = "daemon"', 'group = "daemon"',
                                     'listen = ["*:80"]', 'name_virtual_hosts = ["*:80"]']


def test_the_file_it_was_read_from_is_named_in_a_comment(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('user = "daemon"\ngroup = "daemon"\nlisten = ["8080"]\nphp_cgi = "/bin/sh"\n'
                    '[[vhost]]\nserver_name = "a.test"\ndocument_root = "/tmp"\n')
    text = to_toml(load_toml(str(path)).config)
    assert text.splitlines()[0] == f"# itkgw configuration: the TOML form of {path}"


def test_defaults_are_left_out() -> None:
    config = ServerConfig(user=DAEMON, listen=(Address("*", 80),),
                          vhosts=(VHost("a.test", "/tmp", (Address("*", 80),)),))
    assert to_toml(config) == ('user = "daemon"\ngroup = "daemon"\nlisten = ["*:80"]\n\n'
                               '[[vhost]]\nserver_name = "a.test"\ndocument_root = "/tmp"\n'
                               'listen = ["*:80"]\n')


@pytest.mark.parametrize(
    ("text", "toml"),
    [
        ("plain", '"plain"'),
        ('say "hi"', r'"say \"hi\""'),
        (r"^/a\.b$", r"'^/a\.b$'"),  # a regex keeps its backslashes as written
        ("it's \\d", r'"it'"'"r's \\d"'),  # ' cannot be in a literal string
        ("tab\tand\nnewline\x7f", r'"tab\tand\nnewline\u007F"'),
    ],
)
def test_strings_are_written_as_toml_reads_them(text: str, toml: str) -> None:
    assert string(text) == toml
    assert tomllib.loads(f"x = {toml}")["x"] == text


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.toml")
                                        if p.name.startswith(("ok-", "warn-"))))
def test_corpus_configs_round_trip(name: str) -> None:
    assert_round_trip(load_toml(str(CORPUS / name)).config)


def corpus_options(path: Path) -> tuple[str | None, tuple[str, ...]]:
    """The --compat and -D names a corpus file's ``# test:`` line gives (see its README)."""
    compat, defines = None, []
    for line in path.read_text().splitlines():
        if line.startswith("# test:"):
            for option in line.removeprefix("# test:").split():
                if option.startswith("--compat="):
                    compat = option.removeprefix("--compat=")
                elif option.startswith("-D"):
                    defines.append(option.removeprefix("-D"))
    return compat, tuple(defines)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("apache-*.conf")
                                        if p.name.startswith(("apache-ok-", "apache-warn-"))))
def test_apache_corpus_configs_round_trip(name: str) -> None:
    compat, defines = corpus_options(CORPUS / name)
    assert_round_trip(load_apache(str(CORPUS / name), compat, defines).config)


def _demo_ready() -> bool:
    try:
        pwd.getpwnam("itkdemo-alice")
        pwd.getpwnam("itkdemo-bob")
    except KeyError:
        return False
    return Path("/srv/itkgw-demo/alice/htdocs").is_dir() and Path("/srv/itkgw-demo/bob/htdocs").is_dir()


@pytest.mark.parametrize("name", sorted(p.name for p in ETC.glob("*.toml")))
def test_toml_examples_in_etc_round_trip(name: str) -> None:
    if not _demo_ready():
        pytest.skip(DEMO_MISSING)
    assert_round_trip(load_toml(str(ETC / name)).config)


@pytest.mark.parametrize(("name", "compat"), sorted(APACHE_EXAMPLES.items()))
def test_apache_examples_in_etc_round_trip(name: str, compat: str) -> None:
    if not _demo_ready():
        pytest.skip(DEMO_MISSING)
    config = load_apache(str(ETC / name), compat).config
    assert config.compat == compat
    text = assert_round_trip(config)
    assert f'compat = "{compat}"' in text or compat == "2.4"


# -- itkgw -S ---------------------------------------------------------------------


def table_model(compat: str, name_virtual_hosts: tuple[Address, ...] = ()) -> ServerConfig:
    everywhere, local = Address("*", 80), Address("127.0.0.1", 81)
    alice = VHost("alice.test", "/tmp", (everywhere,), server_alias=("www.alice.test", "*.alice.test"),
                  assign_user_id=DAEMON, where="sites/alice.conf:1",
                  directories=(DirSection(path="/tmp/admin", assign_user_id=ROOT),))
    users = VHost("users.test", "/tmp", (everywhere, local), assign_user_id_expr="%{reqenv:ITKUID}",
                  where="sites/users.conf:3")
    return ServerConfig(user=DAEMON, listen=(everywhere, local), vhosts=(alice, users), compat=compat,
                        name_virtual_hosts=name_virtual_hosts, server_root="/etc/apache2",
                        error_log="/var/log/itkgw/error.log", pid_file="/run/itkgw.pid")


TABLE_TAIL = """\
ServerRoot: "/etc/apache2"
Main ErrorLog: "/var/log/itkgw/error.log"
PidFile: "/run/itkgw.pid"
User: name="daemon" id=1
Group: name="daemon" id=1
Compat: mpm-itk {compat}
ProcessModel: itk"""


def test_dash_s_lists_addresses_names_and_identities_as_httpd_does() -> None:
    assert vhost_table(table_model("2.4")) == """\
VirtualHost configuration:
127.0.0.1:81           users.test (sites/users.conf:3)
                 identity from AssignUserIDExpr %{reqenv:ITKUID}; group nogroup (gid 65534) \
from DefaultIdentity
*:80                   is a NameVirtualHost
         default server alice.test (sites/alice.conf:1)
         port 80 namevhost alice.test (sites/alice.conf:1)
                 alias www.alice.test
                 wild alias *.alice.test
                 runs as daemon:daemon (uid 1, gid 1)
                 <Directory /tmp/admin> runs as root:root (uid 0, gid 0)
         port 80 namevhost users.test (sites/users.conf:3)
                 identity from AssignUserIDExpr %{reqenv:ITKUID}; group nogroup (gid 65534) \
from DefaultIdentity
""" + TABLE_TAIL.format(compat="2.4")


def test_dash_s_in_22_has_name_based_vhosts_only_where_name_virtual_host_says() -> None:
    without = vhost_table(table_model("2.2")).splitlines()
    assert without[:3] == ["VirtualHost configuration:",
                           "127.0.0.1:81           users.test (sites/users.conf:3)",
                           "                 identity from AssignUserIDExpr %{reqenv:ITKUID}; "
                           "group nogroup (gid 65534) from DefaultIdentity"]
    assert without[3:6] == ["wildcard NameVirtualHosts and _default_ servers:",
                            "*:80                   alice.test (sites/alice.conf:1)",
                            "                 runs as daemon:daemon (uid 1, gid 1)"]
    declared = vhost_table(table_model("2.2", (Address("*", 80),))).splitlines()
    assert declared[4:6] == ["*:80                   is a NameVirtualHost",
                             "         default server alice.test (sites/alice.conf:1)"]
    assert declared[-2:] == ["Compat: mpm-itk 2.2", "ProcessModel: itk"]


def test_redirect_match_header_always_encodings_nested_files_and_directory_rules_read_back_equal() -> None:
    config = small_model()
    rules = DirRewriteSettings(rewrite_engine=True, rewrite_base="/app/",
                               rewrite_rules=(RewriteRule("^", "index.php", ("L",)),))
    vhost = dataclasses.replace(
        config.vhosts[0],
        redirects=(Redirect("^/old/(.*)$", "http://a.test/$1", 301, regex=True),
                   Redirect("/\\.git", None, 404, regex=True)),
        headers=(HeaderRule("set", "X-Content-Type-Options", "nosniff", always=True),),
        add_encoding=(("gzip", ".svgz"),),
        directories=(
            DirSection(path="/tmp/app", modules=ModuleSettings((rules,))),
            DirSection(path="*.php", kind="files", in_directory="/tmp/app",
                       set_handler="application/x-httpd-php"),
        ))
    text = assert_round_trip(dataclasses.replace(config, vhosts=(vhost,)))
    assert "regex = true" in text and '["always", "set", "X-Content-Type-Options", "nosniff"]' in text


def test_request_headers_expiry_and_allowoverridelist_read_back_equal() -> None:
    config = small_model()
    vhost = dataclasses.replace(
        config.vhosts[0],
        headers=(HeaderRule("append", "Vary", "User-Agent", env="!dont-vary"),
                 HeaderRule("set", "X-Https", "yes", always=True, expr="%{HTTPS} == 'on'")),
        modules=ModuleSettings((
            RequestHeaderSettings((HeaderRule("unset", "Proxy"), HeaderRule("set", "X-A", "1", env="API"))),
            ExpiresSettings(True, (("text/css", "A60"), ("image/*", "M3600")), "A86400"))),
        directories=(DirSection(path="/tmp/app", allow_override=("None",),
                                allow_override_list=("Redirect",)),))
    text = assert_round_trip(dataclasses.replace(config, vhosts=(vhost,)))
    assert 'expires_by_type = { "text/css" = "A60", "image/*" = "M3600" }' in text


def test_basic_login_settings_read_back_equal() -> None:
    config = small_model()
    login = AuthSettings("basic", "Members", "/etc/htpasswd", "/etc/htgroup")
    section = DirSection(path="/tmp/members", require=RequireGroup("any", (Require("valid-user"),)),
                         modules=ModuleSettings((login,)))
    vhost = dataclasses.replace(config.vhosts[0], directories=(section,))
    text = assert_round_trip(dataclasses.replace(config, vhosts=(vhost,)))
    assert 'auth_type = "basic"' in text and 'auth_user_file = "/etc/htpasswd"' in text


def test_setenvif_conditions_read_back_equal() -> None:
    config = small_model()
    conditions = (EnvCondition("Authorization", "(.+)", ("HTTP_AUTHORIZATION=$1",)),
                  EnvCondition("User-Agent", "^curl", ("IS_CURL", "!OTHER"), nocase=True),
                  EnvCondition("", "", ("API=$1",), expr="req('X-Api') =~ /^v([0-9])$/"))
    vhost = dataclasses.replace(config.vhosts[0], modules=ModuleSettings((SetEnvIfSettings(conditions),)))
    assert_round_trip(dataclasses.replace(config, vhosts=(vhost,)))


def test_limit_sections_read_back_equal() -> None:
    config = small_model()
    require = RequireGroup("any", (Require("all", ("denied",)),
                                   RequireGroup("any", (Require("all", ("granted",)),), ("GET",), True)))
    access = AccessCompat(limited=(LimitedAccess(("PUT",), False, "allow,deny", ("10.0.0.0/8",), ("all",)),))
    vhost = dataclasses.replace(config.vhosts[0], directories=(
        DirSection(path="/tmp/app", require=require, access=access),))
    assert_round_trip(dataclasses.replace(config, vhosts=(vhost,)))


def test_rewrite_maps_read_back_equal(tmp_path: Path) -> None:
    (tmp_path / "moved.map").write_text("old /new\n")
    config = small_model()
    maps = (RewriteMap("lc", "int", "tolower"), RewriteMap("moved", "txt", f"{tmp_path}/moved.map"))
    vhost = dataclasses.replace(config.vhosts[0], rewrite_maps=maps)
    text = assert_round_trip(dataclasses.replace(config, vhosts=(vhost,)))
    assert f'rewrite_maps = {{ lc = "int:tolower", moved = "txt:{tmp_path}/moved.map" }}' in text
