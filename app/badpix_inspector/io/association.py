"""calwebb_spec2 associations and hand-given exposure lists: who plays which role."""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .guard import check_input_file

__all__ = [
    "ProductMembers", "collect_inputs", "is_association", "read_association", "read_json",
]

#: Association exptypes the step uses; any other member is ignored.
_USED_EXPTYPES = ("science", "background", "selfcal")


@dataclass
class ProductMembers:
    """The exposures of one product, by role, in the order the pipeline uses them.

    Attributes
    ----------
    science : pathlib.Path
        The one science exposure.
    backgrounds : list of pathlib.Path
        Flagged too, and written with ``save_flagged_bkg``.
    selfcals : list of pathlib.Path
        Used for the minimum image only.
    ignored : list of tuple of (pathlib.Path, str)
        Association members of other exptypes, with their exptype.
    name : str or None
        The association product's name, if any.
    """

    science: Path
    backgrounds: list[Path] = field(default_factory=list)
    selfcals: list[Path] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    name: str | None = None

    @property
    def all_paths(self) -> list[Path]:
        """Science, then backgrounds, then selfcals."""
        return [self.science, *self.backgrounds, *self.selfcals]


def is_association(path: str | Path) -> bool:
    """Return True when the file looks like a JSON association rather than FITS."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return True
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False  # never opened: a FIFO or a device would hang the reader
    except OSError:
        return False
    try:
        with open(path, "rb") as stream:
            head = stream.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


def read_json(path: str | Path, kind: str) -> object:
    """Read a JSON file, as an `InputError` naming ``kind`` when it is missing or not JSON."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"no such {kind} file", "check the path")
    check_input_file(path, kind)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except PermissionError:
        raise InputError(path, "permission denied: the file cannot be read",
                         "fix its permissions (chmod u+r) or run as its owner") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(path, f"not a JSON {kind} ({error})",
                         f"give a valid {kind} file") from None
    except RecursionError:
        raise InputError(path, f"the {kind} is nested too deeply to be read",
                         "give a file as the pipeline writes it") from None


def read_association(path: str | Path) -> list[ProductMembers]:
    """Read a calwebb_spec2 association.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSON file: ``products[].members[]`` with ``expname`` and ``exptype``. Member
        paths are relative to the association's folder.

    Returns
    -------
    list of ProductMembers
        One per product, in file order.

    Raises
    ------
    InputError
        When the file is missing or not JSON, has no products, a product without exactly
        one science member, or a member file that does not exist.
    """
    path = Path(path)
    document = read_json(path, "association")
    products = document.get("products") if isinstance(document, dict) else None
    if not isinstance(products, list) or not products:
        raise InputError(path, "the association has no products", "give a spec2 association")
    folder = path.parent
    return [_read_product(path, folder, number, product) for number, product in enumerate(products)]


def _read_product(path: Path, folder: Path, number: int, product: object) -> ProductMembers:
    where = f"product {number + 1}"
    members = product.get("members") if isinstance(product, dict) else None
    if not isinstance(members, list):
        raise InputError(path, f"{where} has no members list", "fix the association")
    by_role: dict[str, list[Path]] = {role: [] for role in _USED_EXPTYPES}
    ignored: list[tuple[Path, str]] = []
    for member in members:
        if not isinstance(member, dict) or "expname" not in member or "exptype" not in member:
            raise InputError(
                path, f"{where} has a member without expname or exptype", "fix the association"
            )
        exptype = str(member["exptype"]).strip().lower()
        member_path = folder / str(member["expname"])
        if exptype not in by_role:
            ignored.append((member_path, exptype))
            continue
        if not member_path.exists():
            raise InputError(
                path,
                f"member {member['expname']} ({exptype}) of {where} does not exist in {folder}",
                "put the file beside the association or fix its expname",
            )
        by_role[exptype].append(member_path)
    sciences = by_role["science"]
    if len(sciences) != 1:
        count = "no science member" if not sciences else f"{len(sciences)} science members"
        raise InputError(
            path, f"{where} has {count}", "a spec2 product needs exactly one science exposure"
        )
    name = product.get("name") if isinstance(product, dict) else None
    return ProductMembers(
        science=sciences[0],
        backgrounds=by_role["background"],
        selfcals=by_role["selfcal"],
        ignored=ignored,
        name=str(name) if name else None,
    )


def collect_inputs(
    input_path: str | Path,
    backgrounds: Sequence[str | Path] = (),
    selfcals: Sequence[str | Path] = (),
) -> list[ProductMembers]:
    """Gather the products to process, as jwst's step does.

    Parameters
    ----------
    input_path : str or pathlib.Path
        One science exposure (FITS) or a spec2 association (JSON).
    backgrounds, selfcals : sequence of path
        Exposures given by hand (jwst's ``bkg_list`` and ``selfcal_list``); like jwst,
        they come before any of the association's and apply to every product.

    Returns
    -------
    list of ProductMembers
        One per product.
    """
    extra_backgrounds = [Path(item) for item in backgrounds]
    extra_selfcals = [Path(item) for item in selfcals]
    for extra in (*extra_backgrounds, *extra_selfcals):
        if not extra.exists():
            raise InputError(extra, "no such file", "check the --bkg and --selfcal paths")
        check_input_file(extra, "FITS")
    input_path = Path(input_path)
    check_input_file(input_path)
    if is_association(input_path):
        products = read_association(input_path)
    else:
        products = [ProductMembers(science=input_path)]
    for product in products:
        product.backgrounds = [*extra_backgrounds, *product.backgrounds]
        product.selfcals = [*extra_selfcals, *product.selfcals]
    return products
