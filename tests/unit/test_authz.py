"""Require and Order/Allow/Deny decisions, checked against Apache's rules."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from itkgw.errors import HTTPError
from itkgw.rules.authz import (
    AccessCompat,
    Client,
    Decision,
    LimitedAccess,
    Require,
    RequireGroup,
    access_decision,
    check_access_compat,
    check_require,
    in_domain,
    is_allowed,
    lookup_host,
    same_for_every_request,
    validate_access,
    validate_require,
)
from itkgw.rules.expr_context import ExprContext

GRANTED, DENIED, NEUTRAL = Decision.GRANTED, Decision.DENIED, Decision.NEUTRAL


def rule(line: str) -> Require:
    """``"not ip 10.1"`` -> Require("ip", ("10.1",), negated=True)."""
    words = line.split()
    negated = words[0] == "not"
    if negated:
        words = words[1:]
    return Require(words[0], tuple(words[1:]), negated)


def any_(*items: str | RequireGroup) -> RequireGroup:
    return RequireGroup("any", tuple(rule(i) if isinstance(i, str) else i for i in items))


def all_(*items: str | RequireGroup) -> RequireGroup:
    return RequireGroup("all", tuple(rule(i) if isinstance(i, str) else i for i in items))


def none_(*items: str | RequireGroup) -> RequireGroup:
    return RequireGroup("none", tuple(rule(i) if isinstance(i, str) else i for i in items))


def client(ip: str = "192.0.2.10", *, method: str = "GET", env: dict[str, str] | None = None,
           host: str | None = None) -> Client:
    """A client whose host name is ``host`` (no DNS involved)."""
    return Client(ip, method=method, env=env or {}, hostname=lambda: host)


def access(order: str, allow: tuple[str, ...] = (), deny: tuple[str, ...] = (),
           satisfy: str = "all") -> AccessCompat:
    return AccessCompat(order=order, allow=allow, deny=deny, satisfy=satisfy)


# --- Require: single rules ------------------------------------------------------


def test_require_all_granted_and_denied() -> None:
    assert check_require(any_("all granted"), client()) is GRANTED
    assert check_require(any_("all denied"), client()) is DENIED
    assert check_require(any_("all Granted"), client()) is GRANTED


@pytest.mark.parametrize("spec, inside, outside", [
    ("192.0.2.10", "192.0.2.10", "192.0.2.11"),
    ("127.0", "127.0.200.1", "127.1.0.1"),
    ("10.1.", "10.1.2.3", "10.11.2.3"),
    ("10", "10.250.0.1", "11.0.0.1"),
    ("10.0.0.0/8", "10.9.8.7", "11.0.0.1"),
    ("10.1.2.3/8", "10.200.0.1", "9.255.255.255"),
    ("172.16.0.0/255.240.0.0", "172.31.255.255", "172.32.0.0"),
    ("192.168.1.0/24", "192.168.1.254", "192.168.2.1"),
    ("2001:db8::/32", "2001:db8:1::5", "2001:db9::1"),
    ("2001:db8::1", "2001:db8::1", "2001:db8::2"),
    ("::1", "::1", "::2"),
])
def test_require_ip_forms(spec: str, inside: str, outside: str) -> None:
    group = any_(f"ip {spec}")
    assert check_require(group, client(inside)) is GRANTED
    assert check_require(group, client(outside)) is DENIED


def test_require_ip_takes_several_networks() -> None:
    group = any_("ip 10.0.0.0/8 192.168.1 2001:db8::/32")
    assert check_require(group, client("192.168.1.7")) is GRANTED
    assert check_require(group, client("2001:db8::7")) is GRANTED
    assert check_require(group, client("172.16.0.1")) is DENIED


def test_ipv4_mapped_client_matches_ipv4_rules_but_not_ipv6_ones() -> None:
    assert check_require(any_("ip 127.0.0.1"), client("::ffff:127.0.0.1")) is GRANTED
    assert check_require(any_("ip 127.0"), client("::ffff:127.0.0.9")) is GRANTED
    assert check_require(any_("ip ::1"), client("127.0.0.1")) is DENIED
    assert check_require(any_("ip 0.0.0.0/1"), client("::1")) is DENIED


def test_require_ip_with_a_zoned_client_address() -> None:
    assert check_require(any_("ip fe80::/10"), client("fe80::1%eth0")) is GRANTED


def test_require_host_matches_whole_labels_of_the_looked_up_name() -> None:
    group = any_("host example.com")
    assert check_require(group, client(host="www.example.com")) is GRANTED
    assert check_require(group, client(host="example.com")) is GRANTED
    assert check_require(group, client(host="WWW.Example.COM")) is GRANTED
    assert check_require(group, client(host="badexample.com")) is DENIED
    assert check_require(group, client(host=None)) is DENIED


def test_require_forward_dns_wants_the_client_among_the_name_s_addresses() -> None:
    """localhost resolves (/etc/hosts) to 127.0.0.1 and perhaps ::1; a name that does not
    resolve grants nothing."""
    assert check_require(any_("forward-dns localhost"), client("127.0.0.1")) is GRANTED
    mapped = client("::ffff:127.0.0.1")
    assert check_require(any_("forward-dns no-such-name.invalid localhost"), mapped) is GRANTED
    assert check_require(any_("forward-dns localhost"), client("192.0.2.7")) is DENIED
    assert check_require(any_("forward-dns no-such-name.invalid"), client("127.0.0.1")) is DENIED


def test_require_host_with_a_leading_dot_wants_a_subdomain() -> None:
    group = any_("host .example.com")
    assert check_require(group, client(host="a.example.com")) is GRANTED
    assert check_require(group, client(host="example.com")) is DENIED


def test_in_domain() -> None:
    assert in_domain("apache.org", "www.apache.org")
    assert not in_domain("apache.org", "fooapache.org")
    assert not in_domain("www.apache.org", "apache.org")


def test_require_env_checks_presence_ignoring_case_of_the_name() -> None:
    group = any_("env let_me_in other")
    assert check_require(group, client(env={"LET_ME_IN": ""})) is GRANTED
    assert check_require(group, client(env={"other": "1"})) is GRANTED
    assert check_require(group, client(env={"unrelated": "1"})) is DENIED


def test_require_method_treats_head_as_get() -> None:
    group = any_("method GET POST")
    assert check_require(group, client(method="POST")) is GRANTED
    assert check_require(group, client(method="HEAD")) is GRANTED
    assert check_require(group, client(method="DELETE")) is DENIED
    assert check_require(any_("method HEAD"), client(method="GET")) is GRANTED


def test_require_local() -> None:
    assert check_require(any_("local"), client("127.0.0.5")) is GRANTED
    assert check_require(any_("local"), client("::1")) is GRANTED
    assert check_require(any_("local"), Client("192.0.2.7", local_ip="192.0.2.7")) is GRANTED
    assert check_require(any_("local"), Client("192.0.2.8", local_ip="192.0.2.7")) is DENIED


# --- Require: negation and groups -----------------------------------------------


def test_negated_rule_denies_or_is_neutral_never_grants() -> None:
    group = all_("not ip 10.0.0.0/8")
    assert check_require(group, client("10.1.1.1")) is DENIED
    assert check_require(group, client("192.0.2.1")) is NEUTRAL
    assert not is_allowed(group, None, client("192.0.2.1"))


def test_require_all_with_not_ip() -> None:
    group = all_("all granted", "not ip 10.0.0.0/8 192.168")
    assert check_require(group, client("172.16.0.1")) is GRANTED
    assert check_require(group, client("10.2.3.4")) is DENIED
    assert check_require(group, client("192.168.7.7")) is DENIED


def test_require_all_stops_at_the_first_denial() -> None:
    asked: list[str] = []

    def hostname() -> str:
        asked.append("looked up")
        return "www.example.com"

    group = all_("ip 10.0.0.0/8", "host example.com")
    denied = Client("192.0.2.1", hostname=hostname)
    assert check_require(group, denied) is DENIED
    assert asked == []
    assert check_require(group, Client("10.0.0.1", hostname=hostname)) is GRANTED
    assert asked == ["looked up"]


def test_require_any_stops_at_the_first_grant_and_looks_a_name_up_once() -> None:
    calls: list[int] = []

    def hostname() -> str:
        calls.append(1)
        return "a.example.net"

    matched_by_ip = Client("10.0.0.1", hostname=hostname)
    assert check_require(any_("ip 10", "host example.net"), matched_by_ip) is GRANTED
    assert calls == []
    twice = Client("192.0.2.1", hostname=hostname)
    assert check_require(any_("host example.org", "host example.net"), twice) is GRANTED
    assert calls == [1]


def test_require_any_denies_when_a_child_denies_and_none_grants() -> None:
    group = any_("ip 10", all_("all granted", "not ip 192.0.2.1"))
    assert check_require(group, client("192.0.2.1")) is DENIED
    assert check_require(group, client("192.0.2.2")) is GRANTED


def test_require_none_inside_require_all() -> None:
    group = all_("all granted", none_("ip 10.0.0.0/8", "host evil.example"))
    assert check_require(group, client("192.0.2.1", host="good.example")) is GRANTED
    assert check_require(group, client("10.0.0.1", host="good.example")) is DENIED
    assert check_require(group, client("192.0.2.1", host="x.evil.example")) is DENIED


def test_require_none_alone_is_never_granted() -> None:
    group = none_("ip 10.0.0.0/8")
    assert check_require(group, client("10.0.0.1")) is DENIED
    assert check_require(group, client("192.0.2.1")) is NEUTRAL


def test_nested_groups() -> None:
    # Admins from the office, or anyone with the env flag; never from 10.66.
    group = all_(
        any_(all_("ip 192.168.1", "env ADMIN"), "env PUBLIC"),
        none_("ip 10.66"),
    )
    assert check_require(group, client("192.168.1.5", env={"ADMIN": "1"})) is GRANTED
    assert check_require(group, client("192.168.1.5")) is DENIED
    assert check_require(group, client("10.66.0.1", env={"PUBLIC": "1"})) is DENIED
    assert check_require(group, client("10.67.0.1", env={"PUBLIC": "1"})) is GRANTED


def test_require_expr_evaluates_in_the_request_context() -> None:
    def context() -> ExprContext:
        return ExprContext(variables={"REQUEST_METHOD": "POST"}, headers={"host": "shop.example"},
                           reqenv={"FROM_PARTNER": "1"})

    post = Client("192.0.2.1", expr_context=context)
    assert check_require(any_("expr %{REQUEST_METHOD} == 'POST'"), post) is GRANTED
    assert check_require(any_('expr "%{HTTP_HOST} =~ /^shop\\./"'), post) is GRANTED
    assert check_require(any_("expr -n %{reqenv:FROM_PARTNER}"), post) is GRANTED
    assert check_require(any_("expr -n %{reqenv:OTHER}"), post) is DENIED
    assert check_require(all_("all granted", "not expr -n %{reqenv:FROM_PARTNER}"), post) is DENIED


def test_require_expr_context_is_only_built_when_needed() -> None:
    def context() -> ExprContext:
        raise AssertionError("context built although an earlier rule decided")

    assert check_require(any_("all granted", "expr true"), Client("192.0.2.1", expr_context=context)) \
        is GRANTED


def test_require_expr_without_a_request_context_is_a_server_error() -> None:
    with pytest.raises(HTTPError) as caught:
        check_require(any_("expr -n %{reqenv:X}"), client())
    assert caught.value.status == 500


def test_unknown_kind_at_request_time_is_a_server_error() -> None:
    with pytest.raises(HTTPError) as caught:
        check_require(any_("file-owner"), client())
    assert caught.value.status == 500


NO_USER = Decision.DENIED_NO_USER


def logged_in(user: str | None, groups: frozenset[str] = frozenset()) -> Client:
    return Client("192.0.2.10", user=user, groups_of=lambda name: groups)


@pytest.mark.parametrize(("group", "nobody", "alice", "bob"), [
    (any_("valid-user"), NO_USER, GRANTED, GRANTED),
    (any_("user alice"), NO_USER, GRANTED, DENIED),
    (any_("group staff"), NO_USER, GRANTED, DENIED),
    (any_("ip 10.0.0.0/8", "valid-user"), NO_USER, GRANTED, GRANTED),  # a login may still grant
    (any_("ip 192.0.2.0/24", "valid-user"), GRANTED, GRANTED, GRANTED),  # the address grants first
    (all_("ip 10.0.0.0/8", "valid-user"), DENIED, DENIED, DENIED),  # no login can undo the refusal
    (all_("valid-user", "not user bob"), NO_USER, GRANTED, DENIED),
    (none_("user bob"), NEUTRAL, NEUTRAL, DENIED),
])
def test_user_rules_answer_denied_until_someone_logs_in(group: RequireGroup, nobody: Decision,
                                                       alice: Decision, bob: Decision) -> None:
    """mod_authz_core's merge: DENIED_NO_USER where a login may change the answer."""
    staff = frozenset({"staff"})
    assert check_require(group, logged_in(None)) is nobody
    assert check_require(group, logged_in("alice", staff)) is alice
    assert check_require(group, logged_in("bob")) is bob


