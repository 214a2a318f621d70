"""wrk runs: one Lua script per cell that checks every status and reports JSON.

The script's ``response()`` hook counts every response whose status is not
200 (wrk itself only counts those above 399), so a fast error or a redirect
never passes for a success; it prints one ``ITKBENCH {json}`` line from
``done()``. The hook makes wrk copy every body into Lua, which cost nginx a
fifth of its 100 KiB throughput, so cells with large bodies count wrk's
own errors (status >= 400) instead; the preflight checked their bodies.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from itkbench.cells import Cell

WRK = "/usr/bin/wrk"
MARKER = "ITKBENCH "
#: Seconds a request may take before wrk counts it as a timeout error.
REQUEST_TIMEOUT = 10

_STATUS_HOOK_LUA = """\
function response(status, headers, body)
   if status ~= 200 then
      bad = bad + 1
   end
end
"""

_COMMON_LUA = """\
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

bad = 0

function done(summary, latency, requests)
   local bad_total = 0
   for _, thread in ipairs(threads) do
      bad_total = bad_total + thread:get("bad")
   end
   local e = summary.errors
   io.write(string.format(
      '%s{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"timeout": %d, "status_over_399": %d, "not_200": %d, "p50_us": %d, "p99_us": %d}\\n',
      "ITKBENCH ", summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
      e.status, bad_total, latency:percentile(50), latency:percentile(99)))
end
"""

# wrk builds one request per thread from wrk.headers when the script has no
# request() function: the fastest way, for a single vhost.
_ONE_HOST_LUA = """\
wrk.path = "{path}"
wrk.headers["Host"] = "{host}"
{close}
"""

# Consecutive requests of a thread alternate between the vhosts.
_MIXED_LUA = """\
local paths_hosts = {{ {hosts} }}
local prepared = nil
local turn = 0

function request()
   if prepared == nil then
      prepared = {{}}
      for i, host in ipairs(paths_hosts) do
         prepared[i] = wrk.format("GET", "{path}", {{ Host = host{close} }})
      end
   end
   turn = turn % #prepared + 1
   return prepared[turn]
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    bad_status: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.bad_status


def lua_script(cell: Cell, hosts: list[str]) -> str:
    """The Lua for ``cell``: its requests, the status check, the JSON report."""
    if cell.mixed:
        quoted = ", ".join(f'"{host}"' for host in hosts)
        close = "" if cell.keep_alive else ', Connection = "close"'
        requests = _MIXED_LUA.format(hosts=quoted, path=cell.path, close=close)
    else:
        close = "" if cell.keep_alive else 'wrk.headers["Connection"] = "close"'
        requests = _ONE_HOST_LUA.format(path=cell.path, host=hosts[0], close=close)
    hook = _STATUS_HOOK_LUA if checks_every_status(cell) else ""
    return requests + hook + _COMMON_LUA


def checks_every_status(cell: Cell) -> bool:
    """Whether the Lua hook sees each response (all but the large-body cells)."""
    return cell.content != "100k"


def run(cell: Cell, port: int, hosts: list[str], seconds: int, script_path: Path) -> WrkResult:
    """Load ``127.0.0.1:port`` with ``cell`` for ``seconds``; what wrk measured."""
    script_path.write_text(lua_script(cell, hosts))
    threads = min(2, cell.connections)
    argv = [WRK, f"-t{threads}", f"-c{cell.connections}", f"-d{seconds}s",
            f"--timeout={REQUEST_TIMEOUT}s", "-s", str(script_path), f"http://127.0.0.1:{port}{cell.path}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + REQUEST_TIMEOUT + 30)
    return parse(done.stdout, checks_every_status(cell), done.stderr, done.returncode)


def parse(stdout: str, hooked: bool, stderr: str = "", returncode: int = 0) -> WrkResult:
    """The result from the ``ITKBENCH`` line of wrk's output.

    ``hooked``: the script's hook counted every status other than 200.
    """
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
                bad_status=data["not_200"] if hooked else data["status_over_399"],
            )
    raise RuntimeError(f"wrk gave no result (exit {returncode}):\n{stdout}\n{stderr}")
