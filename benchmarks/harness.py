"""The plumbing every liftlab benchmark shares, so each script under ``benchmarks/`` is only its
scenario (data, contenders, checks).

Why one module: the three benchmarks measure speed and memory on a small shared machine, where
how a number is taken matters as much as the number. Keeping the measuring in one place means
every script takes it the same way, and a fix (say, to the RSS measurement) reaches all of them.

What it offers:

* **machine facts** — :func:`machine_facts` (CPUs, memory, Python/numpy/library versions, the
  thread-count environment variables), stored with every result so a number can be tied to the
  machine that produced it;
* **memory** — :func:`max_rss_mb` (the process's ``ru_maxrss``), :class:`PeakRSS` (peak RSS of a
  block above the RSS at its start) and :func:`release_free_memory`;
* **a quiet machine** — :func:`wait_for_quiet` (wait, with a timeout, until other processes are
  idle), :class:`OtherLoad` (CPU other processes used during a block) and :func:`disturbance`;
* **worker processes** — :func:`run_in_worker` runs a function in a fresh interpreter and
  returns its result, wall time and peak RSS;
* **timing** — :func:`best_of` (warm-up runs, then best of N), :func:`measure` (``best_of``
  inside :class:`PeakRSS` and :class:`OtherLoad`, summarised under the keys the result files use)
  and :func:`retry_while_disturbed` (re-run a contender whose timed window was disturbed);
* **output** — :func:`format_table` / :func:`print_table` (a Markdown table) and
  :func:`write_result` (the JSON result file, with machine facts).

The scripts import it as ``from benchmarks import harness``; run as ``python benchmarks/x.py``
they first put the repository root on ``sys.path`` (see the top of each script).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.metadata
import json
import math
import multiprocessing
import os
import platform
import re
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A timed window is "disturbed" when other processes used more than this share of one CPU
#: during it (other processes' CPU seconds / the window's wall seconds).
DISTURBED_SHARE = 0.1
#: Environment variables that set how many threads numerical libraries use; they change
#: timings, so they are part of the machine facts (None when unset).
THREAD_ENV: tuple[str, ...] = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "POLARS_MAX_THREADS",
)
#: Library versions recorded when a script does not name its own.
DEFAULT_VERSIONS: tuple[str, ...] = ("liftlab", "numpy", "pandas", "pyarrow")


# --------------------------------------------------------------------------------------------
# machine facts


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed version of each distribution (``"not installed"`` when absent), read from the
    package metadata so nothing has to be imported."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _memory_gb() -> float | None:
    with contextlib.suppress(Exception):
        import psutil

        return round(psutil.virtual_memory().total / 1024**3, 1)
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    return None


def _cpu_model() -> str:
    model = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return model


def machine_facts(versions: Iterable[str] = DEFAULT_VERSIONS) -> dict[str, Any]:
    """CPU, memory, OS, Python/numpy versions, thread environment and the versions of
    ``versions`` (distribution names) — what a reader needs to compare two result files."""
    thread_env = set(THREAD_ENV) | {k for k in os.environ if k.startswith("OPENBLAS_")}
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "numpy": package_versions(["numpy"])["numpy"],
        "thread_env": {name: os.environ.get(name) for name in sorted(thread_env)},
        "versions": package_versions(versions),
    }


def load_average() -> list[float] | None:
    """1-, 5- and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# memory


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss`` is KiB on Linux,
    bytes on macOS).

    On Linux a child process starts with its parent's ``ru_maxrss`` (the kernel carries the
    high-water mark across fork/exec), so a worker's value is only its own when the parent
    that started it stayed small: orchestrators must not hold the benchmark data themselves.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def _proc_status_kib(field: str) -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+)\s+kB", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def current_rss_mb() -> float:
    """Resident set size of this process now, in MiB."""
    kib = _proc_status_kib("VmRSS")
    if kib is not None:
        return kib / 1024
    import psutil

    return psutil.Process().memory_info().rss / 1024**2


