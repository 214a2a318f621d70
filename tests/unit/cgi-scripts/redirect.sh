#!/bin/sh
printf 'Location: http://example.org/elsewhere\nSet-Cookie: a=1\nContent-Type: text/plain\n\ndiscard me\n'
