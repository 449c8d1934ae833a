"""Qt-free models beside `Session`: markers, unsaved edits and autosave, exports, strun.

The window (``gui/``) observes and drives these; they import no Qt, so their tests run
without a display (``tests/model``). `Session` itself stays in ``badpix_inspector.session``.
"""

from .autosave import Autosave, DatasetLock, UnsavedEdits, dataset_key
from .exports import (
    edit_lists,
    export_edits,
    export_mask,
    export_parameters,
    export_regions,
    save_products,
    strun_command,
)
from .markers import MARKER_FIELDS, MarkersModel, describe_pixel, marker_record, pixel_label
from .reference import Reference, ReferenceModel, describe_parameters

__all__ = [
    "MARKER_FIELDS",
    "Autosave",
    "DatasetLock",
    "MarkersModel",
    "Reference",
    "ReferenceModel",
    "UnsavedEdits",
    "dataset_key",
    "describe_parameters",
    "describe_pixel",
    "edit_lists",
    "export_edits",
    "export_mask",
    "export_parameters",
    "export_regions",
    "marker_record",
    "pixel_label",
    "save_products",
    "strun_command",
]
