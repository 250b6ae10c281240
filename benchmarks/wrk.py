"""wrk, the HTTP load the benchmarks put on the service, and the latencies it measured.

Before it prints its latencies, or hands them to a script's ``done``, wrk adds samples of its
own to them (``stats_correct`` in its stats.c, a correction for coordinated omission): for
each latency at least twice the mean time between one connection's requests, copies of it
shortened by that time, by twice that time and so on, while longer than that time. They
stand for requests a client sending at a steady rate would have sent during a slow answer;
none of them was sent. Set beside a statement timed alone, one run after the other, they make
a served tile look slower than any tile was served. ``lua/latencies.lua`` writes out every
latency wrk holds at the end, and ``as_answered`` takes wrk's additions away again: the
figures are of the requests as they were answered, with wrk's own p99 kept beside them.
"""

import contextlib
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psutil

LUA = Path(__file__).parent / "lua"


def wrk(script: str, url: str, seconds: int = 15, connections: int = 16) -> dict:
    """``script`` (in lua/) run by wrk against ``url``: latencies in ms as answered (p50, p99),
    wrk's own p99 (``p99_wrk``), requests/s, answers not 2xx or 3xx (``errors``) and,
    for the report script, answers other than 201 (``others``)."""
    threads = 1 if connections <= 4 else 2  # wrk shares the two cores with the service
    os.environ.update(BENCH_THREADS=str(threads), BENCH_SCRIPT=str(LUA / script),
                      BENCH_RUN=uuid.uuid4().hex[:12])  # new reports, not the last run's again
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--latency", "-s", str(LUA / "latencies.lua"), url],
                         capture_output=True, text=True, check=True).stdout
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M).groups()
    answered = as_answered(out, connections)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    others = re.search(r"answers other than 201: (\d+)", out)  # the report script counts them
    return {"p50": float(np.median(answered)), "p99": float(np.percentile(answered, 99)),
            "p99_wrk": float(value) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit],
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "errors": int(errors.group(1)) if errors else 0,
            "others": int(others.group(1)) if others else None}


def as_answered(out: str, connections: int) -> np.ndarray:
    """The latencies (ms) of the requests a wrk run with ``connections`` made, from what
    lua/latencies.lua wrote (``out``): wrk's additions are taken away from the longest
    latency down, each latency's own count known before the shorter ones it added to."""
    duration, requests = map(int, re.search(r"^run (\d+) us, (\d+) requests$", out,
                                            re.M).groups())
    held = {int(us): int(n) for us, n in re.findall(r"^latency (\d+) (\d+)$", out, re.M)}
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    recorded = undo_correction(held, interval=duration // (requests // connections)
                               if requests >= connections else 0)
    # a request wrk timed out either never ended or ended too late to be held
    if not requests - (int(timeouts.group(1)) if timeouts else 0) <= sum(recorded.values()) \
            <= requests:
        raise RuntimeError(f"wrk's {requests} requests do not match the latencies it held")
    return np.repeat(np.fromiter(recorded, float), np.fromiter(recorded.values(), int)) / 1000


def undo_correction(held: dict[int, int], interval: int) -> dict[int, int]:
    """The count of each latency (µs) wrk recorded, from the counts it ``held`` after adding
    its samples for the mean ``interval`` (µs; 0: none added)."""
    recorded, added = {}, Counter()
    for us in sorted(held, reverse=True):
        recorded[us] = count = held[us] - added[us]
        if count < 0:
            raise RuntimeError(f"wrk held fewer latencies of {us} µs than it added")
        if interval and us >= 2 * interval:
            for shorter in range(us - interval, interval, -interval):
                added[shorter] += count
    return {us: n for us, n in recorded.items() if n}


def connections_per_worker(url: str) -> Counter:
    """Process id → how many clients' connections it holds now on ``url``'s port. The kernel
    spreads new connections over the workers' sockets by a hash of their addresses, so wrk's
    fall between them differently at each run (8/8, 6/10 at 16), and the worker holding more
    answers its share more slowly (reports: by larger, slower statements). A connection no
    process has taken from its socket yet is no worker's."""
    port = urlsplit(url).port
    return Counter(c.pid for c in psutil.net_connections(kind="tcp")
                   if c.pid is not None and c.laddr and c.laddr.port == port
                   and c.status == psutil.CONN_ESTABLISHED)


@dataclass
class RunSample:
    split: list[int]  # the connections each worker held, fewest first
    cpu: dict[str, float]  # part → CPU seconds it used per second
    idle: float  # the share of the machine's cores left idle


def _cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """Process id → CPU seconds used so far, of those of ``processes`` still running."""
    used = {}
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            used[process.pid] = times.user + times.system
    return used


def during_run(url: str, after: float, window: float) -> RunSample:
    """Sampled while wrk runs against ``url``, from ``after`` seconds in (its connections all
    open): how they fell between the workers, and over ``window`` seconds the CPU used by
    the workers holding them, by PostgreSQL's processes and by wrk's (each process running at
    both ends of the window), and the share of the machine's cores left idle. On two cores
    these say how near a run came to using them all, and which part used them."""
    time.sleep(after)
    held = connections_per_worker(url)
    named = {}
    for process in psutil.process_iter(["name"]):
        named.setdefault(process.info["name"], []).append(process)
    parts = {"the service's workers": [psutil.Process(pid) for pid in held],
             "PostgreSQL": named.get("postgres", []), "wrk": named.get("wrk", [])}
    before, idle_before = {k: _cpu_seconds(v) for k, v in parts.items()}, psutil.cpu_times().idle
    time.sleep(window)
    cpu = {}
    for part, processes in parts.items():
        now = _cpu_seconds(processes)
        cpu[part] = sum(now[pid] - then for pid, then in before[part].items() if pid in now) \
            / window
    idle = (psutil.cpu_times().idle - idle_before) / window / psutil.cpu_count()
    return RunSample(sorted(held.values()), cpu, idle)
