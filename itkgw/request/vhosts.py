"""Choosing the vhost of a request, as Apache 2.4 does.

Rules: vhosts bound to the connection's exact local IP and port win over
``*:port`` ones; within that set the Host header is matched against
ServerName and ServerAlias (case-insensitive, ``*``/``?`` wildcards); no
match gives the first vhost of the set, the address's default. With
``--compat=2.2`` names count only on addresses declared with
NameVirtualHost, as Apache 2.2 behaved: elsewhere the first vhost of the
address answers every request.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from itkgw.config.model import ANY_HOST, Address, VHost

#: Answers kept at most: the Host header is the client's to choose.
_CHOSEN_KEPT = 4096


class VHostTable:
    """The vhosts of one configuration, indexed for selection."""

    def __init__(self, vhosts: tuple[VHost, ...], name_based: tuple[Address, ...] | None = None) -> None:
        self.vhosts = vhosts
        #: None: every address is name-based (2.4); else only these (2.2 NameVirtualHost).
        self.name_based = name_based
        #: Answers already given, by local address and Host: every request asks, and the
        #: scan is over every vhost. Bounded, as the Host header is the client's to choose.
        self._chosen: dict[tuple[str, int, str], VHost | None] = {}

    def _names_count(self, vhost: VHost, local_port: int) -> bool:
        if self.name_based is None:
            return True
        return any(a in self.name_based for a in vhost.listen if a.port == local_port)

    def candidates(self, local_ip: str, local_port: int) -> list[VHost]:
        exact = [v for v in self.vhosts if any(
            a.port == local_port and a.host == local_ip for a in v.listen)]
        if exact:
            return exact
        return [v for v in self.vhosts if any(
            a.port == local_port and a.host == ANY_HOST for a in v.listen)]

    def select(self, local_ip: str, local_port: int, host: str) -> VHost | None:
        """The vhost for a request; None when no vhost answers on the address."""
        key = (local_ip, local_port, host)
        try:
            return self._chosen[key]
        except KeyError:
            pass
        chosen = self._chosen[key] = self._select(local_ip, local_port, host)
        if len(self._chosen) > _CHOSEN_KEPT:
            self._chosen.clear()
        return chosen

    def _select(self, local_ip: str, local_port: int, host: str) -> VHost | None:
        candidates = self.candidates(local_ip, local_port)
        if not candidates:
            return None
        host = host.lower()
        if host and self._names_count(candidates[0], local_port):
            for vhost in candidates:
                if any(_name_matches(pattern, host) for pattern in vhost.names):
                    return vhost
        return candidates[0]


def _name_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower()
    if "*" in pattern or "?" in pattern:
        return fnmatchcase(host, pattern)
    return pattern == host
