"""itkgw: a per-user web gateway in the mpm-itk process model.

The package is split by who may do what, lowest room first; a room imports
only the rooms above it in this list (tests/unit/test_layout.py holds it):

    rules/     Apache's rule languages: ap_expr, Require and Order/Allow/Deny,
               mod_rewrite. Pure: parsed when the config is read, evaluated
               per request.
    config/    the model, the TOML and Apache readers, the directive table,
               -t checks, -S and convert. Reads files; never touches a socket
               or a uid.
    http/      the HTTP/1.1 connection driver: the only code that uses h11.
    request/   what happens once a request's head is read: vhost choice,
               URL-to-file mapping, per-directory merge, access and identity.
    handlers/  what serves a request after the identity switch: static files,
               CGI, PHP through php-cgi, FastCGI servers (php-fpm pools).
    mpm/       the process model: master, workers, connection children,
               scoreboard, signals, privileges, seccomp. The only code that
               forks the server, holds capabilities or changes ids.

native.py, run first, loads the request path and the process model's
connection code (native.COMPILED) compiled to C by etc/build-native, when that
build matches every source; otherwise the same code runs as Python.

A request's path: mpm.worker accepts, mpm.child reads the head with
http.connection, request.vhosts and request.routing choose the vhost, the
per-directory settings and the identity, mpm.privs switches to it, then
handlers.dispatch hands the request to static, cgi, phpcgi or proxy_fcgi.

Adding an Apache module: write ``itkgw/config/modules/<name>.py`` declaring
``MODULE = Module(...)`` with the names <IfModule> knows it by and its
directives (see itkgw.config.directive); both readers, ``itkgw -t`` and
``itkgw convert`` know its directives from then on. Its code goes in the
room of what it does: a handler in handlers/, a request phase in request/.
"""

import functools

from itkgw import native

# Before any other module of the package is imported: the compiled ones load in their place.
native.install()

__version__ = "0.1.0"
SERVER_SOFTWARE = f"itkgw/{__version__}"
#: The httpd version each mpm-itk series is answered as (<IfVersion>, the scripts' banner).
HTTPD_VERSIONS = {"2.4": (2, 4, 62), "2.2": (2, 2, 34)}


@functools.lru_cache(maxsize=4)
def script_software(compat: str) -> str:
    """SERVER_SOFTWARE as scripts see it: httpd's banner (ServerTokens OS, Debian's default),
    then itkgw's name. Applications ask it whether .htaccess and mod_rewrite work (WordPress's
    $is_apache decides its permalinks and whether it writes .htaccess): here they do."""
    version = ".".join(map(str, HTTPD_VERSIONS.get(compat, HTTPD_VERSIONS["2.4"])))
    return f"Apache/{version} (Debian) {SERVER_SOFTWARE}"
