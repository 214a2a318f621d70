#!/bin/sh
# Two pieces of body with a pause between them.
printf 'Content-Type: text/plain\n\nfirst\n'
sleep 0.3
printf 'second\n'