def test_satisfy_any_asks_for_a_login_only_where_allow_does_not_admit() -> None:
    either = AccessCompat(order="deny,allow", deny=("all",), allow=("192.0.2.10",), satisfy="any")
    login = any_("valid-user")
    assert access_decision(login, either, logged_in(None)) is GRANTED
    elsewhere = Client("198.51.100.1")
    assert access_decision(login, either, elsewhere) is NO_USER
    both = AccessCompat(order="deny,allow", deny=("all",), allow=("192.0.2.10",))
    assert access_decision(login, both, elsewhere) is DENIED  # Satisfy All: the address refuses first
    assert access_decision(login, both, logged_in(None)) is NO_USER


# --- Require: what the config check refuses -----------------------------------


@pytest.mark.parametrize("group, message", [
    (any_("not ip 10.1"),
     "negative Require directive has no effect in <RequireAny> directive"),
    (any_("all granted", "not ip 10.1"),
     "negative Require directive has no effect in <RequireAny> directive"),
    (none_("not ip 10.1"),
     "negative Require directive has no effect in <RequireNone> directive"),
    (any_(none_("ip 10.1")),
     "<RequireNone> directive has no effect in <RequireAny> directive"),
    (none_("ip 10.1"),
     "<RequireNone> directive has no effect in <RequireAny> directive"),
    (all_("not ip 10.1"),
     "<RequireAll> directive contains only negative authorization directives"),
    (all_("not ip 10.1", "not host example.com"),
     "<RequireAll> directive contains only negative authorization directives"),
    (all_(none_("ip 10.1")),
     "<RequireAll> directive contains only negative authorization directives"),
    (any_("all granted", all_()),
     "<RequireAll> directive contains no authorization directives"),
    (any_("file-owner"), "Unknown Authz provider: file-owner"),
    (any_("IP 10.1"), "Unknown Authz provider: IP"),
    (any_("all maybe"), "Argument for 'Require all' must be 'granted' or 'denied'"),
    (any_("ip"), "'require ip' requires an argument"),
    (any_("ip 10.0.0.0/33"),
     "ip address '10.0.0.0/33' appears to be invalid: The specified network mask is invalid."),
    (any_("ip 10.0.0.0/0"),
     "ip address '10.0.0.0/0' appears to be invalid: The specified network mask is invalid."),
    (any_("ip 10.1/16"),
     "ip address '10.1/16' appears to be invalid: The specified IP address is invalid."),
    (any_("ip 2001:db8::/255.255.0.0"),
     "ip address '2001:db8::/255.255.0.0' appears to be invalid: The specified network mask is invalid."),
    (any_("ip ::ffff:10.0.0.1"),
     "ip address '::ffff:10.0.0.1' appears to be invalid: The specified IP address is invalid."),
    (any_("ip 256.1.1.1"),
     "ip address '256.1.1.1' appears to be invalid: The specified IP address is invalid."),
    (any_("ip 1.2.3.4.5"),
     "ip address '1.2.3.4.5' appears to be invalid: The specified IP address is invalid."),
    (any_("ip example.com"), "ip address 'example.com' appears to be invalid"),
    (any_("method GET FETCH"), "Invalid Method 'FETCH'"),
    (any_("host"), "'require host' requires an argument"),
    (any_("host %{HTTP_HOST}"), "expressions in 'Require host' are not supported; write the host names"),
    (any_('expr ""'), "Cannot parse expression in require line: empty expression"),
])
def test_validate_require_refuses_what_apache_refuses(group: RequireGroup, message: str) -> None:
    assert validate_require(group) == message


