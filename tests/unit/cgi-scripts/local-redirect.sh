#!/bin/sh
printf 'Location: /elsewhere.html\n\n'
