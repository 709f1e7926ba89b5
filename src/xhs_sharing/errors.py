"""Exception types of the package.

Every error the package raises on purpose derives from :class:`XhsError`, so
callers (the Snakemake scripts, the tests) can tell a diagnosed problem with
the user's input from a bug.
"""

from __future__ import annotations


class XhsError(Exception):
    """Base class of every error the package raises on purpose."""


class SpecError(XhsError):
    """The study specification or the run configuration is invalid."""


class DataError(XhsError):
    """A survey file does not match its codebook."""


class EstimationError(XhsError):
    """A model could not be estimated, or its solution is improper."""