def test_validate_require_refuses_an_expression_that_does_not_parse() -> None:
    message = validate_require(any_("expr %{REQUEST_METHOD} =="))
    assert message is not None
    prefix = "Cannot parse expression in require line: "
    assert message.startswith(prefix)
    assert len(message) > len(prefix)  # then the expression engine's own explanation


@pytest.mark.parametrize("group", [
    any_("all granted"),
    any_("ip 10.1 192.168.0.0/16 2001:db8::/48", "host example.com"),
    all_("all granted", "not ip 10.1"),
    all_("all granted", none_("ip 10.1", "host example.com")),
    all_(any_("ip 10", "env OK"), none_("ip 10.66")),
    # Same-kind groups merge, as in httpd: the outer group has a positive rule.
    all_("all granted", all_("not ip 10.1")),
    any_("method GET HEAD POST", "env X", "local"),
    any_("expr %{REMOTE_ADDR} -ipmatch '10.0.0.0/8' && %{REQUEST_METHOD} == 'GET'"),
])
def test_validate_require_accepts_valid_rules(group: RequireGroup) -> None:
    assert validate_require(group) is None


# --- Order, Allow, Deny -------------------------------------------------------


def test_seed_allow_deny_with_allow_from_all() -> None:
    rules = access("allow,deny", allow=("all",))
    assert check_access_compat(rules, client("203.0.113.9"))
    assert is_allowed(None, rules, client("203.0.113.9"))


