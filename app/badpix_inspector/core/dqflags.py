"""Names of the JWST data-quality bits (as documented for jwst's datamodels)."""

from __future__ import annotations

__all__ = ["DQ_BIT_NAMES", "decode_dq"]

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
