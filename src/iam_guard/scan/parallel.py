"""Scanning a large set of files on every core: the candidates are cut into contiguous parts, one per
process; this process scans the first part while forked children scan the others (each inherits the loaded
action index, so none pays for it again), and the results are merged in file order, so the report is
byte-identical to a scan in one process.

A plain os.fork and a pipe per child, not multiprocessing: no pool, no handler threads, no import, and this
process works too instead of waiting (on 2 cores, a Pool of 2 left the machine a third idle at start and
end). A child that dies or sends nothing has its part scanned again here: a worker can never lose a file.

Forking is used only where it is safe and pays: os.fork exists, more than one usable core, at least
MIN_FILES candidates, none of them standard input, and no other thread in the process (a fork copies locks
another thread may hold; the CLI has none, a test suite's emulator thread would).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence

from iam_guard.scan.model import ScanResult
from iam_guard.scan.sources import Candidate

MIN_FILES = 200

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
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    if any(candidate.path is None for candidate in candidates):
        return 1
    return min(wanted, len(candidates) // (MIN_FILES // 2) or 1)


def chunks(candidates: Sequence[Candidate], workers: int) -> list[Sequence[Candidate]]:
    """`workers` contiguous, nearly equal slices, in order."""
    size, extra = divmod(len(candidates), workers)
    slices: list[Sequence[Candidate]] = []
    start = 0
    for index in range(workers):
        end = start + size + (1 if index < extra else 0)
        slices.append(candidates[start:end])
        start = end
    return slices


def scan_in_processes(
    candidates: Sequence[Candidate], workers: int, scan_chunk: ScanChunk
) -> list[ScanResult]:
    """Each part's result, in order: the first scanned here, the others by forked children."""
    from iam_guard.analysis import analyze_policy

    analyze_policy(_PRIMER)  # before the fork: every child inherits the loaded index and primed tables
    first, *others = chunks(candidates, workers)
    children = [_fork(part, scan_chunk) for part in others]
    try:
        results = [scan_chunk(first)]
    except BaseException:  # a usage error or an interrupt here: no child outlives the scan
        for pid, pipe in children:
            os.kill(pid, signal.SIGKILL)
            os.close(pipe)
            os.waitpid(pid, 0)
        raise
    for (pid, pipe), part in zip(children, others, strict=True):
        results.append(_collect(pid, pipe) or scan_chunk(part))
    return results


def _fork(part: Sequence[Candidate], scan_chunk: ScanChunk) -> tuple[int, int]:
    """(pid, the read end of its pipe) of a child that scans `part` and writes the pickled result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    status = 1
    try:  # the child never returns into the caller's code: os._exit, so no buffer of the parent is flushed
        os.close(read_end)
        payload = pickle.dumps(scan_chunk(part), pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _collect(pid: int, pipe: int) -> ScanResult | None:
    """The child's result, or None when it died or failed (its part is then scanned by the caller)."""
    with os.fdopen(pipe, "rb") as reader:
        payload = reader.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        return None
    result = pickle.loads(payload)  # written by our own child: no one else holds this pipe
    return result if isinstance(result, ScanResult) else None