def test_seed_deny_allow_with_deny_from_all_and_one_allowed_address() -> None:
    rules = access("deny,allow", allow=("127.0.0.1",), deny=("all",))
    assert check_access_compat(rules, client("127.0.0.1"))
    assert not check_access_compat(rules, client("127.0.0.2"))
    assert not check_access_compat(rules, client("203.0.113.9"))


@pytest.mark.parametrize("order, allow_match, deny_match, allowed", [
    ("allow,deny", True, False, True),
    ("allow,deny", False, True, False),
    ("allow,deny", True, True, False),
    ("allow,deny", False, False, False),
    ("deny,allow", True, False, True),
    ("deny,allow", False, True, False),
    ("deny,allow", True, True, True),
    ("deny,allow", False, False, True),
    ("mutual-failure", True, False, True),
    ("mutual-failure", False, True, False),
    ("mutual-failure", True, True, False),
    ("mutual-failure", False, False, False),
])
def test_order_table(order: str, allow_match: bool, deny_match: bool, allowed: bool) -> None:
    rules = access(order, allow=("env=IN_ALLOW",), deny=("env=IN_DENY",))
    env = {name: "1" for name, on in (("IN_ALLOW", allow_match), ("IN_DENY", deny_match)) if on}
    assert check_access_compat(rules, client(env=env)) is allowed


