"""The error types bryta raises for bad input.

Every message names what is wrong and where: the file (when there is one), the column, and
the first offending rows, so a user can fix the input without reading the code.
"""

from __future__ import annotations


class BrytaError(Exception):
    """Base class of every error bryta raises on purpose."""


class CountsError(BrytaError, ValueError):
    """A counts table does not have the shape or content the measurement engine needs."""


class ImportFormatError(BrytaError, ValueError):
    """A file being imported is not in the expected format (names file, row and column)."""
