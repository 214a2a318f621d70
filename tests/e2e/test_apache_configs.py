"""Apache-syntax configs, in both mpm-itk series, served by a real itkgw.

What an admin moving off Apache sees: the vhost files they already have
(Apache 2.2 + mpm-itk 2.2 with ``--compat=2.2``, Apache 2.4 + mpm-itk 2.4)
give the same vhosts, identities, limits and responses as the TOML form;
``itkgw -t``, ``-S`` and ``convert`` work on them as on httpd's.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from itkgw.config.model import NOBODY
from tests.e2e.conftest import Files, Put, StartFiles
from tests.e2e.itkgw_proc import REPO, ConfigFiles, Response
from tests.sites import ALICE, BOB, Site, Users, Whoami

ETC = REPO / "etc"
#: Each example config in etc/ (the file given to -f) and the --compat it is written for.
ETC_EXAMPLES = {
    "itkgw.toml": None,
    "itkgw-full.toml": None,
    "apache22-freebsd/httpd.conf": "2.2",
    "apache24/apache2.conf": "2.4",
}

# Prints who it runs as (as whoami.php), its nice value, and ?ini=a,b ini settings.
PROBE_PHP = """<?php
header('Content-Type: text/plain');
printf("uid=%d gid=%d groups=%s\\n", posix_getuid(), posix_getgid(), implode(',', posix_getgroups()));
$stat = file_get_contents('/proc/self/stat');
$fields = explode(' ', substr($stat, strrpos($stat, ')') + 2));
printf("nice=%s\\n", $fields[16]);
foreach (array_filter(explode(',', $_GET['ini'] ?? '')) as $name) {
    printf("%s=%s\\n", $name, ini_get($name));
}
"""
PHP_SETTINGS = "memory_limit,precision,short_open_tag"



def itkgw(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "itkgw", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def sites(docroots: dict[str, Site]) -> Iterator[dict[str, Site]]:
    """The test docroots, each with probe.php beside whoami.php."""
    probes = []
    for site in docroots.values():
        probe = site.htdocs / "probe.php"
        probe.write_text(PROBE_PHP)
        os.chown(probe, site.user.pw_uid, site.user.pw_gid)
        probe.chmod(0o640)
        probes.append(probe)
    yield docroots
    for probe in probes:
        probe.unlink()


@pytest.fixture(scope="module")
def demo_setup() -> None:
    """The examples in etc/ name the demo users and docroots: create them as the README does."""
    subprocess.run([str(ETC / "demo-setup")], check=True, capture_output=True, timeout=120)


# -- the same two vhosts, in three syntaxes ----------------------------------
#
# alice.test (the default vhost) runs as alice at nice 3, with PHP settings;
# /shared/ shows bob's docroot, which a <Directory> section runs as bob at
# nice 7. Nothing outside the docroots is served; secret.txt and /private/
# are denied in alice.test; bob.test is plain.


def toml_files(sites: dict[str, Site]) -> Files:
    alice, bob = sites[ALICE], sites[BOB]

    def files(server: ConfigFiles) -> dict[str, str]:
        granted = 'require = { mode = "any", items = ["all granted"] }'
        denied = 'require = { mode = "any", items = ["all denied"] }'
        text = f"""\
user = "itkt-www"
group = "itkt-www"
listen = ["127.0.0.1:{server.port}"]
pid_file = "{server.workdir}/itkgw.pid"
error_log = "{server.error_log}"
log_level = "debug"
start_servers = 2
min_spare_servers = 1
max_spare_servers = 4
max_request_workers = 16
timeout = 10

