#!/bin/sh
# A CGI script runs as its vhost's user too.
printf 'Content-Type: text/plain\n\n'
id
