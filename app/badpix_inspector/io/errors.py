"""The error every bad input ends in: which file, what is wrong, what to do."""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError"]


def _one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        # One line, always: library messages (astropy's verify reports) span several.
        self.problem = _one_line(problem, 300)
        self.remedy = _one_line(remedy, 200)
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{self.problem}; {self.remedy}")
