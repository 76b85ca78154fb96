"""Drive an HTTP endpoint at full speed from other processes: `wrk` when installed, else Python clients.

Both send the same POST (optionally with a unique Idempotency-Key per request) over keep-alive
connections and count answers by status. A gunicorn sync worker closes the connection after each
answer, so every client reconnects as needed; all servers are measured with the same settings.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

WRK_SCRIPT = r"""
local body_file = io.open("{body_path}", "rb")
local body = body_file:read("*a")
body_file:close()
local unique = {unique}
local prefix = "{prefix}"
local threads = {{}}
local tid_counter = 0
wrk.method = "POST"
wrk.body = body
{headers}

function setup(thread)
  thread:set("tid", tid_counter)
  tid_counter = tid_counter + 1
  table.insert(threads, thread)
end

function init(args)
  n = 0
  statuses = {{}}
end

function request()
  n = n + 1
  if unique then
    wrk.headers["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. n
  end
  return wrk.format(nil, nil, wrk.headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {{}}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      total[code] = (total[code] or 0) + count
    end
  end
  for code, count in pairs(total) do
    io.write(string.format("STATUS %d %d\n", code, count))
  end
  io.write(string.format("SUMMARY %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
end
"""


@dataclass
class LoadResult:
    """What one load run achieved."""

    tool: str
    seconds: float
    requests: int
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0

    @property
    def rps(self) -> float:
        """Requests per second over the run."""
        return self.requests / self.seconds if self.seconds else 0.0

    def share(self, status: int) -> float:
        """Fraction of answers with this status."""
        answered = sum(self.statuses.values())
        return self.statuses.get(status, 0) / answered if answered else 0.0


def wrk_path() -> str | None:
    """The wrk binary, if installed."""
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    """Escape text for a Lua string literal."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def run_wrk(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    unique_key: bool,
    seconds: float,
    connections: int,
    threads: int,
    prefix: str,
) -> LoadResult:
    """One wrk run against `url`; statuses counted by the script (wrk's own count lumps all 2xx)."""
    binary = wrk_path()
    assert binary
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        body_path = Path(tmp) / "body.json"
        body_path.write_bytes(body)
        lines = "\n".join(f'wrk.headers["{_lua_string(k)}"] = "{_lua_string(v)}"' for k, v in headers.items())
        script = Path(tmp) / "post.lua"
        script.write_text(
            WRK_SCRIPT.format(
                body_path=body_path, unique="true" if unique_key else "false", prefix=_lua_string(prefix), headers=lines
            )
        )
        duration = max(int(round(seconds)), 1)
        out = subprocess.run(
            [binary, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", str(script), url],
            capture_output=True,
            text=True,
            timeout=duration + 30,
            check=True,
        ).stdout
    statuses = {int(m[1]): int(m[2]) for m in re.finditer(r"^STATUS (\d+) (\d+)$", out, re.M)}
    summary = re.search(r"^SUMMARY (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    assert summary, out
    requests, micros, *errors = (int(x) for x in summary.groups())
    socket_errors = errors[0] + errors[1] + errors[2] + errors[4]
    return LoadResult("wrk", micros / 1e6, requests, statuses, socket_errors)


def _client(
    url: str,
    body: bytes,
    headers: dict[str, str],
    unique_key: bool,
    seconds: float,
    max_requests: int,
    prefix: str,
    start_at: float,
) -> dict[str, object]:
    """One client: POST in a loop over a reused connection until time or count runs out."""
    parts = urlsplit(url)
    statuses: Counter[int] = Counter()
    errors = done = 0
    conn: http.client.HTTPConnection | None = None
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    deadline = begin + seconds
    while time.perf_counter() < deadline and done < max_requests:
        if conn is None:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
        sent = dict(headers)
        if unique_key:
            sent["Idempotency-Key"] = f"{prefix}-{done}"
        try:
            conn.request("POST", parts.path, body=body, headers=sent)
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
            done += 1
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            errors += 1
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()
    return {"requests": done, "statuses": dict(statuses), "errors": errors, "seconds": time.perf_counter() - begin}


def run_python(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    unique_key: bool,
    seconds: float,
    connections: int,
    prefix: str,
    max_requests: int = 200_000,
) -> LoadResult:
    """`connections` client processes (this file run with --client), started together, one connection each."""
    start_at = time.time() + 1.0  # after every process has started and is waiting
    with tempfile.TemporaryDirectory(prefix="bench-py-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "url": url,
                    "body": body.decode(),
                    "headers": headers,
                    "unique_key": unique_key,
                    "seconds": seconds,
                    "max_requests": max_requests,
                    "start_at": start_at,
                }
            )
        )
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--client", str(spec), f"{prefix}-{i}"], stdout=subprocess.PIPE, text=True
            )
            for i in range(connections)
        ]
        results = [json.loads(proc.communicate(timeout=seconds + 60)[0]) for proc in procs]
    statuses: Counter[int] = Counter()
    for result in results:
        statuses.update({int(k): v for k, v in result["statuses"].items()})
    elapsed = max(float(r["seconds"]) for r in results)
    return LoadResult(
        "python",
        elapsed,
        sum(int(r["requests"]) for r in results),
        dict(statuses),
        sum(int(r["errors"]) for r in results),
    )


def run_load(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    unique_key: bool,
    seconds: float,
    connections: int = 4,
    prefix: str = "bench",
) -> LoadResult:
    """wrk if installed (one thread: the machine's cores belong to the server), else Python clients."""
    if wrk_path():
        return run_wrk(
            url,
            body,
            headers,
            unique_key=unique_key,
            seconds=seconds,
            connections=connections,
            threads=1,
            prefix=prefix,
        )
    return run_python(
        url, body, headers, unique_key=unique_key, seconds=seconds, connections=connections, prefix=prefix
    )


if __name__ == "__main__":
    # A client process of run_python: `load.py --client SPEC PREFIX`, prints its counts as JSON.
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        job = json.loads(Path(sys.argv[2]).read_text())
        print(
            json.dumps(
                _client(
                    job["url"],
                    job["body"].encode(),
                    job["headers"],
                    job["unique_key"],
                    job["seconds"],
                    job["max_requests"],
                    sys.argv[3],
                    job["start_at"],
                )
            )
        )
    else:
        raise SystemExit("usage: load.py --client SPEC PREFIX (used by bench/run.py)")
