"""mod_log_config: the access log."""

from __future__ import annotations

from itkgw.config.directive import NOWHERE, SERVER_VHOST, Arguments, Directive, Module
from itkgw.config.kinds import Path, Text

MODULE = Module(
    "log_config",
    "mod_log_config: the access log",
    identifiers=("log_config_module", "mod_log_config.c"),
    directives=(
        Directive("TransferLog", "access_log", SERVER_VHOST, Path(specials=("-",)),
                  "access log file", also_from="CustomLog FILE FORMAT (sets access_log_format too)",
                  root_relative=True),
        Directive("CustomLog", "", NOWHERE, Arguments(2, 3, "CustomLog logs/access_log combined"),
                  "access log file and its format or LogFormat nickname (common and combined are kept "
                  "as names), and env=[!]NAME to log only requests with (without) that variable; one per "
                  "vhost", field="access_log", apache=SERVER_VHOST),
        Directive("", "access_log_condition", SERVER_VHOST, Text(),
                  "log only requests with this variable set (NAME) or not set (!NAME)",
                  also_from="CustomLog FILE FORMAT env=[!]NAME"),
        Directive("LogFormat", "access_log_format", SERVER_VHOST, Text(),
                  "access log format: common, combined, or an Apache LogFormat string",
                  also_from="the FORMAT of CustomLog FILE FORMAT; LogFormat FORMAT NICKNAME names a format"),
    ),
)
