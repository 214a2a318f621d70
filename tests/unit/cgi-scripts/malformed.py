#!/usr/bin/python3
"""A bad header block, chosen by the query string."""
import os

HEADS = {
    "cr": b"Content-Type: text/plain\r\nX-Evil: a\rInjected: yes\r\n\r\nbody\n",
    "nocolon": b"Content-Type: text/plain\nthis is not a header\n\nbody\n",
    "space": b"Content-Type: text/plain\nX Evil: yes\n\nbody\n",
}
os.write(1, HEADS[os.environ["QUERY_STRING"]])