def test_order_is_case_insensitive_and_line_order_does_not_matter() -> None:
    rules = AccessCompat(order="Allow,Deny", deny=("10.1",), allow=("10",))
    assert check_access_compat(rules, client("10.2.0.1"))
    assert not check_access_compat(rules, client("10.1.0.1"))


def test_allow_from_partial_ip_networks_and_ipv6() -> None:
    rules = access("deny,allow", deny=("all",),
                   allow=("127.0", "10.0.0.0/255.255.0.0", "192.168.0.0/16", "2001:db8::/32"))
    for inside in ("127.0.3.4", "10.0.9.9", "192.168.200.1", "2001:db8::99", "::ffff:127.0.0.1"):
        assert check_access_compat(rules, client(inside)), inside
    for outside in ("127.1.0.1", "10.1.0.1", "192.169.0.1", "2001:db9::1"):
        assert not check_access_compat(rules, client(outside)), outside


def test_allow_from_host_suffix() -> None:
    rules = access("deny,allow", deny=("all",), allow=("example.com",))
    assert check_access_compat(rules, client(host="www.example.com"))
    assert not check_access_compat(rules, client(host="notexample.com"))
    assert not check_access_compat(rules, client(host=None))


def test_deny_from_host_only_looks_the_name_up_when_needed() -> None:
    asked: list[int] = []

    def hostname() -> str:
        asked.append(1)
        return "spam.example"

    rules = access("allow,deny", allow=("all",), deny=("spam.example", ".spam.example"))
    same = Client("192.0.2.1", hostname=hostname)
    assert not check_access_compat(rules, same)
    assert not check_access_compat(rules, same)
    assert asked == [1]
    # Not allowed by address: the Deny lines cannot change that, so no lookup.
    by_ip = access("allow,deny", allow=("10",), deny=("spam.example",))
    assert not check_access_compat(by_ip, Client("192.0.2.1", hostname=hostname))
    assert asked == [1]


