"""The Apache-syntax config reader: httpd.conf files as an admin moving off Apache has them.

What an admin sees: the model their file gives (the same one the TOML form
gives), and for a broken file every problem at once, each as FILE:LINE with
httpd's own words where httpd has them.
"""

from __future__ import annotations

import dataclasses
import grp
import os
import pwd
import resource
import textwrap
from pathlib import Path
from typing import Any

import pytest

from itkgw.config import foreign
from itkgw.config.apache_reader import load_apache, version_matches
from itkgw.config.checks import Loaded
from itkgw.config.convert import to_toml
from itkgw.config.kinds import apache_words
from itkgw.config.model import Address, DirSection, HeaderRule, Identity, PHPSetting, ServerConfig, VHost
from itkgw.config.modules.alias import AliasMatchSettings
from itkgw.config.modules.auth_basic import AuthSettings
from itkgw.config.modules.autoindex import AutoindexSettings
from itkgw.config.modules.cgi import CGISettings
from itkgw.config.modules.core import RequestSettings
from itkgw.config.modules.dir import DirSettings
from itkgw.config.modules.expires import ExpiresSettings
from itkgw.config.modules.headers import RequestHeaderSettings
from itkgw.config.modules.mime import MimeSettings
from itkgw.config.modules.pool import PoolSettings
from itkgw.config.modules.proxy_fcgi import ProxySettings
from itkgw.config.modules.rewrite import DirRewriteSettings
from itkgw.config.modules.setenvif import EnvCondition, SetEnvIfSettings
from itkgw.config.table import BY_NAME
from itkgw.config.toml_reader import loads_toml
from itkgw.errors import ConfigError, ConfigErrors
from itkgw.request.dirconf import map_path
from itkgw.rules.authz import AccessCompat, LimitedAccess, Require, RequireGroup
from itkgw.rules.rewrite import RewriteCond, RewriteRule

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "conf"


def identity(user: str, group: str) -> Identity:
    return Identity(user, group, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)


DAEMON = identity("daemon", "daemon")
#: What most tests need around the lines they are about (vhosts without AssignUserID
#: run as nobody, as DefaultIdentity says, without a warning).
HEAD = "Listen 8080\nUser daemon\nGroup daemon\nDefaultIdentity nobody nogroup\nServerName main.test\n"


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def load(tmp_path: Path, text: str, compat: str | None = None, defines: tuple[str, ...] = ()) -> Loaded:
    return load_apache(write(tmp_path, "httpd.conf", text), compat, defines)


def problems(tmp_path: Path, text: str, compat: str | None = None,
             defines: tuple[str, ...] = ()) -> list[str]:
    """Each error as itkgw -t prints it, the directory of the files left out."""
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text, compat, defines)
    return [str(error).replace(f"{tmp_path}/", "") for error in caught.value.errors]


def only(errors: list[str]) -> str:
    assert len(errors) == 1, errors
    return errors[0]


def vhost_file(tmp_path: Path, body: str = "", server: str = "") -> str:
    """A valid config with one vhost, plus extra server lines (from line 6) and vhost
    lines (from line 9 when there are no server lines)."""
    return (HEAD + server + f"<VirtualHost *:8080>\nServerName a.test\nDocumentRoot {tmp_path}\n"
            + textwrap.dedent(body).strip("\n") + "\n</VirtualHost>\n")


def server_file(tmp_path: Path, text: str) -> str:
    """A valid config of the main server alone, ``text`` from line 6."""
    return HEAD + text + f"\nDocumentRoot {tmp_path}\n"


def the_vhost(tmp_path: Path, body: str = "", server: str = "", compat: str | None = None) -> VHost:
    loaded = load(tmp_path, vhost_file(tmp_path, body, server), compat)
    assert len(loaded.config.vhosts) == 1
    return loaded.config.vhosts[0]


def without_provenance(value: Any) -> Any:
    """``value`` with every ``where`` and ``source`` emptied."""
    if isinstance(value, tuple):
        return tuple(without_provenance(item) for item in value)
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    changes = {f.name: without_provenance(getattr(value, f.name)) for f in dataclasses.fields(value)}
    for name in ("where", "source"):
        if name in changes:
            changes[name] = ""
    return dataclasses.replace(value, **changes)


# -- the models two real setups give ------------------------------------------------


def test_the_freebsd_22_setup_of_the_howto_gives_this_model(tmp_path: Path) -> None:
    """NameVirtualHost *:80, two vhosts with AssignUserID and MaxClientsVHost, Order/Allow."""
    (tmp_path / "data").mkdir()
    (tmp_path / "www").mkdir()
    write(tmp_path, "Includes/100.NameVirtualHost.conf", "NameVirtualHost *:80\n")
    write(tmp_path, "Includes/200.vhosts.conf", f"""
        <VirtualHost *:80>
            DocumentRoot {tmp_path}/data
            AssignUserID  nobody nogroup
            MaxClientsVHost 10
        </VirtualHost>

        <VirtualHost *:80>
            ServerName clement.example.org
            ServerAdmin clement@example.org
            DocumentRoot {tmp_path}/www/
            AssignUserID  daemon daemon
            MaxClientsVHost 50
            <Directory {tmp_path}/www/>
                    Order allow,deny
                    Allow from all
            </Directory>
        </VirtualHost>
        """)
    path = write(tmp_path, "httpd.conf", """
        Listen 80
        LoadModule php5_module libexec/apache22/libphp5.so
        User daemon
        Group daemon
        ServerName www.example.org
        PHPCGI /bin/sh
        DirectoryIndex index.php index.html
        AddType application/x-httpd-php .php
        Include Includes/*.conf
        """)
    loaded = load_apache(path, "2.2")
    vhosts = (
        VHost(server_name="www.example.org", document_root=f"{tmp_path}/data", listen=(Address("*", 80),),
              assign_user_id=identity("nobody", "nogroup"), max_clients_vhost=10,
              directory_index=("index.php", "index.html"), options=("All",), exec_cgi=True,
              cgi_extensions=(), php_extensions=(".php",), where=f"{tmp_path}/Includes/200.vhosts.conf:1"),
        VHost(server_name="clement.example.org", server_admin="clement@example.org",
              document_root=f"{tmp_path}/www/", listen=(Address("*", 80),), assign_user_id=DAEMON,
              max_clients_vhost=50, directory_index=("index.php", "index.html"), options=("All",),
              exec_cgi=True, cgi_extensions=(), php_extensions=(".php",),
              directories=(DirSection(path=f"{tmp_path}/www/", access=AccessCompat("allow,deny", ("all",)),
                                      where=f"{tmp_path}/Includes/200.vhosts.conf:13"),),
              where=f"{tmp_path}/Includes/200.vhosts.conf:7"),
    )
    assert loaded.config == ServerConfig(
        user=DAEMON, listen=(Address("*", 80),), vhosts=vhosts, source=path, compat="2.2",
        server_root=str(tmp_path), name_virtual_hosts=(Address("*", 80),), server_name="www.example.org",
        php_cgi="/bin/sh")
    assert loaded.warnings == [
        f"{tmp_path}/Includes/200.vhosts.conf:11: vhost clement.example.org runs as the workers' own user "
        "daemon (uid 1): its scripts could stop or trace every worker; give it a user of its own"]


def test_a_24_setup_with_require_assignuseridexpr_and_limituidrange_gives_this_model(tmp_path: Path) -> None:
    path = write(tmp_path, "apache2.conf", f"""
        Listen 127.0.0.1:8080
        User daemon
        Group daemon
        LimitUIDRange 1 60000
        LimitGIDRange 1 60000
        AddHandler cgi-script .cgi

        <VirtualHost 127.0.0.1:8080>
            ServerName users.test
            DocumentRoot {tmp_path}
            RewriteEngine on
            RewriteRule ^/~([a-z]+)/ - [E=ITKUID:$1]
            AssignUserIDExpr %{{reqenv:ITKUID}}
            <Location /private>
                <RequireAll>
                    Require ip 127.0.0.1 ::1
                    Require not ip 127.0.0.2
                </RequireAll>
            </Location>
            <Directory {tmp_path}>
                Options +ExecCGI
                Require all granted
            </Directory>
        </VirtualHost>
        """)
    loaded = load_apache(path)
    vhost = VHost(
        server_name="users.test", document_root=str(tmp_path), listen=(Address("127.0.0.1", 8080),),
        directory_index=("index.html",), options=("FollowSymLinks",), exec_cgi=False,
        cgi_extensions=(".cgi",), php_extensions=(), assign_user_id_expr="%{reqenv:ITKUID}",
        rewrite_engine=True,
        rewrite_rules=(RewriteRule("^/~([a-z]+)/", "-", ("E=ITKUID:$1",), where=f"{path}:12"),),
        directories=(
            DirSection(path=str(tmp_path), options=("+ExecCGI",), exec_cgi=True,
                       require=RequireGroup("any", (Require("all", ("granted",)),)), where=f"{path}:20"),
            DirSection(path="/private", kind="location", require=RequireGroup("any", (RequireGroup("all", (
                Require("ip", ("127.0.0.1", "::1")), Require("ip", ("127.0.0.2",), negated=True))),)),
                where=f"{path}:14"),
        ),
        where=f"{path}:8",
    )
    assert loaded.config == ServerConfig(
        user=DAEMON, listen=(Address("127.0.0.1", 8080),), vhosts=(vhost,), source=path,
        server_root=str(tmp_path), limit_uid_range=(1, 60000), limit_gid_range=(1, 60000))
    # Without AssignGroupIDExpr the group is DefaultIdentity's nogroup, not the workers' Group.
    assert loaded.warnings == [f"{path}:8: vhost users.test runs as gid 65534 (nogroup), outside "
                               "LimitGIDRange 1-60000: its requests will get 500"]


def test_the_same_vhosts_in_toml_and_in_apache_syntax_give_equal_models(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    apache = load(tmp_path, f"""
        ServerRoot {tmp_path}
        Listen 127.0.0.1:8080
        Listen 8081
        User www-data
        Group www-data
        PHPCGI /bin/sh
        ServerName main.test
        MaxRequestWorkers 20
        LimitUIDRange 0 65534
        AddHandler application/x-httpd-php .php
        SetEnv SITE_ENV production
        <Directory />
            Require all denied
        </Directory>

        <VirtualHost 127.0.0.1:8080 *:8081>
            ServerName alice.test
            ServerAlias www.alice.test
            DocumentRoot {tmp_path}/alice
            AssignUserID daemon daemon
            MaxClientsVHost 10
            NiceValue 5
            Options FollowSymLinks ExecCGI
            AddHandler cgi-script .cgi .pl
            Alias /static/ {tmp_path}/static/
            ScriptAlias /cgi-bin/ {tmp_path}/cgi-bin/
            Redirect permanent /old http://alice.test/new
            Header set X-Site alice
            php_admin_value open_basedir {tmp_path}/alice
            php_flag display_errors off
            ErrorDocument 404 /missing.html
            CustomLog logs/alice.log "%h %r %>s"
            RewriteEngine On
            RewriteCond %{{HTTP_HOST}} ^www\\. [NC]
            RewriteRule ^/(.*)$ http://alice.test/$1 [R=301,L]
            <Location /status>
                Order deny,allow
                Deny from all
                Allow from 127.0.0.1
            </Location>
            <FilesMatch "\\.(bak|orig)$">
                Require all denied
            </FilesMatch>
            <Directory {tmp_path}/alice/shared>
                AssignUserID nobody nogroup
                php_value memory_limit 64M
            </Directory>
        </VirtualHost>
        """)
    condition = r'{ test = "%{HTTP_HOST}", pattern = "^www\\.", flags = ["NC"] }'
    rule = ('{ pattern = "^/(.*)$", substitution = "http://alice.test/$1", flags = ["R=301", "L"], '
            f"conditions = [{condition}] }}")
    toml = loads_toml(f"""
        server_root = "{tmp_path}"
        listen = ["127.0.0.1:8080", "8081"]
        user = "www-data"
        group = "www-data"
        php_cgi = "/bin/sh"
        server_name = "main.test"
        max_request_workers = 20
        limit_uid_range = [0, 65534]

        [[vhost]]
        server_name = "alice.test"
        server_alias = ["www.alice.test"]
        listen = ["127.0.0.1:8080", "*:8081"]
        document_root = "{tmp_path}/alice"
        assign_user_id = ["daemon", "daemon"]
        max_clients_vhost = 10
        nice_value = 5
        directory_index = ["index.html"]
        options = ["FollowSymLinks", "ExecCGI"]
        exec_cgi = true
        cgi_extensions = [".cgi", ".pl"]
        php_extensions = [".php"]
        alias = {{ "/static/" = "{tmp_path}/static/" }}
        script_alias = {{ "/cgi-bin/" = "{tmp_path}/cgi-bin/" }}
        redirects = [{{ url_path = "/old", target = "http://alice.test/new", status = 301 }}]
        set_env = {{ SITE_ENV = "production" }}
        headers = [["set", "X-Site", "alice"]]
        php_settings = [{{ name = "open_basedir", value = "{tmp_path}/alice", admin = true }},
                        {{ name = "display_errors", value = "0" }}]
        error_documents = {{ "404" = "/missing.html" }}
        access_log = "{tmp_path}/logs/alice.log"
        access_log_format = "%h %r %>s"
        rewrite_engine = true
        rewrite_rules = [
          {rule}
        ]

          [[vhost.directory]]
          path = "/"
          require = ["all denied"]

          [[vhost.directory]]
          path = "{tmp_path}/alice/shared"
          assign_user_id = ["nobody", "nogroup"]
          php_settings = [{{ name = "memory_limit", value = "64M" }}]

          [[vhost.location]]
          path = "/status"
          access = {{ order = "deny,allow", allow = ["127.0.0.1"], deny = ["all"] }}

          [[vhost.files]]
          path = '\\.(bak|orig)$'
          regex = true
          require = {{ mode = "any", items = ["all denied"] }}
        """, "itkgw.toml")
    assert without_provenance(apache.config) == without_provenance(toml.config)
    assert apache.warnings == toml.warnings == []


# -- Apache's syntax -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("a b\tc", ["a", "b", "c"]),
    ('"a b" c', ["a b", "c"]),
    ("'a b' \"c\"", ["a b", "c"]),
    (r'"say \"hi\"" x', ['say "hi"', "x"]),
    (r"'it\'s'", ["it's"]),
    (r'"C:\\dir\x"', [r"C:\dir\x"]),
    (r"a\\b c\d", [r"a\b", r"c\d"]),
    ('""', [""]),
    ('"a"b', ["a", "b"]),
    ('x"y"', ['x"y"']),
])
def test_arguments_split_as_httpd_splits_them(text: str, words: list[str]) -> None:
    assert apache_words(text, "x.conf:1") == words


