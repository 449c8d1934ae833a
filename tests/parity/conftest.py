"""Parity tests need the real pipeline: in CI they fail, rather than skip, without it."""

import os

import pytest


@pytest.fixture(scope="session")
def jwst():
    """Return the jwst package (3.0.0), or fail in CI / skip elsewhere when it is missing."""
    os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")
    try:
        import jwst
    except ImportError:
        message = "jwst 3.0.0 is not installed: pip install -e '.[test,parity]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if jwst.__version__ != "3.0.0":
        pytest.fail(f"parity is defined against jwst 3.0.0, but {jwst.__version__} is installed")
    return jwst