def test_allow_from_env_and_not_env() -> None:
    rules = access("deny,allow", deny=("all",), allow=("env=let_in",))
    assert check_access_compat(rules, client(env={"LET_IN": "1"}))
    assert not check_access_compat(rules, client())
    negated = access("allow,deny", allow=("all",), deny=("env=!good_bot",))
    assert check_access_compat(negated, client(env={"good_bot": ""}))
    assert not check_access_compat(negated, client())


def test_default_order_with_no_lines_is_open() -> None:
    assert check_access_compat(AccessCompat(), client())


@pytest.mark.parametrize("rules, message", [
    (access("allow-deny"), "unknown order"),
    (access("allow,deny", satisfy="some"), "Satisfy either 'any' or 'all'."),
    (access("allow,deny", allow=("foo/8",)), "'foo/8': An IP address was expected"),
    (access("allow,deny", allow=("10.0.0.0/40",)), "'10.0.0.0/40': The specified network mask is invalid."),
    (access("allow,deny", deny=("10.1.2.3.4",)), "'10.1.2.3.4': The specified IP address is invalid."),
    (access("allow,deny", deny=("10.1/8",)), "'10.1/8': The specified IP address is invalid."),
])
def test_validate_access_refuses_what_apache_refuses(rules: AccessCompat, message: str) -> None:
    assert validate_access(rules) == message


def test_validate_access_accepts_every_documented_form() -> None:
    rules = access("mutual-failure", allow=("all", "10.1", "10.1.", "10.0.0.0/8", "10.0.0.0/255.0.0.0",
                                            "2001:db8::/32", "example.com", ".example.org",
                                            "env=X", "env=!Y"), satisfy="any")
    assert validate_access(rules) is None


# --- both together ------------------------------------------------------------


def test_neither_kind_of_rule_allows() -> None:
    assert is_allowed(None, None, client())


def test_only_require_needs_a_grant() -> None:
    assert is_allowed(any_("ip 192.0.2"), None, client("192.0.2.1"))
    assert not is_allowed(any_("ip 192.0.2"), None, client("198.51.100.1"))


def test_satisfy_all_needs_both() -> None:
    rules = access("deny,allow", deny=("all",), allow=("10",))
    require = any_("env OK")
    assert is_allowed(require, rules, client("10.0.0.1", env={"OK": "1"}))
    assert not is_allowed(require, rules, client("10.0.0.1"))
    assert not is_allowed(require, rules, client("192.0.2.1", env={"OK": "1"}))


def test_old_deny_wins_over_new_require_all_granted() -> None:
    # The upgrade notes' warning: mixing the two, Deny from all still refuses.
    rules = access("deny,allow", deny=("all",))
    assert not is_allowed(any_("all granted"), rules, client())


def test_satisfy_any_needs_either() -> None:
    rules = access("allow,deny", allow=("10",), satisfy="any")
    require = any_("env OK")
    assert is_allowed(require, rules, client("10.0.0.1"))
    assert is_allowed(require, rules, client("192.0.2.1", env={"OK": "1"}))
    assert not is_allowed(require, rules, client("192.0.2.1"))


def test_satisfy_any_without_allow_lines_opens_the_area() -> None:
    # Apache's default order Deny,Allow passes a client no line mentions.
    assert is_allowed(any_("all denied"), AccessCompat(satisfy="any"), client())


def test_only_access_compat_decides_alone_even_with_satisfy_any() -> None:
    rules = access("allow,deny", allow=("10",), satisfy="any")
    assert not is_allowed(None, rules, client("192.0.2.1"))


# --- host name lookups (no external DNS: /etc/hosts and injected resolvers) ----


def _localhost_resolves() -> bool:
    try:
        return socket.gethostbyaddr("127.0.0.1")[0] == "localhost"
    except OSError:
        return False


@pytest.mark.skipif(not _localhost_resolves(), reason="/etc/hosts does not map 127.0.0.1 to localhost")
def test_lookup_host_double_reverse_through_etc_hosts() -> None:
    assert lookup_host("127.0.0.1") == "localhost"
    assert lookup_host("::ffff:127.0.0.1") == "localhost"
    assert check_require(any_("host localhost"), Client("127.0.0.1")) is GRANTED