def test_an_unclosed_quote_runs_to_the_end_of_the_line_as_in_httpd() -> None:
    assert apache_words('403 "Sorry, no  entry', "x.conf:4") == ["403", "Sorry, no  entry"]


def test_comments_continuations_quotes_and_case(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server='# a comment \\\n  with a continued line\n', body="""
        serveralias one.test \\
            two.test \\
          three.test
          # ServerAlias not.read
        SERVERADMIN "Web Master <webmaster@a.test>"
        headeR set "X-Quoted" 'a "b" c'
        """)
    assert vhost.server_alias == ("one.test", "two.test", "three.test")
    assert vhost.server_admin == "Web Master <webmaster@a.test>"
    assert vhost.headers == (HeaderRule("set", "X-Quoted", 'a "b" c'),)


def test_an_error_on_a_continued_line_names_its_first_line(tmp_path: Path) -> None:
    text = server_file(tmp_path, "KeepAlive \\\n  Maybe\n")
    assert only(problems(tmp_path, text)) == ("httpd.conf:6: expected true or false, got Maybe "
                                              "(write it as On or Off)")


def test_crlf_files_read_like_lf_files(tmp_path: Path) -> None:
    path = tmp_path / "httpd.conf"
    path.write_bytes(vhost_file(tmp_path, body="ServerAlias \\\n b.test").replace("\n", "\r\n").encode())
    assert load_apache(str(path)).config.vhosts[0].server_alias == ("b.test",)


# -- sections ---------------------------------------------------------------------


def test_every_section_kind_and_its_match_form(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body=f"""
        <Directory "{tmp_path}/a">
        </Directory>
        <DirectoryMatch "^{tmp_path}/[0-9]+">
        </DirectoryMatch>
        <Directory ~ "/b$">
        </Directory>
        <Location /x>
        </Location>
        <LocationMatch "^/y">
        </LocationMatch>
        <Files "*.log">
        </Files>
        <FilesMatch "\\.bak$">
        </FilesMatch>
        <Files ~ "^\\.ht">
        </Files>
        """)
    assert [(d.kind, d.path, d.regex) for d in vhost.directories] == [
        ("directory", f"{tmp_path}/a", False), ("directory", f"^{tmp_path}/[0-9]+", True),
        ("directory", "/b$", True), ("location", "/x", False), ("location", "^/y", True),
        ("files", "*.log", False), ("files", r"\.bak$", True), ("files", r"^\.ht", True)]


@pytest.mark.parametrize(("text", "message"), [
    ("<VirtualHost *:8080>\nServerName a\n",
     "httpd.conf:6: <VirtualHost> was not closed. (add </VirtualHost> where it ends)"),
    ("<Directory /x>\n</Location>\n",
     "httpd.conf:7: Expected </Directory> but saw </Location> (close <Directory> (opened at "
     "httpd.conf:6) first)"),
    ("</Directory>\n",
     "httpd.conf:6: </Directory> without matching <Directory> section (remove it, or add the opening tag)"),
    ("<Directory /x\n</Directory>\n",
     "httpd.conf:6: <Directory> directive missing closing '>' (end the line with >)"),
    ("<Directory>\n</Directory>\n",
     "httpd.conf:6: <Directory> takes one path, got 0 arguments (<Directory> directive requires additional "
     "arguments)"),
    ("<VirtualHost>\n</VirtualHost>\n",
     "httpd.conf:6: <VirtualHost> directive requires additional arguments (give the addresses it answers "
     "on, e.g. <VirtualHost *:80>)"),
    ("<Directory /x>\n<Location /y>\n</Location>\n</Directory>\n",
     "httpd.conf:7: <Location> cannot occur within <Directory> section (only <Files> and <FilesMatch> go "
     "inside a <Directory>)"),
    ("<Files a>\n<Files b>\n</Files>\n</Files>\n",
     "httpd.conf:7: <Files> cannot occur within <Files> section (only <Files> and <FilesMatch> go inside a "
     "<Directory>)"),
    ("<Directory relative/dir>\n</Directory>\n",
     "httpd.conf:6: 'relative/dir' is not an absolute path (write the full path, starting with /)"),
    ("<Limit GET>\n</Limit>\n",
     "httpd.conf:6: <Limit> not allowed here (itkgw reads it in <Directory>, <Location> and <Files> sections "
     "and .htaccess)"),
    ("<Proxy *>\n</Proxy>\n",
     "httpd.conf:6: Invalid command '<Proxy', perhaps misspelled or defined by a module not included in "
     "the server configuration (remove the section; a section of a module itkgw does not implement goes "
     "inside <IfModule module>)"),
    ("<RequireAll>\nRequire all granted\n</RequireAll>\n",
     "httpd.conf:6: <RequireAll> not allowed here (it belongs in <Directory>, <Location> or <Files>)"),
])
def test_section_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    assert only(problems(tmp_path, server_file(tmp_path, text))) == message


def test_a_misspelled_closer_is_one_error(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, body=f"<Directory {tmp_path}>\nNiceValue 3\n</Directroy>\nNiceValue 4")
    assert only(problems(tmp_path, text)) == (
        "httpd.conf:11: Expected </Directory> but saw </Directroy> (close <Directory> (opened at "
        "httpd.conf:9) first)")


def test_a_regex_that_does_not_compile(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, body='<LocationMatch "^/(a|b">\n</LocationMatch>')
    assert only(problems(tmp_path, text)) == (
        "httpd.conf:9: LocationMatch: cannot compile regular expression '^/(a|b': missing ), unterminated "
        "subpattern at position 2 (write a PCRE pattern Python's re can read (see the itkgw docs for what "
        "is not supported: \\K, \\Q...\\E, recursion))")


def test_pcre_habits_are_read(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body='<FilesMatch "^(?<name>[[:alpha:]]+)\\.txt\\z">\n</FilesMatch>')
    assert vhost.directories[0].path == r"^(?<name>[[:alpha:]]+)\.txt\z"


# -- contexts, arguments, series ---------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    ("<Directory /srv>\nMaxClientsVHost 5\n</Directory>",
     "httpd.conf:10: MaxClientsVHost not allowed here (it is allowed in the server config and "
     "<VirtualHost>)"),
    ("Listen 9090",
     "httpd.conf:9: Listen cannot occur within <VirtualHost> section (it is allowed in the server config)"),
    ("<Location />\nAllowOverride None\n</Location>",
     "httpd.conf:10: AllowOverride not allowed here (it is allowed in <Directory>)"),
    ("Require all granted",
     "httpd.conf:9: Require not allowed here (it is allowed in <Directory>/<Location>/<Files>)"),
    ("<Location />\nRewriteRule ^ - [F]\n</Location>",
     "httpd.conf:10: RewriteRule in a <Location> section is not supported (per-directory rules are read in "
     "<Directory> sections and .htaccess files; in <Location> and <Files> sections they are not supported)"),
    ("<Location />\nSetHandler proxy:http://127.0.0.1:8080/\n</Location>",
     "httpd.conf:10: proxy:http://127.0.0.1:8080/: itkgw proxies to FastCGI servers only (write "
     '"proxy:unix:/run/php/site.sock|fcgi://localhost" or "proxy:fcgi://127.0.0.1:9000")'),
    ("SetHandler cgi-script",
     "httpd.conf:9: SetHandler not allowed here (it is allowed in <Directory>/<Location>/<Files>)"),
    ("<Location />\n<RequireAll>\nOptions None\nRequire all granted\n</RequireAll>\n</Location>",
     "httpd.conf:11: Options not allowed here (only Require lines and <Require...> sections go inside "
     "<RequireAll>, <RequireAny> and <RequireNone>)"),
])
def test_a_directive_in_the_wrong_context(tmp_path: Path, body: str, message: str) -> None:
    assert only(problems(tmp_path, vhost_file(tmp_path, body=body))) == message


@pytest.mark.parametrize(("line", "message"), [
    ("AssignUserID daemon", "expected a user and a group, got daemon (write it as user group, e.g. "
                            "alice alice)"),
    ("MaxClientsVHost", "expected an integer of at least 0, got nothing (write it as a number, e.g. 10)"),
    ("NiceValue 1 2", "expected an integer, got 1 2 (write it as a number, e.g. 10)"),
    ("DocumentRoot", "expected an absolute path, got nothing (write it as a path, e.g. /srv/site)"),
    ("Alias /x", "expected a table of URL prefix = path, got /x (write it as URL-prefix path, e.g. "
                 "/cgi-bin/ /srv/site/cgi-bin/)"),
    ("RewriteRule ^/a", "RewriteRule: bad argument line (write it as RewriteRule pattern substitution "
                        "[flags])"),
    ("RewriteRule ^/a /b L", "RewriteRule: bad flag delimiters (write the flags as [FLAG,FLAG=value])"),
    ("RewriteRule ^/a /b [N=0]", "RewriteRule: invalid number of rounds '0' for flag 'N' (write N, or "
                                 "N=32000)"),
    ("RewriteRule ^/a - [R=418]", "RewriteRule: invalid HTTP response code '418' for flag 'R' (use a 3xx "
                                  "status to redirect (R=301, R=302...), or a 4xx or 5xx status httpd knows "
                                  "to answer with it (R=403, R=410...))"),
    ("RewriteRule ^/a /b [QSX]", "RewriteRule: unknown flag 'QSX' (see itkgw/rules/rewrite.py for the "
                                 "mod_rewrite subset itkgw implements)"),
    ("php_value memory_limit", "expected a name and a value, got memory_limit (write it as php_value "
                               "name value, "
                               "e.g. php_value memory_limit 64M)"),
    ("Header set X-A", "Header set needs a header name and a value (write it as Header set X-Foo bar, or "
                       "Header unset X-Bar)"),
    ("Header set X-A b env=A expr=%{HTTPS}", "conditional Header rules (env=A) are not supported (write "
                                             "one env=VAR, env=!VAR or expr=CONDITION, or set the header "
                                             "always)"),
    ("Header set X-A b expr=%{HTTPS}", "Header set: cannot parse expr=: comparison operator expected (see "
                                       "the ap_expr syntax of Apache 2.4)"),
    ("Header set X-A b env=", "Header set: env= needs a variable name (write it as Header set ... env=VAR or "
                              "env=!VAR)"),
    ("Header set X-A 50%off", "Unrecognized header format %o (write %% for a percent sign; the "
                              "formats are %D, %t, %{NAME}e, %{NAME}s, %l, %i and %b)"),
    ("Header set X-A %{V}", "Unrecognized header format % (write %% for a percent sign; the "
                            "formats are %D, %t, %{NAME}e, %{NAME}s, %l, %i and %b)"),
    ('Header set X-A "expr=%{V"', "Can't parse value expression : unterminated variable at "
                                  "character 1 (see the ap_expr syntax of Apache 2.4)"),
    ("Header copy X-A X-B", "Header copy is not supported (the actions are set, append, add, merge, "
                            "setifempty, unset, edit, edit*)"),
    ("RequestHeader echo ^X-", "RequestHeader echo is not supported (the actions are set, append, add, "
                               "merge, setifempty, unset, edit, edit*)"),
    ("RequestHeader set X-A b early env=X", "RequestHeader set takes 2 arguments, got 4 (write it as "
                                            "RequestHeader set X-Foo bar, or RequestHeader unset Proxy)"),
    ("ErrorDocument 200 /x", "Unsupported HTTP response code 200 (use a status from 300 to 599)"),
    ("Redirect /old", "URL to redirect to is missing (write it as Redirect [status] /old "
                      "http://example.com/new)"),
    ("Redirect gone /old http://x/", "Redirect URL not valid for status 410 (leave the URL out, e.g. "
                                     "Redirect gone /old)"),
    ("Options +Frobnicate", "Illegal option +Frobnicate (the options are All, None, ExecCGI, FollowSymLinks, "
                            "SymLinksIfOwnerMatch, Indexes, Includes, IncludesNOEXEC, MultiViews)"),
    ('CustomLog logs/a.log combined "expr=-z %{HTTP_X}"',
     "CustomLog condition 'expr=-z %{HTTP_X}' is not supported (write env=NAME or env=!NAME (an expr= "
     "condition is not read))"),
    ("CustomLog |/usr/bin/rotatelogs combined", "piped logs ('|/usr/bin/rotatelogs') are not supported "
                                                "(write to "
                                                "a file and rotate it with logrotate; itkgw reopens "
                                                "logs on HUP)"),
    ("UserDir public_html /srv/users",
     "several directories are not supported (write one of: UserDir public_html, UserDir /home/*/www or "
     "UserDir disabled, UserDir disabled [users], UserDir enabled users)"),
    ("UserDir enabled", 'UserDir "enabled" keyword requires a list of usernames (write UserDir enabled alice '
                        "bob)"),
])
def test_wrong_arguments_say_what_to_write(tmp_path: Path, line: str, message: str) -> None:
    assert only(problems(tmp_path, vhost_file(tmp_path, body=line))) == f"httpd.conf:9: {message}"