[[vhost]]
server_name = "alice.test"
server_alias = ["www.alice.test"]
document_root = "{alice.htdocs}"
assign_user_id = ["{ALICE}", "{ALICE}"]
max_clients_vhost = 10
nice_value = 3
script_alias = {{ "/cgi-bin/" = "{alice.cgi_bin}/" }}
alias = {{ "/shared/" = "{bob.htdocs}/" }}
php_settings = [
  {{ name = "memory_limit", value = "48M", admin = true }},
  {{ name = "precision", value = "10", admin = false }},
  {{ name = "short_open_tag", value = "1", admin = false }},
]
access_log = "{server.workdir}/alice.test.access.log"

  [[vhost.directory]]
  path = "/"
  {denied}

  [[vhost.directory]]
  path = "{alice.htdocs}"
  {granted}

  [[vhost.directory]]
  path = "{alice.cgi_bin}"
  {granted}

  [[vhost.directory]]
  path = "{bob.htdocs}"
  assign_user_id = ["{BOB}", "{BOB}"]
  nice_value = 7
  {granted}
  php_settings = [
    {{ name = "memory_limit", value = "99M", admin = false }},
    {{ name = "precision", value = "12", admin = false }},
  ]

  [[vhost.location]]
  path = "/private/"
  access = {{ order = "deny,allow", allow = [], deny = ["all"], satisfy = "all" }}

  [[vhost.files]]
  path = "secret.txt"
  {denied}

[[vhost]]
server_name = "bob.test"
document_root = "{bob.htdocs}"
assign_user_id = ["{BOB}", "{BOB}"]
script_alias = {{ "/cgi-bin/" = "{bob.cgi_bin}/" }}
access_log = "{server.workdir}/bob.test.access.log"

  [[vhost.directory]]
  path = "/"
  {denied}

  [[vhost.directory]]
  path = "{bob.htdocs}"
  {granted}

  [[vhost.directory]]
  path = "{bob.cgi_bin}"
  {granted}
"""
        return {"itkgw.toml": text}

    return files


def apache22_files(sites: dict[str, Site]) -> Files:
    """httpd.conf as an Apache 2.2 + mpm-itk 2.2 box has it (NameVirtualHost, Order/Allow)."""
    alice, bob = sites[ALICE], sites[BOB]
    allowed = "Order allow,deny\n        Allow from all"
    refused = "Order deny,allow\n        Deny from all"

    def files(server: ConfigFiles) -> dict[str, str]:
        text = f"""\
ServerRoot {server.workdir}
{server_lines(server)}LogLevel debug
StartServers 2
MinSpareServers 1
MaxSpareServers 4
MaxClients 16
Timeout 10
AddType application/x-httpd-php .php

<Directory />
    Order deny,allow
    Deny from all
</Directory>

NameVirtualHost *:{server.port}

<VirtualHost *:{server.port}>
    ServerName alice.test
    ServerAlias www.alice.test
    DocumentRoot {alice.htdocs}
    AssignUserID {ALICE} {ALICE}
    MaxClientsVHost 10
    NiceValue 3
    ScriptAlias /cgi-bin/ {alice.cgi_bin}/
    Alias /shared/ {bob.htdocs}/
    php_admin_value memory_limit 48M
    php_value precision 10
    php_flag short_open_tag on
    CustomLog {server.workdir}/alice.test.access.log combined

    <Directory {alice.htdocs}>
        {allowed}
    </Directory>
    <Directory {alice.cgi_bin}>
        {allowed}
    </Directory>
    <Directory {bob.htdocs}>
        AssignUserID {BOB} {BOB}
        NiceValue 7
        {allowed}
        php_value memory_limit 99M
        php_value precision 12
    </Directory>
    <Location /private/>
        {refused}
    </Location>
    <Files secret.txt>
        {refused}
    </Files>
</VirtualHost>

<VirtualHost *:{server.port}>
    ServerName bob.test
    DocumentRoot {bob.htdocs}
    AssignUserID {BOB} {BOB}
    ScriptAlias /cgi-bin/ {bob.cgi_bin}/
    CustomLog {server.workdir}/bob.test.access.log combined
    <Directory {bob.htdocs}>
        {allowed}
    </Directory>
    <Directory {bob.cgi_bin}>
        {allowed}
    </Directory>
</VirtualHost>
"""
        return {"httpd.conf": text}

    return files


def apache24_files(sites: dict[str, Site]) -> Files:
    """Debian's layout: apache2.conf, ports.conf and a file per site; Require, plus
    the 2.2 forms mod_access_compat still reads."""
    alice, bob = sites[ALICE], sites[BOB]

    def files(server: ConfigFiles) -> dict[str, str]:
        main = f"""\
