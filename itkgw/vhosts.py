"""Choosing the vhost of a request, as Apache 2.4 does.

Rules: vhosts bound to the connection's exact local IP and port win over
``*:port`` ones; within that set the Host header is matched against
ServerName and ServerAlias (case-insensitive, ``*``/``?`` wildcards); no
match gives the first vhost of the set, the address's default.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from itkgw.config import ANY_HOST, VHost


class VHostTable:
    """The vhosts of one configuration, indexed for selection."""

    def __init__(self, vhosts: tuple[VHost, ...]) -> None:
        self.vhosts = vhosts

    def candidates(self, local_ip: str, local_port: int) -> list[VHost]:
        exact = [v for v in self.vhosts if any(
            a.port == local_port and a.host == local_ip for a in v.listen)]
        if exact:
            return exact
        return [v for v in self.vhosts if any(
            a.port == local_port and a.host == ANY_HOST for a in v.listen)]

    def select(self, local_ip: str, local_port: int, host: str) -> VHost | None:
        """The vhost for a request; None when no vhost answers on the address."""
        candidates = self.candidates(local_ip, local_port)
        if not candidates:
            return None
        host = host.lower()
        if host:
            for vhost in candidates:
                if any(_name_matches(pattern, host) for pattern in vhost.names):
                    return vhost
        return candidates[0]


def _name_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower()
    if "*" in pattern or "?" in pattern:
        return fnmatchcase(host, pattern)
    return pattern == host
