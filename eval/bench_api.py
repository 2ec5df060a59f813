"""Benchmark helpers that run the service in subprocesses: the HTTP server under concurrent load,
`qa ask` cold start and `qa serve` time-to-ready. Loopback only."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from eval.metrics import percentile

log = logging.getLogger("qa.bench")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(data_dir: Path, tenant: str) -> dict[str, str]:
    env = dict(os.environ)
    # the bench measures throughput, so the per-client citizen rate limit (all load comes from one address) is off
    env.update({"QA_DATA_DIR": str(data_dir), "QA_SERVER__DEFAULT_TENANT": tenant, "HF_HUB_OFFLINE": "1",
                "QA_SERVER__CITIZEN_RATE_PER_MINUTE": "0",
                "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "QA_LOG_LEVEL": "WARNING"})
    env.pop("QA_CONFIG", None)
    return env


def _vm_hwm_kib(pid: int) -> int:
    """Peak RSS (VmHWM, KiB) of a running process; 0 when unavailable.

    getrusage/wait4 maxrss is not used for children: on Linux it includes the RSS the child
    inherited at fork from this (large) process, even after exec."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _wait_child(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Wait for ``proc``, sampling its VmHWM: (exit code, peak RSS in KiB as last seen)."""
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _vm_hwm_kib(proc.pid))
        time.sleep(0.02)
    return int(proc.returncode), peak


def cold_ask(data_dir: Path, tenant: str, question: str) -> dict[str, Any]:
    """Wall time of ``qa ask QUESTION --tenant T --json`` in a fresh interpreter."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "qa_service", "ask", question, "--tenant", tenant, "--json"],
                                stdout=out, stderr=err, env=child_env(data_dir, tenant))
        code, maxrss = _wait_child(proc)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-500:]
    ok = code == 0 and '"decision"' in text
    if not ok:
        log.warning("cold ask failed code=%s stderr=%s", code, tail)
    return {"seconds": round(wall, 3), "ok": ok, "exit_code": code, "peak_rss_mb": round(maxrss / 1024, 1)}


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    ready_s: float
    log_file: Path


def start_server(data_dir: Path, tenant: str, log_file: Path, timeout_s: float = 180.0) -> Server:
    """`qa serve --no-bootstrap` on a free loopback port; returns once /readyz answers 200."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fh = log_file.open("wb")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa_service", "serve", "--no-bootstrap", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=child_env(data_dir, tenant))
    fh.close()
    with httpx.Client(timeout=2.0) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"qa serve exited with {proc.returncode}; see {log_file}")
            if time.perf_counter() - start > timeout_s:
                stop_server(Server(proc, base, 0.0, log_file))
                raise RuntimeError(f"qa serve not ready after {timeout_s:.0f}s; see {log_file}")
            try:
                if client.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    ready = time.perf_counter() - start
    return Server(proc, base, ready, log_file)


def stop_server(server: Server) -> int:
    """SIGTERM (then SIGKILL) the server; returns its peak RSS in KiB seen just before."""
    peak = server_peak_rss_kib(server)
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    return peak


def server_peak_rss_kib(server: Server) -> int:
    """VmHWM of the running server (KiB), 0 when unavailable."""
    return _vm_hwm_kib(server.proc.pid)


async def _load(base: str, tenant: str, questions: list[str], concurrency: int, requests: int,
                time_cap_s: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    decisions: dict[str, int] = {}
    counter = iter(range(requests))
    deadline = time.perf_counter() + time_cap_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            if time.perf_counter() > deadline:
                return
            body = {"question": questions[i % len(questions)], "tenant": tenant}
            t0 = time.perf_counter()
            try:
                r = await client.post(f"{base}/api/v1/ask", json=body)
                ok = r.status_code == 200
                if ok:
                    d = str(r.json().get("decision"))
                    decisions[d] = decisions.get(d, 0) + 1
                    ok = d != "error_internal"
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    done = len(latencies)
    return {
        "concurrency": concurrency, "requests": done + errors, "ok": done, "errors": errors,
        "seconds": round(elapsed, 2), "req_per_s": round(done / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
        "capped": done + errors < requests, "decisions": decisions,
    }


def run_load(base: str, tenant: str, questions: list[str], concurrency: int, requests: int,
             time_cap_s: float) -> dict[str, Any]:
    """``requests`` POST /api/v1/ask with ``concurrency`` clients (stops early at ``time_cap_s``)."""
    return asyncio.run(_load(base, tenant, questions, concurrency, requests, time_cap_s))