def test_lookup_host_refuses_a_name_that_does_not_map_back() -> None:
    def reverse(ip: str) -> tuple[str, list[str], list[str]]:
        return ("localhost", [], [ip])  # claims 192.0.2.1 is localhost

    assert lookup_host("192.0.2.1", reverse=reverse) is None


def test_lookup_host_lower_cases_a_confirmed_name() -> None:
    def reverse(ip: str) -> tuple[str, list[str], list[str]]:
        return ("WWW.Example.TEST", [], [ip])

    def forward(name: str, *args: object) -> list[tuple[object, ...]]:
        assert name == "WWW.Example.TEST"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0))]

    assert lookup_host("192.0.2.1", reverse=reverse, forward=forward) == "www.example.test"


def test_lookup_host_without_a_name() -> None:
    def reverse(ip: str) -> tuple[str, list[str], list[str]]:
        raise socket.herror(1, "Unknown host")

    assert lookup_host("192.0.2.1", reverse=reverse) is None
    assert lookup_host("not an address") is None


def test_lookup_host_gives_up_after_the_timeout() -> None:
    release = threading.Event()

    def reverse(ip: str) -> tuple[str, list[str], list[str]]:
        release.wait(10)
        raise socket.herror(2, "Host name lookup failure")

    started = time.monotonic()
    try:
        assert lookup_host("192.0.2.1", timeout=0.2, reverse=reverse) is None
        assert time.monotonic() - started < 2
    finally:
        release.set()


def test_limit_groups_count_for_their_methods_and_a_section_with_only_them_opens_the_rest() -> None:
    """As httpd's apply_authz_sections: a <Limit> that leaves the method out has no opinion
    inside an implicit any group, and grants at the top (Apache answered each case so)."""
    denied_post = RequireGroup("any", (RequireGroup("any", (Require("all", ("denied",)),), ("POST",)),))
    assert [check_require(denied_post, client(method=m)) for m in ("GET", "HEAD", "POST")] == [
        GRANTED, GRANTED, DENIED]
    only_get = RequireGroup("any", (Require("all", ("denied",)),
                                    RequireGroup("any", (Require("all", ("granted",)),), ("GET",))))
    assert [check_require(only_get, client(method=m)) for m in ("GET", "HEAD", "POST")] == [
        GRANTED, GRANTED, DENIED]
    except_get = RequireGroup("any", (RequireGroup("any", (Require("all", ("denied",)),), ("GET",), True),))
    assert [check_require(except_get, client(method=m)) for m in ("GET", "OPTIONS", "DELETE")] == [
        GRANTED, DENIED, DENIED]


def test_limited_order_allow_deny_count_for_their_methods() -> None:
    access = AccessCompat(limited=(LimitedAccess(("GET", "POST"), False, "deny,allow", ("all",), ("all",)),
                                   LimitedAccess(("DELETE", "PUT"), False, "deny,allow", (), ("all",))))
    assert [check_access_compat(access, client(method=m)) for m in ("GET", "POST", "PUT", "OPTIONS")] == [
        True, True, False, True]
    allow_deny_post = AccessCompat(limited=(LimitedAccess(("POST",), False, "allow,deny"),))
    assert [check_access_compat(allow_deny_post, client(method=m)) for m in ("GET", "POST")] == [True, False]


@pytest.mark.parametrize(("require", "access", "alike"), [
    (None, None, True),
    (RequireGroup("any", (Require("all", ("granted",)),)), None, True),
    (RequireGroup("all", (RequireGroup("any", (Require("all", ("denied",)),)),)), None, True),
    (None, AccessCompat("allow,deny", allow=("all",)), True),
    (RequireGroup("any", (Require("ip", ("127.0.0.1",)),)), None, False),
    (RequireGroup("any", (Require("all", ("granted",)), Require("env", ("robot",)))), None, False),
    (RequireGroup("any", (Require("valid-user"),)), None, False),
    (RequireGroup("any", (Require("all", ("granted",)),), methods=("POST",)), None, False),
    (None, AccessCompat("allow,deny", allow=("10.0.0.0/8",)), False),
    (None, AccessCompat(limited=(LimitedAccess(("POST",), deny=("all",)),)), False),
])
def test_rules_that_look_at_nothing_of_the_request_answer_every_request_alike(require, access, alike) -> None:
    assert same_for_every_request(require, access) is alike
