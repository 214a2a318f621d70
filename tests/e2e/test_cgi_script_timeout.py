"""CGIScriptTimeout (mod_cgi, Apache 2.4.10+): how long a script may stay silent, per directory.

A script that says nothing for longer than its directory's CGIScriptTimeout
is killed and the client gets 504, while the same script elsewhere has the
server's Timeout; a vhost's value is the default of its directories.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.e2e.conftest import StartFiles
from tests.e2e.itkgw_proc import ConfigFiles
from tests.sites import ALICE, Site

#: Silent for PAUSE seconds, then a page.
SLOW_CGI = """#!/bin/sh
sleep "${PAUSE:-3}"
printf 'Content-Type: text/plain\\r\\n\\r\\nawake\\n'
"""


def config(sites: dict[str, Site], vhost_timeout: str = "") -> object:
    alice = sites[ALICE]

    def files(server: ConfigFiles) -> dict[str, str]:
        return {"httpd.conf": f"""\
User itkt-www
Group itkt-www
Listen 127.0.0.1:{server.port}
PidFile {server.workdir}/itkgw.pid
ErrorLog {server.error_log}
LogLevel debug
StartServers 1
MinSpareServers 1
MaxSpareServers 2
Timeout 10
<VirtualHost 127.0.0.1:{server.port}>
    ServerName alice.test
    DocumentRoot {alice.htdocs}
    AssignUserID {ALICE} {ALICE}
    ScriptAlias /cgi-bin/ {alice.cgi_bin}/
    {vhost_timeout}
    SetEnv PAUSE 3
    <Directory {alice.cgi_bin}/quick>
        CGIScriptTimeout 1500ms
    </Directory>
</VirtualHost>
"""}

    return files


def install_script(site: Site, directory: Path) -> None:
    """slow.cgi in ``directory`` below the site's cgi-bin, both the site user's."""
    directory.mkdir(exist_ok=True)
    script = directory / "slow.cgi"
    script.write_text(SLOW_CGI)
    for path in (directory, script):
        os.chown(path, site.user.pw_uid, site.user.pw_gid)
        path.chmod(0o750)


def timed_get(server: ConfigFiles, path: str) -> tuple[int, bytes, float]:
    started = time.monotonic()
    response = server.request("alice.test", path)
    return response.status, response.body, time.monotonic() - started


def test_a_directory_s_timeout_cuts_a_silent_script_short(start: StartFiles,
                                                           docroots: dict[str, Site]) -> None:
    alice = docroots[ALICE]
    install_script(alice, alice.cgi_bin / "quick")
    install_script(alice, alice.cgi_bin / "patient")
    server = start(config(docroots), main="httpd.conf")

    status, body, took = timed_get(server, "/cgi-bin/quick/slow.cgi")
    assert status == 504
    assert 1.4 < took < 2.9
    assert "AH01220: Timeout waiting for output from CGI script" in server.error_log_text()

    status, body, _ = timed_get(server, "/cgi-bin/patient/slow.cgi")
    assert (status, body) == (200, b"awake\n")  # Timeout 10 applies outside quick/


def test_a_vhost_s_timeout_is_its_directories_default(start: StartFiles, docroots: dict[str, Site]) -> None:
    alice = docroots[ALICE]
    install_script(alice, alice.cgi_bin / "patient")
    server = start(config(docroots, vhost_timeout="CGIScriptTimeout 1"), main="httpd.conf")

    status, _, took = timed_get(server, "/cgi-bin/patient/slow.cgi")
    assert status == 504
    assert 0.9 < took < 2.5
