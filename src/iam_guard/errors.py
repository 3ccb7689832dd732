"""Errors that reach the user as one line and exit code 2."""


class UsageError(Exception):
    """Bad input from the user (a flag, a file, a value): printed as one line, exit code 2."""
