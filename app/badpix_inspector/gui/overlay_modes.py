"""What the flag overlay shows: the flags, the comparison with A, or the suspect flags.

Each mode picks the label layers of a result (`core.pixelsets.LabelLayers`, pooled for the
view on the worker); one colour table (`image_panels.overlay_lut`) colours every mode, as
the modes' label values differ.
"""

from __future__ import annotations

from ..core.decide import DECIDE_LABELS
from ..core.pixelsets import LabelLayers
from ..session import SessionResult

__all__ = ["DECIDE_COLOURS", "OVERLAY_MODES", "labels_for"]

#: Overlay modes: key and what the Flags dock's combo and the View menu call it.
OVERLAY_MODES = (
    ("flags", "Flags"),
    ("compare", "Compare with A (gained / lost)"),
    ("suspect", "Suspect flags"),
)

#: Colours (RGB) and legend text of the decision modes' labels, by label value.
#: Each stands out on a grey image and from the others: grey "kept" flags vanished into a
#: grey image, and cyan "lost" ones looked like the selected pixel's cyan frame.
DECIDE_COLOURS = {
    DECIDE_LABELS["kept"]: ((255, 170, 0), "flagged in A and now"),
    DECIDE_LABELS["lost"]: ((255, 60, 60), "lost: flagged in A, not now"),
    DECIDE_LABELS["gained"]: ((60, 255, 60), "gained: flagged now, not in A"),
    DECIDE_LABELS["flagged"]: ((255, 170, 0), "flagged, not suspect"),
    DECIDE_LABELS["suspect"]: ((255, 0, 220), "suspect: raised across the slice"),
}


def labels_for(result: SessionResult, mode: str) -> LabelLayers | None:
    """Return the label layers ``result`` shows in overlay ``mode``.

    Without a comparison (no A pinned) the compare mode shows the flags.
    """
    decisions = result.decisions
    if mode == "compare" and decisions is not None and decisions.compare_layers is not None:
        return decisions.compare_layers
    if mode == "suspect" and decisions is not None:
        return decisions.suspect_layers
    return result.label_layers
