"""Side by side with Apache on the same requests: what a client can tell apart.

``cd bench && python3 -m itkbench.fidelity`` writes one Apache-syntax configuration
(mpm-itk, mod_php and the modules shared hosts load; one vhost, AllowOverride All),
serves it with Apache + mpm-itk + mod_php and with itkgw, each on its own port over
one document root of the bench user, sends each case's request to both as raw bytes,
and prints SAME or the difference: status line, headers and body. Left out of the
comparison: Date, Server, ETag, Last-Modified, the keep-alive headers, the framing
(chunked or not, when the bodies are equal), Allow's order (httpd's follows a
randomly seeded hash), multipart boundaries, and the servers' names and ports in
bodies. Cases in KNOWN differ for a reason given there. The exit status is 1 when
another case differs. ``--only NAME`` runs the cases whose name contains NAME;
``--process-model pool`` runs itkgw's pool model.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from itkbench.apache import APACHE, MODULES, SERVER_CONF
from itkbench.itkgw_server import REPO
from itkbench.processes import Launched
from itkbench.sites import WEB_USER, create_users, remove_users
from itkbench.systems import free_port

USER = "itkb-alice"
HOST = "alice.test"
#: The modules a shared host's httpd loads besides the benchmark's (mpm-itk and mod_php come after).
LOAD = ("mpm_prefork", "authz_core", "authz_host", "authz_user", "authn_core", "authn_file", "auth_basic",
        "access_compat", "mime", "dir", "alias", "rewrite", "headers", "env", "setenvif", "expires",
        "filter", "deflate", "negotiation", "autoindex", "cgi")

#: httpd's server part is the benchmark's (apache.SERVER_CONF's first lines, shared), then this.
CONFIG = """StartServers 2
KeepAlive On
TypesConfig /etc/mime.types
DirectoryIndex index.html index.cgi index.pl index.php index.xhtml index.htm
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
<FilesMatch ".+\\.ph(ar|p|tml)$">
    SetHandler application/x-httpd-php
</FilesMatch>
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
<VirtualHost 127.0.0.1:{port}>
    ServerName {host}
    DocumentRoot {docroot}
    AssignUserID {user} {user}
    <Directory {docroot}>
        Options Indexes FollowSymLinks ExecCGI
        AddHandler cgi-script .cgi
        AllowOverride All
        Require all granted
    </Directory>
