"""The command line, shaped like httpd's so an admin's habits carry over.

    itkgw [-f FILE] [--compat=2.2|2.4] [--process-model=itk|pool] [-t] [-S] [-V] [-X] [-D NAME]
          [-k start|stop|restart|graceful|graceful-stop]
    itkgw convert [--compat=2.2|2.4] [-D NAME] FILE    (Apache syntax -> TOML)
    itkgw backends [-f FILE]                           (the running FastCGI processes)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import time
from importlib import resources

from itkgw import SERVER_SOFTWARE, __version__, native
from itkgw.config.model import ModuleSettings, ServerConfig
from itkgw.config.modules.pool import PROCESS_MODELS, PoolSettings
from itkgw.config.toml_reader import Loaded, load_toml, loads_toml
from itkgw.errors import ConfigError, ConfigErrors
from itkgw.mpm.daemon import daemonize, read_pid, write_pid_file
from itkgw.mpm.master import Master, StartupError

DEFAULT_CONFIG = "/etc/itkgw/itkgw.toml"
EMBEDDED = "<embedded default config>"

#: -k commands and the signal each sends to a running master.
CONTROL_SIGNALS = {
    "stop": signal.SIGTERM,
    "restart": signal.SIGHUP,
    "graceful": signal.SIGUSR1,
    "graceful-stop": signal.SIGWINCH,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="itkgw", description="per-user web gateway (mpm-itk model)")
    parser.add_argument("-f", dest="config", metavar="FILE", help=f"config file (default {DEFAULT_CONFIG}, "
                        "else the embedded demo config)")
    parser.add_argument("--compat", choices=("2.2", "2.4"), help="mpm-itk directive set (wins over the file)")
    parser.add_argument("--process-model", choices=PROCESS_MODELS,
                        help="itk (a fork per connection) or pool (unprivileged fronts, per-identity pools); "
                        "wins over ProcessModel in the file")
    parser.add_argument("-t", dest="test", action="store_true", help="check the config and exit")
    parser.add_argument("-S", dest="show_vhosts", action="store_true",
                        help="show the vhosts as parsed (as httpd -S) and exit")
    parser.add_argument("-V", dest="version", action="store_true", help="print version and build settings")
    parser.add_argument("-X", dest="debug", action="store_true", help="foreground, one worker (debugging)")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME",
                        help="define a name; FOREGROUND keeps the full server in the foreground")
    parser.add_argument("-k", dest="command", choices=("start", *CONTROL_SIGNALS),
                        help="start, or signal the running server through its pid file")
    return parser.parse_args(argv)


def config_path(args: argparse.Namespace) -> str:
    if args.config:
        return str(args.config)
    return DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else EMBEDDED


def load_config(path: str, compat: str | None, defines: tuple[str, ...] = ()) -> Loaded:
    """TOML for ``.toml`` files, Apache syntax for anything else."""
    if path == EMBEDDED:
        text = resources.files("itkgw").joinpath("default.toml").read_text()
        return loads_toml(text, EMBEDDED, compat)
    if path.endswith(".toml"):
        return load_toml(path, compat)
    from itkgw.config.apache_reader import load_apache

    return load_apache(path, compat, defines)


def with_process_model(config: ServerConfig, model: str | None) -> ServerConfig:
    """``config`` with --process-model's choice, when one was made."""
    if model is None:
        return config
    chosen = dataclasses.replace(config.modules.get(PoolSettings), process_model=model)
    return dataclasses.replace(config, modules=config.modules.overlay(ModuleSettings((chosen,))))


def convert_main(argv: list[str]) -> int:
    """``itkgw convert FILE``: the TOML form of an Apache-syntax config, on stdout."""
    from itkgw.config.convert import to_toml

    parser = argparse.ArgumentParser(prog="itkgw convert", description="write the TOML form of a config")
    parser.add_argument("--compat", choices=("2.2", "2.4"))
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    try:
        loaded = load_config(args.file, args.compat, tuple(args.defines))
    except (ConfigError, ConfigErrors) as exc:
        _report(exc)
        return 1
    for warning in loaded.warnings:
        print(f"itkgw: warning: {warning}", file=sys.stderr)
    try:
        sys.stdout.write(to_toml(loaded.config))
    except ValueError as exc:
        print(f"itkgw: {exc}", file=sys.stderr)
        return 1
    return 0


def print_version(path: str, compat: str) -> None:
    print(f"Server version: {SERVER_SOFTWARE}")
    print("Server MPM:     ITK")
    print(f"  compat:       mpm-itk {compat} directive set")
    print(f"Python:         {sys.version.split()[0]}")
    print(f"Compiled:       {native.state()}")
    print(f'-D SERVER_CONFIG_FILE="{path}"')
    print(f'-D ITKGW_VERSION="{__version__}"')


