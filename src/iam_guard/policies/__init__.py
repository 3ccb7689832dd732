"""Named awacs statement builders. Each `*_statement(s)` function returns statements with a Sid, so every
policy the project writes is composed from pieces whose name says what they do."""

from iam_guard.policies.common import document

__all__ = ["document"]
