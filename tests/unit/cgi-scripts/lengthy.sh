#!/bin/sh
printf 'Content-Type: text/plain\nContent-Length: 5\n\n0123456789'