def release_free_memory() -> None:
    """Return freed memory to the OS (gc, glibc malloc_trim, Arrow's pool), so that the
    baseline RSS is the live data and not allocator caches the contender would then reuse."""
    gc.collect()
    with contextlib.suppress(Exception):
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRSS:
    """Peak RSS above the RSS at entry, for the code inside the ``with`` block.

    On Linux the kernel's high-water mark (VmHWM) is reset by writing ``5`` to
    ``/proc/self/clear_refs``, which catches every short spike exactly. Elsewhere a thread
    samples the RSS every millisecond (may miss spikes shorter than that). The reset also lowers
    this process's ``ru_maxrss`` to the RSS at entry, so :func:`max_rss_mb` read afterwards no
    longer covers what came before the block.
    """

    def __init__(self) -> None:
        self.baseline_mb = 0.0
        self.peak_mb = 0.0
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakRSS:
        release_free_memory()
        self.baseline_mb = current_rss_mb()
        try:
            Path("/proc/self/clear_refs").write_text("5")
            hwm = _proc_status_kib("VmHWM")
            if hwm is None:
                raise OSError("no VmHWM")
            self.method = "linux VmHWM reset via /proc/self/clear_refs"
            self.baseline_mb = current_rss_mb()
        except OSError:
            self.method = "psutil sampling every 1 ms"
            self.peak_mb = self.baseline_mb
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, current_rss_mb())
            time.sleep(0.001)

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak_mb = max(self.peak_mb, current_rss_mb())
        else:
            self.peak_mb = (_proc_status_kib("VmHWM") or 0.0) / 1024

    @property
    def over_baseline_mb(self) -> float:
        """Peak RSS minus the RSS at entry (MiB)."""
        return max(self.peak_mb - self.baseline_mb, 0.0)


# --------------------------------------------------------------------------------------------
# a quiet machine


def machine_busy_s() -> float | None:
    """CPU seconds all processes of the machine have used since boot (Linux /proc/stat), or
    None. The difference over a window minus this process's CPU time is what *other*
    processes used meanwhile — a check that the timings were not disturbed."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    guest = sum(values[8:10]) if len(values) > 9 else 0  # already counted in user/nice
    return (sum(values) - idle - guest) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """CPU seconds used by other processes while the ``with`` block runs (None if unknown),
    and the block's wall time."""

    def __enter__(self) -> OtherLoad:
        self.other_cpu_s: float | None = None
        self.wall_s = 0.0
        self._machine = machine_busy_s()
        self._own = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        machine = machine_busy_s()
        self.wall_s = time.perf_counter() - self._wall
        if machine is not None and self._machine is not None:
            own = time.process_time() - self._own
            self.other_cpu_s = max(machine - self._machine - own, 0.0)


def disturbance(out: dict[str, Any]) -> float:
    """Share of a timed window that other processes' CPU use amounted to, from a result's
    ``other_processes_cpu_s`` and ``timed_window_s`` (0 when unknown)."""
    other = out.get("other_processes_cpu_s")
    window = out.get("timed_window_s") or 0.0
    return other / window if other is not None and window > 0 else 0.0


def wait_for_quiet(
    max_wait_s: float, busy_limit: float = 0.25, sample_s: float = 1.0
) -> dict[str, Any] | None:
    """Wait (up to ``max_wait_s``) until the machine is idle — other processes using less than
    ``busy_limit`` CPUs over one ``sample_s`` window — so a contender is not timed against a
    neighbour's test suite. Returns how long it waited, the last busy reading (CPUs in use) and
    whether it got quiet; None at once when ``max_wait_s`` <= 0 (no waiting asked for)."""
    if max_wait_s <= 0:
        return None
    t0 = time.perf_counter()
    while True:
        before = machine_busy_s()
        if before is None:
            return {"waited_s": 0.0, "busy_cpus": None, "quiet": None}
        time.sleep(sample_s)
        busy = ((machine_busy_s() or before) - before) / sample_s
        waited = time.perf_counter() - t0
        if busy < busy_limit or waited >= max_wait_s:
            return {
                "waited_s": round(waited, 1),
                "busy_cpus": round(busy, 2),
                "quiet": busy < busy_limit,
            }


# --------------------------------------------------------------------------------------------
# worker processes


@dataclass(frozen=True)
class WorkerResult:
    """What :func:`run_in_worker` returns: the function's value, the wall time from starting
    the worker to its result (interpreter start and imports included), and the worker's
    ``ru_maxrss`` before the call and after it (MiB)."""

    value: Any
    wall_s: float
    peak_rss_mb: float
    start_rss_mb: float