</VirtualHost>
"""


@dataclass(frozen=True)
class Case:
    """One request, and the files (below the document root) it needs."""

    name: str
    request: bytes
    files: dict[str, str] = field(default_factory=dict)


def get(path: str, method: str = "GET", headers: tuple[tuple[str, str], ...] = (), body: bytes = b"",
        version: str = "HTTP/1.1") -> bytes:
    """A request that closes the connection after its answer."""
    lines = [f"{method} {path} {version}", f"Host: {HOST}", *(f"{name}: {value}" for name, value in headers)]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def kept_then_closed(first: bytes, second: bytes) -> bytes:
    """Two requests on one connection, the first asking to keep it."""
    return first.replace(b"Connection: close\r\n", b"") + second


def raw(target: bytes, method: bytes = b"GET", form: bytes = b"") -> bytes:
    """A request for ``target`` exactly as given (bytes past ASCII unescaped), closing after it;
    ``form``: an urlencoded body."""
    body = (b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n" % len(form)
            if form else b"")
    return (method + b" " + target + b" HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n" + body
            + b"Connection: close\r\n\r\n" + form)


SERVER_VARS = ("SCRIPT_NAME", "PHP_SELF", "PATH_INFO", "PATH_TRANSLATED", "REQUEST_URI", "QUERY_STRING",
               "SCRIPT_FILENAME", "DOCUMENT_ROOT", "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH",
               "SERVER_NAME", "REDIRECT_STATUS", "REDIRECT_URL", "PHP_AUTH_USER", "REMOTE_USER")
SERVER_PHP = ("<?php header('Content-Type: text/plain');\n"
              f"foreach ({list(SERVER_VARS)!r} as $k)\n"
              "    echo $k, '=', var_export($_SERVER[$k] ?? null, true), \"\\n\";\n"
              "echo json_encode($_GET), json_encode($_POST), file_get_contents('php://input');\n")
FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
WORDPRESS = ("RewriteEngine On\nRewriteBase /wp/\nRewriteRule ^index\\.php$ - [L]\n"
             "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteCond %{REQUEST_FILENAME} !-d\n"
             "RewriteRule . /wp/index.php [L]\n")
LARAVEL = ("Options -MultiViews -Indexes\nRewriteEngine On\nRewriteCond %{HTTP:Authorization} .\n"
           "RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]\n"
           "RewriteCond %{REQUEST_FILENAME} !-d\nRewriteCond %{REQUEST_URI} (.+)/$\n"
           "RewriteRule ^ %1 [L,R=301]\nRewriteCond %{REQUEST_FILENAME} !-d\n"
           "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^ index.php [L]\n")
#: Nextcloud's relay of Authorization for FastCGI, its headers, and its error documents.
NEXTCLOUD = ('<IfModule mod_setenvif.c>\nSetEnvIfNoCase ^Authorization$ "(.+)" XAUTHORIZATION=$1\n'
             "RequestHeader set XAuthorization %{XAUTHORIZATION}e env=XAUTHORIZATION\n</IfModule>\n"
             'Header always set Referrer-Policy "no-referrer"\n'
             'Header always set X-Frame-Options "SAMEORIGIN"\n'
             "ErrorDocument 404 /nc/index.php/error/404\nRewriteEngine on\n"
             "RewriteRule ^\\.well-known/carddav /nc/remote.php/dav/ [R=301,L]\n")
UPLOAD_BOUNDARY = "XyZbound"
UPLOAD = (("Content-Type", f"multipart/form-data; boundary={UPLOAD_BOUNDARY}"),)
FILES_PHP = ("<?php header('Content-Type: text/plain'); foreach ($_FILES as $k => $f) echo $k, ' ', "
             "json_encode([$f['name'], $f['type'], $f['size'], $f['error'],"
             " is_uploaded_file($f['tmp_name'])]), "
             "\"\\n\"; echo json_encode($_POST), ' ', strlen(file_get_contents('php://input'));")


def multipart(fields: tuple[tuple[str, str | None, bytes], ...]) -> bytes:
    """A multipart/form-data body of (name, file name or None, content) fields."""
    body = b""
    for name, filename, content in fields:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"\r\nContent-Type: text/plain'
        body += f"--{UPLOAD_BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += content + b"\r\n"
    return body + f"--{UPLOAD_BOUNDARY}--\r\n".encode()


#: A description longer than a listing's column, with a tag and an entity (which count as none and one).
LONG = "A rather long <b>bold</b> description &amp; an entity and more words"
#: Real applications' .htaccess files (W3 Total Cache's browser and page cache, Joomla's and
#: Drupal's), under the directories their RewriteBase names.
_APPS = Path(__file__).resolve().parent / "htaccess"
W3TC = (_APPS / "w3tc.htaccess").read_text()
JOOMLA = (_APPS / "joomla.htaccess").read_text()
DRUPAL = (_APPS / "drupal.htaccess").read_text()
MODERN = (("User-Agent", "Mozilla/5.0"), ("Accept-Encoding", "gzip"))
W3TC_FILES = {"w3/.htaccess": W3TC, "w3/index.php": SERVER_PHP, "w3/s.css": "body{color:red}\n" * 100,
              "w3/cache/page_enhanced/alice.test/about/_index.html_gzip": "GZCACHED"}
JOOMLA_FILES = {"jo/.htaccess": JOOMLA, "jo/index.php": SERVER_PHP, "jo/robots.txt": "r"}
DRUPAL_FILES = {"dr/.htaccess": DRUPAL, "dr/index.php": SERVER_PHP, "dr/composer.json": "{}",
                "dr/core/lib/x.php": "<?php echo 1;", "dr/a.svgz": "svg", "dr/x.inc": "inc",
                "dr/sites/default/files/css/css_abc.css": "body{}" * 50,
                "dr/sites/default/files/css/css_abc.css.gz": "GZ"}


#: An ErrorDocument script for every status a handler or a refusal gives, and what it is told.
ERROR_DOCUMENTS = "".join(f"ErrorDocument {code} /ed/e.php\n" for code in (403, 404, 405, 501))
BODY_PHP = ("<?php echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['REDIRECT_REQUEST_METHOD'] ?? '-', ' [',"
            " file_get_contents('php://input'), '] ', json_encode($_POST);")
AUTH_PHP = ("<?php header('Content-Type: text/plain'); foreach (['PHP_AUTH_USER', 'PHP_AUTH_PW', "
            "'PHP_AUTH_DIGEST', 'AUTH_TYPE', 'HTTP_AUTHORIZATION'] as $k) echo $k, '=', "
            "var_export($_SERVER[$k] ?? null, true), \"\\n\"; print_r(getallheaders());")

UMASK_PHP = ("<?php file_put_contents(__DIR__ . '/made.txt', 'x'); printf('%04o %o', umask(),"
             " fileperms(__DIR__ . '/made.txt') & 0777); unlink(__DIR__ . '/made.txt');")

#: Files some cases share: a text file, a script echoing its method, path info and query, and one
#: printing the variables a rewrite or a redirect sets.
_TEXT_FILE = {"s/a.txt": "text\n"}
_METHOD_PHP = {"qp/i.php": "<?php header('Content-Type: text/plain'); echo $_SERVER['REQUEST_METHOD'], ' ', "
                           "$_SERVER['PATH_INFO'] ?? '-', ' ', $_SERVER['QUERY_STRING'];"}
_VARS_PHP = ("<?php header('Content-Type: text/plain'); foreach (['REDIRECT_FOO', 'FOO', 'REDIRECT_STATUS', "
             "'REDIRECT_URL', 'REDIRECT_QUERY_STRING', 'PATH_INFO', 'SCRIPT_NAME', 'REQUEST_URI', "
             "'QUERY_STRING'] as $k) echo $k, '=', var_export($_SERVER[$k] ?? null, true), \"\\n\";")

CASES = (
    Case("php $_SERVER", get("/p/s.php/extra/path?a=1&b[]=2"), {"p/s.php": SERVER_PHP}),
    Case("php POST form", get("/p/s.php", "POST", FORM, b"x=1&y=two"), {"p/s.php": SERVER_PHP}),
    Case("php HEAD", get("/p/s.php", "HEAD"), {"p/s.php": SERVER_PHP}),
    Case("php 201", get("/p/c.php"), {"p/c.php": "<?php http_response_code(201); echo 'made';"}),
    Case("php HTTP/1.1 reason", get("/p/t.php"), {"p/t.php": "<?php header('HTTP/1.1 418 I am a teapot');"}),
    Case("php HTTP/1.0 line", get("/p/h.php"),
         {"p/h.php": "<?php header('HTTP/1.0 404 Not Found'); echo 'x';"}),
    Case("php fatal error", get("/p/f.php"), {"p/f.php": "<?php no_such_function();"}),
    Case("php Location", get("/p/l.php"), {"p/l.php": "<?php header('Location: /p/s.php'); echo 'moved';"}),
    Case("php 204", get("/p/n.php"), {"p/n.php": "<?php http_response_code(204); echo 'body';"}),
    Case("php wrong length", get("/p/w.php"),
         {"p/w.php": "<?php header('Content-Length: 3'); echo 'abcdef';"}),
    Case("php cookies", get("/p/k.php"), {"p/k.php": "<?php setcookie('a', '1'); setcookie('b', '2');"}),
    Case("php validators", get("/p/v.php", headers=(("If-None-Match", '"abc"'),)),
         {"p/v.php": "<?php header('ETag: \"abc\"'); echo 'not a 304 under mod_php';"}),
    Case("php missing", get("/p/missing.php/x")),
    Case("php engine off", get("/up/x.php"),
         {"up/.htaccess": "php_flag engine off\n", "up/x.php": "<?php echo 1;"}),
    Case("php_admin in .htaccess", get("/pa/x.php"),
         {"pa/.htaccess": "php_admin_value memory_limit 64M\n", "pa/x.php": "<?php echo 1;"}),
    Case("php_value of a php.ini-only setting", get("/ps2/x.php"),
         {"ps2/.htaccess": "php_value disable_functions phpinfo\nphp_flag allow_url_include on\n"
                           "php_flag display_errors yes\n",
          "ps2/x.php": "<?php echo json_encode(array_map('ini_get',"
                       " ['disable_functions', 'allow_url_include', 'display_errors']));"}),
    Case("php_value", get("/pv/x.php"),
         {"pv/.htaccess": "php_value precision 7\n", "pv/x.php": "<?php echo ini_get('precision');"}),
    Case("AddHandler .html", get("/ah/x.html"),
         {"ah/.htaccess": "AddHandler application/x-httpd-php .html\n", "ah/x.html": "<?php echo 'ran';"}),
    Case("static", get("/s/a.txt"), {"s/a.txt": "text\n"}),
    Case("static range", get("/s/a.txt", headers=(("Range", "bytes=0-1,3-"),)), {"s/a.txt": "text\n"}),
    Case("static 416", get("/s/a.txt", headers=(("Range", "bytes=90-"),)), {"s/a.txt": "text\n"}),
    Case("directory slash", get("/s?x=1"), {"s/a.txt": "text\n"}),
    Case("listing", get("/s/"), {"s/a.txt": "text\n"}),
    Case("listing, the client's form and pattern", get("/s/?F=2;V=1;P=a*;C=S"), {"s/a.txt": "text\n"}),
    Case("OPTIONS *", get("*", "OPTIONS"), {"index.php": "<?php echo 'index';"}),
    Case("OPTIONS file", get("/s/a.txt", "OPTIONS"), {"s/a.txt": "text\n"}),
    Case("DELETE file", get("/s/a.txt", "DELETE"), {"s/a.txt": "text\n"}),
    Case("HEAD 404", get("/nope", "HEAD")),
    Case("Expect other", get("/s/a.txt", headers=(("Expect", "x"),)), {"s/a.txt": "text\n"}),
    Case("fragment", get("/s/a.txt#top"), {"s/a.txt": "text\n"}),
    Case("control character in a header", get("/s/a.txt", headers=(("X-T", "a\x01b"),)),
         {"s/a.txt": "text\n"}),
    Case("empty Host", b"GET /s/a.txt HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n", {"s/a.txt": "text\n"}),
    Case("gzip, chunked", b"POST /s/a.txt HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n"
                          b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", {"s/a.txt": "text\n"}),
    Case(".htpasswd", get("/.htpasswd"), {".htpasswd": "u:x\n"}),
    Case("CGI", get("/c/e.cgi/pi?q=1"),
         {"c/e.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
                     "env | grep -v '^PATH=\\|^SERVER_\\|^REMOTE_PORT' | sort\n"}),
    Case("CGI 204", get("/c/n.cgi"),
         {"c/n.cgi": "#!/bin/sh\nprintf 'Status: 204\\nContent-Type: text/plain\\nX-A: 1\\n\\n'\n"}),
    Case("CGI no head", get("/c/bad.cgi"), {"c/bad.cgi": "#!/bin/sh\necho text\n"}),
    Case("WordPress route", get("/wp/2024/01/post/?x=1"),
         {"wp/.htaccess": WORDPRESS, "wp/index.php": SERVER_PHP}),
    Case("rewrite redirect, no base", get("/rw/old"),
         {"rw/.htaccess": "RewriteEngine On\nRewriteRule ^old$ new [R=301,L]\n"}),
    Case("Laravel front controller", get("/lv/users/5?x=1", headers=(("Authorization", "Bearer t"),)),
         {"lv/.htaccess": LARAVEL, "lv/index.php": SERVER_PHP}),
    Case("Laravel trailing slash", get("/lv/users/"), {"lv/.htaccess": LARAVEL, "lv/index.php": SERVER_PHP}),
    Case("Nextcloud Authorization relay", get("/nc/s.php", headers=(("Authorization", "Bearer t"),)),
         {"nc/.htaccess": NEXTCLOUD, "nc/s.php": "<?php echo $_SERVER['HTTP_XAUTHORIZATION'] ?? '-';",
          "nc/index.php": SERVER_PHP}),
    Case("Nextcloud error document", get("/nc/missing"),
         {"nc/.htaccess": NEXTCLOUD, "nc/index.php": SERVER_PHP}),
    Case("Nextcloud well-known", get("/nc/.well-known/carddav"), {"nc/.htaccess": NEXTCLOUD}),
    Case("php umask", get("/um/w.php"), {"um/w.php": UMASK_PHP}),
    Case("rewrite NE redirect", get("/rn/x"),
         {"rn/.htaccess": "RewriteEngine On\nRewriteBase /rn/\nRewriteRule ^x$ /rn/y#top [NE,R=302,L]\n"}),
    Case("rewrite space in query", get("/rs/a%20b"),
         {"rs/.htaccess": "RewriteEngine On\nRewriteRule ^(.+)$ t.php?p=$1 [L]\n",
          "rs/t.php": "<?php echo 1;"}),
    Case("rewrite to PHP with path info", get("/ri/api/users/5"),
         {"ri/.htaccess": "RewriteEngine On\nRewriteRule ^api/(.*)$ index.php/$1 [L]\n",
          "ri/index.php": SERVER_PHP}),
    Case("rewrite query", get("/rq/u.json?x=1"),
         {"rq/.htaccess": "RewriteEngine On\nRewriteRule ^(.*)\\.json$ a.php?f=$1 [QSA,L]\n",
          "rq/a.php": "<?php echo json_encode($_GET);"}),
    Case("headers and expires", get("/hd/a.txt"),
         {"hd/.htaccess": "Header set X-A 1\nHeader always set X-B 2\nExpiresActive On\n"
                          "ExpiresByType text/plain \"access plus 1 hour\"\n", "hd/a.txt": "a"}),
    Case("ErrorDocument", get("/ed/nope"),
         {"ed/.htaccess": "ErrorDocument 404 \"gone away\"\n"}),
    Case("ErrorDocument PHP", get("/ep/nope?q=1"),
         {"ep/.htaccess": "ErrorDocument 404 /ep/err.php\n", "ep/err.php": SERVER_PHP}),
    Case("ErrorDocument PHP, HEAD", get("/ep/nope", "HEAD"),
         {"ep/.htaccess": "ErrorDocument 404 /ep/err.php\n", "ep/err.php": SERVER_PHP}),
    Case("ErrorDocument PHP for a 403", get("/eq/x.txt", "POST", FORM, b"a=1"),
         {"eq/.htaccess": "ErrorDocument 403 /ep/err.php\nRequire all denied\n", "eq/x.txt": "x",
          "ep/err.php": SERVER_PHP}),
    Case("ErrorDocument file", get("/ef/nope"),
         {"ef/.htaccess": "ErrorDocument 404 /ef/404.html\n", "ef/404.html": "<p>not here</p>\n"}),
    Case("ErrorDocument missing", get("/em/nope"), {"em/.htaccess": "ErrorDocument 404 /em/none.html\n"}),
    Case("ErrorDocument unclosed quote", get("/eu/nope"),
         {"eu/.htaccess": 'ErrorDocument 404 "Gone, sorry\n'}),
    Case("Redirect seeother", get("/rso/a?x=1"), {"rso/.htaccess": "Redirect seeother /rso/a /rso/b\n"}),
    Case("ErrorDocument for a 401", get("/ea/x.txt"),
         {"ea/.htaccess": "AuthType Basic\nAuthName x\nAuthUserFile /nonexistent\nRequire valid-user\n"
                          "ErrorDocument 401 /ef/404.html\n", "ea/x.txt": "x",
          "ef/404.html": "<p>not here</p>\n"}),
    Case("Basic auth", get("/au/x.php", headers=(("Authorization", "Basic Ym9iOndyb25n"),)),
         {"au/.htaccess": "AuthType Basic\nAuthName x\nAuthUserFile /nonexistent\nRequire valid-user\n",
          "au/x.php": "<?php echo 1;"}),
    Case("bad .htaccess", get("/bh/a.txt"), {"bh/.htaccess": "NoSuchDirective on\n", "bh/a.txt": "a"}),
    Case("IfModule of PHP 7 under PHP 8", get("/m7/x.php"),
         {"m7/.htaccess": "<IfModule mod_php7.c>\nphp_value memory_limit 64M\n</IfModule>\n"
                          "<IfModule mod_php.c>\nphp_value precision 7\n</IfModule>\n",
          "m7/x.php": "<?php echo ini_get('memory_limit'), ' ', ini_get('precision');"}),
    Case("IfVersion guard", get("/iv/a.txt"),
         {"iv/.htaccess": "<IfVersion < 2.4>\nOrder deny,allow\nDeny from all\n</IfVersion>\n"
                          "<IfVersion >= 2.4>\nRequire all denied\n</IfVersion>\n", "iv/a.txt": "a"}),
    Case("old .htaccess directives", get("/od/a.txt"),
         {"od/.htaccess": "DefaultType text/plain\nAddOutputFilterByType DEFLATE text/html\n",
          "od/a.txt": "a"}),
    Case("AddType php source", get("/ps/x.phps"),
         {"ps/.htaccess": "AddType application/x-httpd-php-source .phps\n", "ps/x.phps": "<?php echo 1;"}),
    Case("AddCharset", get("/cs/x.html"), {"cs/.htaccess": "AddCharset UTF-8 .html\n", "cs/x.html": "h"}),
    Case("RemoveType", get("/rt/x.txt"), {"rt/.htaccess": "RemoveType .txt\n", "rt/x.txt": "t"}),
    Case("Header always unset, PHP's cookie", get("/hu/x.php"),
         {"hu/.htaccess": "Header always unset Set-Cookie\n", "hu/x.php": "<?php setcookie('a', '1');"}),
    Case("Header always set beside PHP's", get("/hs/x.php"),
         {"hs/.htaccess": "Header always set X-A rule\nHeader always set Content-Type text/x-a\n",
          "hs/x.php": "<?php header('X-A: script');"}),
    Case("ServerSignature On", get("/sg/nope"), {"sg/.htaccess": "ServerSignature On\n"}),
    Case("ServerSignature EMail, listing", get("/sl/"),
         {"sl/.htaccess": "ServerSignature EMail\nOptions +Indexes\n", "sl/a.txt": "a"}),
    Case("MultiViews", get("/mv/page", headers=(("Accept", "text/html"),)),
         {"mv/.htaccess": "Options +MultiViews\n", "mv/page.html": "<p>page</p>"}),
    Case("php Status header", get("/p/st.php"), {"p/st.php": "<?php header('Status: 404 Not Found');"}),
    Case("php range", get("/p/r.php", headers=(("Range", "bytes=0-2"),)),
         {"p/r.php": "<?php echo 'abcdef';"}),
    Case("php flush, Range", get("/p/fl.php", headers=(("Range", "bytes=0-1"),)),
         {"p/fl.php": "<?php while (ob_get_level()) ob_end_flush(); echo 'abc'; flush(); echo 'def';"}),
    Case("php ranges", get("/p/r.php", headers=(("Range", "bytes=0-1,3-4"),)),
         {"p/r.php": "<?php echo 'abcdef';"}),
    Case("php 416", get("/p/r.php", headers=(("Range", "bytes=90-"),)),
         {"p/r.php": "<?php echo 'abcdef';"}),
    Case("php empty Content-Type", get("/p/ct.php"),
         {"p/ct.php": "<?php header('Content-Type:'); echo 'x';"}),
    Case("php header without a colon", get("/p/bogus.php"),
         {"p/bogus.php": "<?php header('Bogus'); header('X-Real: 1'); echo 'ok';"}),
    Case("php two Content-Types", get("/p/ct2.php"),
         {"p/ct2.php": "<?php header('Content-Type: text/plain');\n"
                       "header('Content-Type: text/csv', false); echo 'a';"}),
    Case("rewrite Vary through the redirect",
         get("/rv/a", headers=(("User-Agent", "Mobile"), ("X-Test", "ab"))),
         {"rv/.htaccess": "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} mobile [NC]\n"
                          "RewriteCond expr \"req('X-Test') =~ /^a/\"\nRewriteRule ^a$ m.txt [L]\n",
          "rv/m.txt": "m"}),
    Case("rewrite to a new query", get("/rq/a?x=1"),
         {"rq/.htaccess": "RewriteEngine On\nRewriteRule ^a$ q.php?y=%{SERVER_PORT} [L]\n",
          "rq/q.php": "<?php echo $_SERVER['QUERY_STRING'], '|', $_SERVER['REDIRECT_QUERY_STRING'];"}),
    Case("Drupal gzipped css", get("/dr/x.css", headers=(("Accept-Encoding", "gzip"),)),
         {"dr/.htaccess": "RewriteEngine On\nRewriteCond %{HTTP:Accept-encoding} gzip\n"
                          "RewriteCond %{REQUEST_FILENAME}\\.gz -s\n"
                          "RewriteRule ^(.*)\\.css $1\\.css\\.gz [QSA]\n"
                          "<FilesMatch \"\\.css\\.gz$\">\nHeader set Content-Encoding gzip\n"
                          "Header append Vary Accept-Encoding\n</FilesMatch>\n",
          "dr/x.css": "a{}", "dr/x.css.gz": "gz"}),
    Case("AddOutputFilter", get("/of/big.txt", headers=(("Accept-Encoding", "gzip"),)),
         {"of/.htaccess": "AddOutputFilter DEFLATE txt\nAddOutputFilter INCLUDES .shtml\n",
          "of/big.txt": "hello world " * 200}),
    Case("Header and RequestHeader expr=", get("/hx/p.php", headers=(("User-Agent", "curl/8"),)),
         {"hx/.htaccess": "Header always set Strict-Transport-Security max-age=1 \"expr=%{HTTPS} == 'on'\"\n"
                          "Header set X-Plain yes \"expr=%{HTTPS} == 'off'\"\n"
                          "RequestHeader set X-Curl 1 \"expr=%{HTTP_USER_AGENT} =~ /curl/\"\n",
          "hx/p.php": "<?php echo $_SERVER['HTTP_X_CURL'] ?? 'none';"}),
    Case("If, ElseIf and Else in .htaccess", get("/if/a.css?b", headers=(("X-Block", "0"),)),
         {"if/.htaccess": '<FilesMatch "\\.(css|js)$">\n<If "%{QUERY_STRING} =~ /(^|&)v=/">\n'
                          'Header set Cache-Control "max-age=1, immutable"\n</If>\n<Else>\n'
                          'Header set Cache-Control "max-age=1"\n</Else>\n</FilesMatch>\n'
                          '<If "%{QUERY_STRING} == \'a\'">\nHeader set X-W a\n</If>\n'
                          '<ElseIf "%{QUERY_STRING} == \'b\'">\nHeader set X-W b\n</ElseIf>\n'
                          '<Else>\nHeader set X-W other\n</Else>\n'
                          '<If "req(\'X-Block\') == \'1\'">\nRequire all denied\n</If>\n'
                          '<If "-f %{REQUEST_FILENAME}">\nHeader set X-File yes\n</If>\n',
          "if/a.css": "a{}"}),
    Case("rewrite cookie and next", get("/cn/a-b?lang=fr"),
         {"cn/.htaccess": "RewriteEngine On\nRewriteRule ^(.*)-(.*)$ $1_$2 [N]\n"
                          "RewriteCond %{QUERY_STRING} lang=(\\w+)\n"
                          "RewriteRule ^a_b$ p.php [CO=lang:%1:alice.test:0:/:true,L]\n",
          "cn/p.php": "<?php setcookie('php', '1'); echo 'p';"}),
    Case("DefaultLanguage on a script", get("/lg/s.php"),
         {"lg/.htaccess": "DefaultLanguage DE\n",
          "lg/s.php": "<?php header('Content-Language: en, de'); echo 'php';"}),
    Case("Vary made one", get("/vy/v.php"),
         {"vy/.htaccess": "Header always append Vary X-One\n",
          "vy/v.php": "<?php header('Vary: A, b'); header('Vary: B', false); echo 'v';"}),
    Case("HTTP/0.9 GET", b"GET /p/09.txt\r\n", {"p/09.txt": "simple\n"}),
    Case("HTTP/0.9 not found", b"GET /p/none\r\n"),
    Case("HTTP/0.9 POST", b"POST /p/09.txt\r\n"),
    Case("rewrite proxy flag", get("/px/a"),
         {"px/.htaccess": "RewriteEngine On\nRewriteRule ^a$ http://127.0.0.1:9/ [P]\n"}),
    Case("php chunked body", b"POST /p/s.php HTTP/1.1\r\nHost: alice.test\r\nTransfer-Encoding: chunked\r\n"
                             b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
                             b"3\r\na=1\r\n0\r\n\r\n", {"p/s.php": SERVER_PHP}),
    Case("php code httpd has no reason for", get("/st/c.php"),
         {"st/c.php": "<?php http_response_code(452); echo 'x';"}),
    Case("CGI bare Status codes", get("/st/b.cgi"),
         {"st/b.cgi": "#!/bin/sh\nprintf 'Status: 452\\r\\nContent-Type: text/plain\\r\\n\\r\\nx'\n"}),
    Case("CGI Status that is no code", get("/st/w.cgi"),
         {"st/w.cgi": "#!/bin/sh\nprintf 'Status: abc\\r\\n"
                      "Content-Type: text/plain\\r\\nX-S: 1\\r\\n\\r\\nx'\n"}),
    Case("CGI Status 600 named", get("/st/n.cgi"),
         {"st/n.cgi": "#!/bin/sh\nprintf 'Status: 600 Far Out\\r\\n"
                      "Content-Type: text/plain\\r\\n\\r\\nx'\n"}),
    Case("php_value as written", get("/pv/i.php"),
         {"pv/.htaccess": 'php_value error_reporting E_ALL\nphp_value arg_separator.output "&amp;"\n'
                          "php_value display_errors On\nphp_value include_path \".:${NOT_DEFINED}\"\n",
          "pv/i.php": "<?php foreach (['error_reporting', 'arg_separator.output', 'display_errors',"
                      " 'include_path'] as $k) echo ini_get($k), '|'; echo error_reporting();"}),
    Case("php_value empty argument", get("/pe/i.php"),
         {"pe/.htaccess": 'php_value default_charset ""\n', "pe/i.php": "<?php echo 1;"}),
    Case("SetEnv last, variables in httpd's order", get("/ev/go", headers=(("X-B", "1"), ("Accept", "*/*"))),
         {"ev/.htaccess": "SetEnv XA fromsetenv\nSetEnvIf Request_URI . XB=fromif XA=fromif\n"
                          "RewriteEngine On\nRewriteRule ^go$ k.php [E=XC:rewrite,E=XA:rewrite,L]\n",
          "ev/k.php": "<?php foreach ($_SERVER as $k => $v) if (preg_match('/^(REDIRECT_|HTTP_|X)/', $k))"
                      " echo $k, '=', $v, ' '; echo implode(',', array_keys(getallheaders()));"}),
    Case("static ranges on HEAD", get("/hr/a.txt", "HEAD", (("Range", "bytes=0-1,5-6"),)),
         {"hr/a.txt": "0123456789" * 10}),
    Case("getenv of a three-letter SetEnv", get("/g3/k.php"),
         {"g3/.htaccess": "SetEnv FOO bar\n", "g3/k.php": "<?php echo getenv('FOO'), $_SERVER['FOO'];"}),
    Case("a handler no module provides", get("/uh/a.txt"),
         {"uh/.htaccess": "SetHandler server-info\nAddHandler frobnicate .txt\n", "uh/a.txt": "plain\n"}),
    Case("CGI headers merged by name", get("/cm/t.cgi"),
         {"cm/t.cgi": "#!/bin/sh\nprintf 'Content-type: text/plain\\nX-A: 1\\nContent-Type: text/csv\\n"
                      "x-a: 2\\nSet-Cookie: a=1\\nSet-Cookie: b=2\\n\\nbody'\n"}),
    Case("Header early, note and echo in .htaccess", get("/he/a.txt", headers=(("X-Trace-Id", "7"),)),
         {"he/.htaccess": "Header set X-Early yes early\nHeader note X-A a\nHeader echo ^X-Trace\n",
          "he/a.txt": "a\n"}),
    Case("Content-Length as a list", b"POST /p/s.php HTTP/1.1\r\nHost: alice.test\r\nContent-Length: 5, 5\r\n"
                                     b"Connection: close\r\n\r\nhello", {"p/s.php": SERVER_PHP}),
    Case("Content-Length past 2**63", b"POST /p/s.php HTTP/1.1\r\nHost: alice.test\r\n"
                                      b"Content-Length: 9223372036854775808\r\nConnection: close\r\n\r\n"
                                      b"hello",
         {"p/s.php": SERVER_PHP}),
    Case("RedirectMatch escapes, a target's query stands alone", get("/rm/tag/a%20b?y=2"),
         {"rm/.htaccess": "RedirectMatch 302 ^/rm/tag/(.*)$ /tags/$1?from=old\n"}),
    Case("DirectoryIndex by URL", get("/di/?q=1"),
         {"di/.htaccess": "DirectoryIndex missing.html /di/front/index.php\n",
          "di/front/index.php": "<?php echo $_SERVER['SCRIPT_NAME'], ' ', $_SERVER['REQUEST_URI'];"}),
    Case("php upload", get("/up/f.php", "POST", UPLOAD,
                           multipart((("a", None, b"1"), ("file", "x.txt", b"hi" * 50)))),
         {"up/f.php": FILES_PHP}),
    Case("php upload over upload_max_filesize", get("/up2/f.php", "POST", UPLOAD,
                                                     multipart((("file", "x.txt", b"x" * 3000),))),
         {"up2/f.php": FILES_PHP, "up2/.htaccess": "php_value upload_max_filesize 1K\n"}),
    Case("php POST over post_max_size", get("/up3/f.php", "POST", FORM, b"a=" + b"x" * 3000),
         {"up3/f.php": FILES_PHP, "up3/.htaccess": "php_value post_max_size 1K\n"}),
    Case("php PUT", get("/m/m.php", "PUT", (("Content-Type", "text/plain"),), b"put body"),
         {"m/m.php": "<?php echo $_SERVER['REQUEST_METHOD'], ' ', file_get_contents('php://input');"}),
    Case("php OPTIONS", get("/m/m.php", "OPTIONS")),
    Case("php 304 of its own", get("/n/n.php"),
         {"n/n.php": "<?php header('HTTP/1.1 304 Not Modified'); header('ETag: \"abc\"'); echo 'body';"}),
    Case("php repeated headers", get("/h/h.php"),
         {"h/h.php": "<?php header('X-A: 1'); header('X-A: 2', false); header('X-B: 1'); header('X-B: 2');"
                     " echo 'x';"}),
    Case("php getenv and $_ENV", get("/en/e.php?x=1"),
         {"en/e.php": "<?php echo json_encode($_ENV), '|', getenv('PATH'), '|', getenv('QUERY_STRING'), '|',"
                      " var_export(getenv('NOPE'), true);"}),
    Case("cgi Status 304 with a type and length", get("/ns/n.cgi"),
         {"ns/n.cgi": "#!/bin/sh\nprintf 'Status: 304\\nContent-Length: 4\\nContent-Type: text/html\\n"
                      "X-Other: 1\\n\\nbody'\n"}),
    Case("Header expr= value, escapes", get("/hv/x.txt?a=1", headers=(("X-In", "v"),)),
         {"hv/x.txt": "x\n", "hv/.htaccess": 'Header set X-E "expr=%{QUERY_STRING}/%{HTTP:X-In}"\n'
                                             'Header set X-T "a\\tb\\\\c \\q"\n'}),
    Case("Header value making a newline", get("/hn/x.txt"),
         {"hn/x.txt": "x\n", "hn/.htaccess": 'Header set X-N "a\\nb"\n'}),
    Case("Header value with an unknown format", get("/hf/x.txt"),
         {"hf/x.txt": "x\n", "hf/.htaccess": 'Header set X-F "50%off"\n'}),
    Case("ErrorDocument PHP, POST to a missing file", get("/ed/nothing", "POST", FORM, b"a=1"),
         {"ed/.htaccess": ERROR_DOCUMENTS, "ed/e.php": BODY_PHP}),
    Case("ErrorDocument PHP, POST refused", get("/ed/closed/x.txt", "POST", FORM, b"a=1"),
         {"ed/.htaccess": ERROR_DOCUMENTS, "ed/e.php": BODY_PHP,
          "ed/closed/.htaccess": "Require all denied\n", "ed/closed/x.txt": "x"}),
    Case("ErrorDocument PHP for a 405, kept connection", get("/ed/s.txt", "PUT", FORM, b"a=1").replace(
        b"Connection: close\r\n", b"") + get("/ed/s.txt"),
         {"ed/.htaccess": ERROR_DOCUMENTS, "ed/e.php": BODY_PHP, "ed/s.txt": "x"}),
    Case("ErrorDocument PHP for a 501", get("/ed/s.txt", "FOO", FORM, b"a=1"),
         {"ed/.htaccess": ERROR_DOCUMENTS, "ed/e.php": BODY_PHP, "ed/s.txt": "x"}),
    Case("ErrorDocument PHP, POST to a directory", get("/ed/closed/", "POST", FORM, b"a=1"),
         {"ed/.htaccess": ERROR_DOCUMENTS, "ed/e.php": BODY_PHP}),
    *(Case(f"php Authorization {name}", get("/au/a.php", headers=(("Authorization", value),)),
           {"au/a.php": AUTH_PHP})
      for name, value in (("Basic", "Basic YWxpY2U6c2VjcmV0"),
                          ("basic, stray characters", "basic YW*xpY2U6c2V=jcmV0"),
                          ("Basic without a password", "Basic YWxpY2U6"),
                          ("Basic, NUL", "Basic YWxpY2U6c2UAY3JldA=="),
                          ("Digest", 'Digest username="a", realm="r"'), ("Bearer", "Bearer abc.def"))),
    Case("php Authorization under CGIPassAuth", get("/ap/a.php", headers=(("Authorization", "Bearer t"),)),
         {"ap/a.php": AUTH_PHP, "ap/.htaccess": "CGIPassAuth On\n"}),
    Case("UTF-8 sent unescaped, static", raw(b"/u8/\xc3\xa9.txt"), {"u8/\u00e9.txt": "e\n"}),
    Case("UTF-8 sent unescaped, php path info and query", raw(b"/p/s.php/\xc3\xa9?q=\xc3\xa9"),
         {"p/s.php": SERVER_PHP}),
    Case("UTF-8 sent unescaped, POST", raw(b"/p/s.php/\xc3\xa9", b"POST", b"a=1"), {"p/s.php": SERVER_PHP}),
    Case("UTF-8 sent unescaped, directory slash", raw(b"/u8/d\xc3\xafr?x=1"), {"u8/d\u00efr/a.txt": "a"}),
    Case("directory slash escaped as ap_escape_uri", raw(b"/u8/s;c$,(x)!*'+=&@:~%C3%A9"),
         {"u8/s;c$,(x)!*'+=&@:~\u00e9/a.txt": "a"}),
    Case("listing names escaped", raw(b"/u8/list/"),
         {"u8/list/.htaccess": "Options +Indexes\n", "u8/list/\u00e9;x y#z.txt": "e"}),
    Case("php Content-Length with leading zeros",
         get("/p/s.php", "POST", (*FORM, ("Content-Length", "003"))) + b"a=1", {"p/s.php": SERVER_PHP}),
    *(Case(f"listing, {options}", get("/lt/"), {
        "lt/.htaccess": f"Options +Indexes\nAddDescription Told told.html\nAddDescription \"{LONG}\" *.txt\n"
                        f"IndexOptions FancyIndexing {options}\n",
        "lt/page.html": "<html><head><TITLE>\r\nOur\nmenu &amp; more</TITLE></head></html>\n",
        "lt/told.html": "<title>its own</title>", "lt/late.html": "x" * 9000 + "<title>late</title>",
        "lt/long.html": "<title>" + "L" * 60 + "</title>", "lt/a.txt": "a"})
      for options in ("ScanHTMLTitles", "HTMLTable ScanHTMLTitles IconWidth IconHeight=16",
                      "ScanHTMLTitles SuppressIcon SuppressSize", "DescriptionWidth=14", "IconHeight XHTML")),
    *(Case(f"BrowserMatch {variables}", kept_then_closed(get(
        "/bm/a.txt", headers=(("User-Agent", agent), ("Accept-Encoding", "gzip"))), get("/bm/a.txt")), {
            "bm/.htaccess": f'BrowserMatch "^{agent}" {variables}\n'
                            "AddOutputFilterByType DEFLATE text/plain\n",
            "bm/a.txt": "abc " * 400})
      for agent, variables in (("Mozilla/2", "nokeepalive"),
                               ("MSIE 4.0b2;", "downgrade-1.0 force-response-1.0"),
                               ("Java/1.0", "force-response-1.0"), ("OldGz", "gzip-only-text/html"),
                               ("NoVary", "force-no-vary"))),
    Case("SetEnv no-gzip", get("/bm2/a.txt", headers=(("Accept-Encoding", "gzip"),)),
         {"bm2/.htaccess": "SetEnv no-gzip 1\nAddOutputFilterByType DEFLATE text/plain\n",
          "bm2/a.txt": "abc " * 400}),
    *(Case(f"DEFLATE, then {rule}", get("/dh/a.txt", headers=(("Accept-Encoding", "gzip"),)), {
        "dh/.htaccess": f"AddOutputFilterByType DEFLATE text/plain\n{rule}\n", "dh/a.txt": "abc " * 400})
      for rule in ("Header unset Vary", 'Header edit "ETag" "^\\"(.*)-gzip\\"$" "\\"$1\\""',
                   "Header append Vary Cookie", "Header set Pragma public")),
    Case("rewrite Vary, DEFLATE, then Header append Vary", get(
        "/dv/a.txt", headers=(("Accept-Encoding", "gzip"), ("User-Agent", "x"))), {
        "dv/.htaccess": "AddOutputFilterByType DEFLATE text/plain\nHeader append Vary User-Agent\n"
                        "RewriteEngine on\nRewriteCond %{HTTP:Accept-Encoding} gzip\n"
                        "RewriteRule .* - [E=ENC:gz]\n",
        "dv/a.txt": "abc " * 400}),
    *(Case(f"W3 Total Cache {path}", get(path, headers=headers), W3TC_FILES) for path, headers in (
        ("/w3/s.css", MODERN), ("/w3/s.css", (("User-Agent", "Mozilla/4.08"), ("Accept-Encoding", "gzip"))),
        ("/w3/about/", MODERN), ("/w3/about/", (("User-Agent", "Mozilla/5.0"),)),
        ("/w3/about/", (*MODERN, ("Cookie", "wordpress_logged_in_x=1"))))),
    *(Case(f"Joomla {path}", get(path, headers=MODERN), JOOMLA_FILES)
      for path in ("/jo/some/article", "/jo/page.html?x=1", "/jo/x?a=base64_encode(x)", "/jo/images/x.jpg")),
    *(Case(f"Drupal {path}", get(path, headers=MODERN), DRUPAL_FILES)
      for path in ("/dr/node/1", "/dr/composer.json", "/dr/core/lib/x.php", "/dr/a.svgz", "/dr/x.inc",
                   "/dr/sites/default/files/css/css_abc.css", "/dr/.git/config", "/dr/.well-known/x")),
    *(Case(f"absolute-form {target.decode()}", raw(target), {"af/a.txt": "a"})
      for target in (b"HtTpS://alice.test/af/a.txt", b"ftp://alice.test/af/a.txt", b"ws://alice.test/af/a.txt",
                     b"http:/af/a.txt", b"http:af/a.txt", b"mailto:a@b")),
    Case("HTTP/1.2 is read as HTTP/1.1: Host needed", b"GET /af/a.txt HTTP/1.2\r\n\r\n", {"af/a.txt": "a"}),
    Case("HTTP/2.0 is read as HTTP/1.1: kept", kept_then_closed(
        b"GET /af/a.txt HTTP/2.0\r\nHost: alice.test\r\nConnection: close\r\n\r\n", get("/af/a.txt")),
         {"af/a.txt": "a"}),
    Case("Require forward-dns", get("/fd/a.txt"), {"fd/.htaccess": "Require forward-dns localhost\n",
                                                   "fd/a.txt": "a"}),
    Case("SetEnv suppress-error-charset", get("/bm2/missing"),
         {"bm2/.htaccess": "SetEnv suppress-error-charset 1\n"}),
    Case("ErrorDocument default over the level around", get("/edd/sub/missing"),
         {"edd/.htaccess": "ErrorDocument 404 /edd/e.html\n", "edd/e.html": "e",
          "edd/sub/.htaccess": "ErrorDocument 404 default\n"}),
    Case("MultiViews Content-Location escaped", raw(b"/u8/mv/a;\xc3\xa9"),
         {"u8/mv/.htaccess": "Options +MultiViews\n", "u8/mv/a;\u00e9.html": "<p>e</p>"}),
    # Headers, limits, methods, .htaccess access and redirects, rewrite flags, MIME, CGI, PHP answers.
    Case("TRACE", get("/s/a.txt", "TRACE"), _TEXT_FILE),
    Case("dotdot", raw(b"/s/../../etc/passwd"), _TEXT_FILE),
    Case("dotdot escaped", raw(b"/s/%2e%2e/%2e%2e/etc/passwd"), _TEXT_FILE),
    Case("encoded slash", raw(b"/s%2Fa.txt"), _TEXT_FILE),
    Case("NUL", raw(b"/s/a%00.txt"), _TEXT_FILE),
    Case("long header", get("/s/a.txt", headers=(("X-Long", "a" * 9000),)), _TEXT_FILE),
    Case("many headers", get("/s/a.txt", headers=tuple(((f"X-H{i}", "v") for i in range(120)))), _TEXT_FILE),
    Case("no Host 1.1", b"GET /s/a.txt HTTP/1.1\r\nConnection: close\r\n\r\n", _TEXT_FILE),
    Case("absolute URI", raw(b"http://alice.test/s/a.txt"), _TEXT_FILE),
    Case("lowercase method", raw(b"/s/a.txt", method=b"get"), _TEXT_FILE),
    Case("POST static", get("/s/a.txt", "POST", headers=FORM, body=b"a=1"), _TEXT_FILE),
    Case("PUT static", get("/s/a.txt", "PUT", body=b"a=1"), _TEXT_FILE),
    Case("Options -Indexes", get("/qn/"), {"qn/.htaccess": "Options -Indexes\n", "qn/x.txt": "x"}),
    Case("Require all denied htaccess", get("/d/x.txt"),
         {"d/.htaccess": "Require all denied\n", "d/x.txt": "x"}),
    Case("Files deny", get("/f/secret.txt"),
         {"f/.htaccess": "<Files secret.txt>\nRequire all denied\n</Files>\n", "f/secret.txt": "x"}),
    Case("htaccess file", get("/f/.htaccess"),
         {"f/.htaccess": "<Files secret.txt>\nRequire all denied\n</Files>\n"}),
    Case("Redirect 301", get("/r/old?q=1"), {"r/.htaccess": "Redirect 301 /r/old /r/new\n"}),
    Case("Redirect gone", get("/r2/old"), {"r2/.htaccess": "Redirect gone /r2/old\n"}),
    Case("RewriteRule F", get("/rf/x"), {"rf/.htaccess": "RewriteEngine On\nRewriteRule ^x$ - [F]\n"}),
    Case("RewriteRule G", get("/rg/x"), {"rg/.htaccess": "RewriteEngine On\nRewriteRule ^x$ - [G]\n"}),
    Case("RewriteRule QSA", get("/qrq/old?a=1"),
         {"qrq/.htaccess": "RewriteEngine On\nRewriteRule ^old$ i.php?b=2 [QSA,L]\n",
          "qrq/i.php": _METHOD_PHP["qp/i.php"]}),
    Case("If-Modified-Since static",
         get("/s/a.txt", headers=(("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"),)),
         _TEXT_FILE),
    Case("If-None-Match star", get("/s/a.txt", headers=(("If-None-Match", "*"),)), _TEXT_FILE),
    Case("If-Match mismatch", get("/s/a.txt", headers=(("If-Match", '"nope"'),)), _TEXT_FILE),
    Case("If-Unmodified-Since past",
         get("/s/a.txt", headers=(("If-Unmodified-Since", "Fri, 01 Jan 1999 00:00:00 GMT"),)),
         _TEXT_FILE),
    Case("path info static", get("/s/a.txt/more"), _TEXT_FILE),
    Case("path info php", get("/qp/i.php/more/x?y=1"), _METHOD_PHP),
    Case("AcceptPathInfo On", get("/qap/a.txt/more"),
         {"qap/.htaccess": "AcceptPathInfo On\n", "qap/a.txt": "t"}),
    Case("index.php dir", get("/ip/"), {"ip/index.php": "<?php echo 'idx';"}),
    Case("AddDefaultCharset", get("/qcs/a.txt"),
         {"qcs/.htaccess": "AddDefaultCharset UTF-8\n", "qcs/a.txt": "t"}),
    Case("ErrorDocument text 403", get("/e3/x.txt"),
         {"e3/.htaccess": 'Require all denied\nErrorDocument 403 "Nope here\n', "e3/x.txt": "x"}),
    Case("two Host",
         b"GET /s/a.txt HTTP/1.1\r\nHost: alice.test\r\nHost: other\r\nConnection: close\r\n\r\n",
         _TEXT_FILE),
    Case("CL and TE",
         (b"POST /qp/i.php HTTP/1.1\r\nHost: alice.test\r\nContent-Length: 3\r\nTransfer-Encoding: "
          b"chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
         _METHOD_PHP),
    Case("php headers sent", get("/qhs/a.php"),
         {"qhs/a.php": "<?php echo 'x'; header('X-Late: 1'); echo 'y';"}),
    Case("php exit code", get("/ex/a.php"),
         {"ex/a.php": "<?php http_response_code(503); header('Retry-After: 5'); exit(3);"}),
    Case("php notice display", get("/nt/a.php"),
         {"nt/a.php": "<?php echo $undefined ?? 'u'; echo intdiv(1, 1);"}),
    Case("php_flag display_errors", get("/de/a.php"),
         {"de/.htaccess": "php_flag display_errors On\n", "de/a.php": "<?php echo $nope; echo 'after';"}),
    Case("php_value auto_prepend", get("/pp/a.php"),
         {"pp/.htaccess": "php_value auto_prepend_file " + "pre.php\n",
          "pp/pre.php": "<?php echo 'pre ';",
          "pp/a.php": "<?php echo 'main';"}),
    Case("php ini_get memory", get("/ig/a.php"),
         {"ig/.htaccess": "php_value memory_limit 64M\n",
          "ig/a.php": ("<?php echo ini_get('memory_limit'), ' ', ini_get('max_execution_time'), ' ', "
                       "ini_get('display_errors');")}),
    Case("FilesMatch deny in htaccess", get("/fm/x.bak"),
         {"fm/.htaccess": '<FilesMatch "\\.(bak|old)$">\nRequire all denied\n</FilesMatch>\n',
          "fm/x.bak": "b"}),
    Case("DirectoryIndex htaccess", get("/qdi/"),
         {"qdi/.htaccess": "DirectoryIndex start.php\n", "qdi/start.php": "<?php echo 'start';"}),
    Case("DirectorySlash Off", get("/dso"), {"dso/.htaccess": "DirectorySlash Off\n", "dso/a.txt": "t"}),
    Case("Header set on 404", get("/h4/nope"),
         {"h4/.htaccess": "Header set X-A 1\nHeader always set X-B 2\n"}),
    Case("FileETag None", get("/fe/a.txt"), {"fe/.htaccess": "FileETag None\n", "fe/a.txt": "t"}),
    Case("Satisfy Any", get("/sa/a.txt"),
         {"sa/.htaccess": "Order deny,allow\nDeny from all\nAllow from 127.0.0.1\n", "sa/a.txt": "t"}),
    Case("ForceType", get("/ft/a.dat"), {"ft/.htaccess": "ForceType text/x-custom\n", "ft/a.dat": "t"}),
    Case("SetHandler php on html", get("/sh/a.html"),
         {"sh/.htaccess": "<FilesMatch \\.html$>\nSetHandler application/x-httpd-php\n</FilesMatch>\n",
          "sh/a.html": "<?php echo 1+1;"}),
    Case("RewriteCond env", get("/rc/x"),
         {"rc/.htaccess": ("RewriteEngine On\nRewriteCond %{REQUEST_METHOD} GET\nRewriteRule ^x$ y.txt "
                           "[L]\n"),
          "rc/y.txt": "y"}),
    Case("php $_SERVER HTTP_HOST", get("/sv/a.php?x=%20y"),
         {"sv/a.php": ("<?php echo $_SERVER['HTTP_HOST'], $_SERVER['SERVER_NAME'], "
                       "$_SERVER['SERVER_PORT'] === '' ? 'e':'p', $_SERVER['REQUEST_URI'], "
                       "$_SERVER['SCRIPT_NAME'], $_GET['x'];")}),
    Case("rw E= to php", get("/r1/x?q=1"),
         {"r1/.htaccess": "RewriteEngine On\nRewriteRule ^x$ e.php [E=FOO:bar,L]\n", "r1/e.php": _VARS_PHP}),
    Case("rw END", get("/r2/a"),
         {"r2/.htaccess": "RewriteEngine On\nRewriteRule ^a$ b [END]\nRewriteRule ^b$ c.txt\n",
          "r2/b": "b",
          "r2/c.txt": "c"}),
    Case("rw L loops", get("/r3/a"),
         {"r3/.htaccess": "RewriteEngine On\nRewriteRule ^a$ b [L]\nRewriteRule ^b$ c.txt [L]\n",
          "r3/c.txt": "c"}),
    Case("rw S skip", get("/r4/a"),
         {"r4/.htaccess": ("RewriteEngine On\nRewriteRule ^a$ - [S=1]\nRewriteRule ^a$ no.txt [L]\n"
                           "RewriteRule ^a$ yes.txt [L]\n"),
          "r4/yes.txt": "y",
          "r4/no.txt": "n"}),
    Case("rw T type", get("/r5/a.txt"),
         {"r5/.htaccess": "RewriteEngine On\nRewriteRule \\.txt$ - [T=application/x-foo]\n",
          "r5/a.txt": "t"}),
    Case("rw H handler", get("/r6/a.txt"),
         {"r6/.htaccess": "RewriteEngine On\nRewriteRule \\.txt$ - [H=application/x-httpd-php]\n",
          "r6/a.txt": "<?php echo 2*3;"}),
    Case("rw NC cond", get("/r7/a", headers=(("User-Agent", "FooBot/1"),)),
         {"r7/.htaccess": ("RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} foobot [NC]\nRewriteRule "
                           "^a$ - [F]\n")}),
    Case("rw OR", get("/r8/a?x=2"),
         {"r8/.htaccess": ("RewriteEngine On\nRewriteCond %{QUERY_STRING} x=1 [OR]\nRewriteCond "
                           "%{QUERY_STRING} x=2\nRewriteRule ^a$ b.txt [L]\n"),
          "r8/b.txt": "b"}),
    Case("rw R absolute", get("/r9/a"),
         {"r9/.htaccess": ("RewriteEngine On\nRewriteRule ^a$ https://example.com/%{REQUEST_URI} "
                           "[R=301,L]\n")}),
    Case("rw QSD", get("/r10/a?x=1"),
         {"r10/.htaccess": "RewriteEngine On\nRewriteRule ^a$ /r10/b [R,QSD,L]\n"}),
    Case("rw backref cond", get("/r11/item/42"),
         {"r11/.htaccess": ("RewriteEngine On\nRewriteCond %{REQUEST_URI} /(\\d+)$\nRewriteRule ^item/ "
                            "e.php?id=%1 [L]\n"),
          "r11/e.php": _VARS_PHP}),
    Case("rw -f -d", get("/r12/real.txt"),
         {"r12/.htaccess": ("RewriteEngine On\nRewriteCond %{REQUEST_FILENAME} -f\nRewriteRule ^ - "
                            "[E=FOO:file]\nRewriteRule real\\.txt e.php [L]\n"),
          "r12/real.txt": "r",
          "r12/e.php": _VARS_PHP}),
    Case("rw no match 404", get("/r13/zz"), {"r13/.htaccess": "RewriteEngine On\nRewriteRule ^a$ b\n"}),
    Case("rw to dir slash", get("/r14/a"),
         {"r14/.htaccess": "RewriteEngine On\nRewriteRule ^a$ sub\n", "r14/sub/x.txt": "x"}),
    Case("rw R=302 with query", get("/r15/a?x=1&y=2"),
         {"r15/.htaccess": "RewriteEngine On\nRewriteRule ^a$ /r15/b?z=3 [R=302,L]\n"}),
    Case("mime double ext", get("/qm/a.tar.gz"), {"qm/a.tar.gz": "gz"}),
    Case("mime AddEncoding", get("/m2/a.txt.gz"),
         {"m2/.htaccess": "AddEncoding x-gzip .gz\n", "m2/a.txt.gz": "gz"}),
    Case("mime unknown", get("/m3/a.zzz"), {"m3/a.zzz": "z"}),
    Case("mime no ext", get("/m4/README"), {"m4/README": "z"}),
    Case("AddType htaccess", get("/m5/a.zzz"),
         {"m5/.htaccess": "AddType text/x-zzz .zzz\n", "m5/a.zzz": "z"}),
    Case("AddLanguage", get("/m6/a.html.en"),
         {"m6/.htaccess": "AddLanguage en .en\n", "m6/a.html.en": "<p>en</p>"}),
    Case("cgi env", get("/qc/e.cgi/p/i?x=1"),
         {"qc/e.cgi": ('#!/bin/sh\necho \'Content-Type: text/plain\'\necho\necho "$PATH_INFO|'
                       "$QUERY_STRING|$SCRIPT_NAME|$REQUEST_URI|$PATH_TRANSLATED|$GATEWAY_INTERFACE|"
                       '$SERVER_PROTOCOL"\n')}),
    Case("cgi HEAD", get("/qc/h.cgi", "HEAD"),
         {"qc/h.cgi": "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho body\n"}),
    Case("cgi POST", get("/qc/p.cgi", "POST", headers=FORM, body=b"a=1&b=2"),
         {"qc/p.cgi": ('#!/bin/sh\necho \'Content-Type: text/plain\'\necho\ncat\necho " $CONTENT_LENGTH '
                       '$CONTENT_TYPE"\n')}),
    Case("cgi Location local", get("/qc/l.cgi"),
         {"qc/l.cgi": "#!/bin/sh\necho 'Location: /qc/t.txt'\necho\n", "qc/t.txt": "target"}),
    Case("cgi not executable", get("/qc/ne.txt.cgi"), {"qc/ne.txt.cgi": "x"}),
    Case("php ob_gzhandler", get("/pg/a.php", headers=(("Accept-Encoding", "gzip"),)),
         {"pg/a.php": "<?php ob_start('ob_gzhandler'); echo str_repeat('hello ', 100);"}),
    Case("php big output", get("/pb/a.php"), {"pb/a.php": "<?php echo str_repeat('0123456789', 20000);"}),
    Case("php header replace false", get("/ph/a.php"),
         {"ph/a.php": ("<?php header('X-A: 1'); header('X-A: 2', false); header('Cache-Control: "
                       "no-cache');")}),
    Case("php redirect 301", get("/pr/a.php"),
         {"pr/a.php": "<?php header('Location: http://example.com/x', true, 301);"}),
    Case("php Location relative", get("/pr2/a.php"), {"pr2/a.php": "<?php header('Location: other.php');"}),
    Case("php Location local abs", get("/pr3/a.php"),
         {"pr3/a.php": "<?php header('Location: /pr3/t.txt');", "pr3/t.txt": "t"}),
    Case("php 404 with body", get("/p4/a.php"), {"p4/a.php": "<?php http_response_code(404); echo 'nf';"}),
    Case("php 500 empty", get("/p5/a.php"), {"p5/a.php": "<?php http_response_code(500);"}),
    Case("php parse error", get("/p6/a.php"), {"p6/a.php": "<?php echo 'x'"}),
    Case("php uncaught exception", get("/p7/a.php"),
         {"p7/a.php": "<?php echo 'a'; throw new Exception('boom');"}),
    Case("php content-length own", get("/p8/a.php"),
         {"p8/a.php": "<?php header('Content-Length: 3'); echo 'abc';"}),
    Case("php remote addr", get("/p9/a.php"),
         {"p9/a.php": ("<?php echo $_SERVER['REMOTE_ADDR'], ' ', $_SERVER['SERVER_ADDR'], ' ', "
                       "$_SERVER['SERVER_SOFTWARE'] !== '' ? 'sw' : '', ' ', PHP_SAPI === "
                       "'apache2handler' || PHP_SAPI === 'cgi-fcgi' ? 'ok' : PHP_SAPI;")}),
    Case("php get_current_user", get("/p10/a.php"),
         {"p10/a.php": ("<?php echo posix_getpwuid(posix_geteuid())['name'], ' ', get_current_user(), ' "
                        "', getmyuid() === posix_geteuid() ? 'same' : 'diff';")}),
    Case("php temp dir", get("/p11/a.php"),
         {"p11/a.php": "<?php echo is_writable(sys_get_temp_dir()) ? 'w' : 'nw';"}),
    Case("php cookie in", get("/p12/a.php", headers=(("Cookie", "a=1; b=x%20y"),)),
         {"p12/a.php": "<?php echo json_encode($_COOKIE);"}),
    Case("php array query", get("/p13/a.php?a[]=1&a[]=2&b[k]=v"),
         {"p13/a.php": "<?php echo json_encode($_GET), $_SERVER['QUERY_STRING'];"}),
)

#: Cases that differ, and why: what php-cgi cannot tell itkgw, or what itkgw does not do.
KNOWN = {
    "static 416": "httpd's byterange filter sends its 416 page without a length (chunked, or until the "
                  "connection ends); itkgw gives it one",
    "php Status header": "mod_php sends a script's Status header as it is, with a 200; php-cgi writes it "
                         "as it writes http_response_code()'s, so itkgw answers the status",
    "php 416": "httpd's byterange filter sends its 416 page without a length (chunked, or until the "
               "connection ends); itkgw gives it one",
    "ErrorDocument PHP, HEAD": "httpd gives a HEAD answered by an ErrorDocument script the length of "
                               "the script's output; itkgw names none, as for any HEAD to PHP",
    "rewrite to PHP with path info": "php-cgi, given REDIRECT_URL, looks for the script at PATH_TRANSLATED "
                                     "and moves PATH_INFO aside, so itkgw leaves REDIRECT_URL out there",
    "Nextcloud error document": "php-cgi, given REDIRECT_URL, looks for the script at PATH_TRANSLATED and "
                                "moves PATH_INFO aside, so itkgw leaves REDIRECT_URL out there",
    "php chunked body": "php-cgi reads a body by CONTENT_LENGTH, so PHP sees one for a chunked request, "
                        "which mod_php does not set",
}

#: Headers either server sets its own way, or only as a transport matter.
_IGNORED = frozenset({"date", "server", "etag", "last-modified", "keep-alive", "connection",
                      "transfer-encoding"})
_NAMES = re.compile(rb"Apache/[^ <]+( \(Debian\))?( mpm-itk/[^ <]+)?( itkgw/[^ <]+)?|itkgw/[^ <]+")
_PORTS = re.compile(rb"(127\.0\.0\.1|alice\.test):[0-9]+|Port [0-9]+")
_BOUNDARY = re.compile(rb"boundary=([0-9a-f]+)")


@dataclass
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    #: Sent in chunks: its length is a framing choice, not compared.
    chunked: bool = False


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` and read until the server closes (or is quiet for 3 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(request)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer


def normalised(raw: bytes) -> Answer:
    """What the comparison looks at (see the module's docstring)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = sorted((name.strip().lower(), value.strip()) for name, _, value in
                     (line.partition(":") for line in lines[1:]) if name.strip().lower() not in _IGNORED)
    chunked = any(line.lower() == "transfer-encoding: chunked" for line in lines[1:])
    if chunked:
        body = _dechunked(body)
    headers = [(name, ",".join(sorted(value.split(","))) if name == "allow" else value)
               for name, value in headers]
    for boundary in set(_BOUNDARY.findall(head + body)):
        body = body.replace(boundary, b"BOUNDARY")
    headers = [(name, _BOUNDARY.sub(b"boundary=BOUNDARY", value.encode("latin-1")).decode("latin-1"))
               for name, value in headers]
    return Answer(lines[0], headers, _PORTS.sub(b"HOST", _NAMES.sub(b"SERVER", body)), chunked)


