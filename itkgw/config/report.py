"""``itkgw -S``: the vhosts as parsed, in the layout of ``httpd -S``.

An admin moving off Apache compares this with what ``apachectl -S`` printed
on the old box, so the lines are Apache's (vhost.c's dump_vhost_config):
addresses with their default and name-based vhosts, each with FILE:LINE
and its aliases, then the main server's settings. What mpm-itk adds is the
identity each vhost's requests run as, on a line of its own, and for
sections that pick another identity, that section's.
"""

from __future__ import annotations

from itkgw.config.model import ANY_HOST, Address, DirSection, Identity, ServerConfig, VHost
from itkgw.config.modules.pool import PoolSettings

_ADDRESS_WIDTH = 22
_INDENT = " " * 8
_DETAIL = " " * 16
_SECTION_NAMES = {
    ("directory", False): "Directory",
    ("directory", True): "DirectoryMatch",
    ("location", False): "Location",
    ("location", True): "LocationMatch",
    ("files", False): "Files",
    ("files", True): "FilesMatch",
}


def vhost_table(config: ServerConfig) -> str:
    """What ``httpd -S`` prints for ``config``, with each vhost's identity."""
    by_address = _vhosts_by_address(config.vhosts)
    specific = [address for address in by_address if address.host != ANY_HOST]
    wildcard = [address for address in by_address if address.host == ANY_HOST]
    lines = ["VirtualHost configuration:"]
    for address in specific:
        lines.extend(_address_lines(config, address, by_address[address]))
    if wildcard and config.compat == "2.2":
        lines.append("wildcard NameVirtualHosts and _default_ servers:")
    for address in wildcard:
        lines.extend(_address_lines(config, address, by_address[address]))
    lines.extend([
        f'ServerRoot: "{config.server_root}"',
        f'Main ErrorLog: "{config.error_log}"',
        f'PidFile: "{config.pid_file}"',
        f'User: name="{config.user.user}" id={config.user.uid}',
        f'Group: name="{config.user.group}" id={config.user.gid}',
        f"Compat: mpm-itk {config.compat}",
        _process_model_line(config),
    ])
    return "\n".join(lines)


def _process_model_line(config: ServerConfig) -> str:
    settings = config.modules.get(PoolSettings)
    if settings.process_model != "pool":
        return f"ProcessModel: {settings.process_model}"
    return (f"ProcessModel: pool (PoolMaxWorkers {settings.max_workers}, PoolMinWorkers "
            f"{settings.min_workers}, PoolIdleTimeout {settings.idle_timeout})")


def _vhosts_by_address(vhosts: tuple[VHost, ...]) -> dict[Address, list[VHost]]:
    """Each address with its vhosts in config order; the first is the address's default."""
    found: dict[Address, list[VHost]] = {}
    for vhost in vhosts:
        for address in dict.fromkeys(vhost.listen):
            found.setdefault(address, []).append(vhost)
    return found


def _name_based(config: ServerConfig, address: Address, vhosts: list[VHost]) -> bool:
    """2.4: any address with several vhosts; 2.2: only those declared with NameVirtualHost."""
    if config.compat == "2.2":
        return address in config.name_virtual_hosts
    return len(vhosts) > 1


def _address_lines(config: ServerConfig, address: Address, vhosts: list[VHost]) -> list[str]:
    column = f"{address!s:<{_ADDRESS_WIDTH}}"
    lines: list[str] = []
    if not _name_based(config, address, vhosts):
        # IP-based: every vhost on its own line (2.2 lets the first one answer).
        for vhost in vhosts:
            lines.append(f"{column} {vhost.server_name} ({vhost.where})")
            lines.extend(_identity_lines(config, vhost))
        return lines
    default = vhosts[0]
    lines.append(f"{column} is a NameVirtualHost")
    lines.append(f"{_INDENT} default server {default.server_name} ({default.where})")
    for vhost in vhosts:
        lines.append(f"{_INDENT} port {address.port} namevhost {vhost.server_name} ({vhost.where})")
        lines.extend(_alias_lines(vhost))
        lines.extend(_identity_lines(config, vhost))
    return lines


def _alias_lines(vhost: VHost) -> list[str]:
    """Plain aliases first, then wildcard ones, as Apache keeps them apart."""
    plain = [name for name in vhost.server_alias if not _is_wild(name)]
    wild = [name for name in vhost.server_alias if _is_wild(name)]
    return ([f"{_DETAIL} alias {name}" for name in plain]
            + [f"{_DETAIL} wild alias {name}" for name in wild])


def _is_wild(name: str) -> bool:
    return "*" in name or "?" in name


def _identity_lines(config: ServerConfig, vhost: VHost) -> list[str]:
    own = identity_text(config, vhost.assign_user_id, vhost.assign_user_id_expr, vhost.assign_group_id_expr)
    lines = [f"{_DETAIL} {own}"]
    for section in vhost.directories:
        if section.assign_user_id or section.assign_user_id_expr or section.assign_group_id_expr:
            text = identity_text(config, section.assign_user_id or vhost.assign_user_id,
                                 section.assign_user_id_expr or vhost.assign_user_id_expr,
                                 section.assign_group_id_expr or vhost.assign_group_id_expr)
            lines.append(f"{_DETAIL} {_section_label(section)} {text}")
    return lines


def _section_label(section: DirSection) -> str:
    name = _SECTION_NAMES[(section.kind, section.regex)]
    return f"<{name} {section.path}>"


def identity_text(config: ServerConfig, assigned: Identity | None, user_expr: str | None,
                  group_expr: str | None) -> str:
    """Who requests run as: AssignUserIDExpr/AssignGroupIDExpr override AssignUserID,
    which overrides DefaultIdentity (never the workers' own User/Group)."""
    fixed = assigned or config.default_identity
    source = "AssignUserID" if assigned else "DefaultIdentity"
    if not (user_expr or group_expr):
        prefix = "runs as " if assigned else "runs as DefaultIdentity "
        return f"{prefix}{fixed.user}:{fixed.group} (uid {fixed.uid}, gid {fixed.gid})"
    if user_expr and group_expr:
        return f"identity from AssignUserIDExpr {user_expr}, AssignGroupIDExpr {group_expr}"
    if user_expr:
        return (f"identity from AssignUserIDExpr {user_expr}; "
                f"group {fixed.group} (gid {fixed.gid}) from {source}")
    return (f"identity from AssignGroupIDExpr {group_expr}; "
            f"user {fixed.user} (uid {fixed.uid}) from {source}")