class WorkerFailed(RuntimeError):
    """The worker raised (its traceback went to stderr) or died; ``exitcode`` is the worker's."""

    def __init__(self, message: str, exitcode: int | None) -> None:
        super().__init__(message)
        self.exitcode = exitcode


def _worker_entry(conn: Any, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    start = max_rss_mb()
    try:
        value = func(*args, **kwargs)
        peak = max_rss_mb()
        conn.send((value, peak, start))
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        raise SystemExit(1) from None
    finally:
        conn.close()


def run_in_worker(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> WorkerResult:
    """Call ``func(*args, **kwargs)`` in a fresh Python interpreter and return its value, wall
    time and peak RSS.

    Why a fresh interpreter (multiprocessing's *spawn*, not fork): every contender starts from
    the same clean state — no pages, caches, thread pools or imported libraries of the previous
    one — and its peak RSS is its own, provided the calling process stays small (see
    :func:`max_rss_mb`). ``func`` must be a module-level function and its arguments and value
    picklable; the worker's stdout and stderr are the caller's. Raises :class:`WorkerFailed`
    when the function raises or the worker dies.
    """
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    name = f"benchmark-worker-{getattr(func, '__name__', 'call')}"
    process = ctx.Process(target=_worker_entry, args=(sender, func, args, kwargs), name=name)
    t0 = time.perf_counter()
    process.start()
    sender.close()
    try:
        message = receiver.recv()  # before join: a large value must not block the pipe
    except EOFError:
        message = None
    finally:
        receiver.close()
    process.join()
    wall_s = time.perf_counter() - t0
    if message is None:
        raise WorkerFailed(
            f"{name} failed with exit code {process.exitcode}", exitcode=process.exitcode
        )
    value, peak, start = message
    return WorkerResult(value=value, wall_s=wall_s, peak_rss_mb=peak, start_rss_mb=start)


# --------------------------------------------------------------------------------------------
# timing

#: One run of a contender: returns its timings in seconds (``total_s`` is the one best-of
#: compares; sub-steps may add their own keys) and its output.
Run = Callable[[], tuple[dict[str, float], Any]]


@dataclass
class Runs:
    """The timed runs of :func:`best_of`: every run's timings (each with ``cpu_s`` added) and
    the output of the last run."""

    timings: list[dict[str, float]]
    output: Any

    def values(self, key: str = "total_s") -> list[float]:
        """``key`` of every timed run, in run order."""
        return [t[key] for t in self.timings]

    def best(self, key: str = "total_s") -> float:
        """The smallest ``key`` over the timed runs (each key's own minimum)."""
        return min(self.values(key))

    def best_run(self, key: str = "total_s") -> dict[str, float]:
        """The timings of the run with the smallest ``key``."""
        return min(self.timings, key=lambda t: t[key])


def timed(func: Callable[[], Any]) -> Run:
    """Wrap a no-argument function as a :data:`Run` that times it as ``total_s``."""

    def run() -> tuple[dict[str, float], Any]:
        t0 = time.perf_counter()
        output = func()
        return {"total_s": time.perf_counter() - t0}, output

    return run


def best_of(run: Run, repeat: int, warmup: int = 1) -> Runs:
    """Call ``run`` ``warmup`` times untimed, then ``repeat`` times timed (gc between runs, not
    inside); return all timings and the last output. The warm-up absorbs one-off costs every
    contender pays once per process (lazy imports, first touch of fresh memory pages); the best
    of the timed runs is the one least slowed down by anything else on the machine.

    Each timing also gets ``cpu_s``, the CPU time of the whole process (all threads) during the
    run: on a shared machine it is less sensitive than wall time to other processes' load.
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    for _ in range(warmup):
        run()
    timings, output = [], None
    for _ in range(repeat):
        gc.collect()
        cpu0 = time.process_time()
        timing, output = run()
        timing["cpu_s"] = time.process_time() - cpu0
        timings.append(timing)
    return Runs(timings, output)


def measure(run: Run, repeat: int, warmup: int = 1) -> tuple[dict[str, Any], Runs]:
    """:func:`best_of` inside :class:`PeakRSS` and :class:`OtherLoad`: time ``run`` and watch
    the memory it needs on top of what is already loaded and the CPU other processes took
    meanwhile. Returns the summary under the keys the result files use and the runs."""
    with PeakRSS() as mem, OtherLoad() as other:
        runs = best_of(run, repeat, warmup)
    summary = {
        "times_s": runs.values(),
        "time_s": runs.best(),
        "cpu_times_s": runs.values("cpu_s"),
        "baseline_rss_mb": mem.baseline_mb,
        "peak_rss_mb": mem.peak_mb,
        "peak_rss_over_data_mb": mem.over_baseline_mb,
        "rss_method": mem.method,
        "other_processes_cpu_s": other.other_cpu_s,
        "timed_window_s": other.wall_s,
    }
    return summary, runs


@dataclass
class Retried:
    """What :func:`retry_while_disturbed` returns: the least disturbed result (None when the
    first attempt failed), how many attempts ran and the last quiet-wait reading."""

    best: dict[str, Any] | None
    attempts: int
    quiet: dict[str, Any] | None


def retry_while_disturbed(
    attempt: Callable[[], dict[str, Any] | None],
    *,
    label: str,
    retries: int,
    quiet_wait: float,
    limit: float = DISTURBED_SHARE,
) -> Retried:
    """Run one contender (``attempt``, typically a :func:`run_in_worker` call returning a
    :func:`measure` summary, or None when it failed); when other processes disturbed its timed
    window (:func:`disturbance` > ``limit``), wait for quiet and run it again, up to
    ``retries`` times; keep the least disturbed attempt. Before each attempt waits up to
    ``quiet_wait`` s for an idle machine (:func:`wait_for_quiet`). A failed attempt stops."""
    best: dict[str, Any] | None = None
    quiet = None
    attempts = 0
    for n in range(1 + max(retries, 0)):
        quiet = wait_for_quiet(quiet_wait)
        if quiet is not None and not quiet["quiet"]:
            print(f"  machine still busy ({quiet['busy_cpus']} CPUs) after {quiet['waited_s']} s")
        print(f"running {label} ...", flush=True)
        out = attempt()
        attempts = n + 1
        if out is None:
            break
        if "time_s" in out:
            wall = f" ({out['wall_s']:.0f} s wall)" if "wall_s" in out else ""
            print(f"  {label}: best {out['time_s']:.3f} s{wall}")
        if best is None or disturbance(out) < disturbance(best):
            best = out
        if disturbance(best) <= limit:
            break
        print(
            f"  other processes were busy during the timed runs ({disturbance(out):.0%} of a CPU)"
        )
    return Retried(best=best, attempts=attempts, quiet=quiet)


# --------------------------------------------------------------------------------------------
# output


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "—"
    return str(value)


def format_table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None
) -> str:
    """A Markdown table, padded to line up in a terminal and pasteable into a README.

    ``align`` has one letter per column, ``l`` or ``r``; by default the first column is
    left-aligned and the others (numbers) right-aligned. Cells are ``str()``-ed as given (format
    numbers before), None is blank and NaN is ``—``."""
    body = [[_cell(v) for v in row] for row in rows]
    if any(len(row) != len(header) for row in body):
        raise ValueError("every row needs one cell per header column")
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError("align needs one 'l' or 'r' per column")
    widths = [max(len(str(h)), *(len(row[i]) for row in body)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    dashes = (
        "-" * (w + 1) + ":" if a == "r" else "-" * (w + 2)
        for w, a in zip(widths, align, strict=True)
    )
    rule = "|" + "|".join(dashes) + "|"
    return "\n".join([line([str(h) for h in header]), rule, *(line(row) for row in body)])


def print_table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None
) -> None:
    """Print :func:`format_table`."""
    print(format_table(header, rows, align))


def json_default(obj: object) -> object:
    """JSON for the values numpy and pathlib put into results (numpy scalars, arrays, paths)."""
    if hasattr(obj, "item") and hasattr(obj, "dtype"):  # numpy scalar
        return obj.item() if getattr(obj, "ndim", 0) == 0 else obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_result(path: Path, payload: dict[str, Any]) -> Path:
    """Write a benchmark's result as indented JSON (parent folders created) and say so.

    Adds ``machine`` (:func:`machine_facts`) when the payload has none: a timing without the
    machine it was taken on cannot be compared with anything."""
    if "machine" not in payload:
        payload["machine"] = machine_facts()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=json_default) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path
