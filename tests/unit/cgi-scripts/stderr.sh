#!/bin/sh
echo 'oops: something broke' >&2
printf 'Content-Type: text/plain\n\nok\n'
echo 'partial line without newline' >&2
printf 'at the end' >&2
