"""H-6: a time budget for one analysis, checked cooperatively (between statements and inside long
expansion loops). The engine turns an exhausted budget into a HIGH finding, never into an exception."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("iam_guard_analysis_deadline", default=None)
# What the analysis does now: its words, or a function that words it (called only when the budget runs out)
Activity = str | Callable[[], str]
_ACTIVITY: ContextVar[list[Activity] | None] = ContextVar("iam_guard_analysis_activity", default=None)


class BudgetExceeded(Exception):
    """The analysis ran out of time; `activity` says what it was doing."""

    def __init__(self, activity: str) -> None:
        super().__init__(activity)
        self.activity = activity


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Run the block with a deadline `seconds` from now (None: no deadline). Nested budgets keep the
    earlier deadline."""
    outer = _DEADLINE.get()
    deadline = None if seconds is None else time.monotonic() + max(float(seconds), 0.0)
    if outer is not None and (deadline is None or outer < deadline):
        deadline = outer
    deadline_token = _DEADLINE.set(deadline)
    activity_token = _ACTIVITY.set(["starting"])
    try:
        yield
    finally:
        _DEADLINE.reset(deadline_token)
        _ACTIVITY.reset(activity_token)


def doing(activity: Activity) -> None:
    """Name what the analysis does now (shown in the finding when the budget runs out here), and check
    the deadline. A function as `activity` is only called to word the finding: a label that takes work
    to build costs nothing while the budget lasts."""
    current = _ACTIVITY.get()
    if current is not None:
        current[0] = activity
    check()


def check() -> None:
    """Raise BudgetExceeded when the deadline has passed (cheap: one clock read)."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        current = _ACTIVITY.get()
        activity = current[0] if current else "analyzing"
        raise BudgetExceeded(activity if isinstance(activity, str) else activity())
