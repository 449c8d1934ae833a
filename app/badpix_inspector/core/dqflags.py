"""JWST data-quality bits: their names (as jwst's datamodels document them), a packed DQ."""

from __future__ import annotations

import numpy as np

__all__ = ["DQ_BIT_NAMES", "PackedDQ", "decode_dq"]

#: Bit number -> name, for the 32 DQ bits of JWST pixel data.
DQ_BIT_NAMES = (
    "DO_NOT_USE", "SATURATED", "JUMP_DET", "DROPOUT", "OUTLIER", "PERSISTENCE", "AD_FLOOR",
    "CHARGELOSS", "RESERVED", "NON_SCIENCE", "DEAD", "HOT", "WARM", "LOW_QE", "RC",
    "TELEGRAPH", "NONLINEAR", "BAD_REF_PIXEL", "NO_FLAT_FIELD", "NO_GAIN_VALUE", "NO_LIN_CORR",
    "NO_SAT_CHECK", "UNRELIABLE_BIAS", "UNRELIABLE_DARK", "UNRELIABLE_SLOPE", "UNRELIABLE_FLAT",
    "OPEN", "ADJ_OPEN", "FLUX_ESTIMATED", "MSA_FAILED_OPEN", "OTHER_BAD_PIXEL",
    "REFERENCE_PIXEL",
)  # fmt: skip


def decode_dq(value: int) -> list[str]:
    """Return the names of the bits set in a DQ value (``[]`` for 0, GOOD).

    Parameters
    ----------
    value : int
        A DQ value (uint32).

    Returns
    -------
    list of str
        Bit names, lowest bit first.
    """
    value = int(value)
    return [name for bit, name in enumerate(DQ_BIT_NAMES) if value >> bit & 1]


class PackedDQ:
    """A DQ image kept as small codes into the table of its distinct values.

    A detector's DQ holds a few dozen distinct values at most, so each pixel's code fits
    in one byte (two beyond 256 values): a quarter of the uint32 image (16 MiB on
    2048x2048), which the window keeps for the science exposure while it is open.
    Indexing gives the uint32 values, as the array would; ``numpy.asarray`` the whole
    uint32 image.

    Parameters
    ----------
    dq : array_like
        The DQ image (converted to uint32).
    """

    def __init__(self, dq) -> None:
        dq = np.asarray(dq, dtype=np.uint32)
        values = np.unique(dq)
        kind = np.uint8 if values.size <= 256 else np.uint16 if values.size <= 65536 else None
        self.shape = dq.shape
        self.dtype = np.dtype(np.uint32)
        if kind is None:  # more distinct values than two bytes tell apart: keep them
            self.values, self.codes = None, dq
        else:
            self.values, self.codes = values, np.searchsorted(values, dq).astype(kind)
        self.nbytes = self.codes.nbytes + (0 if self.values is None else self.values.nbytes)

    def __getitem__(self, index):
        codes = self.codes[index]
        return codes if self.values is None else self.values[codes]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        full = self[...]
        return full if dtype is None else full.astype(dtype)

    def any_set(self, bits: int) -> np.ndarray:
        """Return where any of ``bits`` is set (bool, the image's shape)."""
        if self.values is None:
            return (self.codes & np.uint32(bits)) != 0
        return ((self.values & np.uint32(bits)) != 0)[self.codes]
