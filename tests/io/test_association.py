import json

import pytest

from badpix_inspector.io import InputError, collect_inputs, is_association, read_association


def write_asn(folder, members, products=None):
    path = folder / "test_asn.json"
    document = {"asn_type": "spec2", "products": products or [{"name": "p", "members": members}]}
    path.write_text(json.dumps(document))
    return path


def touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"x")


def test_roles_are_counted_right(tmp_path):
    touch(tmp_path, "s.fits", "b1.fits", "b2.fits", "c1.fits", "c2.fits", "c3.fits")
    asn = write_asn(tmp_path, [
        {"expname": "s.fits", "exptype": "science"},
        {"expname": "b1.fits", "exptype": "background"},
        {"expname": "c1.fits", "exptype": "selfcal"},
        {"expname": "b2.fits", "exptype": "BACKGROUND"},
        {"expname": "c2.fits", "exptype": "selfcal"},
        {"expname": "imprint.fits", "exptype": "imprint"},  # ignored, need not exist
    ])  # fmt: skip
    (product,) = read_association(asn)
    assert product.science == tmp_path / "s.fits"
    assert [p.name for p in product.backgrounds] == ["b1.fits", "b2.fits"]
    assert [p.name for p in product.selfcals] == ["c1.fits", "c2.fits"]
    assert product.ignored == [(tmp_path / "imprint.fits", "imprint")]
    # Hand-given lists come first and add to the association's, as in jwst.
    (product,) = collect_inputs(asn, [tmp_path / "c3.fits"], [tmp_path / "c3.fits"])
    assert [p.name for p in product.backgrounds] == ["c3.fits", "b1.fits", "b2.fits"]
    assert [p.name for p in product.selfcals] == ["c3.fits", "c1.fits", "c2.fits"]
    assert len(product.all_paths) == 7


def test_several_products_are_kept_in_order(tmp_path):
    touch(tmp_path, "a.fits", "b.fits")
    asn = write_asn(tmp_path, None, products=[
        {"members": [{"expname": "a.fits", "exptype": "science"}]},
        {"members": [{"expname": "b.fits", "exptype": "science"},
                     {"expname": "a.fits", "exptype": "selfcal"}]},
    ])  # fmt: skip
    products = read_association(asn)
    assert [p.science.name for p in products] == ["a.fits", "b.fits"]


def test_single_exposure_input(tmp_path):
    touch(tmp_path, "s_rate.fits")
    (product,) = collect_inputs(tmp_path / "s_rate.fits")
    assert product.science.name == "s_rate.fits" and not product.backgrounds
    assert not is_association(tmp_path / "s_rate.fits")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([], "has no science member"),
        ([{"expname": "s.fits", "exptype": "science"}] * 2, "has 2 science members"),
        ([{"expname": "s.fits", "exptype": "science"},
          {"expname": "gone.fits", "exptype": "background"}], "member gone.fits .* does not exist"),
        ([{"expname": "s.fits"}], "without expname or exptype"),
    ],
)
def test_bad_associations(tmp_path, members, message):
    touch(tmp_path, "s.fits")
    with pytest.raises(InputError, match=message):
        read_association(write_asn(tmp_path, members))


def test_not_json_and_no_products(tmp_path):
    bad = tmp_path / "bad_asn.json"
    bad.write_text("{ not json")
    with pytest.raises(InputError, match="not a JSON association"):
        read_association(bad)
    empty = tmp_path / "empty_asn.json"
    empty.write_text('{"products": []}')
    with pytest.raises(InputError, match="no products"):
        read_association(empty)
    with pytest.raises(InputError, match="no such file"):
        collect_inputs(tmp_path / "s.fits", backgrounds=[tmp_path / "nope.fits"])
