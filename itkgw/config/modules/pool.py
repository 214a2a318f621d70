"""itkgw's pool process model: which model serves, and how each identity's pool is sized."""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import SERVER, Context, Directive, Module
from itkgw.config.kinds import Choice, Int

#: The process models: mpm-itk's fork per connection, or unprivileged fronts and pools.
PROCESS_MODELS = ("itk", "pool")


@dataclass(frozen=True)
class PoolSettings:
    """The process model, and the sizing of the pool model's per-identity pools (php-fpm's
    ``ondemand``/``dynamic``: none or a few kept idle, more started as connections come)."""

    process_model: str = "itk"
    #: Workers of one identity at most; connections beyond wait for one (up to Timeout).
    max_workers: int = 16
    #: Workers of one identity kept even when idle, once its pool is started.
    min_workers: int = 0
    #: Seconds an idle worker beyond PoolMinWorkers is kept.
    idle_timeout: int = 30


MODULE = Module(
    "pool",
    "itkgw's pool process model: unprivileged fronts hand connections to per-identity pools",
    directives=(
        Directive("ProcessModel", "process_model", SERVER, Choice(options=PROCESS_MODELS, example="pool"),
                  "itk: a process forked per connection switches to the request's identity, as "
                  "mpm-itk; pool: fronts without any privilege read the request and pass the "
                  "connection to a pool of processes already running as its identity (itkgw's own; "
                  "the command line's --process-model wins)"),
        Directive("PoolMaxWorkers", "pool_max_workers", SERVER, Int(low=1, high=4096),
                  "processes of one identity's pool at most (default 16; the pool model's)",
                  field="max_workers"),
        Directive("PoolMinWorkers", "pool_min_workers", SERVER, Int(low=0, high=4096),
                  "processes of a started pool kept even when idle (default 0; the pool model's)",
                  field="min_workers"),
        Directive("PoolIdleTimeout", "pool_idle_timeout", SERVER, Int(low=1),
                  "seconds an idle pool process beyond PoolMinWorkers is kept (default 30)",
                  field="idle_timeout"),
    ),
    settings={Context.SERVER: PoolSettings},
)
