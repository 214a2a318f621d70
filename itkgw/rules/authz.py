"""Who may see a resource: Apache 2.4's Require rules and 2.2's Order/Allow/Deny.

Rules (mod_authz_core, mod_authz_host, mod_access_compat), as Apache 2.4
applies them:

- A Require rule answers GRANTED or DENIED. ``Require not`` turns GRANTED
  into DENIED and DENIED into NEUTRAL: a negated rule can refuse, never admit.
- <RequireAll>: the first DENIED child decides; else GRANTED if a child
  granted; else NEUTRAL. <RequireAny>, and the bare Require lines of a
  section: the first GRANTED child decides; else DENIED if a child denied;
  else NEUTRAL. <RequireNone> is <RequireAny> negated as ``Require not`` is.
- ``Require valid-user``, ``user`` and ``group`` (mod_authz_user,
  mod_authz_groupfile) answer DENIED_NO_USER while no one has logged in: a
  group that might grant once someone has answers so too, and the request is
  authenticated (itkgw.request.authn) and judged again with its user.
- Only GRANTED lets a request through; DENIED and NEUTRAL both give 403.
- Children are evaluated in order and stop at the first deciding answer, so a
  ``Require host`` after a matching ``Require ip`` costs no DNS lookup.

Order/Allow/Deny: see check_access_compat; using both kinds: see is_allowed.
The config readers call validate_require and validate_access, which refuse
what Apache refuses when it reads the config.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from itkgw.errors import HTTPError
from itkgw.rules.expr import ExprError, cached_condition
from itkgw.rules.expr_context import ExprContext

log = logging.getLogger("itkgw.authz_host")


# -- what the config holds -----------------------------------------------------


@dataclass(frozen=True)
class Require:
    """One ``Require`` line (mod_authz_core): ``all``, ``ip``, ``host``, ``env``,
    ``method`` or ``expr`` with its arguments; ``negated`` for ``Require not``."""

    kind: str
    args: tuple[str, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class RequireGroup:
    """``<RequireAll>``, ``<RequireAny>`` or ``<RequireNone>``; bare Require lines
    of a section form an implicit ``any`` group, as in Apache 2.4. The lines of a
    ``<Limit>`` (``<LimitExcept>``: ``methods_except``) are an ``any`` group that
    applies to those methods (all others) only."""

    mode: str  # "all", "any" or "none"
    items: tuple[Require | RequireGroup, ...] = ()
    methods: tuple[str, ...] | None = None
    methods_except: bool = False

    def applies_to(self, method: str) -> bool:
        """Whether the group's rules are asked for a request of ``method``: its own
        <Limit>, and the union of its items' (httpd's section->limited)."""
        if self.methods is not None and (_method_key(method) in self.methods) == self.methods_except:
            return False
        groups = [item for item in self.items if isinstance(item, RequireGroup)]
        return not groups or len(groups) < len(self.items) or any(g.applies_to(method) for g in groups)


@dataclass(frozen=True)
class LimitedAccess:
    """The Order, Allow and Deny lines of a ``<Limit>`` (``<LimitExcept>``: ``methods_except``),
    which count for those methods (all others) only."""

    methods: tuple[str, ...]
    methods_except: bool = False
    order: str | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def applies_to(self, method: str) -> bool:
        return (_method_key(method) in self.methods) != self.methods_except


@dataclass(frozen=True)
class AccessCompat:
    """Apache 2.2's mod_access: Order, Allow from, Deny from, Satisfy.

    ``allow``/``deny`` hold the words after ``from``: ``all``, an IP, a
    partial IP (``10.1``), a network (``10.0.0.0/8``, ``10.0.0.0/255.0.0.0``),
    a host name suffix, or ``env=VAR`` / ``env=!VAR``.
    """

    order: str = "deny,allow"  # "deny,allow", "allow,deny" or "mutual-failure"
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    satisfy: str = "all"  # "all" or "any"
    limited: tuple[LimitedAccess, ...] = ()


# -- evaluation ---------------------------------------------------------------

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: How long a request waits for the client's host name. Apache has no limit of
#: its own (the resolver's default can add up to tens of seconds); a shared
#: host should not hold a connection that long for one ``Require host``.
LOOKUP_TIMEOUT = 2.0

#: The methods Apache knows by number (``Require method`` refuses others).
#: HEAD is GET to Apache: a rule that admits GET admits HEAD.
KNOWN_METHODS = frozenset({
    "GET", "HEAD", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "VERSION-CONTROL",
    "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL", "REPORT", "MKWORKSPACE",
    "MKACTIVITY", "BASELINE-CONTROL", "MERGE",
})

ORDERS = ("deny,allow", "allow,deny", "mutual-failure")
SATISFY = ("all", "any")


class Decision(enum.Enum):
    """mod_authz_core's three answers."""

    GRANTED = "granted"
    DENIED = "denied"
    NEUTRAL = "neutral"
    #: Denied while no user has logged in: a login may change the answer.
    DENIED_NO_USER = "denied (no authenticated user yet)"


