"""jwst datamodels in memory → exposures, and the pipeline's parameter dict, against jwst."""

import subprocess
import sys

import numpy as np
import pytest

from badpix_inspector.core import OTHER_BAD_PIXEL, SelfcalParameters, SelfcalStages
from badpix_inspector.io import (
    InputError,
    exposures_from_datamodels,
    is_datamodel_input,
    pipeline_parameters,
    read_exposure,
)
from jwst_models import simulated_models


def test_pipeline_parameters_is_what_the_pipeline_takes():
    parameters = SelfcalParameters(flagfrac_lower=0.002, flagfrac_upper=0.01, kernel_size=9)
    assert pipeline_parameters(parameters) == {
        "flagfrac_lower": 0.002, "flagfrac_upper": 0.01, "kernel_size": 9,
        "force_single": False, "save_flagged_bkg": False, "skip": False}
    assert pipeline_parameters({"kernel_size": 5})["kernel_size"] == 5
    with pytest.raises(ValueError, match="kernel_size"):
        pipeline_parameters({"kernel_size": 4})


def test_paths_and_arrays_are_not_datamodels():
    assert not is_datamodel_input(["a.fits"])
    assert not is_datamodel_input(np.zeros((2, 2)))
    assert not is_datamodel_input([])
    with pytest.raises(TypeError):
        exposures_from_datamodels(["a.fits"])


def test_paths_never_import_jwst():
    code = ("import sys, badpix_inspector.io as io; "
            "assert not io.is_datamodel_input(['x.fits']); "
            "io.pipeline_parameters({}); "
            "assert 'jwst' not in sys.modules and 'stdatamodels' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


jwst = pytest.importorskip("jwst")
from jwst import datamodels  # noqa: E402
from jwst.badpix_selfcal import BadpixSelfcalStep  # noqa: E402


def test_models_become_exposures_without_files(small_nirspec):
    models = simulated_models(small_nirspec)
    assert is_datamodel_input(models) and is_datamodel_input(datamodels.ModelContainer(models))
    for given in (models, datamodels.ModelContainer(models)):
        exposures = exposures_from_datamodels(given)
        assert [e.role for e in exposures] == ["science", "background", "selfcal", "selfcal"]
        assert [e.name for e in exposures] == [p.name for p in small_nirspec.exposures]
        science = exposures[0]
        assert (science.detector, science.instrument, science.exp_type, science.dispaxis) == (
            "NRS1", "NIRSPEC", "NRS_IFU", 1)
        np.testing.assert_array_equal(science.sci, read_exposure(small_nirspec.science).sci)
        assert science.sci.dtype == np.float32 and science.dq.dtype == np.uint32
        # The caller's models are not shared: the window may not change them.
        assert not np.shares_memory(science.sci, models[0].data)
    # One model alone is the science exposure.
    models[0].meta.asn.exptype = None
    assert exposures_from_datamodels(models[0])[0].role == "science"
    with pytest.raises(InputError, match=r"no meta\.asn\.exptype"):
        exposures_from_datamodels(models)
    models[0].meta.asn.exptype = "selfcal"
    with pytest.raises(InputError, match="0 science exposures"):
        exposures_from_datamodels(models)


def test_the_parameter_dict_runs_through_jwsts_step_with_the_same_flags(small_nirspec):
    parameters = SelfcalParameters(flagfrac_lower=0.004, flagfrac_upper=0.02, kernel_size=7)
    # Our flags, from the models in memory.
    exposures = exposures_from_datamodels(simulated_models(small_nirspec))
    stages = SelfcalStages([e.sci for e in exposures], exposures[0].detector)
    ours = stages.flags(parameters, exposures[0].dispaxis)
    assert 100 < ours.sum() < 0.05 * ours.size
    # jwst's step, on the same data, with the dict as it is.
    pars = pipeline_parameters(parameters)
    container = datamodels.ModelContainer(simulated_models(small_nirspec))
    science, backgrounds = BadpixSelfcalStep.call(container, **pars)
    assert science.meta.cal_step.badpix_selfcal == "COMPLETE"
    theirs = (science.dq & OTHER_BAD_PIXEL) != 0
    np.testing.assert_array_equal(theirs, ours)
    assert len(backgrounds) == 1
    np.testing.assert_array_equal((backgrounds[0].dq & OTHER_BAD_PIXEL) != 0, ours)
