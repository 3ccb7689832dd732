"""H-6: IAM wildcard matching ('*' any run of characters, '?' exactly one) without backtracking, so no
pattern an attacker writes can make the analyzer hang.

A pattern is compiled once: every run of '*' and '?' becomes its '?'s followed by a single '*' (the same
language: 'a*?*?b' == 'a??*b'). What is left between the stars are star-free segments. A name matches when
the first segment matches at its start, the last at its end, and each middle segment somewhere in between,
in order. Taking each middle segment at its leftmost place after the previous one is exact for these
patterns (an earlier place only leaves more room for the rest), so no segment is ever searched twice.

A segment is found with str.find, or, when it holds '?', with a star-free regex ('?' becomes '.'; no
quantifier, so a search tries each start position once and compares at most the segment's length there).

Work is counted in steps (characters compared, at worst): compiling costs len(pattern) + 1; searching
for a segment of length m across s positions costs at most m * s + 1, and the stretches of the name that
successive segments scan do not overlap. A name shorter than the characters the segments need is
rejected at once (so the segments' lengths add up to at most len(name)), and matching costs at most
len(pattern) + 1 + 8 * (len(name) + 1) ** 2 steps, whatever the pattern (the catalogue's longest action
name has 71 characters, so an Action element costs at most some 42,000 steps per catalogue action).
tests/analysis/test_analysis_wildcard.py bounds the counted steps over adversarial patterns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from iam_guard.analysis import budget


@functools.lru_cache(maxsize=16384)
def star_free_regex(segment: str) -> re.Pattern[str]:
    """The regex of one star-free segment: '?' is any one character, everything else literal. It has no
    quantifier and no alternation, so it cannot backtrack beyond the segment's own length."""
    return re.compile("".join("." if char == "?" else re.escape(char) for char in segment), re.DOTALL)


class Segment(NamedTuple):
    """A star-free part of a pattern ('?' stands for one character)."""

    text: str
    literal: bool  # no '?': plain string operations

    def fits_at(self, name: str, position: int) -> tuple[bool, int]:
        """(the segment matches name[position:position + len], steps spent)."""
        size = len(self.text)
        if position + size > len(name):
            return False, 1
        if self.literal:
            return name.startswith(self.text, position), size + 1
        return star_free_regex(self.text).match(name, position) is not None, size + 1

    def find(self, name: str, start: int, end: int) -> tuple[int, int]:
        """(leftmost position p >= start with the segment inside name[p:end], or -1; steps spent)."""
        size = len(self.text)
        last = end - size
        if last < start:
            return -1, 1
        if self.literal:
            found = name.find(self.text, start, end)
        else:
            hit = star_free_regex(self.text).search(name, start, end)
            found = hit.start() if hit else -1
        # each start position tried compares at most `size` characters
        return found, size * ((found if found >= 0 else last) - start + 1) + 1

    def occurring(self, names: list[str]) -> list[str]:
        """The names holding the segment anywhere (a C-level test, to drop hopeless names early)."""
        if self.literal:
            text = self.text
            return [name for name in names if text in name]
        search = star_free_regex(self.text).search
        return [name for name in names if search(name)]