@dataclass(frozen=True)
class Client:
    """What access rules may look at in one request.

    ``env`` is the request's environment (SetEnv, RewriteRule E=...), for
    ``Require env`` and ``Allow from env=``. ``hostname`` returns the client's
    double-reverse-checked host name or None; left out, remote_host() looks
    ``remote_ip`` up with lookup_host on first use. Apache looks a connection
    up once: pass one memoized callable to every Client of a connection to do
    the same. ``expr_context`` builds the itkgw.rules.expr context ``Require expr``
    evaluates in (called only if a ``Require expr`` is reached); ``local_ip``
    is the server address, for ``Require local``.
    """

    remote_ip: str
    method: str = "GET"
    env: Mapping[str, str] = field(default_factory=dict)
    hostname: Callable[[], str | None] | None = None
    expr_context: Callable[[], ExprContext] | None = None
    local_ip: str = ""
    #: The user the request authenticated as (None: no one yet), and the groups of
    #: AuthGroupFile a user is in, for ``Require user``, ``valid-user`` and ``group``.
    user: str | None = None
    groups_of: Callable[[str], frozenset[str]] | None = None
    _looked_up: dict[str, str | None] = field(default_factory=dict, init=False, repr=False,
                                              compare=False)

    def remote_host(self) -> str | None:
        """The host name, asked for at most once per Client."""
        if "name" not in self._looked_up:
            lookup = self.hostname or functools.partial(lookup_host, self.remote_ip)
            self._looked_up["name"] = lookup()
        return self._looked_up["name"]

    def address(self) -> Address | None:
        """The client's address; an IPv4-mapped IPv6 address counts as IPv4,
        so ``Require ip 10.1`` works on a dual-stack listener."""
        return _client_address(self.remote_ip)


# --- Require (mod_authz_core, mod_authz_host) ---------------------------------


def check_require(group: RequireGroup, client: Client, inside_all: bool = True) -> Decision:
    """Evaluate a section's Require rules; only GRANTED admits the request.

    A group whose <Limit> leaves the request's method out grants inside an
    ``all`` group (and at the top) and has no opinion inside an ``any`` one, as
    httpd's apply_authz_sections: a section with only <Limit POST> rules is open
    to GET. Raises HTTPError(500) for a rule that cannot be evaluated (an
    expression that fails, a rule the config check would have refused), as
    Apache answers AUTHZ_GENERAL_ERROR with 500.
    """
    if not group.applies_to(client.method):
        return Decision.GRANTED if inside_all else Decision.NEUTRAL
    result = Decision.NEUTRAL
    every = group.mode == "all"
    for item in group.items:
        answer = (check_require(item, client, every) if isinstance(item, RequireGroup)
                  else _check_rule(item, client))
        if answer is Decision.NEUTRAL:
            continue
        # httpd's merge: DENIED_NO_USER where a login may still change the answer.
        if every:
            if answer is Decision.DENIED:
                result = Decision.DENIED
                break
            if result is Decision.NEUTRAL or answer is Decision.DENIED_NO_USER:
                result = answer
        else:
            if answer is Decision.GRANTED:
                result = Decision.GRANTED
                break
            if result is not Decision.DENIED_NO_USER:
                result = answer
    return _negate(result) if group.mode == "none" else result


