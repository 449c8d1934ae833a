"""The file layer: exposures, associations, products and parameter files (astropy, asdf)."""

from .association import ProductMembers, collect_inputs, is_association, read_association
from .datamodels import exposures_from_datamodels, is_datamodel_input, pipeline_parameters
from .errors import InputError
from .escape import csv_cell
from .exposures import ROLES, Exposure, open_fits, read_dq, read_dq_pixel, read_exposure
from .guard import (
    OutputGuard,
    OutputSet,
    check_input_file,
    describe_os_error,
    remove_stale_temporaries,
)
from .parfile import STEP_CLASS, read_parameter_file, write_parameter_file
from .products import (
    atomic_write,
    check_output_folder,
    check_outputs,
    make_output_folder,
    output_stem,
    product_paths,
    write_file,
    write_product,
)
from .qa_files import (
    EditLists,
    read_edits,
    read_session,
    write_edits,
    write_flag_mask,
    write_session,
)
from .regions import (
    REGION_KINDS,
    flag_regions,
    read_region_edits,
    read_region_markers,
    read_regions,
    write_flag_regions,
)
from .samp import SampError, SampSender, send_image, send_table

__all__ = [
    "REGION_KINDS",
    "ROLES",
    "STEP_CLASS",
    "EditLists",
    "Exposure",
    "InputError",
    "OutputGuard",
    "OutputSet",
    "ProductMembers",
    "SampError",
    "SampSender",
    "atomic_write",
    "check_input_file",
    "check_output_folder",
    "check_outputs",
    "collect_inputs",
    "csv_cell",
    "describe_os_error",
    "exposures_from_datamodels",
    "flag_regions",
    "is_association",
    "is_datamodel_input",
    "make_output_folder",
    "open_fits",
    "output_stem",
    "pipeline_parameters",
    "product_paths",
    "read_association",
    "read_dq",
    "read_dq_pixel",
    "read_edits",
    "read_exposure",
    "read_parameter_file",
    "read_region_edits",
    "read_region_markers",
    "read_regions",
    "read_session",
    "remove_stale_temporaries",
    "send_image",
    "send_table",
    "write_edits",
    "write_file",
    "write_flag_mask",
    "write_flag_regions",
    "write_parameter_file",
    "write_product",
    "write_session",
]
