"""Simulated associations as jwst datamodels in memory, as a notebook holds them."""

import numpy as np

from badpix_inspector.io import read_exposure


def simulated_models(made):
    """Return the simulated NIRSpec association ``made`` as IFUImageModels with exptypes."""
    from jwst import datamodels

    roles = (["science"] + ["background"] * len(made.backgrounds)
             + ["selfcal"] * len(made.selfcals))
    models = []
    for path, role in zip(made.exposures, roles, strict=True):
        exposure = read_exposure(path, with_dq=True)
        model = datamodels.IFUImageModel(data=exposure.sci, dq=exposure.dq,
                                         err=np.ones_like(exposure.sci))
        model.meta.filename = path.name
        model.meta.instrument.name = "NIRSPEC"
        model.meta.instrument.detector = "NRS1"
        model.meta.exposure.type = "NRS_IFU"
        model.meta.wcsinfo.dispersion_direction = 1
        model.meta.asn.exptype = role
        models.append(model)
    return models