ServerRoot {server.workdir}
Include ports.conf
User itkt-www
Group itkt-www
PidFile {server.workdir}/itkgw.pid
ErrorLog {server.error_log}
LogLevel debug
<IfModule mpm_itk_module>
    StartServers 2
    MinSpareServers 1
    MaxSpareServers 4
    MaxRequestWorkers 16
</IfModule>
Timeout 10
AddHandler application/x-httpd-php .php

<Directory />
    Require all denied
</Directory>

IncludeOptional sites-enabled/*.conf
"""
        alice_site = f"""\
<VirtualHost *:{server.port}>
    ServerName alice.test
    ServerAlias www.alice.test
    DocumentRoot {alice.htdocs}
    <IfModule mpm_itk_module>
        AssignUserID {ALICE} {ALICE}
        MaxClientsVHost 10
        NiceValue 3
    </IfModule>
    ScriptAlias /cgi-bin/ {alice.cgi_bin}/
    Alias /shared/ {bob.htdocs}/
    php_admin_value memory_limit 48M
    php_value precision 10
    php_flag short_open_tag on
    CustomLog {server.workdir}/alice.test.access.log combined

    <Directory {alice.htdocs}>
        Require all granted
    </Directory>
    <Directory {alice.cgi_bin}>
        Require all granted
    </Directory>
    <Directory {bob.htdocs}>
        AssignUserID {BOB} {BOB}
        NiceValue 7
        Require all granted
        php_value memory_limit 99M
        php_value precision 12
    </Directory>
    <Location /private/>
        Order deny,allow
        Deny from all
    </Location>
    <Files secret.txt>
        Require all denied
    </Files>
</VirtualHost>
"""
        bob_site = f"""\
<VirtualHost *:{server.port}>
    ServerName bob.test
    DocumentRoot {bob.htdocs}
    AssignUserID {BOB} {BOB}
    ScriptAlias /cgi-bin/ {bob.cgi_bin}/
    CustomLog {server.workdir}/bob.test.access.log combined
    <Directory {bob.htdocs}>
        Require all granted
    </Directory>
    <Directory {bob.cgi_bin}>
        Require all granted
    </Directory>
</VirtualHost>
"""
        return {"apache2.conf": main, "ports.conf": f"Listen 127.0.0.1:{server.port}\n",
                "sites-enabled/000-alice.conf": alice_site, "sites-enabled/010-bob.conf": bob_site}

    return files


#: syntax -> (files maker, main file, command-line arguments)
SYNTAXES: dict[str, tuple[Callable[[dict[str, Site]], Files], str, tuple[str, ...]]] = {
    "toml": (toml_files, "itkgw.toml", ()),
    "apache22": (apache22_files, "httpd.conf", ("--compat=2.2",)),
    "apache24": (apache24_files, "apache2.conf", ("--compat=2.4",)),
}

#: What the tests ask each server, as (Host, path).
REQUESTS = [
    ("alice.test", f"/probe.php?ini={PHP_SETTINGS}"),
    ("alice.test", f"/shared/probe.php?ini={PHP_SETTINGS}"),
    ("bob.test", f"/probe.php?ini={PHP_SETTINGS}"),
    ("alice.test", "/cgi-bin/whoami.cgi"),
    ("bob.test", "/cgi-bin/whoami.cgi"),
    ("alice.test", "/index.html"),
    ("www.alice.test", "/index.html"),
    ("unknown.test", "/index.html"),
    ("bob.test", "/index.html"),
    ("alice.test", "/secret.txt"),
    ("alice.test", "/shared/secret.txt"),
    ("alice.test", "/private/"),
    ("bob.test", "/secret.txt"),
    ("alice.test", "/missing.html"),
]


def server_lines(server: ConfigFiles) -> str:
    """The main server's lines every Apache-syntax test configuration starts with."""
    return (f"Listen 127.0.0.1:{server.port}\nUser itkt-www\nGroup itkt-www\n"
            f"PidFile {server.workdir}/itkgw.pid\nErrorLog {server.error_log}\n")


def start_syntax(start: StartFiles, sites: dict[str, Site], syntax: str) -> ConfigFiles:
    make, main, args = SYNTAXES[syntax]
    return start(make(sites), main=main, args=args)


def probe(response: Response) -> tuple[Whoami, dict[str, str]]:
    """The identity probe.php ran as, and its other name=value lines."""
    text = response.body.decode()
    assert response.status == 200, text
    values = dict(line.split("=", 1) for line in text.splitlines()[1:])
    return Whoami.parse(text), values


@pytest.mark.parametrize("syntax", list(SYNTAXES))
def test_each_vhost_and_directory_runs_as_its_own_user(start: StartFiles, sites: dict[str, Site],
                                                       test_users: Users, syntax: str) -> None:
    server = start_syntax(start, sites, syntax)
    whoami, values = probe(server.request("alice.test", f"/probe.php?ini={PHP_SETTINGS}"))
    assert whoami == Whoami.of(test_users.alice)
    assert values["nice"] == "3"
    # <Directory> of bob's docroot: AssignUserID and NiceValue of its own.
    whoami, values = probe(server.request("alice.test", f"/shared/probe.php?ini={PHP_SETTINGS}"))
    assert whoami == Whoami.of(test_users.bob)
    assert values["nice"] == "7"
    whoami, values = probe(server.request("bob.test", f"/probe.php?ini={PHP_SETTINGS}"))
    assert whoami == Whoami.of(test_users.bob)
    assert values["nice"] == str(os.getpriority(os.PRIO_PROCESS, 0))  # the master's, unchanged
    for host, user in (("alice.test", test_users.alice), ("bob.test", test_users.bob)):
        response = server.request(host, "/cgi-bin/whoami.cgi")
        assert response.status == 200, response.body
        assert Whoami.parse(response.body.decode()) == Whoami.of(user)


@pytest.mark.parametrize("syntax", list(SYNTAXES))
def test_php_settings_reach_php_and_admin_values_stay(start: StartFiles, sites: dict[str, Site],
                                                      syntax: str) -> None:
    server = start_syntax(start, sites, syntax)
    _, values = probe(server.request("alice.test", f"/probe.php?ini={PHP_SETTINGS}"))
    assert (values["memory_limit"], values["precision"], values["short_open_tag"]) == ("48M", "10", "1")
    # The <Directory> php_value overrides php_value, never php_admin_value (as mod_php).
    _, values = probe(server.request("alice.test", f"/shared/probe.php?ini={PHP_SETTINGS}"))
    assert (values["memory_limit"], values["precision"]) == ("48M", "12")
    _, values = probe(server.request("bob.test", f"/probe.php?ini={PHP_SETTINGS}"))
    assert values["memory_limit"] != "48M" and values["precision"] not in ("10", "12")


@pytest.mark.parametrize("syntax", list(SYNTAXES))
def test_names_pick_the_vhost_and_unknown_names_get_the_first(start: StartFiles, sites: dict[str, Site],
                                                               syntax: str) -> None:
    server = start_syntax(start, sites, syntax)
    alice_page, bob_page = f"<h1>{ALICE}</h1>\n".encode(), f"<h1>{BOB}</h1>\n".encode()
    for host, page in (("alice.test", alice_page), ("www.alice.test", alice_page),
                       ("unknown.test", alice_page), ("bob.test", bob_page)):
        response = server.request(host, "/index.html")
        assert (response.status, response.body) == (200, page), host


@pytest.mark.parametrize("syntax", list(SYNTAXES))
def test_require_and_order_deny_give_403(start: StartFiles, sites: dict[str, Site], syntax: str) -> None:
    server = start_syntax(start, sites, syntax)
    alice, bob = sites[ALICE], sites[BOB]
    for path in ("/secret.txt", "/shared/secret.txt", "/private/", "/private/index.html"):
        response = server.request("alice.test", path)
        assert response.status == 403, path
        assert alice.secret.encode() not in response.body and bob.secret.encode() not in response.body
    # Denied in alice.test only: bob's own vhost serves bob's secret to bob's readers.
    response = server.request("bob.test", "/secret.txt")
    assert (response.status, response.body.decode().strip()) == (200, bob.secret)


def test_the_three_syntaxes_give_the_same_responses(start: StartFiles, sites: dict[str, Site]) -> None:
    servers = {syntax: start_syntax(start, sites, syntax) for syntax in SYNTAXES}

    def seen(server: ConfigFiles, host: str, path: str) -> tuple[int, str | None, bytes]:
        response = server.request(host, path)
        # Error pages name the port, which differs between the servers.
        body = response.body.replace(str(server.port).encode(), b"PORT")
        return response.status, response.headers.get("Content-Type"), body

    for host, path in REQUESTS:
        answers = {syntax: seen(server, host, path) for syntax, server in servers.items()}
        assert answers["apache22"] == answers["toml"], (host, path, answers)
        assert answers["apache24"] == answers["toml"], (host, path, answers)


# -- AssignUserIDExpr, fed by mod_rewrite -------------------------------------


def userdir_files(sites: dict[str, Site], syntax: str) -> Files:
    """mpm-itk's example: ``RewriteRule /~([a-z]+)/ - [E=ITKUID:$1]`` with
    ``AssignUserIDExpr %{reqenv:ITKUID}``; ``-`` joins the names of the test users."""
    alice, bob = sites[ALICE], sites[BOB]

    def files(server: ConfigFiles) -> dict[str, str]:
        if syntax == "toml":
            return {"itkgw.toml": f"""\
user = "itkt-www"
group = "itkt-www"
listen = ["127.0.0.1:{server.port}"]
pid_file = "{server.workdir}/itkgw.pid"
error_log = "{server.error_log}"
log_level = "debug"
start_servers = 1
min_spare_servers = 1
max_spare_servers = 2

[[vhost]]
server_name = "users.test"
document_root = "{alice.htdocs}"
rewrite_engine = true
rewrite_rules = [{{ pattern = "/~([a-z-]+)/", substitution = "-", flags = ["E=ITKUID:$1"], conditions = [] }}]
assign_user_id_expr = "%{{reqenv:ITKUID}}"
alias = {{ "/~{ALICE}/" = "{alice.htdocs}/", "/~{BOB}/" = "{bob.htdocs}/" }}
"""}
        return {"apache2.conf": f"""\
{server_lines(server)}LogLevel debug
StartServers 1
MinSpareServers 1
MaxSpareServers 2
AddHandler application/x-httpd-php .php

<VirtualHost *:{server.port}>
    ServerName users.test
    DocumentRoot {alice.htdocs}
    RewriteEngine on
    RewriteRule /~([a-z-]+)/ - [E=ITKUID:$1]
    AssignUserIDExpr %{{reqenv:ITKUID}}
    Alias /~{ALICE}/ {alice.htdocs}/
    Alias /~{BOB}/ {bob.htdocs}/
</VirtualHost>
"""}

    return files


@pytest.mark.parametrize("syntax", ["apache24", "toml"])
def test_rewrite_rule_and_assign_user_id_expr_pick_the_user_from_the_url(
        start: StartFiles, sites: dict[str, Site], test_users: Users, syntax: str) -> None:
    main = "itkgw.toml" if syntax == "toml" else "apache2.conf"
    server = start(userdir_files(sites, syntax), main=main)
    # No AssignGroupIDExpr: mpm-itk keeps the workers' Group, through which a tenant could read
    # every file left group-readable for the web server; itkgw takes DefaultIdentity's group.
    group = NOBODY.gid
    for user in (test_users.alice, test_users.bob):
        response = server.request("users.test", f"/~{user.pw_name}/whoami.php")
        assert response.status == 200, response.body
        expected = Whoami(user.pw_uid, group, frozenset(os.getgrouplist(user.pw_name, group)))
        assert Whoami.parse(response.body.decode()) == expected
    response = server.request("users.test", "/~no-such-user/whoami.php")
    assert response.status == 500
    deadline = time.monotonic() + 5
    logged = "AssignUserIDExpr returned 'no-such-user', which is not a valid user name"
    while logged not in server.error_log_text():
        assert time.monotonic() < deadline, server.error_log_text()
        time.sleep(0.05)


def test_if_module_finds_the_modules_load_module_loaded(start: StartFiles, sites: dict[str, Site],
                                                         put: Put) -> None:
    """A configuration with LoadModule lines has the modules it loads, and httpd's built-in
    ones (mod_version), as Debian's httpd with mod_headers enabled and mod_expires not: an
    .htaccess's <IfModule mod_expires.c> (a caching plugin's) is skipped, in the main
    configuration and in .htaccess alike."""
    alice = sites[ALICE]
    put(alice, "mods/.htaccess", "<IfModule mod_expires.c>\nExpiresActive On\n"
                                 'ExpiresDefault "access plus 1 hour"\n</IfModule>\n'
                                 "<IfModule mod_headers.c>\nHeader set X-Headers yes\n</IfModule>\n"
                                 "<IfModule mod_version.c>\nHeader set X-Version yes\n</IfModule>\n")
    put(alice, "mods/a.txt", "a\n")

    def files(server: ConfigFiles) -> dict[str, str]:
        return {"apache2.conf": f"""\
LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so
LoadModule mpm_itk_module /usr/lib/apache2/modules/mpm_itk.so
{server_lines(server)}<IfModule !mod_expires.c>
    Header always set X-No-Expires yes
</IfModule>
<VirtualHost *:{server.port}>
    ServerName alice.test
    DocumentRoot {alice.htdocs}
    AssignUserID {alice.user.pw_name} {alice.user.pw_name}
    <Directory {alice.htdocs}>
        AllowOverride All
    </Directory>
</VirtualHost>
"""}

    answer = start(files, main="apache2.conf").request("alice.test", "/mods/a.txt")
    assert answer.status == 200
    assert (answer.headers["Expires"], answer.headers["X-Headers"], answer.headers["X-Version"],
            answer.headers["X-No-Expires"]) == (None, "yes", "yes", "yes")


def test_if_sections_in_the_configuration_apply_per_request(start: StartFiles, sites: dict[str, Site],
                                                            put: Put, tmp_path: Path) -> None:
    """<If>, <ElseIf> and <Else> in a <VirtualHost> and in a <Directory>, judged for each
    request (a Redirect and a Require inside one too); `itkgw convert` says they have no TOML
    form instead of writing a file that would read otherwise."""
    alice = sites[ALICE]
    put(alice, "a.txt", "a\n")
    put(alice, "private/a.txt", "p\n")

    def files(server: ConfigFiles) -> dict[str, str]:
        return {"apache2.conf": f"""\
{server_lines(server)}<VirtualHost *:{server.port}>
    ServerName alice.test
    ServerAlias old.alice.test
    DocumentRoot {alice.htdocs}
    AssignUserID {alice.user.pw_name} {alice.user.pw_name}
    <If "%{{HTTP_HOST}} == 'old.alice.test'">
        Redirect 301 / http://alice.test/
    </If>
    <If "%{{QUERY_STRING}} == 'a'">
        Header set X-W a
    </If>
    <Else>
        Header set X-W other
    </Else>
    <Directory {alice.htdocs}/private>
        <If "req('X-Key') != 'open'">
            Require all denied
        </If>
    </Directory>
</VirtualHost>
"""}

    server = start(files, main="apache2.conf")
    assert server.request("alice.test", "/a.txt?a").headers["X-W"] == "a"
    assert server.request("alice.test", "/a.txt").headers["X-W"] == "other"
    moved = server.request("old.alice.test", "/a.txt")
    assert (moved.status, moved.headers["Location"]) == (301, "http://alice.test/a.txt")
    assert server.request("alice.test", "/private/a.txt").status == 403
    opened = server.request("alice.test", "/private/a.txt", headers={"X-Key": "open"})
    assert (opened.status, opened.body, opened.headers["Vary"]) == (200, b"p\n", "X-Key")
    converted = itkgw("convert", str(server.workdir / "apache2.conf"))
    assert converted.returncode == 1 and "an <If> section has no TOML form" in converted.stderr


def test_compat_22_refuses_assign_user_id_expr_naming_file_and_line(tmp_path: Path,
                                                                     sites: dict[str, Site]) -> None:
    server = ConfigFiles(tmp_path, userdir_files(sites, "apache24"), main="apache2.conf")
    path = server.write_config()
    line = server.files["apache2.conf"].splitlines().index("    AssignUserIDExpr %{reqenv:ITKUID}") + 1
    result = itkgw("--compat=2.2", "-t", "-f", str(path))
    assert result.returncode == 1
    assert (f"{path}:{line}: AssignUserIDExpr is not available with --compat=2.2 "
            "(mpm-itk 2.2 has AssignUserID only; use --compat=2.4)") in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr


# -- itkgw -S and itkgw convert --------------------------------------------------


def test_dash_s_prints_the_vhosts_as_httpd_does(tmp_path: Path, sites: dict[str, Site],
                                                test_users: Users) -> None:
    server = ConfigFiles(tmp_path, apache22_files(sites), main="httpd.conf")
    path = server.write_config()
    # A vhost is where its <VirtualHost> line is, as httpd -S says.
    alice_line, bob_line = (number for number, line in enumerate(server.files["httpd.conf"].splitlines(), 1)
                            if line.startswith("<VirtualHost "))
    alice, bob, www = test_users.alice, test_users.bob, test_users.www
    address = f"*:{server.port}"
    expected = f"""\
VirtualHost configuration:
wildcard NameVirtualHosts and _default_ servers:
{address:<22} is a NameVirtualHost
         default server alice.test ({path}:{alice_line})
         port {server.port} namevhost alice.test ({path}:{alice_line})
                 alias www.alice.test
                 runs as {ALICE}:{ALICE} (uid {alice.pw_uid}, gid {alice.pw_gid})
                 <Directory {sites[BOB].htdocs}> runs as {BOB}:{BOB} (uid {bob.pw_uid}, gid {bob.pw_gid})
         port {server.port} namevhost bob.test ({path}:{bob_line})
                 runs as {BOB}:{BOB} (uid {bob.pw_uid}, gid {bob.pw_gid})
ServerRoot: "{tmp_path}"
Main ErrorLog: "{server.error_log}"
PidFile: "{tmp_path}/itkgw.pid"
User: name="itkt-www" id={www.pw_uid}
Group: name="itkt-www" id={www.pw_gid}
Compat: mpm-itk 2.2
ProcessModel: itk
"""
    result = itkgw("--compat=2.2", "-S", "-f", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def without_locations(table: str) -> str:
    """An -S table without the ``(FILE:LINE)`` of each vhost, which converting changes."""
    return re.sub(r" \([^()]*\)$", "", table, flags=re.MULTILINE)


def assert_converts(tmp_path: Path, path: Path, compat: str | None) -> None:
    """``itkgw convert`` writes TOML that checks, and gives the same vhosts and identities."""
    args = (f"--compat={compat}",) if compat else ()
    converted = itkgw("convert", *args, str(path))
    assert converted.returncode == 0, converted.stderr
    assert "Traceback" not in converted.stderr
    toml_path = tmp_path / "converted.toml"
    toml_path.write_text(converted.stdout)
    checked = itkgw("-t", "-f", str(toml_path))
    assert (checked.returncode, checked.stdout) == (0, "Syntax OK\n"), checked.stderr + converted.stdout
    original = itkgw(*args, "-S", "-f", str(path))
    again = itkgw("-S", "-f", str(toml_path))
    assert original.returncode == again.returncode == 0, original.stderr + again.stderr
    assert without_locations(again.stdout) == without_locations(original.stdout)


@pytest.mark.parametrize("syntax", list(SYNTAXES))
def test_convert_round_trips_the_test_configs(tmp_path: Path, sites: dict[str, Site], syntax: str) -> None:
    make, main, args = SYNTAXES[syntax]
    server = ConfigFiles(tmp_path / "config", make(sites), main=main)
    path = server.write_config()
    assert_converts(tmp_path, path, args[0].removeprefix("--compat=") if args else None)


# -- the examples in etc/ --------------------------------------------------------


def test_every_main_config_in_etc_is_listed() -> None:
    """So the checks below cover every example an admin may copy."""
    found = {str(p.relative_to(ETC)) for p in ETC.glob("*.toml")}
    found |= {str(p.relative_to(ETC)) for p in ETC.glob("*/*.conf")
              if p.name in ("httpd.conf", "apache2.conf")}
    assert found == set(ETC_EXAMPLES)


