"""Looking up the users and groups a configuration names, as Apache's User and Group do.

Done once, when the configuration is read: the model holds the resolved
uid and gid, so no process looks a name up while it serves a request.
"""

from __future__ import annotations

import grp
import pwd

from itkgw.config.model import Identity

#: The largest id a set*id call takes: 2**32 - 1 is -1, "unchanged", to them.
MAX_ID = 2**32 - 2


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