def _check_rule(rule: Require, client: Client) -> Decision:
    if rule.kind in USER_KINDS:
        answer = _check_user(rule, client)
    else:
        provider = _PROVIDERS.get(rule.kind)
        if provider is None:
            raise HTTPError(500, f"Unknown Authz provider: {rule.kind}")
        answer = Decision.GRANTED if provider(rule.args, client) else Decision.DENIED
    return _negate(answer) if rule.negated else answer


def _negate(answer: Decision) -> Decision:
    """A refusal that is negated becomes no opinion, never a grant."""
    return Decision.DENIED if answer is Decision.GRANTED else Decision.NEUTRAL


#: Require kinds that ask who the user is: mod_authz_user's and mod_authz_groupfile's.
USER_KINDS = frozenset({"valid-user", "user", "group"})


def _check_user(rule: Require, client: Client) -> Decision:
    user = client.user
    if user is None:
        return Decision.DENIED_NO_USER
    if rule.kind == "valid-user":
        return Decision.GRANTED
    if rule.kind == "user":
        return Decision.GRANTED if user in rule.args else Decision.DENIED
    groups = client.groups_of(user) if client.groups_of is not None else frozenset()
    return Decision.GRANTED if groups & set(rule.args) else Decision.DENIED


def _all(args: tuple[str, ...], client: Client) -> bool:
    return " ".join(args).lower() == "granted"


def _ip(args: tuple[str, ...], client: Client) -> bool:
    address = client.address()
    return address is not None and any(_runtime(_require_subnet, word).contains(address) for word in args)


def _host(args: tuple[str, ...], client: Client) -> bool:
    name = client.remote_host()
    if not name:
        log.error("access check of 'Require host %s' failed for %s, reason: unable to get the "
                  "remote host name", " ".join(args), client.remote_ip)
        return False
    return any(in_domain(domain, name) for domain in args)


def _forward_dns(args: tuple[str, ...], client: Client) -> bool:
    """Require forward-dns: the client's address is one the names resolve to (A or AAAA), as
    mod_authz_host looks them up on each request; a name that does not resolve matches none."""
    address = client.address()
    if address is None:
        return False
    for name in args:
        try:
            found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            continue
        if any(_client_address(str(entry[4][0])) == address for entry in found):
            return True
    return False


def _env(args: tuple[str, ...], client: Client) -> bool:
    return any(_env_has(client.env, name) for name in args)


def _method(args: tuple[str, ...], client: Client) -> bool:
    return _method_key(client.method) in {_method_key(name) for name in args}


def _local(args: tuple[str, ...], client: Client) -> bool:
    address = client.address()
    if address is None:
        return False
    return address.is_loopback or (bool(client.local_ip) and address == _client_address(client.local_ip))


def _expr(args: tuple[str, ...], client: Client) -> bool:
    if client.expr_context is None:
        raise HTTPError(500, "Error evaluating expression in 'Require expr': no request context")
    try:
        return cached_condition(_expr_text(args)).boolean(client.expr_context())
    except ValueError as exc:
        raise HTTPError(500, f"Error evaluating expression in 'Require expr': {exc}") from None


#: Require kind -> whether the client matches. Negation and grouping are
#: applied around these, so each answers only "matches or not".
_PROVIDERS: dict[str, Callable[[tuple[str, ...], Client], bool]] = {
    "all": _all,
    "ip": _ip,
    "host": _host,
    "forward-dns": _forward_dns,
    "env": _env,
    "method": _method,
    "local": _local,
    "expr": _expr,
}


def _expr_text(args: tuple[str, ...]) -> str:
    """The expression as Apache reads it: the rest of the line, unquoted."""
    text = " ".join(args)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return text


def _method_key(name: str) -> str:
    return "GET" if name == "HEAD" else name


def _env_has(env: Mapping[str, str], name: str) -> bool:
    """Apache's environment table ignores case in names; an empty value counts."""
    if name in env:
        return True
    wanted = name.lower()
    return any(key.lower() == wanted for key in env)


