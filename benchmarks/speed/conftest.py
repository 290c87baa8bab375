"""Shared fixtures of the pytest-benchmark suites (`pytest benchmarks --benchmark-enable`).

Besides torch's thread count, the expensive-proxy suites (bench_ntk, bench_mgm, bench_short_train)
share a speed table: each measured variant records its CPU seconds, the FLOPs it performed, the
achieved GFLOP/s, the fraction of this machine's practical peak (a 2048² float32 matmul measured
once per session, single thread) and its ratio to the reference variant measured earlier in the same
run. The table is printed at the end of the run and written as Markdown to $BENCH_TABLE when set.
"""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import pytest
import torch

BENCH_THREADS = int(os.environ.get("BENCH_THREADS", "1"))
PEAK_MATMUL_SIZE = 2048
ROWS: list[dict] = []  # the session's speed table, in measurement order


def cpu_model() -> str:
    """The processor's name as /proc/cpuinfo gives it (platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


@pytest.fixture
def threads():
    """torch's intra-op threads for one benchmark: $BENCH_THREADS (default 1, the per-worker setting of
    CPU sweeps), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(BENCH_THREADS)
    yield BENCH_THREADS
    torch.set_num_threads(before)


def measure_matmul_peak(size: int = PEAK_MATMUL_SIZE, tries: int = 3) -> float:
    """GFLOP/s (2·n³ per product, CPU seconds) of the best of `tries` float32 n×n matmuls on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b  # warm-up
        best = 0.0
        for _ in range(tries):
            started = time.process_time()
            a @ b
            best = max(best, 2 * size ** 3 / max(time.process_time() - started, 1e-9) / 1e9)
        return best
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def machine() -> dict:
    """The device every row is measured on, and its practical float32 peak (same run)."""
    return {"cpu_model": cpu_model(), "logical_cpus": os.cpu_count(), "torch": torch.__version__,
            "peak_gflops": measure_matmul_peak(), "peak_kernel": f"float32 matmul {PEAK_MATMUL_SIZE}², 1 thread"}


class SpeedTable:
    """Records one row per measured variant and fills the benchmark's extra_info with it."""

    def __init__(self, machine: dict):
        self.machine = machine

    @staticmethod
    def run(benchmark, target, setup, rounds: int):
        """benchmark.pedantic(target(*setup()), rounds) with CPU and wall seconds of each round kept:
        (last result, cpu seconds per round, wall seconds per round). `setup` (network builds) is untimed."""
        cpu, wall = [], []

        def timed(*args):
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            result = target(*args)
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started_wall)
            return result

        result = benchmark.pedantic(timed, setup=lambda: (setup(), {}), rounds=rounds, iterations=1)
        return result, cpu, wall

    def record(self, benchmark, *, group: str, variant: str, cpu_seconds: list[float], wall_seconds: list[float],
               flops: float, reference: str | None = None, **extra) -> dict:
        """`cpu_seconds`/`wall_seconds`: one per round; the fastest round (least disturbed by the other jobs
        on a shared CPU) is the row's time. `reference`: the variant of the same group this one is compared
        with (it must have been recorded earlier in the run, or the ratio is left empty)."""
        cpu = min(cpu_seconds)
        row = {"group": group, "variant": variant, "rounds": len(cpu_seconds), "cpu_seconds": cpu,
               "wall_seconds": min(wall_seconds), "gflop": flops / 1e9, "gflops": flops / cpu / 1e9,
               "peak_fraction": flops / cpu / 1e9 / self.machine["peak_gflops"],
               "torch_threads": torch.get_num_threads(), **self.machine, **extra}
        ref = next((r for r in ROWS if r["group"] == group and r["variant"] == reference), None)
        row["reference"] = reference
        row["speedup_vs_reference"] = ref["cpu_seconds"] / cpu if ref else None
        ROWS.append(row)
        benchmark.group = group
        benchmark.extra_info.update(row)
        return row


@pytest.fixture(scope="session")
def speed_table(machine) -> SpeedTable:
    return SpeedTable(machine)


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    first = rows[0]
    lines = [f"Device: {first['cpu_model']} ({first['logical_cpus']} logical CPUs), torch {first['torch']}, "
             f"{first['torch_threads']} torch thread(s); practical peak {first['peak_gflops']:.1f} GFLOP/s "
             f"({first['peak_kernel']}, same run).", "",
             "| group | variant | rounds | CPU s | wall s | GFLOP | GFLOP/s | % of peak | speed-up vs | value check |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['speedup_vs_reference']:.2f}× vs {r['reference']}" if r["speedup_vs_reference"] else "reference"
        lines.append(f"| {r['group']} | {r['variant']} | {r['rounds']} | {r['cpu_seconds']:.2f} | "
                     f"{r['wall_seconds']:.2f} | {r['gflop']:.1f} | {r['gflops']:.1f} | "
                     f"{100 * r['peak_fraction']:.0f} | {ratio} | {r.get('value_check', '')} |")
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter):
    table = markdown_table(ROWS)
    if not table:
        return
    terminalreporter.write_sep("=", "expensive proxies: speed table")
    terminalreporter.write(table)
    if path := os.environ.get("BENCH_TABLE"):
        Path(path).write_text(table)
        terminalreporter.write_line(f"written to {path}")
