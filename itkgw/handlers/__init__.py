"""What serves a request once the process runs as the request's identity.

``dispatch`` finds the file (``walk`` follows its path under the symlink
Options) and picks the handler; ``static`` serves files as httpd's default
handler does, ``cgi`` runs CGI scripts (mod_cgi), ``phpcgi`` runs PHP
through php-cgi, ``proxy_fcgi`` hands a request to a FastCGI server (a
php-fpm pool) through our FastCGI client (``fcgi_client``, ``fcgi_records``).
"""