def in_domain(domain: str, name: str) -> bool:
    """Whether host ``name`` is ``domain`` or inside it, whole labels only:
    ``example.com`` matches ``www.example.com``, not ``badexample.com``;
    ``.example.com`` matches only names below it."""
    domain, name = domain.lower(), name.lower()
    if not name.endswith(domain):
        return False
    if len(name) == len(domain):
        return True
    return domain.startswith(".") or name[len(name) - len(domain) - 1] == "."


# --- Require validation (what Apache refuses when it reads the config) --------


@dataclass(frozen=True)
class _Node:
    """A rule or group as mod_authz_core's config check sees it: groups are
    AND or OR, and any node may be negated (<RequireNone> is a negated OR)."""

    negated: bool
    any_of: bool = False
    children: tuple[_Node, ...] | None = None  # None: a single rule

    def label(self) -> str:
        if self.any_of:
            return "<RequireNone>" if self.negated else "<RequireAny>"
        return "<RequireAll>"


def validate_require(group: RequireGroup) -> str | None:
    """Apache's error for a section's Require rules, or None when it accepts them.

    ``group`` is what a section holds: bare Require lines form an ``any``
    group; a section holding only a <RequireAll> may give that group itself.
    Refused, as by httpd: unknown kinds and bad arguments; ``Require not`` or
    <RequireNone> directly in an ``any`` or ``none`` group (they could never
    decide there); empty groups; and groups whose items are all negated
    (nothing in them could ever grant).
    """
    section = group if group.mode == "any" else RequireGroup("any", (group,))
    error, tree = _read_group(section)
    if error is not None:
        return error
    return _only_negative(tree, "<Directory>, <Location>, or similar")


def _read_group(group: RequireGroup) -> tuple[str | None, _Node]:
    """Check rules and nesting as the directives are read, in order."""
    node = _Node(negated=group.mode == "none", any_of=group.mode != "all")
    if group.mode not in ("all", "any", "none"):
        return f"unknown Require group '{group.mode}' (all, any or none)", node
    children: list[_Node] = []
    for item in group.items:
        if isinstance(item, RequireGroup):
            error, child = _read_group(item)
            if error is not None:
                return error, node
            if not child.negated and child.any_of == node.any_of and child.children:
                # <RequireAny> in <RequireAny>, <RequireAll> in <RequireAll>:
                # httpd merges the inner group into the outer one.
                children.extend(child.children)
                continue
            what = child.label()
        else:
            error = _rule_error(item)
            if error is not None:
                return error, node
            child = _Node(negated=item.negated)
            what = "negative Require"
        if child.negated and node.any_of:
            return f"{what} directive has no effect in {node.label()} directive", node
        children.append(child)
    if not children:
        return f"{node.label()} directive contains no authorization directives", node
    return None, replace(node, children=tuple(children))


def _only_negative(node: _Node, name: str) -> str | None:
    """httpd's check after reading: every group needs a rule that can grant.

    httpd first lifts a <RequireNone> into its <RequireAll> by De Morgan's
    rule; that changes nothing here, as the lifted items are all negated.
    """
    assert node.children is not None
    for child in node.children:
        if child.children is not None:
            error = _only_negative(child, child.label())
            if error is not None:
                return error
    if all(child.negated for child in node.children):
        return f"{name} directive contains only negative authorization directives"
    return None


def _rule_error(rule: Require) -> str | None:
    if rule.kind in USER_KINDS:
        if rule.kind != "valid-user" and not rule.args:
            return f"Require {rule.kind} needs at least one name"
        return None
    if rule.kind not in _PROVIDERS:
        return f"Unknown Authz provider: {rule.kind}"
    if rule.kind == "all" and " ".join(rule.args).lower() not in ("granted", "denied"):
        return "Argument for 'Require all' must be 'granted' or 'denied'"
    if rule.kind in ("ip", "host", "forward-dns") and not rule.args:
        return f"'require {rule.kind}' requires an argument"
    if rule.kind == "ip":
        for word in rule.args:
            try:
                _require_subnet(word)
            except ValueError as exc:
                return str(exc)
    if rule.kind == "host" and any("%{" in word for word in rule.args):
        return "expressions in 'Require host' are not supported; write the host names"
    if rule.kind == "method":
        for name in rule.args:
            if name not in KNOWN_METHODS:
                return f"Invalid Method '{name}'"
    if rule.kind == "expr":
        return _expr_error(_expr_text(rule.args))
    return None


