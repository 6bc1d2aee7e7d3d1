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

    def __init__(self, package: str, extra: str, purpose: str = "", command: str = "") -> None:
        """Build the one-line message.

        Args:
            package: The missing distribution, as pip spells it.
            extra: The medsage extra that installs it (a key of
                ``[project.optional-dependencies]``), or ``""`` when none does.
            purpose: What the package is needed for.
            command: The install command, when ``pip install <package>`` is wrong
                (a package that must be installed with ``--no-deps``).
        """
        what = f" for {purpose}" if purpose else ""
        direct = command or f"pip install {package}"
        how = f"pip install 'medsage[{extra}]'  (or  {direct})" if extra else direct
        super().__init__(f"{package} is required{what}: install it with  {how}")
        self.package, self.extra = package, extra


class ModelError(MedsageError):
    """A model call failed in a way that retrying will not fix (auth, not found, bad URL)."""
