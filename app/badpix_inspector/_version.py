"""The package version (read by pyproject.toml, so it is written in one place)."""

__version__ = "0.1.0"