def _dechunked(body: bytes) -> bytes:
    data = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        data, body = data + rest[:size], rest[size + 2:]
    return data


def difference(apache: Answer, itkgw: Answer) -> list[str]:
    """How the two answers differ, one line per part; empty when they do not."""
    lines = []
    if apache.status != itkgw.status:
        lines.append(f"status: Apache {apache.status!r}, itkgw {itkgw.status!r}")
    # A length is a framing choice when either is chunked, and follows the server's name in a
    # body that is the same once names are set aside.
    lengthless = apache.chunked or itkgw.chunked or apache.body == itkgw.body
    ours, theirs = ({item for item in answer.headers if not (lengthless and item[0] == "content-length")}
                    for answer in (itkgw, apache))
    if ours != theirs:
        lines.append(f"headers only Apache's: {sorted(theirs - ours)}")
        lines.append(f"headers only itkgw's: {sorted(ours - theirs)}")
    if apache.body != itkgw.body:
        lines.append(f"body Apache: {apache.body[:200]!r}")
        lines.append(f"body itkgw:  {itkgw.body[:200]!r}")
    return lines


class Servers:
    """Apache and itkgw on one configuration and one document root."""

    def __init__(self, workdir: Path, process_model: str) -> None:
        self.workdir = workdir
        self.docroot = workdir / "htdocs"
        self.process_model = process_model
        self.apache_port, self.itkgw_port = free_port(), free_port()
        self.launched: list[Launched] = []

    def put(self, relative: str, text: str) -> None:
        """A file of the vhost's user, with the directories it needs (0750, files 0640,
        a .cgi 0750)."""
        user, web_gid = pwd.getpwnam(USER), grp.getgrnam(WEB_USER).gr_gid
        path = self.docroot / relative
        for directory in reversed(path.relative_to(self.docroot).parents[:-1]):
            folder = self.docroot / directory
            if not folder.exists():
                folder.mkdir(mode=0o750)
                os.chown(folder, user.pw_uid, web_gid)
        path.write_text(text)
        os.chown(path, user.pw_uid, web_gid)
        path.chmod(0o750 if path.suffix == ".cgi" else 0o640)

    def start(self) -> None:
        user, web_gid = pwd.getpwnam(USER), grp.getgrnam(WEB_USER).gr_gid
        self.workdir.chmod(0o755)
        self.docroot.mkdir(mode=0o750)
        os.chown(self.docroot, user.pw_uid, web_gid)
        for name, port in (("apache", self.apache_port), ("itkgw", self.itkgw_port)):
            root = self.workdir / name
            root.mkdir()
            load = "\n".join(f"LoadModule {module}_module {MODULES}/mod_{module}.so" for module in LOAD)
            server = SERVER_CONF.split("\nStartServers", 1)[0].format(root=root, load=load, modules=MODULES,
                                                                     port=port, user=WEB_USER)
            (root / "httpd.conf").write_text(server + "\n" + CONFIG.format(
                port=port, host=HOST, docroot=self.docroot, user=USER))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        apache = self.workdir / "apache"
        self.launched.append(Launched("apache2", [APACHE, "-d", str(apache), "-f", str(apache / "httpd.conf"),
                                                  "-DFOREGROUND"], apache, env=env))
        itkgw = self.workdir / "itkgw"
        argv = [sys.executable, "-m", "itkgw", "-f", str(itkgw / "httpd.conf"),
                "--process-model", self.process_model, "-D", "FOREGROUND"]
        self.launched.append(Launched("itkgw", argv, itkgw, env={**env, "PYTHONPATH": str(REPO)}))
        for port in (self.apache_port, self.itkgw_port):
            self._wait_for(port)

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 30
        while True:
            for process in self.launched:
                process.check_running()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nothing accepts connections on port {port} after 30 s") from None
                time.sleep(0.1)

    def stop(self) -> None:
        for process in reversed(self.launched):
            process.stop()


