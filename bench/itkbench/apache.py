"""Apache 2.4 with mpm-itk and mod_php, from its own config and ServerRoot.

Debian's /etc/apache2 is never read: ``apache2 -d WORKDIR -f apache2.conf``
with the modules loaded from /usr/lib/apache2/modules. Nor is PHP's conf.d:
mod_php reads the extensions of a named set of packages from a scan directory
in the work directory, so the benchmark runs Apache twice, with the PHP that
installing mod_php brings and with the extensions a real PHP host loads (every
fork copies the larger process).
"""

from __future__ import annotations

import re
from pathlib import Path

from itkbench import systems
from itkbench.processes import Launched
from itkbench.sites import OVERRIDE_TREES, WEB_USER

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
#: mpm-itk is prefork plus the identity switch; mod_php needs prefork too.
LOAD = ("mpm_prefork", "authz_core", "mime", "dir", "cgi")

#: Where each php8.2-NAME package keeps its extensions' ini files (Debian's
#: phpenmod links them into every SAPI's conf.d from there).
PHP_PACKAGE_INIS = "/usr/share/php8.2-{package}/{package}"
#: What ``apt-get install libapache2-mod-php8.2`` brings.
DEFAULT_PHP = ("common", "opcache", "readline")
#: What a shared PHP host loads for WordPress, Nextcloud and Laravel.
HOST_PHP = (*DEFAULT_PHP, "mysql", "gd", "intl", "curl", "xml", "mbstring", "zip")
PRIORITY = re.compile(r"^;\s*priority=(\d+)", re.MULTILINE)

SERVER_CONF = """\
ServerRoot "{root}"
{load}
LoadModule mpm_itk_module {modules}/mpm_itk.so
LoadModule php_module {modules}/libphp8.2.so

ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root}/apache2.pid
DefaultRuntimeDir {root}
Mutex file:{root} default
ErrorLog {root}/error.log
LogLevel warn
User {user}
Group {user}

StartServers {start}
MinSpareServers {min_spare}
MaxSpareServers {max_spare}
ServerLimit {max_workers}
MaxRequestWorkers {max_workers}
MaxConnectionsPerChild 0

KeepAlive On
KeepAliveTimeout {keep_alive_timeout}
MaxKeepAliveRequests {max_keep_alive_requests}
HostnameLookups Off
TypesConfig /etc/mime.types
DirectoryIndex index.html index.php

<Directory />
    AllowOverride None
    Require all denied
</Directory>
<FilesMatch "\\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>
"""

VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName {server_name}
    DocumentRoot {docroot}
    AssignUserID {user} {user}
    <Directory {docroot}>
        Options +ExecCGI
        AddHandler cgi-script .cgi
        AllowOverride None
        Require all granted
    </Directory>
{override_dirs}</VirtualHost>
"""


def php_scan_dir(directory: Path, packages: tuple[str, ...]) -> Path:
    """A conf.d for PHP_INI_SCAN_DIR linking the extensions of ``packages``,
    named and ordered as phpenmod would (priority-name.ini)."""
    directory.mkdir(parents=True, exist_ok=True)
    for package in packages:
        source = Path(PHP_PACKAGE_INIS.format(package=package))
        inis = sorted(source.glob("*.ini"))
        if not inis:
            raise RuntimeError(f"{source} has no ini files: is php8.2-{package} installed? (bench/provision)")
        for ini in inis:
            found = PRIORITY.search(ini.read_text())
            priority = found.group(1) if found else "20"
            (directory / f"{priority}-{ini.name}").symlink_to(ini)
    return directory


class ApacheItk(systems.System):
    name = "Apache+mpm-itk"
    kind = "apache"
    php_packages = DEFAULT_PHP

    def config_text(self) -> str:
        root = self.workdir
        load = "\n".join(f"LoadModule {name}_module {MODULES}/mod_{name}.so" for name in LOAD)
        text = SERVER_CONF.format(
            root=root, load=load, modules=MODULES, port=self.port, user=WEB_USER,
            start=systems.START_SERVERS, min_spare=systems.MIN_SPARE, max_spare=systems.MAX_SPARE,
            max_workers=systems.MAX_WORKERS, keep_alive_timeout=systems.KEEP_ALIVE_TIMEOUT,
            max_keep_alive_requests=systems.MAX_KEEP_ALIVE_REQUESTS,
        )
        for site in self.sites:
            override_dirs = "".join(
                f"    <Directory {site.docroot / tree}>\n        AllowOverride {override}\n    </Directory>\n"
                for tree, override in OVERRIDE_TREES.items())
            text += VHOST.format(port=self.port, server_name=site.server_name, docroot=site.docroot,
                                 user=site.user.pw_name, override_dirs=override_dirs)
        return text

    def launch(self) -> None:
        config = self.workdir / "apache2.conf"
        config.write_text(self.config_text())
        scan_dir = php_scan_dir(self.workdir / "php-conf.d", self.php_packages)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "PHP_INI_SCAN_DIR": str(scan_dir)}
        argv = [APACHE, "-d", str(self.workdir), "-f", str(config), "-DFOREGROUND"]
        self.launched.append(Launched("apache2", argv, self.workdir, env=env))


class ApacheItkHostPhp(ApacheItk):
    """The same Apache with a real PHP host's extensions in every child."""

    name = "Apache+mpm-itk, host PHP"
    kind = "apache-host-php"
    php_packages = HOST_PHP
