"""The file layer: exposures, associations, products and parameter files (astropy, asdf)."""

from .association import ProductMembers, collect_inputs, is_association, read_association
from .errors import InputError
from .exposures import ROLES, Exposure, open_fits, read_exposure
from .parfile import STEP_CLASS, read_parameter_file, write_parameter_file
from .products import (
    atomic_write,
    check_output_folder,
    check_outputs,
    output_stem,
    product_paths,
    write_product,
)

__all__ = [
    "ROLES",
    "STEP_CLASS",
    "Exposure",
    "InputError",
    "ProductMembers",
    "atomic_write",
    "check_output_folder",
    "check_outputs",
    "collect_inputs",
    "is_association",
    "open_fits",
    "output_stem",
    "product_paths",
    "read_association",
    "read_exposure",
    "read_parameter_file",
    "write_parameter_file",
    "write_product",
]