def _report(errors: ConfigError | ConfigErrors) -> None:
    items = errors.errors if isinstance(errors, ConfigErrors) else [errors]
    for error in items:
        print(f"itkgw: {error}", file=sys.stderr)


def control(command: str, config: ServerConfig) -> int:
    """-k stop|restart|graceful|graceful-stop: signal the master named in the pid file."""
    pid = read_pid(config)
    if pid is None:
        if command in ("restart", "graceful"):
            return -1  # not running: start it, as apachectl does
        print(f"itkgw: not running (no live pid in {config.pid_file})", file=sys.stderr)
        return 1
    os.kill(pid, CONTROL_SIGNALS[command])
    if command in ("stop", "graceful-stop"):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and read_pid(config) == pid:
            time.sleep(0.1)
    return 0


def serve(path: str, args: argparse.Namespace, config: ServerConfig) -> int:
    if os.geteuid() != 0:
        print("itkgw: must be started as root (it switches to each vhost's user)", file=sys.stderr)
        return 1
    running = read_pid(config)
    if running is not None:
        print(f"itkgw: already running as pid {running} ({config.pid_file})", file=sys.stderr)
        return 1

    def reload_config() -> ServerConfig:
        loaded = load_config(path, args.compat, tuple(args.defines))
        return with_process_model(loaded.config, args.process_model)

    master = Master(config, reload_config, single_worker=args.debug)
    try:
        master.prepare()
    except StartupError as exc:
        print(f"itkgw: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"itkgw: cannot start: {exc}", file=sys.stderr)
        return 1
    if not (args.debug or "FOREGROUND" in args.defines):
        daemonize()
    write_pid_file(config.pid_file)
    try:
        return master.run()
    finally:
        try:
            os.unlink(config.pid_file)
        except FileNotFoundError:
            pass  # Someone removed it; nothing to clean.


def _print_pools(config: ServerConfig) -> None:
    """-S in the pool model: the pools a running server has, from its pool manager's table."""
    if config.modules.get(PoolSettings).process_model != "pool":
        return
    from itkgw.mpm.fcgid_manager import ipc_dir
    from itkgw.mpm.pools import STATUS_NAME, show_status

    try:
        with open(os.path.join(ipc_dir(config), STATUS_NAME), encoding="utf-8") as table:
            text = table.read()
    except OSError:
        return  # not running, or not root: the configuration alone is all -S has
    print("Pools:")
    sys.stdout.write(show_status(text, time.time()))


def backends_main(argv: list[str]) -> int:
    """``itkgw backends``: the backend manager's table of FastCGI processes (pid, state,
    requests served, idle and age in seconds, identity, vhost, command)."""
    from itkgw.mpm.fcgid_manager import STATUS_NAME, ipc_dir, show_status

    parser = argparse.ArgumentParser(prog="itkgw backends", description="list the running FastCGI processes")
    parser.add_argument("-f", dest="config", metavar="FILE")
    parser.add_argument("--compat", choices=("2.2", "2.4"))
    args = parser.parse_args(argv)
    try:
        loaded = load_config(config_path(args), args.compat)
    except (ConfigError, ConfigErrors) as exc:
        _report(exc)
        return 1
    path = os.path.join(ipc_dir(loaded.config), STATUS_NAME)
    try:
        with open(path, encoding="utf-8") as table:
            sys.stdout.write(show_status(table.read(), time.time()))
    except FileNotFoundError:
        print(f"itkgw: no backend manager has written {path}: the server is not running, or has "
              "started no FastCGI process yet", file=sys.stderr)
        return 1
    except PermissionError:
        print(f"itkgw: {path} is root's: run this as root", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["convert"]:
        return convert_main(argv[1:])
    if argv[:1] == ["backends"]:
        return backends_main(argv[1:])
    args = parse_args(argv)
    path = config_path(args)
    try:
        loaded = load_config(path, args.compat, tuple(args.defines))
    except (ConfigError, ConfigErrors) as exc:
        _report(exc)
        if not args.version:
            return 1
        loaded = None
    if args.version:
        compat = args.compat or (loaded.config.compat if loaded else "2.4")
        print_version(path, compat)
        return 0
    assert loaded is not None
    config = with_process_model(loaded.config, args.process_model)
    for warning in loaded.warnings:
        print(f"itkgw: warning: {warning}", file=sys.stderr)
    if args.show_vhosts:
        from itkgw.config.report import vhost_table

        print(vhost_table(config))
        _print_pools(config)
        return 0
    if args.test:
        print("Syntax OK")
        return 0
    if args.command in CONTROL_SIGNALS:
        result = control(args.command, config)
        if result >= 0:
            return result
    return serve(path, args, config)


if __name__ == "__main__":
    sys.exit(main())
