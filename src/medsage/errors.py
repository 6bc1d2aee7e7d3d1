"""Errors that the CLI turns into one clear line on stderr and a non-zero exit."""

from __future__ import annotations


class MedsageError(Exception):
    """Base class for user-facing errors (bad input, bad spec, missing extra)."""


class SpecError(MedsageError):
    """A malformed or unknown model/task/pipeline spec."""


class DataError(MedsageError):
    """An unreadable, empty, truncated or malformed data file."""


class MissingExtraError(MedsageError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, purpose: str = "") -> None:
        what = f" for {purpose}" if purpose else ""
        super().__init__(
            f"{package} is required{what}: install it with  pip install 'medsage[{extra}]'"
            f"  (or  pip install {package})"
        )


class ModelError(MedsageError):
    """A model call failed in a way that retrying will not fix (auth, not found, bad URL)."""