class Wildcard(NamedTuple):
    """A compiled IAM wildcard pattern."""

    normalized: str
    ignore_case: bool
    segments: tuple[Segment, ...]  # one segment when there is no '*'
    has_star: bool
    min_length: int  # characters a name needs at least (every non-'*' character of the pattern)
    compile_steps: int

    def match_steps(self, name: str) -> tuple[bool, int]:
        """(the name matches, steps spent matching it)."""
        text = name.lower() if self.ignore_case else name
        if len(text) < self.min_length:
            return False, 1
        steps = len(text) if self.ignore_case else 0
        first = self.segments[0]
        if not self.has_star:
            if len(text) != len(first.text):
                return False, steps + 1
            fits, spent = first.fits_at(text, 0)
            return fits, steps + spent
        fits, spent = first.fits_at(text, 0)
        steps += spent
        if not fits:
            return False, steps
        last = self.segments[-1]
        tail = len(text) - len(last.text)
        fits, spent = last.fits_at(text, tail)
        steps += spent
        if not fits:
            return False, steps
        position = len(first.text)
        for segment in self.segments[1:-1]:
            found, spent = segment.find(text, position, tail)
            steps += spent
            if found < 0:
                return False, steps
            position = found + len(segment.text)
        return True, steps

    def match(self, name: str) -> bool:
        """True when the whole name matches the pattern."""
        return self.match_steps(name)[0]

    def filter(self, names: Iterable[str]) -> list[str]:
        """The names that match, in their order (already lower-case when the pattern ignores case, as the
        catalogue's are). Names lacking a segment anywhere are dropped first (a substring test); then the
        same greedy algorithm as match_steps runs segment by segment over all the names at once, so that
        each step is one C-level call per name. The analysis deadline is checked between passes."""
        first, last = self.segments[0], self.segments[-1]
        if not self.has_star:
            exact = len(first.text)
            return [name for name in names if len(name) == exact and first.fits_at(name, 0)[0]]
        candidates = names if isinstance(names, list) else list(names)
        telling = {segment.text: segment for segment in self.segments if segment.text.strip("?")}
        for segment in sorted(telling.values(), key=lambda segment: -len(segment.text))[:8]:
            budget.check()
            candidates = segment.occurring(candidates)  # cheapest test first: found anywhere at all
        candidates = [name for name in candidates if len(name) >= self.min_length]
        if first.literal:
            if first.text:
                candidates = [name for name in candidates if name.startswith(first.text)]
        else:
            at_start = star_free_regex(first.text).match
            candidates = [name for name in candidates if at_start(name)]
        size = len(last.text)
        if last.literal:
            if last.text:
                candidates = [name for name in candidates if name.endswith(last.text)]
        else:
            at = star_free_regex(last.text).match
            candidates = [name for name in candidates if at(name, len(name) - size)]
        states = [(name, len(first.text)) for name in candidates]
        for segment in self.segments[1:-1]:
            budget.check()
            text, length = segment.text, len(segment.text)
            if segment.literal:
                states = [
                    (name, found + length)
                    for name, position in states
                    if (found := name.find(text, position, len(name) - size)) >= 0
                ]
            else:
                search = star_free_regex(text).search
                states = [
                    (name, hit.end())
                    for name, position in states
                    if (hit := search(name, position, len(name) - size))
                ]
        return [name for name, _ in states]


@functools.lru_cache(maxsize=16384)
def compile_wildcard(pattern: str, ignore_case: bool = True) -> Wildcard:
    """Compile a pattern (IAM action names are matched case-insensitively; StringLike values are not)."""
    text = pattern.lower() if ignore_case else pattern
    parts: list[str] = []
    run_questions = 0
    run_star = False
    for char in text + "\0":  # the sentinel closes a final run; it is the last part, dropped below
        if char == "*":
            run_star = True
        elif char == "?":
            run_questions += 1
        else:
            if run_questions or run_star:
                parts.append("?" * run_questions + ("*" if run_star else ""))
                run_questions, run_star = 0, False
            parts.append(char)
    normalized = "".join(parts[:-1])
    segments = tuple(Segment(part, "?" not in part) for part in normalized.split("*"))
    min_length = sum(len(segment.text) for segment in segments)
    return Wildcard(normalized, ignore_case, segments, "*" in normalized, min_length, len(pattern) + 1)


def matches(pattern: str, name: str, *, ignore_case: bool = True) -> bool:
    """True when `name` matches the IAM wildcard `pattern`."""
    return compile_wildcard(pattern, ignore_case).match(name)


def match_steps(pattern: str, name: str, *, ignore_case: bool = True) -> tuple[bool, int]:
    """(matches, steps to compile the pattern and match the name): the work measure the tests bound."""
    compiled = compile_wildcard(pattern, ignore_case)
    matched, steps = compiled.match_steps(name)
    return matched, compiled.compile_steps + steps
