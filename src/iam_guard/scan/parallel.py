"""Scanning a large set of files on every core: the candidates are cut into small contiguous parts; this
process and forked children (each inherits the loaded action index, so none pays for it again) take the
parts one by one from a shared queue, and the results are merged in file order, so the report is
byte-identical to a scan in one process.

A plain os.fork, a pipe as the queue of part numbers and a pipe per child for its results, not
multiprocessing: no pool, no handler threads, no import, and this process works too instead of waiting.
A child that dies or sends nothing has its parts scanned again here: a worker can never lose a file.

Forking is used only where it is safe and pays: os.fork exists, more than one usable core, at least
MIN_FILES candidates, none of them standard input, and no other thread in the process (a fork copies locks
another thread may hold; the CLI has none, a test suite's emulator thread would).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence

from iam_guard.scan.model import ScanResult
from iam_guard.scan.sources import Candidate

MIN_FILES = 200
PARTS_PER_WORKER = 128  # parts of a few files: the last one to finish costs a few ms of waiting
_NUMBER_BYTES = 4
# The queue is written whole before anyone reads it: at most PIPE_BUF bytes (4,096 on Linux), which even
# a pipe shrunk to one page by the per-user pipe limit holds without blocking.
MAX_PARTS = 4096 // _NUMBER_BYTES

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
    import threading  # here, not at import: a small scan never pays for it

    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    if any(candidate.path is None for candidate in candidates):
        return 1
    return min(wanted, len(candidates) // (MIN_FILES // 2) or 1)


def chunks(candidates: Sequence[Candidate], count: int) -> list[Sequence[Candidate]]:
    """At most `count` contiguous, nearly equal slices, in order."""
    count = max(1, min(len(candidates), count))
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
    """Each part's result, in order. The parts' numbers wait in a pipe; this process and its forked
    children each take the next number until none is left, so a process that drew heavy files simply takes
    fewer (the cost of a policy is not its size: a few large wildcard-heavy ones dominate)."""
    from iam_guard.analysis import analyze_policy

    analyze_policy(_PRIMER)  # before the fork: every child inherits the loaded index and primed tables
    parts = chunks(candidates, min(workers * PARTS_PER_WORKER, MAX_PARTS))
    queue = _part_queue(len(parts))
    children = [_fork(queue, parts, scan_chunk) for _ in range(workers - 1)]
    try:
        done = _take_parts(queue, parts, scan_chunk)
    except BaseException:  # a usage error or an interrupt here: no child outlives the scan
        for pid, pipe in children:
            os.kill(pid, signal.SIGKILL)
            os.close(pipe)
            os.waitpid(pid, 0)
        raise
    finally:
        os.close(queue)
    for pid, pipe in children:
        done.update(_collect(pid, pipe))
    # a child that died took its parts with it: they are scanned here
    return [done[number] if number in done else scan_chunk(part) for number, part in enumerate(parts)]


def _part_queue(count: int) -> int:
    """The read end of a pipe holding the part numbers 0..count-1, written whole before anyone reads, so
    each read of _NUMBER_BYTES takes exactly one number and no two processes take the same one."""
    read_end, write_end = os.pipe()
    numbers = b"".join(number.to_bytes(_NUMBER_BYTES, "little") for number in range(count))
    os.write(write_end, numbers)  # at most MAX_PARTS numbers: never blocks (see MAX_PARTS)
    os.close(write_end)
    return read_end


def _take_parts(
    queue: int, parts: Sequence[Sequence[Candidate]], scan_chunk: ScanChunk
) -> dict[int, ScanResult]:
    """Scan the next part from the queue until it is empty; the results by part number."""
    done: dict[int, ScanResult] = {}
    while number := os.read(queue, _NUMBER_BYTES):
        index = int.from_bytes(number, "little")
        done[index] = scan_chunk(parts[index])
    return done


def _fork(queue: int, parts: Sequence[Sequence[Candidate]], scan_chunk: ScanChunk) -> tuple[int, int]:
    """(pid, the read end of its result pipe) of a child that takes parts from the queue and writes their
    pickled results."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    status = 1
    try:  # the child never returns into the caller's code: os._exit, so no buffer of the parent is flushed
        os.close(read_end)
        import pickle

        payload = pickle.dumps(_take_parts(queue, parts, scan_chunk), pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _collect(pid: int, pipe: int) -> dict[int, ScanResult]:
    """The child's results by part number; none when it died or failed (the caller rescans its parts)."""
    with os.fdopen(pipe, "rb") as reader:
        payload = reader.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        return {}
    import pickle

    results = pickle.loads(payload)  # written by our own child: no one else holds this pipe
    if not isinstance(results, dict):
        return {}
    return {number: part for number, part in results.items() if isinstance(part, ScanResult)}
