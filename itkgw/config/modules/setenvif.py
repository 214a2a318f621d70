"""mod_setenvif: request variables set from the request's attributes (SetEnvIf, BrowserMatch,
SetEnvIfExpr)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import EVERYWHERE, NOWHERE, ONLY_24, VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds import Kind, check_expr, check_regex


@dataclass(frozen=True)
class EnvCondition:
    """One SetEnvIf line: when ``attribute`` (a request header, a special such as
    Request_URI, or a variable set earlier) matches ``pattern``, each assignment
    applies: ``NAME=value`` (with $0..$9), ``NAME`` (1) or ``!NAME`` (unset)."""

    attribute: str
    pattern: str
    assignments: tuple[str, ...]
    nocase: bool = False
    #: SetEnvIfExpr: an ap_expr condition instead of attribute and pattern; $0..$9 in the
    #: values are the groups of its last regex match.
    expr: str = ""

    def toml_form(self) -> dict[str, object]:
        """As ``itkgw convert`` writes it (EnvConditions reads it back)."""
        if self.expr:
            return {"expr": self.expr, "env": list(self.assignments)}
        return {"attribute": self.attribute, "pattern": self.pattern, "env": list(self.assignments),
                "nocase": self.nocase}


@dataclass(frozen=True)
class EnvConditions(Kind):
    """SetEnvIf [NoCase] attribute regex var..., or BrowserMatch [NoCase] regex var..."""

    nocase: bool = False
    #: BrowserMatch: the attribute is User-Agent and is not written.
    attribute: str = ""

    expects: ClassVar[str] = "a list of {attribute, pattern, env, nocase} or {expr, env} tables"
    toml_example: ClassVar[str] = ('[{ attribute = "Authorization", pattern = "(.+)", '
                                   'env = ["HTTP_AUTHORIZATION=$1"] }]')
    args_example: ClassVar[str] = 'SetEnvIf Authorization "(.+)" HTTP_AUTHORIZATION=$1'

    def from_args(self, args: list[str], where: str) -> tuple[EnvCondition, ...]:
        words = [self.attribute, *args] if self.attribute else args
        if len(words) < 3:
            raise self.wrong_args(args, where)
        return (self.condition(words[0], words[1], tuple(words[2:]), self.nocase, where),)

    def from_toml(self, value: object, where: str) -> tuple[EnvCondition, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        conditions = []
        for item in value:
            if isinstance(item, dict) and "expr" in item:
                table = self.table(item, where, ("expr", "env"), ())
                env = self.string_list(table["env"], where)
                conditions.append(expr_condition(str(table["expr"]), tuple(env), where))
                continue
            table = self.table(item, where, ("attribute", "pattern", "env"), ("nocase",))
            env = self.string_list(table["env"], where)
            conditions.append(self.condition(str(table["attribute"]), str(table["pattern"]), tuple(env),
                                             bool(table.get("nocase", False)), where))
        return tuple(conditions)

    @staticmethod
    def condition(attribute: str, pattern: str, assignments: tuple[str, ...], nocase: bool,
                  where: str) -> EnvCondition:
        check_regex(pattern.removeprefix("!"), where, "SetEnvIf", nocase)
        return EnvCondition(attribute, pattern, assignments, nocase)


@dataclass(frozen=True)
class EnvExprConditions(Kind):
    """SetEnvIfExpr expr [!]var[=value]..."""

    expects: ClassVar[str] = "a list of {expr, env} tables"
    toml_example: ClassVar[str] = ('[{ expr = "req(\'X-Forwarded-Proto\') == \'https\'", '
                                   'env = ["HTTPS=on"] }]')
    args_example: ClassVar[str] = 'SetEnvIfExpr "req(\'X-Forwarded-Proto\') == \'https\'" HTTPS=on'

    def from_args(self, args: list[str], where: str) -> tuple[EnvCondition, ...]:
        if len(args) < 2:
            raise self.wrong_args(args, where)
        return (expr_condition(args[0], tuple(args[1:]), where),)

    def from_toml(self, value: object, where: str) -> tuple[EnvCondition, ...]:
        return EnvConditions().from_toml(value, where)


def expr_condition(text: str, assignments: tuple[str, ...], where: str) -> EnvCondition:
    """A SetEnvIfExpr line, its expression checked as httpd checks it when reading the file."""
    check_expr(text, where, "SetEnvIfExpr: cannot parse the expression", condition=True)
    return EnvCondition("", "", assignments, expr=text)


@dataclass(frozen=True)
class SetEnvIfSettings:
    """The SetEnvIf lines of one level; a section's run after those around it."""

    conditions: tuple[EnvCondition, ...] | None = None

    def over(self, earlier: SetEnvIfSettings) -> SetEnvIfSettings:
        return SetEnvIfSettings((*(earlier.conditions or ()), *(self.conditions or ())))


_HOW = ("request variables (for scripts, Require env and %{ENV:...}) set when an attribute matches: "
        "a request header, Remote_Addr, Server_Addr, Request_Method, Request_Protocol, Request_URI "
        "or a variable set earlier; NAME=value ($1...), NAME, !NAME")

MODULE = Module(
    "setenvif",
    "mod_setenvif: request variables from the request's headers and address",
    identifiers=("setenvif_module", "mod_setenvif.c"),
    directives=(
        Directive("SetEnvIf", "set_env_if", VHOST_DIRECTORY, EnvConditions(), _HOW, field="conditions",
                  repeat=True, also_from="SetEnvIfNoCase, BrowserMatch, BrowserMatchNoCase, SetEnvIfExpr"),
        Directive("SetEnvIfNoCase", "", NOWHERE, EnvConditions(nocase=True),
                  "SetEnvIf with a case-insensitive pattern", field="set_env_if", repeat=True,
                  apache=EVERYWHERE),
        Directive("BrowserMatch", "", NOWHERE, EnvConditions(attribute="User-Agent"),
                  "SetEnvIf User-Agent", field="set_env_if", repeat=True, apache=EVERYWHERE),
        Directive("BrowserMatchNoCase", "", NOWHERE, EnvConditions(nocase=True, attribute="User-Agent"),
                  "SetEnvIfNoCase User-Agent", field="set_env_if", repeat=True, apache=EVERYWHERE),
        Directive("SetEnvIfExpr", "", NOWHERE, EnvExprConditions(),
                  "SetEnvIf with an ap_expr condition", field="set_env_if", repeat=True,
                  apache=EVERYWHERE, series=ONLY_24, instead="SetEnvIf with a request attribute"),
    ),
    settings={Context.VHOST: SetEnvIfSettings, Context.DIRECTORY: SetEnvIfSettings},
)