def test_files_sections_inside_a_directory_apply_below_it(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body=f"""<Directory {tmp_path}/alice>
    Options +ExecCGI
    <FilesMatch \\.php$>
        SetHandler "proxy:unix:/run/php/alice.sock|fcgi://localhost"
    </FilesMatch>
</Directory>
<DirectoryMatch ^{tmp_path}/alice/up>
    <Files "*.txt">
        Require all denied
    </Files>
</DirectoryMatch>""")
    nested = [section for section in vhost.directories if section.kind == "files"]
    assert [(s.path, s.regex, s.in_directory, s.in_directory_regex) for s in nested] == [
        (r"\.php$", True, f"{tmp_path}/alice", False), ("*.txt", False, f"^{tmp_path}/alice/up", True)]
    assert nested[0].set_handler == "proxy:unix:/run/php/alice.sock|fcgi://localhost"


def test_basic_logins_are_read_and_other_kinds_refused(tmp_path: Path) -> None:
    the_vhost(tmp_path, body="<Directory /srv>\nAuthType None\nRequire all denied\n</Directory>")
    vhost = the_vhost(tmp_path, server="ServerRoot /etc\n", body=(
        '<Directory /srv>\nAuthType Basic\nAuthName "Members only"\nAuthUserFile htpasswd\n'
        "AuthGroupFile /srv/groups\nAuthBasicProvider file\nRequire group staff\n</Directory>"))
    section = vhost.directories[0]
    assert section.modules.get(AuthSettings) == AuthSettings("basic", "Members only", "/etc/htpasswd",
                                                             "/srv/groups")
    assert section.require == RequireGroup("any", (Require("group", ("staff",)),))
    digest = vhost_file(tmp_path, body="<Directory /srv>\nAuthType Digest\n</Directory>")
    assert only(problems(tmp_path, digest)) == (
        "httpd.conf:10: AuthType Digest is not supported: itkgw's logins are Basic ones (write AuthType "
        "Basic with an AuthUserFile, or guard the path with Require ip)")
    ldap = vhost_file(tmp_path, body="<Directory /srv>\nAuthBasicProvider ldap\n</Directory>")
    assert "AuthBasicProvider ldap is not supported" in only(problems(tmp_path, ldap))
    nameless = vhost_file(tmp_path, body="<Directory /srv>\nRequire user\n</Directory>")
    assert "Require user needs at least one name" in only(problems(tmp_path, nameless))


def test_header_always_is_kept_for_error_responses(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="Header always set X-Content-Type-Options nosniff\nHeader set X-A b")
    assert [(h.name, h.always) for h in vhost.headers] == [("X-Content-Type-Options", True), ("X-A", False)]


def test_requestheader_rules_of_the_server_run_before_the_vhost_s(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server="RequestHeader unset Proxy\n",
                      body="RequestHeader set X-Forwarded-Proto https")
    assert vhost.modules.get(RequestHeaderSettings).request_headers == (
        HeaderRule("unset", "Proxy"), HeaderRule("set", "X-Forwarded-Proto", "https"))


def test_rewriteoptions_are_read_per_directory_and_refused_where_itkgw_lacks_them(tmp_path: Path) -> None:
    section = f"<Directory {tmp_path}>\nRewriteOptions Inherit MergeBase\n</Directory>"
    vhost = the_vhost(tmp_path, body=section)
    assert vhost.directories[0].modules.get(DirRewriteSettings).rewrite_options == ("Inherit", "MergeBase")
    assert only(problems(tmp_path, vhost_file(tmp_path, body="RewriteOptions Inherit"))).endswith(
        "RewriteOptions not allowed here (it is allowed in <Directory>)")
    refused = f"<Directory {tmp_path}>\nRewriteOptions InheritDown\n</Directory>"
    assert only(problems(tmp_path, vhost_file(tmp_path, body=refused))).endswith(
        "RewriteOptions InheritDown is not supported (write RewriteOptions Inherit in the directories below)")


def test_setenvif_lines_of_the_server_run_before_the_vhost_s(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server='SetEnvIf Authorization "(.+)" HTTP_AUTHORIZATION=$1\n',
                      body="BrowserMatchNoCase ^curl IS_CURL !OTHER")
    assert vhost.modules.get(SetEnvIfSettings).conditions == (
        EnvCondition("Authorization", "(.+)", ("HTTP_AUTHORIZATION=$1",)),
        EnvCondition("User-Agent", "^curl", ("IS_CURL", "!OTHER"), nocase=True))
    assert "cannot compile" in only(problems(tmp_path, vhost_file(tmp_path, body="SetEnvIf Host (x X=1")))
    assert "expected" in only(problems(tmp_path, vhost_file(tmp_path, body="SetEnvIf Host")))


def test_setenvifexpr_lines_take_their_place_among_the_setenvif_lines(tmp_path: Path) -> None:
    """Debian's setenvif.conf has BrowserMatch lines at server level: every alias is read there."""
    vhost = the_vhost(tmp_path, server="SetEnvIf X-Proto ^https$ SECURE\nBrowserMatch ^curl IS_CURL\n"
                                       "SetEnvIfNoCase X-A ^b$ B\nSetEnvIfExpr true ALWAYS\n",
                      body="SetEnvIfExpr \"req('X-Api') =~ /^v([0-9])$/\" API=$1 !SECURE")
    assert vhost.modules.get(SetEnvIfSettings).conditions == (
        EnvCondition("X-Proto", "^https$", ("SECURE",)), EnvCondition("User-Agent", "^curl", ("IS_CURL",)),
        EnvCondition("X-A", "^b$", ("B",), nocase=True), EnvCondition("", "", ("ALWAYS",), expr="true"),
        EnvCondition("", "", ("API=$1", "!SECURE"), expr="req('X-Api') =~ /^v([0-9])$/"))
    assert only(problems(tmp_path, vhost_file(tmp_path, body='SetEnvIfExpr "req(" A'))).startswith(
        "httpd.conf:9: SetEnvIfExpr: cannot parse the expression:")
    assert "expected" in only(problems(tmp_path, vhost_file(tmp_path, body='SetEnvIfExpr "true"')))
    assert "not available with --compat=2.2" in only(problems(
        tmp_path, vhost_file(tmp_path, body='SetEnvIfExpr "true" A'), compat="2.2"))


def test_a_vhost_with_no_document_root_anywhere_is_an_error_not_a_crash(tmp_path: Path) -> None:
    text = HEAD + "<VirtualHost *:8080>\nServerName a.test\n</VirtualHost>\n"
    assert only(problems(tmp_path, text)).endswith(
        "no DocumentRoot, and the main server has none to inherit (add DocumentRoot /path/to/site)")


def test_limit_sections_hold_method_masked_access_rules(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body=f"""<Directory {tmp_path}>
        Require all denied
        <Limit GET HEAD>
            Require all granted
        </Limit>
        <LimitExcept GET POST>
            Order deny,allow
            Deny from all
        </LimitExcept>
        </Directory>""")
    section = vhost.directories[0]
    assert section.require == RequireGroup("any", (
        Require("all", ("denied",)), RequireGroup("any", (Require("all", ("granted",)),), ("GET",))))
    assert section.access == AccessCompat(
        limited=(LimitedAccess(("GET", "POST"), True, "deny,allow", (), ("all",)),))
    body = f"<Directory {tmp_path}>\n<Limit GET>\nSetEnv A 1\n<Limit POST>\n</Limit>\n</Limit>\n</Directory>"
    nested = only(problems(tmp_path, vhost_file(tmp_path, body=body)))
    assert "<Limit> inside another access section" in nested
    body = f"<Directory {tmp_path}>\n<Limit POST>\nSetEnv A 1\n</Limit>\n</Directory>"
    assert the_vhost(tmp_path, body=body).directories[0].set_env == (("A", "1"),)  # every method, as httpd


def test_mod_expires_codes_and_their_merge(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server="ExpiresByType text/css A60\nExpiresByType image/png A1\n",
                      body='ExpiresActive On\nExpiresByType image/png "modification plus 1 week 2 hours"\n'
                           'ExpiresDefault "now plus 1 year"')
    expires = vhost.modules.get(ExpiresSettings)
    assert (expires.active, dict(expires.by_type or ()), expires.default) == (
        True, {"text/css": "A60", "image/png": "M612000"}, "A31536000")
    assert (expires.code_for("image/png"), expires.code_for("TEXT/CSS; charset=utf-8"),
            expires.code_for("text/html")) == ("M612000", "A60", "A31536000")
    wildcard = ExpiresSettings(by_type=(("image/*", "A5"),))
    assert (wildcard.code_for("image/gif"), wildcard.code_for("text/plain")) == ("A5", None)


@pytest.mark.parametrize(("line", "message"), [
    ('ExpiresDefault "later plus 1 day"', "bad expires code, unrecognised <base> 'later'"),
    ('ExpiresDefault "access plus 1 fortnight"', "bad expires code, unrecognised <type> 'fortnight'"),
    ('ExpiresDefault "access plus one day"', "bad expires code, numeric value expected <num> 'one'"),
    ('ExpiresDefault "access plus 1"', "bad expires code, missing <type>"),
    ("ExpiresByType css A60", "ExpiresByType: 'css' is not a content type"),
])
def test_bad_expires_codes_are_httpd_s_errors(tmp_path: Path, line: str, message: str) -> None:
    assert message in only(problems(tmp_path, vhost_file(tmp_path, body=line)))


def test_redirect_match_takes_a_regex_and_a_status(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="RedirectMatch 301 ^/old/(.*)$ http://new.test/$1\n"
                                     "RedirectMatch 404 /\\.git\nRedirect /a http://new.test/b")
    assert [(r.url_path, r.target, r.status, r.regex) for r in vhost.redirects] == [
        ("^/old/(.*)$", "http://new.test/$1", 301, True), ("/\\.git", None, 404, True),
        ("/a", "http://new.test/b", 302, False)]
    assert "cannot compile" in only(problems(tmp_path, vhost_file(tmp_path, body="RedirectMatch ^/(a /b")))


def test_a_rewrite_rule_may_answer_with_an_error_status(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="RewriteEngine On\nRewriteRule ^/old - [R=410]\n"
                                     "RewriteRule ^/a - [R=503,L]")
    assert [rule.flags for rule in vhost.rewrite_rules] == [("R=410",), ("R=503", "L")]