def _expr_error(text: str) -> str | None:
    if not text.strip():
        return "Cannot parse expression in require line: empty expression"
    try:
        cached_condition(text)
    except ExprError as exc:
        return f"Cannot parse expression in require line: {exc}"
    return None


# --- Order, Allow, Deny (mod_access_compat) -----------------------------------


def check_access_compat(access: AccessCompat, client: Client) -> bool:
    """Whether Order/Allow/Deny let the client in (Satisfy is is_allowed's).

    ================  ===========  ===========  ===============
    client matches    Allow,Deny   Deny,Allow   Mutual-failure
    ================  ===========  ===========  ===============
    Allow only        allowed      allowed      allowed
    Deny only         denied       denied       denied
    both              denied       allowed      denied
    neither           denied       allowed      denied
    ================  ===========  ===========  ===============

    The order of the Allow and Deny lines in the file does not matter. With
    no Order line the order is Deny,Allow, so an area with no Allow or Deny
    lines at all is open.
    """
    order, allow, deny = access.order.lower(), access.allow, access.deny
    for limited in access.limited:  # the lines of a <Limit> count for its methods only
        if limited.applies_to(client.method):
            order = (limited.order or order).lower()
            allow, deny = (*allow, *limited.allow), (*deny, *limited.deny)
    if order == "deny,allow":
        return _matches(allow, client) or not _matches(deny, client)
    if order in ("allow,deny", "mutual-failure"):
        return _matches(allow, client) and not _matches(deny, client)
    raise HTTPError(500, f"unknown Order '{order}'")


@dataclass(frozen=True)
class _From:
    """One word after ``Allow from`` / ``Deny from``, classified once."""

    kind: str  # "all", "env", "not-env", "ip" or "host"
    name: str = ""
    subnet: _Subnet | None = None

    def matches(self, client: Client) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "env":
            return _env_has(client.env, self.name)
        if self.kind == "not-env":
            return not _env_has(client.env, self.name)
        if self.kind == "ip":
            address = client.address()
            return self.subnet is not None and address is not None and self.subnet.contains(address)
        name = client.remote_host()
        return name is not None and in_domain(self.name, name)


def _matches(words: tuple[str, ...], client: Client) -> bool:
    return any(_runtime(_from_clause, word).matches(client) for word in words)


@functools.lru_cache(maxsize=1024)
def _from_clause(word: str) -> _From:
    """Classify as mod_access_compat does: env=, all, a network (anything with
    a ``/``), an address if it looks like one, else a host name."""
    lowered = word.lower()
    if lowered.startswith("env=!"):
        return _From("not-env", word[5:])
    if lowered.startswith("env="):
        return _From("env", word[4:])
    if lowered == "all":
        return _From("all")
    address, slash, mask = word.partition("/")
    if slash and not _looks_like_ip(address):
        raise ValueError(f"'{word}': An IP address was expected")
    if not slash and not _looks_like_ip(word):
        return _From("host", word)
    try:
        return _From("ip", subnet=_subnet(address, mask if slash else None))
    except ValueError as exc:
        raise ValueError(f"'{word}': {exc}") from None


def validate_access(access: AccessCompat) -> str | None:
    """Apache's error for an Order/Allow/Deny/Satisfy set, or None."""
    orders = [access.order, *(limited.order for limited in access.limited if limited.order)]
    if any(order.lower() not in ORDERS for order in orders):
        return "unknown order"
    if access.satisfy.lower() not in SATISFY:
        return "Satisfy either 'any' or 'all'."
    limited_words = [word for limited in access.limited for word in (*limited.allow, *limited.deny)]
    for word in (*access.allow, *access.deny, *limited_words):
        try:
            _from_clause(word)
        except ValueError as exc:
            return str(exc)
    return None


# --- both together -------------------------------------------------------------


