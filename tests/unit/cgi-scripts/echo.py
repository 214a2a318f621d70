#!/usr/bin/python3
"""Echo the request body while reading it; with ?first, write 1 MiB before reading."""
import os

os.write(1, b"Content-Type: application/octet-stream\r\n\r\n")


def write_all(data):
    while data:
        data = data[os.write(1, data):]


if os.environ.get("QUERY_STRING") == "first":
    write_all(b"x" * (1 << 20))
while True:
    data = os.read(0, 65536)
    if not data:
        break
    write_all(data)