def test_an_unknown_directive_is_httpds_invalid_command(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, body="Frobnicate on\nAssignUserIdd daemon daemon")
    assert problems(tmp_path, text) == [
        "httpd.conf:9: Invalid command 'Frobnicate', perhaps misspelled or defined by a module not included "
        "in the server configuration (remove it; a directive of a module itkgw does not implement goes "
        "inside "
        "<IfModule module>)",
        "httpd.conf:10: Invalid command 'AssignUserIdd', perhaps misspelled or defined by a module not "
        "included in the server configuration (did you mean AssignUserID?)",
    ]


@pytest.mark.parametrize(("line", "message"), [
    ("AssignUserIDExpr %{reqenv:ITKUID}",
     "AssignUserIDExpr is not available with --compat=2.2 (mpm-itk 2.2 has AssignUserID only; use "
     "--compat=2.4)"),
    ("AssignGroupIDExpr %{reqenv:ITKGID}",
     "AssignGroupIDExpr is not available with --compat=2.2 (mpm-itk 2.2 has AssignUserID only; use "
     "--compat=2.4)"),
    ("<Location />\nRequire all granted\n</Location>",
     "Require is not available with --compat=2.2 (Apache 2.2 has Order, Allow, Deny and Satisfy instead; use "
     "--compat=2.4)"),
    ("<Location />\n<RequireAny>\n</RequireAny>\n</Location>",
     "<RequireAny> is not available with --compat=2.2 (Apache 2.2 has Order, Allow, Deny and Satisfy "
     "instead; "
     "use --compat=2.4)"),
    ("IncludeOptional x.conf",
     "IncludeOptional is not available with --compat=2.2 (Apache 2.2 has Include only; use --compat=2.4)"),
    ("<Directory /srv>\nAllowOverrideList Redirect\n</Directory>",
     "AllowOverrideList is not available with --compat=2.2 (Apache 2.2 has no AllowOverrideList: grant a "
     "class with AllowOverride; use --compat=2.4)"),
])
def test_24_only_directives_under_22(tmp_path: Path, line: str, message: str) -> None:
    error = only(problems(tmp_path, vhost_file(tmp_path, body=line), compat="2.2"))
    assert error.split(": ", 1)[1] == message
    assert error.startswith(("httpd.conf:9:", "httpd.conf:10:"))


@pytest.mark.parametrize(("line", "message"), [
    ("LimitUIDRange 1000 2000",
     "LimitUIDRange is not available with --compat=2.2 (mpm-itk 2.2 has no LimitUIDRange; use --compat=2.4)"),
    ("EnableCapabilities on",
     "EnableCapabilities is not available with --compat=2.2 (mpm-itk 2.2 has no EnableCapabilities; use "
     "--compat=2.4)"),
    ("MaxRequestWorkers 10",
     "MaxRequestWorkers is not available with --compat=2.2 (mpm-itk 2.2 calls it MaxClients)"),
    ("Define X 1", "Define is not available with --compat=2.2 (Apache 2.2 has only -D on the command "
                   "line; use "
                   "--compat=2.4)"),
])
def test_24_only_server_directives_under_22(tmp_path: Path, line: str, message: str) -> None:
    assert only(problems(tmp_path, server_file(tmp_path, line), compat="2.2")) == f"httpd.conf:6: {message}"


def test_22_names_are_deprecated_aliases_in_24(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, server="MaxClients 20\nMaxRequestsPerChild 100\n"))
    assert (loaded.config.max_request_workers, loaded.config.max_connections_per_child) == (20, 100)
    path = tmp_path / "httpd.conf"
    assert loaded.warnings == [f"{path}:6: MaxClients is deprecated, use MaxRequestWorkers instead",
                               f"{path}:7: MaxRequestsPerChild is deprecated, use "
                               f"MaxConnectionsPerChild instead"]
    in_22 = load(tmp_path, vhost_file(tmp_path, server="MaxClients 20\n"), compat="2.2")
    assert (in_22.config.max_request_workers, in_22.warnings) == (20, [])


def test_server_limit_caps_max_request_workers(tmp_path: Path) -> None:
    path = tmp_path / "httpd.conf"
    loaded = load(tmp_path, vhost_file(tmp_path, server="MaxRequestWorkers 400\n"))
    assert loaded.config.max_request_workers == 256
    assert loaded.warnings == [f"{path}:6: MaxRequestWorkers 400 lowered to 256 (it may not exceed "
                               "ServerLimit 256)"]
    raised = load(tmp_path, vhost_file(tmp_path, server="ServerLimit 500\nMaxRequestWorkers 400\n"))
    assert (raised.config.max_request_workers, raised.warnings) == (400, [])


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, server="Timeout soon\n", body="NiceValue x\nServerAlias\nFoo bar")
    assert [error.split(": ")[0] for error in problems(tmp_path, text)] == [
        "httpd.conf:6", "httpd.conf:10", "httpd.conf:11", "httpd.conf:12"]


def test_an_unreadable_main_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_apache(str(tmp_path / "nowhere.conf"))
    assert str(caught.value) == (f"{tmp_path}/nowhere.conf: cannot read: No such file or directory (give an "
                                 "existing, readable config file with -f)")
    with pytest.raises(ConfigErrors) as bad_series:
        load_apache(str(tmp_path / "nowhere.conf"), "2.0")
    assert str(bad_series.value) == "--compat: '2.0' is not a known series (use --compat=2.2 or --compat=2.4)"


def test_a_non_utf8_comment_is_fine_a_non_utf8_directive_is_not(tmp_path: Path) -> None:
    path = tmp_path / "httpd.conf"
    path.write_bytes(vhost_file(tmp_path).encode() + b"# caf\xe9\n")
    load_apache(str(path))
    path.write_bytes(vhost_file(tmp_path).encode() + b"ServerAdmin caf\xe9\n")
    with pytest.raises(ConfigErrors) as caught:
        load_apache(str(path))
    assert str(caught.value) == f"{path}:11: not UTF-8 text (save the file as UTF-8)"


# -- IfModule, IfDefine, Define, ${VAR} ------------------------------------------------------


def test_ifmodule_counts_the_modules_itkgw_implements_as_loaded(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="""
        <IfModule mod_rewrite.c>
            ServerAlias by-file.test
        </IfModule>
        <IfModule rewrite_module>
            ServerAlias by-id.test
        </IfModule>
        <IfModule !mpm_itk_module>
            ServerAlias not-itk.test
        </IfModule>
        <IfModule mod_ssl.c>
            SSLEngine on
            ServerAlias ssl.test
        </IfModule>
        <IfModule !ssl_module>
            ServerAlias no-ssl.test
            <IfModule php7_module>
                ServerAlias php.test
            </IfModule>
        </IfModule>
        """)
    assert vhost.server_alias == ("by-file.test", "by-id.test", "no-ssl.test", "php.test")


def test_a_module_itkgw_does_not_implement_is_named_once(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, server="LoadModule ssl_module modules/mod_ssl.so\n"
                                       "LoadModule rewrite_module modules/mod_rewrite.so\n"
                                       "LoadModule proxy_module modules/mod_proxy.so\n"
                                       "LoadFile /usr/lib/libxml2.so\n"
                                       "<IfModule ssl_module>\nSSLEngine on\n</IfModule>\n")
    loaded = load(tmp_path, text)
    assert loaded.warnings == [
        f"{tmp_path}/httpd.conf:6: modules itkgw does not implement are not loaded: ssl_module, "
        f"proxy_module "
        "(their <IfModule> sections are skipped, their directives elsewhere are errors)"]
    outside = text.replace("<IfModule ssl_module>\nSSLEngine on\n</IfModule>\n", "SSLEngine on\n")
    assert only(problems(tmp_path, outside)) == (
        "httpd.conf:10: Invalid command 'SSLEngine', perhaps misspelled or defined by a module not included "
        "in the server configuration (SSLEngine belongs to ssl_module, which itkgw does not implement "
        "(httpd.conf:6 loads it): remove the line, or put it inside <IfModule ssl_module>)")
    unknown = text.replace("<IfModule ssl_module>\nSSLEngine on\n</IfModule>\n", "XyzzyFrob on\n")
    assert only(problems(tmp_path, unknown)) == (
        "httpd.conf:10: Invalid command 'XyzzyFrob', perhaps misspelled or defined by a module not included "
        "in the server configuration (if it belongs to a module itkgw does not implement (ssl_module, "
        "proxy_module), remove it or put it inside that module's <IfModule>)")


def test_ifdefine_with_d_and_define(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, server="Define FROM_FILE\n", body="""
        <IfDefine SSL>
            ServerAlias ssl.test
        </IfDefine>
        <IfDefine !SSL>
            ServerAlias plain.test
        </IfDefine>
        <IfDefine FROM_FILE>
            ServerAlias defined.test
            UnDefine FROM_FILE
        </IfDefine>
        <IfDefine FROM_FILE>
            ServerAlias not.test
        </IfDefine>
        """)
    assert load(tmp_path, text).config.vhosts[0].server_alias == ("plain.test", "defined.test")
    with_ssl = load(tmp_path, text, defines=("SSL",)).config.vhosts[0]
    assert with_ssl.server_alias == ("ssl.test", "defined.test")


def test_ifversion_answers_as_the_httpd_series_emulated(tmp_path: Path) -> None:
    """As a plugin's .htaccess asks it: 2.4's rules under --compat=2.4, 2.2's under 2.2."""
    text = vhost_file(tmp_path, body="""
        <IfVersion >= 2.4>
            ServerAlias new.test
        </IfVersion>
        <IfVersion < 2.4>
            ServerAlias old.test
        </IfVersion>
        <IfVersion ~ ^2\\.4\\.>
            ServerAlias regex.test
        </IfVersion>
        <IfVersion !>= 2.4.10>
            ServerAlias before-2.4.10.test
        </IfVersion>
        """)
    assert load(tmp_path, text).config.vhosts[0].server_alias == ("new.test", "regex.test")


@pytest.mark.parametrize("args,matches", [
    (["<", "2.4"], False), ([">=", "2.4"], True), (["2.4.62"], True), (["=", "2.4"], False),
    (["!", "<", "2.4"], True), (["!<", "2.4"], True), ([">=2.4.10"], True), (["=", "/^2\\.2/"], False),
    (["<=", "2.2.99"], False), (["==", "2.4.62"], True),
])
def test_ifversion_compares_as_mod_version_does(args: list[str], matches: bool) -> None:
    assert version_matches(args, (2, 4, 62), "x") is matches


def test_ifversion_refuses_what_mod_version_cannot_read() -> None:
    with pytest.raises(ConfigError, match="is not major"):
        version_matches([">=", "two"], (2, 4, 62), "httpd.conf:3")


