"""What serves a request once the process runs as the request's identity.

``dispatch`` finds the file and picks the handler; ``static`` serves files
as httpd's default handler does, ``cgi`` runs CGI scripts (mod_cgi),
``phpcgi`` runs PHP through php-cgi. A FastCGI client and its backend
manager join them here.
"""