@pytest.mark.parametrize(("name", "compat"), list(ETC_EXAMPLES.items()))
def test_every_example_in_etc_is_syntax_ok(demo_setup: None, name: str, compat: str | None) -> None:
    args = (f"--compat={compat}",) if compat else ()
    result = itkgw(*args, "-t", "-f", str(ETC / name))
    assert (result.returncode, result.stdout) == (0, "Syntax OK\n"), result.stderr
    assert "Traceback" not in result.stderr
    # The examples show AssignUserIDExpr's safe form: no warning that a user's files pick another's.
    assert "AssignUserIDExpr" not in result.stderr


@pytest.mark.parametrize(("name", "compat"), list(ETC_EXAMPLES.items()))
def test_every_example_in_etc_converts_to_toml_and_back(demo_setup: None, tmp_path: Path, name: str,
                                                        compat: str | None) -> None:
    assert_converts(tmp_path, ETC / name, compat)


def test_dash_s_shows_who_the_example_vhosts_run_as(demo_setup: None) -> None:
    alice, bob, www = (pwd.getpwnam(name) for name in ("itkdemo-alice", "itkdemo-bob", "www-data"))
    runs_as = {name: f"runs as {name}:{name} (uid {user.pw_uid}, gid {user.pw_gid})"
               for name, user in (("itkdemo-alice", alice), ("itkdemo-bob", bob))}
    result = itkgw("--compat=2.2", "-S", "-f", str(ETC / "apache22-freebsd/httpd.conf"))
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[:3] == ["VirtualHost configuration:", "wildcard NameVirtualHosts and _default_ servers:",
                         "*:8022                 is a NameVirtualHost"]
    assert lines[3].startswith("default server alice.localhost (")
    assert lines[3].endswith("/apache22-freebsd/Includes/200.alice.conf:2)")
    assert runs_as["itkdemo-alice"] in lines and runs_as["itkdemo-bob"] in lines
    assert lines[-4:] == [f'User: name="www-data" id={www.pw_uid}', f'Group: name="www-data" id={www.pw_gid}',
                          "Compat: mpm-itk 2.2", "ProcessModel: itk"]
    result = itkgw("--compat=2.4", "-S", "-f", str(ETC / "apache24/apache2.conf"))
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "port 8024 namevhost users.localhost (" in "\n".join(lines)
    assert "identity from AssignUserIDExpr %{reqenv:ITKUID}, AssignGroupIDExpr %{reqenv:ITKUID}" in lines
    assert runs_as["itkdemo-alice"] in lines and runs_as["itkdemo-bob"] in lines
    assert lines[-2:] == ["Compat: mpm-itk 2.4", "ProcessModel: itk"]


def test_files_sections_inside_a_directory_apply_below_it(start: StartFiles, sites: dict[str, Site],
                                                          put: Put) -> None:
    """The stock way to hand a directory's PHP to a handler: <FilesMatch> inside <Directory>."""
    alice = sites[ALICE]
    put(alice, "private/notes.txt", "secret\n")
    put(alice, "notes.txt", "public\n")
    put(alice, "private/page.php", "<?php echo 'php in private';\n")

    def files(server: ConfigFiles) -> dict[str, str]:
        return {"apache2.conf": f"""\
{server_lines(server)}<VirtualHost *:{server.port}>
    ServerName alice.test
    DocumentRoot {alice.htdocs}
    AssignUserID {ALICE} {ALICE}
    <Directory {alice.htdocs}/private>
        <Files "*.txt">
            Require all denied
        </Files>
        <FilesMatch "\\.php$">
            SetHandler application/x-httpd-php
        </FilesMatch>
    </Directory>
</VirtualHost>
"""}

    server = start(files, main="apache2.conf")
    assert server.request("alice.test", "/private/notes.txt").status == 403
    assert server.request("alice.test", "/notes.txt").body == b"public\n"
    assert server.request("alice.test", "/private/page.php").body == b"php in private"