def test_variables_come_from_define_then_the_environment(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITKGW_TEST_LOG_DIR", "/var/log/from-env")
    monkeypatch.setenv("ITKGW_TEST_NAME", "env.test")
    vhost = the_vhost(tmp_path, server="Define ITKGW_TEST_NAME defined.test\nDefine PREFIX www\n",
                      body="ServerAlias ${PREFIX}.${ITKGW_TEST_NAME}\nErrorLog ${ITKGW_TEST_LOG_DIR}/a.log")
    assert vhost.server_alias == ("www.defined.test",)
    assert vhost.error_log == "/var/log/from-env/a.log"


def test_rewrite_maps_are_a_vhost_s_own_as_in_httpd(tmp_path: Path) -> None:
    """A vhost's RewriteMap lines are its rules' (the last of a name counts); the main
    server's are not inherited, and a lookup in a map no line names is no error."""
    (tmp_path / "moved.map").write_text("old /new\n")
    text = server_file(tmp_path, f"RewriteMap main int:toupper\n<VirtualHost *:8080>\nServerName a.test\n"
                                 f"DocumentRoot {tmp_path}\nRewriteEngine on\nRewriteMap lc int:toupper\n"
                                 f"RewriteMap lc int:tolower\nRewriteMap moved txt:{tmp_path}/moved.map\n"
                                 "RewriteRule ^/(.*) /${lc:$1}/${nomap:x|y} [R]\n</VirtualHost>")
    (vhost,) = load(tmp_path, text).config.vhosts
    assert [(each.name, each.spec) for each in vhost.rewrite_maps] == [
        ("lc", "int:toupper"), ("lc", "int:tolower"), ("moved", f"txt:{tmp_path}/moved.map")]


@pytest.mark.parametrize(("line", "message"), [
    ("RewriteMap m dbm:/etc/m.db", "httpd.conf:9: RewriteMap m: dbm maps are not supported (convert the map "
                                   "back to a text file (key value lines) and name it as txt:/path)"),
    ("RewriteMap m prg:/usr/bin/map", "httpd.conf:9: RewriteMap m: prg maps are not supported (write the "
                                      "mapping as a txt: map, or as RewriteRules)"),
    ("RewriteMap m int:reverse", "httpd.conf:9: RewriteMap: internal map not found:reverse (the internal "
                                 "maps are toupper, tolower, escape, unescape)"),
    ("RewriteMap m txt:/nonexistent/m.map", "httpd.conf:9: RewriteMap: file for map m not found:"
                                            "/nonexistent/m.map (create the file, or fix the path)"),
    ("RewriteMap m txt:maps/m.map", "httpd.conf:9: RewriteMap m: 'maps/m.map' is not an absolute path "
                                    "(write the map file's full path)"),
    ("RewriteMap m", "httpd.conf:9: expected a table of name = \"type:source\", got m (write it as "
                     "RewriteMap moved txt:/etc/itkgw/moved.map)"),
])
def test_a_rewrite_map_itkgw_cannot_look_in_is_refused_with_its_line(tmp_path: Path, line: str,
                                                                      message: str) -> None:
    assert only(problems(tmp_path, vhost_file(tmp_path, body=line))) == message


def test_an_undefined_variable_is_an_error_unless_its_block_is_skipped(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, body="<IfDefine NEVER>\nServerAlias ${ITKGW_TEST_UNSET}\n</IfDefine>\n"
                                     "ServerAlias ${ITKGW_TEST_UNSET}.test")
    assert only(problems(tmp_path, text)) == (
        "httpd.conf:12: Config variable ${ITKGW_TEST_UNSET} is not defined (define it first with Define "
        "ITKGW_TEST_UNSET VALUE, or in the environment itkgw starts in)")


# -- Include -------------------------------------------------------------------------------


def test_include_globs_are_read_in_sorted_order_relative_to_serverroot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "sites/20-b.conf", "ServerAlias b.test\n")
    write(root, "sites/10-a.conf", "ServerAlias a.test\n")
    write(root, "sites/sub/30-c.conf", "ServerAlias c.test\n")
    write(root, "sites/README", "this is not config\n")
    write(root, "more/x.conf", "ServerAlias x.test\n")
    vhost = the_vhost(tmp_path, server=f"ServerRoot {root}\n",
                      body="Include sites/*.conf\nInclude sites/*/*.conf\nIncludeOptional none/*.conf\n"
                           "IncludeOptional missing.conf\nInclude more")
    assert vhost.server_alias == ("a.test", "b.test", "c.test", "x.test")


def test_include_of_a_missing_file_and_of_an_empty_wildcard(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, body="Include missing.conf\nInclude none/*.conf")
    assert problems(tmp_path, text) == [
        "httpd.conf:9: Could not open configuration file missing.conf: No such file or directory "
        f"(fix the path (relative paths are taken from ServerRoot {tmp_path}), or use IncludeOptional)",
        "httpd.conf:10: No matches for the wildcard '*.conf' in 'none', failing (use "
        "IncludeOptional if it may match nothing)",
    ]
    # Apache 2.2 reads an empty wildcard as nothing to read.
    assert only(problems(tmp_path, text, compat="2.2")).startswith("httpd.conf:9: Could not open")


def test_an_include_loop_names_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "a.conf", "Include b.conf\n")
    write(tmp_path, "b.conf", "ServerAlias b.test\nInclude a.conf\n")
    text = vhost_file(tmp_path, body="Include a.conf")
    assert only(problems(tmp_path, text)) == (
        "b.conf:2: Include loop: httpd.conf -> a.conf -> b.conf -> a.conf (remove the Include that reads "
        "a file again)")


def test_errors_in_included_files_name_those_files(tmp_path: Path) -> None:
    write(tmp_path, "conf.d/site.conf", "<VirtualHost *:8080>\nServerName b.test\n")
    text = vhost_file(tmp_path, server="Include conf.d/*.conf\n")
    assert only(problems(tmp_path, text)) == (
        "conf.d/site.conf:1: <VirtualHost> was not closed. (add </VirtualHost> where it ends)")


# -- what the reader resolves: inheritance, handlers, Options, logs -------------------------------------


def test_server_level_settings_are_every_vhosts_default(tmp_path: Path) -> None:
    text = HEAD + f"""
AssignUserID root root
NiceValue 4
DirectoryIndex index.php
Options Indexes
AddHandler cgi-script .cgi
AddType application/x-httpd-php .php
AddType text/plain .log
SetEnv A server
Header set X-Server yes
php_value memory_limit 32M
ErrorDocument 404 /404.html
RewriteEngine on
RewriteRule ^/server - [F]
<Location /server-wide>
</Location>
<VirtualHost *:8080>
    ServerName a.test
    DocumentRoot {tmp_path}
    Options +ExecCGI
    SetEnv A vhost
    SetEnv B vhost
    Header set X-Vhost yes
    AddHandler application/x-httpd-php .cgi
    php_value memory_limit 64M
    <Directory {tmp_path}>
    </Directory>
</VirtualHost>
<VirtualHost *:8080>
    ServerName b.test
    DocumentRoot {tmp_path}
    AssignUserID daemon daemon
    Options None
</VirtualHost>
"""
    root_alice, bob = load(tmp_path, text).config.vhosts
    assert root_alice.assign_user_id == identity("root", "root") and bob.assign_user_id == DAEMON
    assert (root_alice.nice_value, root_alice.directory_index) == (4, ("index.php",))
    assert (root_alice.options, root_alice.exec_cgi) == (("Indexes", "ExecCGI"), True)
    assert (bob.options, bob.exec_cgi) == ((), False)
    assert (root_alice.cgi_extensions, root_alice.php_extensions) == ((), (".cgi", ".php"))
    assert (bob.cgi_extensions, bob.php_extensions) == ((".cgi",), (".php",))
    assert root_alice.add_type == (("text/plain", ".log"),)
    assert root_alice.set_env == (("A", "vhost"), ("B", "vhost")) and bob.set_env == (("A", "server"),)
    assert root_alice.headers == (HeaderRule("set", "X-Server", "yes"), HeaderRule("set", "X-Vhost", "yes"))
    assert root_alice.php_settings == (PHPSetting("memory_limit", "64M"),)
    assert bob.error_documents == ((404, "/404.html"),)
    assert root_alice.rewrite_rules == () and not root_alice.rewrite_engine, "rewrite rules are not inherited"
    assert [(d.kind, d.path) for d in root_alice.directories] == [("directory", str(tmp_path)),
                                                                  ("location", "/server-wide")]
    assert [(d.kind, d.path) for d in bob.directories] == [("location", "/server-wide")]


def test_a_config_without_virtualhost_is_one_vhost_of_the_main_server(tmp_path: Path) -> None:
    path = write(tmp_path, "httpd.conf", f"""
        Listen 8080
        Listen 127.0.0.1:8081
        User daemon
        Group daemon
        ServerName only.test
        DocumentRoot {tmp_path}
        AssignUserID root root
        RewriteEngine on
        RewriteRule ^/old /new [R]
        """)
    (vhost,) = load_apache(path).config.vhosts
    assert (vhost.server_name, vhost.document_root, vhost.listen) == (
        "only.test", str(tmp_path), (Address("*", 8080), Address("127.0.0.1", 8081)))
    assert vhost.assign_user_id == identity("root", "root")
    assert vhost.rewrite_rules == (RewriteRule("^/old", "/new", ("R",), where=f"{path}:9"),)
    assert vhost.where == f"{path}:6"


def test_the_main_server_answers_where_no_virtualhost_does(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, server=f"Listen 9090\nDocumentRoot {tmp_path}\n")
    vhosts = load(tmp_path, text).config.vhosts
    assert [(v.server_name, v.listen) for v in vhosts] == [("a.test", (Address("*", 8080),)),
                                                           ("main.test", (Address("*", 9090),))]
    no_root = load(tmp_path, vhost_file(tmp_path, server="Listen 9090\n"))
    assert len(no_root.config.vhosts) == 1
    assert no_root.warnings == [f"{tmp_path}/httpd.conf:6: no <VirtualHost> answers on *:9090 and the main "
                                "server has no DocumentRoot: requests there are refused"]


def test_virtualhost_address_forms(tmp_path: Path) -> None:
    text = (HEAD + "Listen [::1]:8080\nListen 9090\n"
            f"<VirtualHost _default_:8080 [::1]:8080 127.0.0.1>\nDocumentRoot {tmp_path}\n</VirtualHost>\n"
            f"<VirtualHost *>\nServerName every.test\nDocumentRoot {tmp_path}\n</VirtualHost>\n")
    first, every = load(tmp_path, text).config.vhosts
    assert first.listen == (Address("*", 8080), Address("::1", 8080), Address("127.0.0.1", 8080),
                            Address("127.0.0.1", 9090))
    assert first.server_name == "main.test"
    assert every.listen == (Address("*", 8080), Address("*", 9090))
    bad = HEAD + f"<VirtualHost www.example.com:8080>\nDocumentRoot {tmp_path}\n</VirtualHost>\n"
    assert only(problems(tmp_path, bad)) == (
        "httpd.conf:6: 'www.example.com:8080': 'www.example.com' is not an IP address (use an IP "
        "address or *; "
        'write "127.0.0.1:8080", "[::1]:8080", "*:8080" or "8080")')


def test_a_virtualhost_the_server_does_not_listen_on(tmp_path: Path) -> None:
    text = HEAD + f"<VirtualHost 10.1.2.3:9999>\nDocumentRoot {tmp_path}\n</VirtualHost>\n"
    assert only(problems(tmp_path, text)) == (
        "httpd.conf:6: 10.1.2.3:9999 is not an address the server listens on (add Listen 10.1.2.3:9999)")


def test_namevirtualhost_in_22_and_in_24(tmp_path: Path) -> None:
    two = (f"<VirtualHost *:8080>\nServerName a.test\nDocumentRoot {tmp_path}\n</VirtualHost>\n"
           f"<VirtualHost *:8080>\nServerName b.test\nDocumentRoot {tmp_path}\n</VirtualHost>\n")
    path = tmp_path / "httpd.conf"
    named = load(tmp_path, HEAD + "NameVirtualHost *:8080\nNameVirtualHost 127.0.0.1:9\n" + two, "2.2")
    assert named.config.name_virtual_hosts == (Address("*", 8080), Address("127.0.0.1", 9))
    assert named.warnings == [f"{path}:7: NameVirtualHost 127.0.0.1:9 has no VirtualHosts"]
    unnamed = load(tmp_path, HEAD + two, "2.2")
    assert unnamed.config.name_virtual_hosts == ()
    assert unnamed.warnings == [f"{path}:10: VirtualHost *:8080 overlaps with VirtualHost *:8080, the "
                                f"first has "
                                "precedence, perhaps you need a NameVirtualHost directive"]
    in_24 = load(tmp_path, HEAD + "NameVirtualHost *:8080\n" + two)
    assert in_24.config.name_virtual_hosts == ()
    assert in_24.warnings == [f"{path}:6: NameVirtualHost has no effect and will be removed in the next "
                              "release (Apache 2.4 chooses vhosts by name on every address)"]


def test_options_merge_as_apache_merges_them(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body=f"""
        <Directory {tmp_path}/a>
            Options +ExecCGI -Indexes
            Options -FollowSymLinks
        </Directory>
        <Directory {tmp_path}/b>
            Options Indexes
            Options +execcgi
        </Directory>
        <Directory {tmp_path}/c>
            Options +Indexes
        </Directory>
        """)
    a, b, c = vhost.directories
    assert (a.options, a.exec_cgi) == (("+ExecCGI", "-Indexes", "-FollowSymLinks"), True)
    assert (b.options, b.exec_cgi) == (("Indexes", "ExecCGI"), True)
    assert (c.options, c.exec_cgi) == (("+Indexes",), None)
    assert (vhost.options, vhost.exec_cgi) == (("FollowSymLinks",), False)
    assert the_vhost(tmp_path, compat="2.2").options == ("All",)


def test_mixed_options_are_an_error_in_24_and_read_in_22(tmp_path: Path) -> None:
    body = f"<Directory {tmp_path}>\nOptions Indexes +ExecCGI -FollowSymLinks\n</Directory>"
    assert only(problems(tmp_path, vhost_file(tmp_path, body=body))) == (
        "httpd.conf:10: Either all Options must start with + or -, or no Option may. (sign every word, "
        "or none)")
    section = the_vhost(tmp_path, body=body, compat="2.2").directories[0]
    assert (section.options, section.exec_cgi) == (("Indexes", "ExecCGI"), True)


def test_options_itkgw_has_nothing_for_are_a_warning(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, body="Options +FollowSymLinks +MultiViews +Includes"))
    assert loaded.warnings == [f"{tmp_path}/httpd.conf:9: Options +Includes has no effect: itkgw has no "
                               "server-side includes"]


