"""The errors bryta raises on purpose, grouped by how a caller reacts to them.

================  =========================================  ==============  ==========
class             what happened                              command line    web / API
================  =========================================  ==============  ==========
``InputError``    the caller's input is wrong: a file, a     one line, exit  422
                  column, an option, a parameter                 2
``NotFound``      a named thing does not exist (dataset,     one line, exit  404
                  intervention, area)                            2
``AccessDenied``  the actor may not do this                  one line, exit  403
                                                                 2
``Conflict``      the thing changed or exists already        one line, exit  409
                  (``StaleVersion``: edited since read)          2
``SourceError``   an outside source (SCB, Kolada, a          one line, exit  502
                  database server) is unavailable or             3
                  answered wrongly
================  =========================================  ==============  ==========

Every message names what is wrong and where: the file (when there is one), the column, and
the first offending rows, so a user can fix the input without reading the code. Anything
else that escapes is a bug and is shown as one (a traceback), never dressed up as a user
error.

The input errors subclass :class:`ValueError` and :class:`NotFound` subclasses
:class:`LookupError`, so code that catches the built-in kinds keeps working.
"""

from __future__ import annotations


class BrytaError(Exception):
    """Base class of every error bryta raises on purpose."""


class InputError(BrytaError, ValueError):
    """The caller's input is wrong: a table, a file, an option or a parameter."""


class CountsError(InputError):
    """A counts table does not have the shape or content the measurement engine needs."""


class ImportFormatError(InputError):
    """A file being imported is not in the expected format (names file, row and column)."""


class NotFound(BrytaError, LookupError):
    """A named thing (dataset, intervention, area, indicator) does not exist."""


class AccessDenied(BrytaError, PermissionError):
    """The actor may not do this."""


class Conflict(BrytaError):
    """The thing exists already, or changed since it was read."""


class StaleVersion(Conflict):
    """The record was changed by someone else since it was read (optimistic concurrency)."""


class SourceError(BrytaError):
    """An outside source (SCB's API, Kolada, a database server) is unavailable or answered
    with something that cannot be used."""


#: HTTP status per kind of error, for a web layer.
HTTP_STATUS: dict[type[BrytaError], int] = {
    InputError: 422,
    NotFound: 404,
    AccessDenied: 403,
    Conflict: 409,
    SourceError: 502,
}


def http_status(error: BrytaError) -> int:
    """The HTTP status a web layer answers ``error`` with (500 for an unclassified one).

    >>> http_status(StaleVersion("edited since read"))
    409
    """
    for kind in type(error).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return 500