def is_allowed(require: RequireGroup | None, access: AccessCompat | None, client: Client) -> bool:
    """The access decision for a request, from the rules of its section.

    Apache 2.4 runs mod_access_compat (Order/Allow/Deny) as an access checker
    and mod_authz_core (Require) after it; ``Satisfy`` decides how the two
    combine:

    - Satisfy All (the default): both must pass. Order/Allow/Deny that refuse
      give 403 whatever Require says, and the other way round.
    - Satisfy Any: either suffices. Note that Order/Allow/Deny pass when there
      are no Allow/Deny lines (the default order is Deny,Allow), so ``Satisfy
      Any`` without them opens the area, as it does in Apache.
    - Only Require rules: allowed iff they answer GRANTED (NEUTRAL is 403).
    - Only Order/Allow/Deny: their answer. (Apache 2.4 with Satisfy Any and no
      Require anywhere would let everyone in, because an empty Require set
      grants; itkgw keeps the Allow/Deny answer, as 2.2 did.)
    - Neither: allowed. Denying by default is the config's job (``<Directory />``
      with ``Require all denied``).
    """
    return access_decision(require, access, client) is Decision.GRANTED


def access_decision(require: RequireGroup | None, access: AccessCompat | None, client: Client) -> Decision:
    """is_allowed's answer, with DENIED_NO_USER where a login may admit the request (NEUTRAL
    is DENIED here: nothing granted)."""
    if access is None:
        decision = Decision.GRANTED if require is None else check_require(require, client)
    elif not check_access_compat(access, client):
        any_suffices = _any_suffices(require, access)
        decision = check_require(require, client) if any_suffices else Decision.DENIED  # type: ignore[arg-type]
    elif require is None or access.satisfy.lower() == "any":
        decision = Decision.GRANTED
    else:
        decision = check_require(require, client)
    return Decision.DENIED if decision is Decision.NEUTRAL else decision


def refused_by_access_compat(require: RequireGroup | None, access: AccessCompat | None,
                              client: Client) -> bool:
    """Whether Order, Allow and Deny refused the client on their own (mod_access_compat's
    refusal, which httpd logs as its own), Satisfy Any not handing the request to Require."""
    return (access is not None and not _any_suffices(require, access)
            and not check_access_compat(access, client))


def _any_suffices(require: RequireGroup | None, access: AccessCompat) -> bool:
    """Satisfy Any with Require rules: their answer alone may let a refused client in."""
    return access.satisfy.lower() == "any" and require is not None


def same_for_every_request(require: RequireGroup | None, access: AccessCompat | None) -> bool:
    """Whether the rules answer every request alike: no address, host, variable, method,
    expression or login is looked at (``Require all ...`` and ``Allow from all`` at most),
    so an answer given once holds for any other request."""
    if access is not None and (access.limited or any(word.lower() != "all"
                                                     for word in (*access.allow, *access.deny))):
        return False
    return require is None or _same_for_all(require)


def _same_for_all(group: RequireGroup) -> bool:
    return group.methods is None and all(
        _same_for_all(item) if isinstance(item, RequireGroup) else item.kind == "all"
        for item in group.items)


# --- addresses and networks (APR's apr_ipsubnet_*) -----------------------------


@dataclass(frozen=True)
class _Subnet:
    """An address with a mask: ``10.1`` is 10.1.0.0/255.255.0.0."""

    version: int
    network: int
    mask: int

    def contains(self, address: Address) -> bool:
        return address.version == self.version and int(address) & self.mask == self.network


_PARTIAL_IPV4 = re.compile(r"[0-9]+(?:\.[0-9]+){0,3}\.?")
_FULL_IPV4 = re.compile(r"[0-9]+(?:\.[0-9]+){3}")


def _looks_like_ip(text: str) -> bool:
    """APR's test: digits and dots, or anything with a colon (IPv6)."""
    return bool(text) and (":" in text or all(c in "0123456789." for c in text))


def _require_subnet(word: str) -> _Subnet:
    """A ``Require ip`` word, with mod_authz_host's error text."""
    address, slash, mask = word.partition("/")
    if not _looks_like_ip(address):
        raise ValueError(f"ip address '{word}' appears to be invalid")
    try:
        return _subnet(address, mask if slash else None)
    except ValueError as exc:
        raise ValueError(f"ip address '{word}' appears to be invalid: {exc}") from None