def test_handlers_in_sections_and_sethandler(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="""
        <Location /cgi>
            SetHandler cgi-script
            AddHandler cgi-script .pl
            AddType application/x-httpd-php .phtml
            AddType text/plain .pl
        </Location>
        <FilesMatch "\\.php$">
            SetHandler php5-script
        </FilesMatch>
        <Location /static>
            SetHandler None
        </Location>
        """)
    cgi, static, php = vhost.directories
    assert (cgi.set_handler, cgi.add_handler, cgi.add_type) == (
        "cgi-script", (("cgi-script", ".pl"), ("application/x-httpd-php", ".phtml")),
        (("text/plain", ".pl"),))
    assert php.set_handler == "application/x-httpd-php"
    assert static.set_handler == "none"


def test_access_rules_in_both_forms(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="""
        <Location /a>
            Order Deny,Allow
            Deny from all
            Allow from 10.0.0.0/8 .example.com
            Allow from env=LOCAL
            Satisfy Any
        </Location>
        <Location /b>
            Require host example.com
            <RequireAll>
                Require all granted
                Require not ip 10.0.0.1
            </RequireAll>
        </Location>
        """)
    a, b = vhost.directories
    assert a.access == AccessCompat("deny,allow", ("10.0.0.0/8", ".example.com", "env=LOCAL"), ("all",),
                                    "any")
    assert (a.require, b.access) == (None, None)
    assert b.require == RequireGroup("any", (Require("host", ("example.com",)), RequireGroup("all", (
        Require("all", ("granted",)), Require("ip", ("10.0.0.1",), negated=True)))))


def test_require_rules_apache_refuses(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, body="""
        <Location /a>
            Require ip 300.1.2.3
        </Location>
        <Location /b>
            Require file-owner
        </Location>
        <Location /c>
            Require expr "%{REQUEST_URI} =~ /a"
        </Location>
        <Location /d>
            <RequireAll>
                Require not ip 10.0.0.1
            </RequireAll>
        </Location>
        """)
    errors = problems(tmp_path, text)
    assert errors[0].startswith("httpd.conf:10: ") and "300.1.2.3" in errors[0]
    assert errors[1:] == [
        "httpd.conf:13: Require file-owner is not supported (its authentication provider is not part of "
        "itkgw) (itkgw's Require takes all, ip, host, forward-dns, env, method, local, expr, and valid-user, "
        "user and group with AuthType Basic)",
        errors[2],
        "httpd.conf:18: <RequireAll> directive contains only negative authorization directives (every group "
        "needs a rule that can grant; Require not belongs in <RequireAll> or <RequireNone>)",
    ]
    assert errors[2].startswith("httpd.conf:16: Cannot parse expression in require line")


def test_require_expr_takes_the_rest_of_the_line(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body='<Location />\nRequire expr "%{REQUEST_METHOD} == \'GET\'"\n'
                                     "Require expr %{REMOTE_ADDR} == '127.0.0.1'\n</Location>")
    assert vhost.directories[0].require == RequireGroup("any", (
        Require("expr", ("%{REQUEST_METHOD} == 'GET'",)), Require("expr", ("%{REMOTE_ADDR} == "
            "'127.0.0.1'",))))


def test_rewritecond_lines_belong_to_the_next_rule(tmp_path: Path) -> None:
    path = tmp_path / "httpd.conf"
    loaded = load(tmp_path, vhost_file(tmp_path, body="""
        RewriteEngine on
        RewriteCond %{HTTP_HOST} ^www\\. [nocase,OR]
        RewriteCond %{REQUEST_URI} !-f
        RewriteRule ^/(.*) /index.php?q=$1 [qsappend,last,redirect=permanent]
        RewriteRule ^/~([a-z]+)/ - [env=ITKUID:$1]
        RewriteCond expr "%{HTTPS} == 'on'"
        """))
    first, second = loaded.config.vhosts[0].rewrite_rules
    assert first == RewriteRule("^/(.*)", "/index.php?q=$1", ("QSA", "L", "R=301"), (
        RewriteCond("%{HTTP_HOST}", r"^www\.", ("NC", "OR")), RewriteCond("%{REQUEST_URI}", "!-f")),
        where=f"{path}:12")
    assert second == RewriteRule("^/~([a-z]+)/", "-", ("E=ITKUID:$1",), where=f"{path}:13")
    assert loaded.warnings == [f"{path}:14: RewriteCond without a RewriteRule after it has no effect"]


def test_php_settings_as_mod_php_reads_them(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="php_value memory_limit 64M\nphp_flag display_errors On\n"
                                     "php_admin_value open_basedir /srv/a\nphp_admin_flag expose_php off\n"
                                     "php_value memory_limit 128M")
    assert vhost.php_settings == (PHPSetting("memory_limit", "128M"), PHPSetting("display_errors", "1"),
                                  PHPSetting("open_basedir", "/srv/a", admin=True),
                                  PHPSetting("expose_php", "0", admin=True))
    # mod_php's php_flag: On or 1 is on, any other word (yes, true) off.
    flags = the_vhost(tmp_path, body="php_flag a 1\nphp_flag b yes\nphp_flag c TRUE\nphp_flag d ON\n")
    assert [setting.value for setting in flags.php_settings] == ["1", "0", "0", "1"]


def test_a_custom_log_s_env_condition_is_its_own(tmp_path: Path) -> None:
    text = HEAD + f"""
CustomLog /var/log/itkgw/main.log combined env=!dontlog
<VirtualHost *:8080>
    DocumentRoot {tmp_path}
    CustomLog logs/a.log combined env=wanted
</VirtualHost>
<VirtualHost *:8080>
    DocumentRoot {tmp_path}
    CustomLog logs/b.log combined
</VirtualHost>
"""
    config = load(tmp_path, text).config
    assert config.access_log_condition == "!dontlog"
    assert [vhost.access_log_condition for vhost in config.vhosts[:2]] == ["wanted", None]


def test_a_handler_itkgw_has_not_is_a_warning_and_its_files_are_served_as_they_are(tmp_path: Path) -> None:
    """As httpd serves a file whose handler no module provides (AH00157); a PHP name of another
    packaging runs PHP rather than hand out the scripts' source."""
    loaded = load(tmp_path, vhost_file(tmp_path, body="AddHandler server-parsed .shtml\n"
                                                      "AddHandler frobnicate .x\n"
                                                      "AddHandler application/x-httpd-ea-php74 .php"))
    warnings = [str(warning).replace(f"{tmp_path}/", "") for warning in loaded.warnings]
    assert "httpd.conf:9: itkgw has no handler 'server-parsed' (server-parsed is served by include_module " \
        "(SSI), which itkgw does not implement): the files it names are served as they are, as httpd " \
        "serves them without a module for it" in warnings
    assert any("no handler 'frobnicate'" in warning for warning in warnings)
    vhost = loaded.config.vhosts[0]
    assert ".php" in vhost.php_extensions and ".x" not in vhost.cgi_extensions


def test_debian_s_userdir_conf_is_read_with_its_disabled_users(tmp_path: Path) -> None:
    text = HEAD + f"""
UserDir public_html
UserDir disabled root
<VirtualHost *:8080>
    DocumentRoot {tmp_path}
</VirtualHost>
<VirtualHost *:8080>
    DocumentRoot {tmp_path}
    UserDir disabled
    UserDir enabled alice bob
</VirtualHost>
"""
    first, second = load(tmp_path, text).config.vhosts[:2]
    assert (first.user_dir, first.user_dir_disabled, first.user_dir_enabled) == ("public_html", ("root",), ())
    assert (second.user_dir_disabled, second.user_dir_enabled) == (("*",), ("alice", "bob"))


def test_custom_log_formats_and_nicknames(tmp_path: Path) -> None:
    text = HEAD + f"""
LogFormat "%h %l %u %t \\"%r\\" %>s %O" common
LogFormat "%v %h %r" vhost_short
CustomLog /var/log/itkgw/main.log vhost_short
LogFormat "%h default"
<VirtualHost *:8080>
    DocumentRoot {tmp_path}
    CustomLog logs/a.log combined
</VirtualHost>
<VirtualHost *:8080>
    DocumentRoot {tmp_path}
    LogFormat "%h mine" mine
    CustomLog /var/log/b.log mine
</VirtualHost>
<VirtualHost *:8080>
    DocumentRoot {tmp_path}
    TransferLog /var/log/c.log
</VirtualHost>
"""
    config = load(tmp_path, text).config
    assert (config.access_log, config.access_log_format) == ("/var/log/itkgw/main.log", "%v %h %r")
    assert [(v.access_log, v.access_log_format) for v in config.vhosts] == [
        (f"{tmp_path}/logs/a.log", "combined"), ("/var/log/b.log", "%h mine"), ("/var/log/c.log", "%h "
            "default")]
    twice = vhost_file(tmp_path, body="CustomLog /var/log/a.log common\nCustomLog /var/log/b.log common")
    assert only(problems(tmp_path, twice)) == (
        "httpd.conf:10: a second access log (/var/log/b.log) is not supported (itkgw writes one access "
        "log per "
        "vhost; /var/log/a.log is set at httpd.conf:9)")


def test_relative_paths_are_taken_from_serverroot(tmp_path: Path) -> None:
    (tmp_path / "htdocs").mkdir()
    text = HEAD + f"ServerRoot {tmp_path}\nPidFile run/itkgw.pid\nErrorLog logs/error_log\n" \
                  "TypesConfig conf/mime.types\nDocumentRoot htdocs\n"
    config = load(tmp_path, text).config
    assert (config.pid_file, config.error_log, config.mime_types, config.vhosts[0].document_root) == (
        f"{tmp_path}/run/itkgw.pid", f"{tmp_path}/logs/error_log", f"{tmp_path}/conf/mime.types",
        f"{tmp_path}/htdocs")
    assert only(problems(tmp_path, HEAD + f"ServerRoot {tmp_path}/none\n")) == (
        "httpd.conf:6: ServerRoot must be a valid directory (none is not a directory)")


def test_allowoverride_and_allowoverridelist_are_kept(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, body=f"""
        <Directory {tmp_path}>
            AllowOverride None
        </Directory>
        <Directory {tmp_path}/a>
            AllowOverride All
        </Directory>
        <Directory {tmp_path}/b>
            AllowOverride FileInfo Options=Indexes
            AllowOverrideList Redirect RedirectMatch
        </Directory>
        """))
    assert loaded.warnings == []
    sections = loaded.config.vhosts[0].directories
    assert [section.allow_override for section in sections] == [
        ("None",), ("All",), ("FileInfo", "Options=Indexes")]
    assert [section.allow_override_list for section in sections] == [
        None, None, ("Redirect", "RedirectMatch")]


def test_accessfilename_is_every_vhost_s_default(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server="AccessFileName .config .htaccess\n")
    assert vhost.access_file_name == (".config", ".htaccess")
    assert the_vhost(tmp_path).access_file_name == (".htaccess",)


def test_identities_are_checked_as_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "httpd.conf"
    loaded = load(tmp_path, vhost_file(tmp_path, body=f"AssignUserID root root\nNiceValue 40\n"
                                                      f"<Directory {tmp_path}>\nNiceValue -30\n</Directory>"))
    assert loaded.warnings == [
        f"{path}:12: NiceValue -30 clamped to -20",
        f"{path}:10: NiceValue 40 clamped to 19",
        f"{path}:9: vhost a.test runs as uid 0 (root), outside LimitUIDRange 1-4294967294: its requests will "
        "get 500",
        f"{path}:9: vhost a.test runs as gid 0 (root), outside LimitGIDRange 1-4294967294: its requests will "
        "get 500",
    ]
    by_expr = load(tmp_path, vhost_file(tmp_path, body="AssignUserID root root\n"
                                                       "AssignUserIDExpr %{reqenv:ITKUID}"))
    assert by_expr.warnings == [f"{path}:9: vhost a.test runs as gid 0 (root), outside LimitGIDRange "
                                "1-4294967294: its requests will get 500"]
    missing = vhost_file(tmp_path, body="AssignUserID itkgw-no-such-user daemon").replace(
        "User daemon", "User itkgw-no-such-user")
    assert problems(tmp_path, missing) == [  # one problem on two lines is reported once
        "httpd.conf:9: user 'itkgw-no-such-user' does not exist (create it with useradd, or fix the name) "
        "[the same at line 2]"]


