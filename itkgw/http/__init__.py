"""HTTP/1.1 on one client connection, driven with h11: the only room that uses h11.

``connection`` reads request heads and bodies within the configured limits
and writes responses (sendfile for files); errors carry their status.
"""
