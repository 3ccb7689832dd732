"""Scanning a large set of files on every core: the candidates are cut into contiguous chunks, forked
worker processes scan them (each inherits the loaded action index, so none pays for it again), and the
chunk results are merged in file order, so the report is byte-identical to a scan in one process.

Forking is used only where it is safe and pays: a fork start method, more than one usable core, at least
MIN_FILES candidates, none of them standard input, and no other thread in the process (a fork copies locks
another thread may hold; the CLI has none, a test suite's emulator thread would).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

from iam_guard.scan.model import ScanResult
from iam_guard.scan.sources import Candidate

MIN_FILES = 200
CHUNKS_PER_WORKER = 4  # uneven files (a large template among small policies) still spread evenly

_PRIMER = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "iam:PassRole", "ec2:RunInstances"], "Resource": "*"}
    ],
}

ScanChunk = Callable[[Sequence[Candidate]], ScanResult]


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(jobs: int, candidates: Sequence[Candidate]) -> int:
    """How many processes to scan with: `jobs` (0: as many as usable cores), 1 whenever forking is not
    safe or not worth it."""
    wanted = usable_cores() if jobs == 0 else jobs
    if wanted <= 1 or len(candidates) < MIN_FILES:
        return 1
    import multiprocessing  # only for a scan this large: its import costs every start-up some 8 ms

    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    if any(candidate.path is None for candidate in candidates):
        return 1
    return min(wanted, len(candidates) // (MIN_FILES // 2) or 1)


def chunks(candidates: Sequence[Candidate], workers: int) -> list[Sequence[Candidate]]:
    """Contiguous, nearly equal slices, in order."""
    count = min(len(candidates), workers * CHUNKS_PER_WORKER)
    size, extra = divmod(len(candidates), count)
    slices: list[Sequence[Candidate]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        slices.append(candidates[start:end])
        start = end
    return slices


def scan_in_processes(
    candidates: Sequence[Candidate], workers: int, scan_chunk: ScanChunk
) -> list[ScanResult]:
    """Each chunk's result, in order. `scan_chunk` must be a module-level function (it is pickled by name)."""
    import multiprocessing

    from iam_guard.analysis import analyze_policy

    analyze_policy(_PRIMER)  # before the fork: every worker inherits the loaded index and primed tables
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        return pool.map(scan_chunk, chunks(candidates, workers), chunksize=1)
