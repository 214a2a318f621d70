"""Looking up the users and groups a configuration names, as Apache's User and Group do.

Done once, when the configuration is read: the model holds the resolved
uid and gid, so no connection child looks a name up while it serves a
request. The FastCGI backend manager names the ids of its askers
(identity_of_ids), once per identity.
"""

from __future__ import annotations

import functools
import grp
import pwd

from itkgw.config.model import Identity

#: The largest id a set*id call takes: 2**32 - 1 is -1, "unchanged", to them.
MAX_ID = 2**32 - 2


@functools.lru_cache(maxsize=1024)
def identity_of_ids(uid: int, gid: int) -> Identity:
    """The Identity of a uid and gid (a peer's credentials), named as the system names
    them; ``#uid`` / ``#gid`` for ids without a name, as Apache writes them."""
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"#{uid}"
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = f"#{gid}"
    return Identity(user, group, uid, gid)


def resolve_identity(user: str, group: str) -> Identity:
    """Look up ``user`` and ``group`` the way Apache's User and Group do.

    Either may be a name or ``#`` and a number, which need not exist in
    passwd/group. As in Apache, a ``#uid`` user gets no supplementary groups
    (initgroups has no name to look up). Raises LookupError saying what is
    missing; the config readers turn it into a ConfigError with its location.
    """
    if user.startswith("#"):
        uid = _numeric_id(user, "user")
    else:
        try:
            uid = pwd.getpwnam(user).pw_uid
        except (KeyError, ValueError):
            raise LookupError(f"user {user!r} does not exist") from None
    if group.startswith("#"):
        gid = _numeric_id(group, "group")
    else:
        try:
            gid = grp.getgrnam(group).gr_gid
        except (KeyError, ValueError):
            raise LookupError(f"group {group!r} does not exist") from None
    return Identity(user=user, group=group, uid=uid, gid=gid)


def _numeric_id(text: str, kind: str) -> int:
    digits = text[1:]
    if not (digits.isascii() and digits.isdigit()) or int(digits) > MAX_ID:
        raise LookupError(f"{kind} {text!r} is not a valid id (#0 to #{MAX_ID})")
    return int(digits)
