"""The one base class of every failure proofpile reports to its user.

A `ProofpileError` is bad input, a bad option or an unusable output place, not a bug: its `str()` is one line
naming the file, record or option and what is wrong with it. The CLI catches this class once and prints that
line as `error: ...` (exit code 2) instead of a traceback; a library caller can catch it the same way. Each
subclass keeps the built-in base it had (ValueError, OSError, RuntimeError), so existing `except` clauses
still catch it.
"""


class ProofpileError(Exception):
    """A user-facing failure: its str() is one line naming the file/record and what is wrong."""
