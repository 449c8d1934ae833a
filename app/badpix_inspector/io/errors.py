"""The error every bad input ends in: which file, what is wrong, what to do."""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError"]


class InputError(Exception):
    """A file or folder that cannot be used, with a one-line message for the user.

    Parameters
    ----------
    path : str or pathlib.Path or None
        The file or folder at fault (None when the problem is not one file's).
    problem : str
        What is wrong with it.
    remedy : str
        What to do about it.
    """

    def __init__(self, path: str | Path | None, problem: str, remedy: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        self.remedy = remedy
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}; {remedy}")
