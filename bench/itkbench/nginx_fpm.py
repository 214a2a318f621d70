"""nginx with one php-fpm pool and one fcgiwrap per user, from their own configs.

Debian's /etc/nginx sites and /etc/php/8.2/fpm pools are never read: nginx
runs with ``-p WORKDIR -c nginx.conf`` (including only the stock
mime.types and fastcgi_params), php-fpm with ``-y php-fpm.conf``.
"""

from __future__ import annotations

import grp
import os

from itkbench import systems
from itkbench.processes import Launched
from itkbench.sites import WEB_USER, Site

NGINX = "/usr/sbin/nginx"
PHP_FPM = "/usr/sbin/php-fpm8.2"
FCGIWRAP = "/usr/sbin/fcgiwrap"
#: Children per user: static, so none is forked during a cell.
FPM_CHILDREN = 16
FCGIWRAP_CHILDREN = 8

FPM_GLOBAL = """\
[global]
pid = {root}/php-fpm.pid
error_log = {root}/php-fpm.log
log_level = warning
daemonize = no
"""

FPM_POOL = """
[{user}]
user = {user}
group = {user}
listen = {socket}
listen.owner = {web_user}
listen.group = {web_user}
listen.mode = 0660
listen.backlog = 511
{pm}"""
#: The process manager lines of a pool: a fixed number of children, so none is forked during a cell.
STATIC_PM = "pm = static\npm.max_children = {children}\n"

NGINX_CONF = """\
user {web_user};
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
daemon off;

events {{
    worker_connections 1024;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout {keep_alive_timeout};
    keepalive_requests {max_keep_alive_requests};
    client_body_temp_path {root}/nginx-tmp/body;
    proxy_temp_path {root}/nginx-tmp/proxy;
    fastcgi_temp_path {root}/nginx-tmp/fastcgi;
    uwsgi_temp_path {root}/nginx-tmp/uwsgi;
    scgi_temp_path {root}/nginx-tmp/scgi;
{servers}}}
"""

NGINX_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        server_name {server_name};
        root {docroot};
        location ~ \\.php$ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass unix:{fpm_socket};
        }}
        location ~ \\.cgi$ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass unix:{cgi_socket};
        }}
    }}
"""


class NginxFpm(systems.System):
    name = "nginx+php-fpm"
    kind = "nginx"

    def fpm_socket(self, site: Site) -> str:
        return str(self.workdir / f"fpm-{site.user.pw_name}.sock")

    def cgi_dir(self, site: Site) -> str:
        return str(self.workdir / f"fcgiwrap-{site.user.pw_name}")

    def cgi_socket(self, site: Site) -> str:
        return self.cgi_dir(site) + "/fcgiwrap.sock"

    def fpm_config_text(self) -> str:
        text = FPM_GLOBAL.format(root=self.workdir)
        for site in self.sites:
            text += FPM_POOL.format(user=site.user.pw_name, socket=self.fpm_socket(site),
                                    web_user=WEB_USER, pm=STATIC_PM.format(children=FPM_CHILDREN))
        return text

    def nginx_config_text(self) -> str:
        servers = "".join(
            NGINX_SERVER.format(port=self.port, server_name=site.server_name, docroot=site.docroot,
                                fpm_socket=self.fpm_socket(site), cgi_socket=self.cgi_socket(site))
            for site in self.sites
        )
        return NGINX_CONF.format(web_user=WEB_USER, root=self.workdir, servers=servers,
                                 keep_alive_timeout=systems.KEEP_ALIVE_TIMEOUT,
                                 max_keep_alive_requests=systems.MAX_KEEP_ALIVE_REQUESTS)

    def launch(self) -> None:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        fpm_config = self.workdir / "php-fpm.conf"
        fpm_config.write_text(self.fpm_config_text())
        self.launched.append(Launched("php-fpm", [PHP_FPM, "-F", "-y", str(fpm_config)], self.workdir,
                                      env=env))
        self._launch_fcgiwraps(env)
        (self.workdir / "nginx-tmp").mkdir(exist_ok=True)
        nginx_config = self.workdir / "nginx.conf"
        nginx_config.write_text(self.nginx_config_text())
        argv = [NGINX, "-p", f"{self.workdir}/", "-c", str(nginx_config),
                "-e", str(self.workdir / "nginx-error.log")]
        self.launched.append(Launched("nginx", argv, self.workdir, env=env))

    def _launch_fcgiwraps(self, env: dict[str, str]) -> None:
        """One fcgiwrap per user, run as that user.

        Its socket directory is the user's with the web group and the setgid
        bit, so the socket belongs to the web group and only nginx connects.
        """
        web_gid = grp.getgrnam(WEB_USER).gr_gid
        for site in self.sites:
            directory = self.cgi_dir(site)
            os.mkdir(directory)
            os.chown(directory, site.user.pw_uid, web_gid)
            os.chmod(directory, 0o2750)
            argv = [FCGIWRAP, "-c", str(FCGIWRAP_CHILDREN), "-s", f"unix:{self.cgi_socket(site)}"]
            self.launched.append(Launched(f"fcgiwrap-{site.user.pw_name}", argv, self.workdir, env=env,
                                          user=site.user.pw_uid, group=site.user.pw_gid, umask=0o007))