def test_shared_checks_apply_to_apache_configs(tmp_path: Path) -> None:
    text = vhost_file(tmp_path / "nowhere").replace("Listen 8080", "Listen 8080\nListen 8080\nListen *:9\n"
                                                    "Listen 127.0.0.1:9")
    assert problems(tmp_path, text) == [
        "httpd.conf:2: *:8080 is listed twice (remove one of them)",
        "httpd.conf:4: *:9 and 127.0.0.1:9 overlap: binding both fails (keep *:9 alone, or list each address "
        "instead of it)",
    ]
    missing_root = load(tmp_path, vhost_file(tmp_path / "nowhere"))
    assert "httpd.conf:8: nowhere does not exist: its requests are answered 404 until the directory is " \
        "created" in [str(warning).replace(f"{tmp_path}/", "") for warning in missing_root.warnings]
    no_listen = HEAD.replace("Listen 8080\n", "") + f"DocumentRoot {tmp_path}\n"
    assert problems(tmp_path, no_listen)[0] == (
        "httpd.conf: no Listen directive: itkgw would listen on no address (add e.g. Listen 80)")


# -- never a traceback -------------------------------------------------------------------------------

ODD_ARGS = ["", "x", "0", "-1", "on", '"a b"', "a b c", "/abs/path", "rel", "[L]", "%{x}", "${}", "from all",
            "* x", "!x", "ip", "not", "~ ^/a"]


@pytest.mark.parametrize("name", sorted({name for name in BY_NAME}))
def test_any_arguments_for_any_directive_give_a_config_error_not_a_traceback(tmp_path: Path,
                                                                              name: str) -> None:
    lines = "".join(f"{name} {args}\n" for args in ODD_ARGS)
    text = vhost_file(tmp_path, server=lines, body=f"{lines}<Location />\n{lines}</Location>\n"
                                                   f"<Directory />\n{lines}</Directory>")
    try:
        load(tmp_path, text)
    except ConfigErrors as exc:
        assert exc.errors and all(":" in e.where and e.message and e.hint for e in exc.errors), name


# -- the corpus ----------------------------------------------------------------------------------------


def render(path: Path) -> str:
    """What itkgw -t reports for a corpus file, read with the options its ``# test:`` line gives."""
    options = [line.removeprefix("# test:").split() for line in path.read_text().splitlines()
               if line.startswith("# test:")]
    words = options[0] if options else []
    compat = next((word.split("=")[1] for word in words if word.startswith("--compat=")), None)
    defines = tuple(word[2:] for word in words if word.startswith("-D"))
    try:
        loaded = load_apache(str(path), compat, defines)
    except ConfigErrors as exc:
        text = "".join(f"{error}\n" for error in exc.errors)
    else:
        text = "".join(f"{line}\n" for line in ["ok", *(f"warning: {w}" for w in loaded.warnings)])
    return text.replace(f"{CORPUS}/", "")


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.conf")))
def test_corpus(name: str) -> None:
    assert render(CORPUS / f"{name}.conf") == (CORPUS / f"{name}.expect").read_text()


def test_the_apache_corpus_has_an_expectation_for_every_config() -> None:
    configs = {p.stem for p in CORPUS.glob("*.conf")}
    assert configs <= {p.stem for p in CORPUS.glob("*.expect")}
    assert len(configs) >= 6



def test_core_directives_of_no_effect_are_read_and_named_once(tmp_path: Path) -> None:
    text = vhost_file(tmp_path, server="ServerTokens OS\nServerSignature On\nServerTokens Prod\n",
                      body="HostnameLookups Off")
    assert load(tmp_path, text).warnings == [
        f"{tmp_path}/httpd.conf:6: read, but of no effect: ServerTokens: itkgw's Server header is always its "
        "name and version; HostnameLookups: itkgw's logs show client addresses"]
    assert load(tmp_path, text).config.vhosts[0].modules.get(RequestSettings).server_signature == "on"
    assert only(problems(tmp_path, vhost_file(tmp_path, body="ServerTokens OS"))) == (
        "httpd.conf:9: ServerTokens cannot occur within <VirtualHost> section (it is allowed in the server "
        "config)")


@pytest.mark.parametrize("line", ["ContentDigest Off", "DefaultType None", "ErrorLogFormat \"[%t] %M\"",
                                  "HttpProtocolOptions Strict LenientMethods Require1.0",
                                  "Protocols h2 http/1.1", "ProtocolsHonorOrder On"])
def test_core_directives_real_configs_carry_are_read_with_what_itkgw_does_instead(tmp_path: Path,
                                                                                   line: str) -> None:
    warnings = load(tmp_path, vhost_file(tmp_path, body=line)).warnings
    assert len(warnings) == 1 and f"read, but of no effect: {line.split()[0]}: " in warnings[0]


# -- a stock Debian tree: its mods-enabled, unguarded -------------------------------------------


def debian_tree(tmp_path: Path) -> str:
    """The shape of Debian's /etc/apache2: envvars, mods-enabled/*.load and *.conf, unguarded."""
    write(tmp_path, "envvars", "export APACHE_LOG_DIR=/var/log/apache2\n")
    for module in ("autoindex", "mime", "negotiation", "status"):
        write(tmp_path, f"mods-enabled/{module}.load",
              f"LoadModule {module}_module /usr/lib/mod_{module}.so\n")
    write(tmp_path, "mods-enabled/autoindex.conf", """
        IndexOptions FancyIndexing
        AddIcon /icons/a.gif .a
        AddIcon /icons/b.gif .b
        AddIconByType (TXT,/icons/text.gif) text/*
        AddIcon /icons/c.gif .c
        """)
    write(tmp_path, "mods-enabled/mime.conf", """
        <IfModule mod_mime.c>
        AddLanguage en .en
        AddCharset UTF-8 .utf8
        RemoveType es
        AddHandler type-map var
        </IfModule>
        """)
    write(tmp_path, "mods-enabled/status.conf", """
        <Location /server-status>
            SetHandler server-status
        </Location>
        ExtendedStatus On
        """)
    write(tmp_path, "mods-enabled/negotiation.conf", """
        <IfModule mod_negotiation.c>
        LanguagePriority en ca cs
        ForceLanguagePriority Prefer Fallback
        </IfModule>
        """)
    write(tmp_path, "mods-enabled/php8.2.conf", """
        <FilesMatch ".+\\.phps$">
            SetHandler application/x-httpd-php-source
            Require all denied
        </FilesMatch>
        """)
    return write(tmp_path, "apache2.conf", HEAD + f"""
        IncludeOptional mods-enabled/*.load
        IncludeOptional mods-enabled/*.conf
        ErrorLog ${{APACHE_LOG_DIR}}/error.log
        DocumentRoot {tmp_path}
        """)


