"""The registry's service layer: the one way every caller (CLI, web, import) changes the registry.

``RegistryService(engine, actor)`` acts for one actor: a user (admin, editor or viewer), the
public (``None``) or :data:`SYSTEM` (imports and set-up, with admin rights). Plain data goes in
and out (dicts or the dataclasses below); ORM objects never cross the boundary.

Every change runs in one transaction that also writes its :class:`AuditEntry` (who, when,
entity, id, action, the record before and after as JSON), so a refused or failed change leaves
neither a change nor an audit entry. Changes to an intervention name the ``expected_version``
the caller saw; if the stored record has moved on (or a concurrent writer gets there first,
caught by the ``version`` column at flush), :class:`StaleVersion` is raised and nothing changes.

Access (docs/registry.md): admins do everything; editors create and change only interventions
in which their organisation is accountable or implementing (and cannot drop that role); viewers
read everything; the public reads published interventions only (others are not found).
"""

from bryta.errors import AccessDenied, NotFound, StaleVersion
from bryta.registry.service._data import (
    SYSTEM,
    Actor,
    AreaLinkData,
    InterventionIn,
    InterventionOut,
    OrganisationIn,
    OrganisationOut,
    ParticipationData,
    UserIn,
    UserOut,
)
from bryta.registry.service._more import FundingIn, FundingOut, SuccessionIn, SuccessionOut
from bryta.registry.service._service import RegistryService

__all__ = [
    "SYSTEM",
    "AccessDenied",
    "Actor",
    "AreaLinkData",
    "FundingIn",
    "FundingOut",
    "InterventionIn",
    "InterventionOut",
    "NotFound",
    "OrganisationIn",
    "OrganisationOut",
    "ParticipationData",
    "RegistryService",
    "StaleVersion",
    "SuccessionIn",
    "SuccessionOut",
    "UserIn",
    "UserOut",
]
