"""Hand edits of the flags: forced-bad and forced-good pixels, with undo and redo.

The final flags are ``(algorithm | forced_bad) & ~forced_good``: an edit overrules the
algorithm whatever the parameters, so edits survive every parameter change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pixelsets import PixelSet

__all__ = ["FORCED_BAD", "FORCED_GOOD", "ManualEdits", "final_flags"]

FORCED_BAD, FORCED_GOOD, UNEDITED = np.int8(1), np.int8(-1), np.int8(0)


def final_flags(
    algorithm: np.ndarray, forced_bad: np.ndarray | None, forced_good: np.ndarray | None
) -> np.ndarray:
    """Return ``(algorithm | forced_bad) & ~forced_good`` (missing masks count as empty)."""
    final = algorithm.copy()
    if forced_bad is not None:
        final |= forced_bad
    if forced_good is not None:
        final &= ~forced_good
    return final


@dataclass
class _Step:
    """One undoable edit: pixels (flat indices), their values before and after."""

    indices: np.ndarray
    before: np.ndarray
    after: np.ndarray
    gesture: object


class ManualEdits:
    """Forced-bad and forced-good pixels of one detector, with an undo/redo history.

    Parameters
    ----------
    shape : tuple of int
        The detector's shape (rows, columns).
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = tuple(shape)
        self.state = np.zeros(self.shape, dtype=np.int8)
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        #: Counts every change (edit, undo, redo); compare with a saved value for "unsaved".
        self.revision = 0
        self._pixel_sets: tuple[int, PixelSet, PixelSet] | None = None

    @property
    def forced_bad(self) -> np.ndarray:
        """Mask of the pixels forced bad."""
        return self.state == FORCED_BAD

    @property
    def forced_good(self) -> np.ndarray:
        """Mask of the pixels forced good."""
        return self.state == FORCED_GOOD

    def pixel_sets(self) -> tuple[PixelSet, PixelSet]:
        """Return the pixels forced bad and forced good, as pixel sets.

        Made once per change (one pass over the detector), then shared by every request
        until the next edit: a parameter change does not copy the edits.
        """
        found = self._pixel_sets
        if found is None or found[0] != self.revision:
            edited = np.flatnonzero(self.state)
            values = self.state.reshape(-1)[edited]
            found = (self.revision,
                     PixelSet(self.shape, edited[values == FORCED_BAD]),
                     PixelSet(self.shape, edited[values == FORCED_GOOD]))
            self._pixel_sets = found
        return found[1], found[2]

    @property
    def n_forced_bad(self) -> int:
        """How many pixels are forced bad."""
        return int(np.count_nonzero(self.state == FORCED_BAD))

    @property
    def n_forced_good(self) -> int:
        """How many pixels are forced good."""
        return int(np.count_nonzero(self.state == FORCED_GOOD))

    @property
    def can_undo(self) -> bool:
        """True when there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """True when there is an undone edit to redo."""
        return bool(self._redo)

    def apply(self, rows, columns, value: int, gesture: object = None) -> int:
        """Set pixels to forced bad (1), forced good (-1) or unedited (0).

        Parameters
        ----------
        rows, columns : array_like of int
            The pixels; those outside the detector are ignored.
        value : {1, -1, 0}
            The new state.
        gesture : object, optional
            Edits with the same gesture as the previous one join its undo step (a brush
            stroke is undone as a whole).

        Returns
        -------
        int
            How many pixels changed.
        """
        if value not in (1, -1, 0):
            raise ValueError(f"an edit is 1 (bad), -1 (good) or 0 (clear), not {value!r}")
        rows = np.asarray(rows, dtype=np.int64).ravel()
        columns = np.asarray(columns, dtype=np.int64).ravel()
        inside = (rows >= 0) & (rows < self.shape[0]) & (columns >= 0) & (columns < self.shape[1])
        indices = np.unique(np.ravel_multi_index((rows[inside], columns[inside]), self.shape))
        flat = self.state.reshape(-1)
        indices = indices[flat[indices] != value]
        if indices.size == 0:
            return 0
        before = flat[indices].copy()
        flat[indices] = value
        last = self._undo[-1] if self._undo else None
        after = np.full(indices.size, value, dtype=np.int8)
        # One gesture is one step, whatever values it sets (a region file read as edits
        # forces some pixels bad and others good, and is undone as a whole).
        if gesture is not None and last is not None and last.gesture == gesture:
            last.indices = np.concatenate([last.indices, indices])
            last.before = np.concatenate([last.before, before])
            last.after = np.concatenate([last.after, after])
        else:
            self._undo.append(_Step(indices, before, after, gesture))
        self._redo.clear()
        self.revision += 1
        return int(indices.size)

    def undo(self) -> bool:
        """Undo the last edit; return False when there is none."""
        if not self._undo:
            return False
        step = self._undo.pop()
        # Backwards: a pixel edited twice in one step gets the value it had before the
        # first edit (with repeated indices, numpy keeps the last assignment).
        self.state.reshape(-1)[step.indices[::-1]] = step.before[::-1]
        self._redo.append(step)
        self.revision += 1
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; return False when there is none."""
        if not self._redo:
            return False
        step = self._redo.pop()
        self.state.reshape(-1)[step.indices] = step.after
        self._undo.append(step)
        self.revision += 1
        return True

    def forget_history(self) -> None:
        """Drop the undo and redo history (after loading edits from a file)."""
        self._undo.clear()
        self._redo.clear()

    def clear(self) -> None:
        """Forget every edit (this can be undone)."""
        edited = np.nonzero(self.state)
        self.apply(edited[0], edited[1], 0)

    def to_dict(self) -> dict:
        """Return the edits as plain lists of ``[row, column]`` (zero-based)."""
        return {
            "shape": list(self.shape),
            "forced_bad": np.argwhere(self.state == FORCED_BAD).tolist(),
            "forced_good": np.argwhere(self.state == FORCED_GOOD).tolist(),
        }

    def load(self, forced_bad, forced_good) -> None:
        """Replace the edits with these pixel lists (one undoable step)."""
        self.clear()
        for pixels, value in ((forced_bad, 1), (forced_good, -1)):
            pixels = np.asarray(pixels, dtype=np.int64).reshape(-1, 2)
            self.apply(pixels[:, 0], pixels[:, 1], value, gesture="load")