def test_a_debian_tree_names_what_it_needs_from_envvars(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_apache(debian_tree(tmp_path), None)
    assert [str(error).replace(f"{tmp_path}/", "") for error in caught.value.errors] == [
        "apache2.conf:9: Config variable ${APACHE_LOG_DIR} is not defined (define it first with Define "
        "APACHE_LOG_DIR VALUE, or in the environment itkgw starts in; Debian's envvars sets the APACHE_* "
        "ones: run '. envvars' first, as apache2ctl does)",
    ]


def test_a_debian_tree_loads_as_it_is_with_its_envvars(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    main = debian_tree(tmp_path)
    monkeypatch.setenv("APACHE_LOG_DIR", "/var/log/apache2")
    loaded = load_apache(main, None)
    assert loaded.config.vhosts[0].error_log == "/var/log/apache2/error.log"
    autoindex = loaded.config.vhosts[0].modules.get(AutoindexSettings)  # mod_autoindex's lines are read
    assert (autoindex.index_options, autoindex.icon_rules()) == ((("FancyIndexing",),), (
        ("type", "/icons/text.gif", "text/*"), ("path", "/icons/a.gif", "*.a"),
        ("path", "/icons/b.gif", "*.b"), ("path", "/icons/c.gif", "*.c")))
    handlers = [section.set_handler for section in loaded.config.vhosts[0].directories]
    assert "application/x-httpd-php-source" in handlers and "server-status" in handlers
    assert loaded.warnings == [
        f"{tmp_path}/mods-enabled/mime.conf:5: AddHandler type-map has no effect: itkgw negotiates "
        "MultiViews, not type maps; type map files are served as they are",
        f"{tmp_path}/mods-enabled/status.conf:4: read, but of no effect: ExtendedStatus: itkgw's scoreboard "
        "always records each connection's vhost, so MaxClientsVHost works without it"]
    mime = loaded.config.vhosts[0].modules.get(MimeSettings)
    assert (mime.add_charset, mime.remove_type) == ((("utf-8", ".utf8"),), ("es",))


def test_if_module_finds_the_names_of_what_load_module_loaded(tmp_path: Path) -> None:
    """A loaded module by its name and its source file's, PHP 8's as mod_php.c (not
    mod_php7.c, which old .htaccess files test), httpd's built-in mod_version always, and no
    module LoadModule left out; with no LoadModule at all, every module itkgw has."""
    guarded = "".join(f"<IfModule {name}>\nHeader append X-Found {name}\n</IfModule>\n"
                      for name in ("php_module", "mod_php.c", "mod_php7.c", "mod_headers.c", "mod_version.c",
                                   "mod_expires.c", "!mod_expires.c"))
    loads = ("LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so\n"
             "LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so\n")

    def found(text: str) -> list[str]:
        rules = load(tmp_path, server_file(tmp_path, text)).config.vhosts[0].headers
        return [rule.value for rule in rules]

    assert found(loads + guarded) == ["php_module", "mod_php.c", "mod_headers.c", "mod_version.c",
                                      "!mod_expires.c"]
    assert found(guarded) == ["php_module", "mod_php.c", "mod_php7.c", "mod_headers.c", "mod_version.c",
                              "mod_expires.c"]


def test_extended_status_is_read_in_both_series(tmp_path: Path) -> None:
    for compat in ("2.2", "2.4"):
        assert load(tmp_path, server_file(tmp_path, "ExtendedStatus On"), compat).config.vhosts


@pytest.mark.parametrize(("line", "hint"), [
    ("AddInputFilter DEFLATE .js", "AddInputFilter is part of mime_module, but not of what itkgw "
                                   "implements of it: remove the line; itkgw has no input filters"),
])
def test_directives_of_modules_itkgw_implements_in_part(tmp_path: Path, line: str, hint: str) -> None:
    name = line.split()[0]
    assert only(problems(tmp_path, vhost_file(tmp_path, body=line))) == (
        f"httpd.conf:9: Invalid command '{name}', perhaps misspelled or defined by a module not included in "
        f"the server configuration ({hint})")


def test_foreign_names_are_none_of_itkgws_own() -> None:
    assert not set(foreign.DIRECTIVE_MODULES) & set(BY_NAME)
    assert not set(foreign.NOT_IMPLEMENTED) & set(BY_NAME)


# -- a module's own settings: mod_cgi's CGIScriptTimeout --------------------------------------


def test_cgi_script_timeout_at_each_level(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body=f"""
        CGIScriptTimeout 2mi
        <Directory {tmp_path}/quick>
            CGIScriptTimeout 500ms
        </Directory>
        <Directory {tmp_path}/inherit>
            CGIScriptTimeout 0
        </Directory>""", server="CGIScriptTimeout 30\n")
    assert vhost.modules.get(CGISettings).script_timeout == 120.0
    quick, inherit = (section.modules.get(CGISettings) for section in vhost.directories)
    assert quick.script_timeout == 0.5
    assert inherit.script_timeout is None  # 0: the sections around decide, as mod_cgi merges


def test_a_vhost_without_cgi_script_timeout_takes_the_main_server_s(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server="CGIScriptTimeout 7\n")
    assert vhost.modules.get(CGISettings) == CGISettings(script_timeout=7.0)


def test_cgi_script_timeout_is_refused_as_httpd_refuses_it(tmp_path: Path) -> None:
    assert only(problems(tmp_path, vhost_file(tmp_path, body="CGIScriptTimeout 2x"))) == (
        "httpd.conf:9: 2x has wrong format (write a whole number with an optional unit ms, s, mi or h, "
        "e.g. 20 or 500ms)")
    assert only(problems(tmp_path, vhost_file(tmp_path, body="CGIScriptTimeout 5"), compat="2.2")) == (
        "httpd.conf:9: CGIScriptTimeout is not available with --compat=2.2 (Apache 2.2's mod_cgi waits "
        "Timeout for a script's output; use --compat=2.4)")


def test_cgi_script_timeout_reads_the_same_from_toml_and_converts_back(tmp_path: Path) -> None:
    apache = load(tmp_path, vhost_file(tmp_path, body="""
        CGIScriptTimeout 90
        <Location /slow/>
            CGIScriptTimeout 2h
        </Location>""")).config
    text = to_toml(apache)
    assert "cgi_script_timeout = 90.0" in text and "cgi_script_timeout = 7200.0" in text
    again = loads_toml(text, "converted.toml").config
    assert again.vhosts[0].modules == apache.vhosts[0].modules
    assert again.vhosts[0].directories[0].modules == apache.vhosts[0].directories[0].modules


# -- AssignUserIDExpr from the path: the unsafe forms are named -------------------------------


USERS_VHOST = """
    RewriteEngine on
    RewriteRule {pattern} - [E=ITKUID:$1]
    AssignUserIDExpr %{{reqenv:ITKUID}}
"""


def test_an_unanchored_rule_feeding_assignuseridexpr_is_warned_about(tmp_path: Path) -> None:
    loaded = load(tmp_path, vhost_file(tmp_path, body=USERS_VHOST.format(pattern="/~([a-z-]+)/")))
    assert loaded.warnings == [
        f"{tmp_path}/httpd.conf:10: RewriteRule /~([a-z-]+)/ sets the identity of AssignUserIDExpr but is "
        "not anchored: any path holding that text, in any user's tree, picks the identity; anchor it with ^"]
    anchored = load(tmp_path, vhost_file(tmp_path, body=USERS_VHOST.format(pattern="^/~([a-z-]+)/")))
    assert anchored.warnings == []


def test_a_docroot_holding_several_users_trees_is_warned_about(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: gives directories to other users")
    for name, user in (("one", "daemon"), ("two", "bin")):
        (tmp_path / name).mkdir()
        os.chown(tmp_path / name, pwd.getpwnam(user).pw_uid, -1)
    loaded = load(tmp_path, vhost_file(tmp_path, body=USERS_VHOST.format(pattern="^/~([a-z-]+)/")))
    assert loaded.warnings == [
        f"{tmp_path}/httpd.conf:6: DocumentRoot {tmp_path} holds the files of several users (bin, daemon) "
        "and AssignUserIDExpr picks the identity from the path: one user's files can run as another; give "
        "the vhost a DocumentRoot no user writes to and reach each user's tree through Alias or UserDir"]
    # Owners outside LimitUIDRange cannot be switched to, so they decide nothing.
    narrow = load(tmp_path, vhost_file(tmp_path, body=USERS_VHOST.format(pattern="^/~([a-z-]+)/"),
                                       server="LimitUIDRange 1 1\nLimitGIDRange 1 65000\n"))
    assert not [warning for warning in narrow.warnings if "holds the files" in warning]


def test_a_fastcgi_server_is_a_handler_in_24_only(tmp_path: Path) -> None:
    section = (f'<FilesMatch "\\.php$">\nSetHandler "proxy:unix:{tmp_path}/php.sock|fcgi://localhost"\n'
               "</FilesMatch>")
    vhost = the_vhost(tmp_path, body=section + "\nProxyTimeout 20")
    assert vhost.directories[0].set_handler == f"proxy:unix:{tmp_path}/php.sock|fcgi://localhost"
    assert vhost.modules.get(ProxySettings).timeout == 20.0
    assert only(problems(tmp_path, vhost_file(tmp_path, body=section), compat="2.2")) == (
        "httpd.conf:10: SetHandler proxy:unix:php.sock|fcgi://localhost is not available with "
        "--compat=2.2 (Apache 2.2 has no mod_proxy_fcgi; use --compat=2.4, or run PHP through php-cgi "
        "(SetHandler application/x-httpd-php))")


def test_proxypassmatch_and_the_backend_type(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body='ProxyPassMatch "^/(.*\\.php)$" "fcgi://127.0.0.1:9000/srv/a/$1"\n'
                                     "ProxyPassMatch ^/static/ !\nProxyFCGIBackendType GENERIC")
    settings = vhost.modules.get(ProxySettings)
    assert settings.pass_match == ((r"^/(.*\.php)$", "fcgi://127.0.0.1:9000/srv/a/$1"), ("^/static/", "!"))
    assert settings.backend_type == "generic"
    assert only(problems(tmp_path, vhost_file(tmp_path, body="ProxyPassMatch ^/x http://b/"))) == (
        'httpd.conf:9: proxy:http://b/: itkgw proxies to FastCGI servers only (write '
        '"proxy:unix:/run/php/site.sock|fcgi://localhost" or "proxy:fcgi://127.0.0.1:9000")')
    assert only(problems(tmp_path, vhost_file(tmp_path, body="ProxyPassMatch ^/x fcgi://b:9/"),
                         compat="2.2")) == (
        "httpd.conf:9: ProxyPassMatch is not available with --compat=2.2 (Apache 2.2 has no mod_proxy_fcgi; "
        "use --compat=2.4)")


def test_addhandler_of_a_fastcgi_server_outside_a_section_is_refused_not_dropped(tmp_path: Path) -> None:
    error = only(problems(tmp_path, vhost_file(tmp_path, 'AddHandler "proxy:fcgi://127.0.0.1:9000" .php')))
    assert "outside a section is not supported" in error and "<FilesMatch" in error
    vhost = the_vhost(tmp_path, '<FilesMatch "\\.php$">\nAddHandler "proxy:fcgi://127.0.0.1:9000" .php\n'
                                "</FilesMatch>")
    assert vhost.directories[0].add_handler == (("proxy:fcgi://127.0.0.1:9000", ".php"),)


@pytest.mark.parametrize("compat", ["2.2", "2.4"])
def test_the_process_model_and_pool_sizes_are_read_in_both_series(tmp_path: Path, compat: str) -> None:
    text = vhost_file(tmp_path, server="ProcessModel pool\nPoolMaxWorkers 4\nPoolMinWorkers 1\n"
                                        "PoolIdleTimeout 9\n")
    settings = load(tmp_path, text, compat).config.modules.get(PoolSettings)
    assert settings == PoolSettings(process_model="pool", max_workers=4, min_workers=1, idle_timeout=9)


def test_a_process_model_itkgw_does_not_have_is_refused_with_the_choices(tmp_path: Path) -> None:
    error = only(problems(tmp_path, vhost_file(tmp_path, server="ProcessModel worker\n")))
    assert error.startswith("httpd.conf:6: 'worker' is not one of itk, pool")


def test_the_process_model_is_a_server_setting(tmp_path: Path) -> None:
    error = only(problems(tmp_path, vhost_file(tmp_path, "ProcessModel pool")))
    assert error.startswith("httpd.conf:9: ProcessModel")


def test_mod_dir_and_mod_mime_settings_of_a_section(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body="FallbackResource /index.php\n<Directory /srv>\nDirectorySlash Off\n"
                                     "ForceType text/plain\nRemoveHandler .php .inc\n"
                                     "FallbackResource disabled\n</Directory>")
    assert vhost.modules.get(DirSettings).fallback == "/index.php"
    section = vhost.directories[0].modules
    assert section.get(DirSettings) == DirSettings("disabled", False)
    assert section.get(DirSettings).fallback is None
    assert section.get(MimeSettings) == MimeSettings("text/plain", (".php", ".inc"))
    assert MimeSettings("None").forced is None
    refused = only(problems(tmp_path, vhost_file(tmp_path, body="ForceType a/b")))
    assert "ForceType not allowed here" in refused
    text = to_toml(load(tmp_path, vhost_file(tmp_path, body="<Directory /srv>\nForceType text/plain\n"
                                                            "RemoveHandler .php\n</Directory>")).config)
    assert 'force_type = "text/plain"' in text and 'remove_handler = [".php"]' in text


def test_alias_match_lines_keep_their_order_and_read_back_from_toml(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, server="AliasMatch ^/shared/(.*) /srv/shared/$1\n",
                      body="ScriptAliasMatch ^/run/([a-z]+) /srv/cgi/$1.cgi\n"
                           "AliasMatch ^/img/(.*)\\.png$ /srv/img/$1.png\nAliasMatch ^/home /srv/index.html")
    matches = vhost.modules.get(AliasMatchSettings)
    assert matches.alias_match == (("^/img/(.*)\\.png$", "/srv/img/$1.png"), ("^/home", "/srv/index.html"))
    assert matches.script_alias_match == (("^/run/([a-z]+)", "/srv/cgi/$1.cgi"),)
    assert (map_path(vhost, "/img/a/b.png").fs_path, map_path(vhost, "/home/x").fs_path) == (
        "/srv/img/a/b.png", "/srv/index.html")
    script = map_path(vhost, "/run/tool/extra")
    assert (script.fs_path, script.script_alias, script.base_dir) == ("/srv/cgi/tool.cgi", True, "/srv/cgi")
    assert map_path(vhost, "/other").fs_path == f"{tmp_path}/other"
    converted = loads_toml(to_toml(load(tmp_path, vhost_file(tmp_path, body="AliasMatch ^/home /srv/i.html"))
                                   .config), "converted.toml").config
    assert converted.vhosts[0].modules.get(AliasMatchSettings).alias_match == (("^/home", "/srv/i.html"),)
    assert "cannot compile regular expression" in only(problems(tmp_path, vhost_file(
        tmp_path, body="AliasMatch ^/(a /srv/a")))
    assert "'srv/a' is not an absolute path" in only(problems(tmp_path, vhost_file(
        tmp_path, body="AliasMatch ^/a srv/a")))


def test_header_edit_takes_a_regex_and_its_replacement(tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, body='Header edit Set-Cookie ^(.*)$ "$1; HttpOnly"\n'
                                     "Header always edit* X-List , ;\nRequestHeader edit X-In secret hidden")
    cookie, listed = vhost.headers
    assert (cookie.action, cookie.value, cookie.replacement) == ("edit", "^(.*)$", "$1; HttpOnly")
    assert listed.always
    assert cookie.edited("a=b", 1) == "a=b; HttpOnly"
    assert listed.edited("a,b,c", 0) == "a;b;c"
    assert HeaderRule("edit", "X", ",", replacement=";").edited("a,b,c", 1) == "a;b,c"
    assert HeaderRule("edit", "X", "(o+)", replacement="<$1\\$2>").edited("foo", 1) == "f<oo$2>"
    assert vhost.modules.get(RequestHeaderSettings).request_headers[0].replacement == "hidden"
    text = to_toml(load(tmp_path, vhost_file(tmp_path, body='Header edit X-A "^a(.*)" "b$1"')).config)
    assert '["edit", "X-A", "^a(.*)", "b$1"]' in text
    again = loads_toml(text, "converted.toml").config.vhosts[0].headers[0]
    assert (again.value, again.replacement) == ("^a(.*)", "b$1")
    assert "needs a header name, a regex and its replacement" in only(problems(tmp_path, vhost_file(
        tmp_path, body="Header edit X-A ^a")))
    assert "cannot compile regular expression" in only(problems(tmp_path, vhost_file(
        tmp_path, body="Header edit X-A ^(a b")))


def test_a_vhost_keeps_its_own_connection_settings_and_defers_to_the_server_s_otherwise(
        tmp_path: Path) -> None:
    vhost = the_vhost(tmp_path, "KeepAlive Off\nKeepAliveTimeout 3\nTimeout 30\nLimitRequestLine 4000",
                      server="MaxKeepAliveRequests 50\nTimeout 90\n")
    settings = vhost.modules.get(RequestSettings)
    assert (settings.keep_alive, settings.keep_alive_timeout, settings.timeout,
            settings.limit_request_line) == (False, 3, 30, 4000)
    assert settings.max_keep_alive_requests is None, "unset in the vhost: the server's, read at use"


def test_pass_env_sets_what_itkgw_s_own_environment_holds(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ITKGW_TEST_PASSED", "from the environment")
    monkeypatch.delenv("ITKGW_TEST_UNSET", raising=False)
    vhost = the_vhost(tmp_path, "PassEnv ITKGW_TEST_PASSED ITKGW_TEST_UNSET\nSetEnv OTHER 1")
    assert dict(vhost.set_env) == {"ITKGW_TEST_PASSED": "from the environment", "OTHER": "1"}
    assert "expected one or more variable names" in only(problems(tmp_path, vhost_file(tmp_path, "PassEnv")))


def test_rlimits_are_read_as_httpd_reads_them(tmp_path: Path) -> None:
    hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)[1]
    vhost = the_vhost(tmp_path, "RLimitCPU 30\nRLimitMEM 1000000 2000000\nRLimitNPROC max")
    settings = vhost.modules.get(RequestSettings)
    assert settings.rlimit_cpu == (30, hard_cpu), "one word: the hard limit stays as itkgw started"
    assert settings.rlimit_mem == (1_000_000, 2_000_000)
    assert settings.rlimit_nproc == (resource.getrlimit(resource.RLIMIT_NPROC)[1],) * 2
    assert only(problems(tmp_path, vhost_file(tmp_path, "RLimitCPU lots"))).endswith(
        "'lots' is not a number or max (write it as a soft limit and a hard one, e.g. 60 120, or max)")
    assert "the soft limit 90 is above the hard limit 60" in only(
        problems(tmp_path, vhost_file(tmp_path, "RLimitCPU 90 60")))