@functools.lru_cache(maxsize=1024)
def _subnet(address: str, mask: str | None) -> _Subnet:
    """Parse as apr_ipsubnet_create: a full IPv4 or IPv6 address, a partial
    IPv4 address (``10.1``, ``10.1.``) when there is no mask, and a mask as
    bits (1..32 or 1..128) or, for IPv4, dotted."""
    version, network, width = _parse_address(address, partial_ok=mask is None)
    total = 32 if version == 4 else 128
    if mask is None:
        bits = total if width is None else width
    elif mask.isascii() and mask.isdigit() and 0 < int(mask) <= total:
        bits = int(mask)
    elif version == 4 and _FULL_IPV4.fullmatch(mask) and (dotted := _ipv4_value(mask)) is not None:
        return _Subnet(4, network & dotted, dotted)
    else:
        raise ValueError("The specified network mask is invalid.")
    mask_bits = ((1 << bits) - 1) << (total - bits)
    return _Subnet(version, network & mask_bits, mask_bits)


def _parse_address(text: str, partial_ok: bool) -> tuple[int, int, int | None]:
    """(version, value, prefix bits of a partial IPv4 address or None)."""
    bad = ValueError("The specified IP address is invalid.")
    if ":" in text:
        if "%" in text:
            raise bad
        try:
            v6 = ipaddress.IPv6Address(text)
        except ValueError:
            raise bad from None
        if v6.ipv4_mapped is not None:
            # As APR: write IPv4 networks as IPv4; mapped clients match them.
            raise bad
        return 6, int(v6), None
    if _FULL_IPV4.fullmatch(text) and (value := _ipv4_value(text)) is not None:
        return 4, value, None
    if partial_ok and _PARTIAL_IPV4.fullmatch(text):
        octets = [int(part) for part in text.rstrip(".").split(".")]
        if all(octet <= 255 for octet in octets):
            value = 0
            for octet in octets:
                value = value << 8 | octet
            return 4, value << (8 * (4 - len(octets))), 8 * len(octets)
    raise bad


def _ipv4_value(text: str) -> int | None:
    """Dotted-quad value; leading zeros are decimal, as inet_pton in APR."""
    octets = [int(part) for part in text.split(".")]
    if any(octet > 255 for octet in octets):
        return None
    return octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]


def _client_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _runtime(parse: Callable[[str], Any], word: str) -> Any:
    """Parse a rule word at request time; the config check should have refused
    a bad one, so reaching one is the server's error (500), not the client's."""
    try:
        return parse(word)
    except ValueError as exc:
        raise HTTPError(500, f"bad access rule: {exc}") from None


# --- host names -----------------------------------------------------------------

Reverse = Callable[[str], tuple[str, list[str], list[str]]]
Forward = Callable[..., list[Any]]


def lookup_host(ip: str, timeout: float = LOOKUP_TIMEOUT, reverse: Reverse = socket.gethostbyaddr,
                forward: Forward = socket.getaddrinfo) -> str | None:
    """The client's host name by double reverse lookup, lower case, or None.

    The name an address maps back to counts only if it maps forward to that
    address again (Apache's REMOTE_DOUBLE_REV): anyone can write any name into
    the PTR records of their own addresses. Python cannot give the system
    resolver a timeout, so the lookup runs in a daemon thread and we stop
    waiting after ``timeout`` seconds; a lookup still blocked then is left to
    finish on its own (it holds no state and ends with the process).
    """
    answer: list[str | None] = []
    worker = threading.Thread(target=lambda: answer.append(_double_reverse(ip, reverse, forward)),
                              name="authz-host-lookup", daemon=True)
    worker.start()
    worker.join(timeout)
    if not answer:
        log.warning("host name lookup for %s took longer than %.1f seconds; treating it as unknown",
                    ip, timeout)
        return None
    return answer[0]


def _double_reverse(ip: str, reverse: Reverse, forward: Forward) -> str | None:
    address = _client_address(ip)
    if address is None:
        return None
    try:
        name = reverse(str(address))[0]
        found = forward(name, None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        log.debug("no host name for %s: %s", ip, exc)
        return None
    if any(_client_address(str(info[4][0])) == address for info in found):
        return name.lower()
    log.debug("host name %s of %s does not map back to it; ignoring it", name, ip)
    return None
