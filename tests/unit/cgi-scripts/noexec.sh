#!/bin/sh
printf 'Content-Type: text/plain\n\nI should not run\n'