def run(cases: list[Case], process_model: str) -> int:
    """Each case against both servers; the number of differences not in KNOWN."""
    created = create_users([USER])
    workdir = Path(tempfile.mkdtemp(prefix="itkbench-fidelity-"))
    servers = Servers(workdir, process_model)
    unexpected = 0
    try:
        servers.start()
        for case in cases:
            for relative, text in case.files.items():
                servers.put(relative, text)
            apache = normalised(exchange(servers.apache_port, case.request))
            itkgw = normalised(exchange(servers.itkgw_port, case.request))
            found = difference(apache, itkgw)
            if not found:
                print(f"SAME   {case.name}: {apache.status}")
                continue
            known = KNOWN.get(case.name)
            print(f"{'KNOWN' if known else 'DIFF '}  {case.name}" + (f": {known}" if known else ""))
            for line in found:
                print(f"         {line}")
            unexpected += known is None
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if created:
            remove_users(created)
    return unexpected


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="itkbench.fidelity", description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", default=[], help="run the cases whose name has this")
    parser.add_argument("--process-model", choices=("itk", "pool"), default="itk")
    args = parser.parse_args(argv)
    cases = [case for case in CASES if not args.only or any(part in case.name for part in args.only)]
    unexpected = run(cases, args.process_model)
    print(f"{len(cases)} cases, {unexpected} unexpected difference(s)")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
