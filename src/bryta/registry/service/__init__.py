"""The registry's service layer: the one way every caller (CLI, web, import) reads and changes
the registry.

``RegistryService(engine, actor)`` acts for one actor: a user (admin, editor or viewer), the
public (``None``) or :data:`SYSTEM` (imports and set-up, with admin rights). Plain data goes in
and out — :class:`~bryta.registry.records.InterventionRecord` and its family, or mappings of
the same fields — checked by :mod:`bryta.registry.validation`; ORM objects never cross the
boundary.

Every change runs in one transaction that also writes its :class:`AuditEntry` (who, when,
entity, id, action, the record before and after as JSON), so a refused or failed change leaves
neither a change nor an audit entry. Changes to an intervention name the ``expected_version``
the caller saw; if the stored record has moved on (or a concurrent writer gets there first,
caught by the ``version`` column at flush), :class:`StaleVersion` is raised and nothing changes.

Access (docs/registry.md): admins do everything; editors create and change only interventions
in which their organisation is accountable or implementing (and cannot drop that role); viewers
read everything; the public reads published interventions only (others are not found) and no
audit trail.

The modules: ``_data`` (actors, organisations, users, links, audit entries), ``_base`` (access,
transactions, audit, rows ↔ records), ``_more`` (people, fundings, successions, the audit
trail), ``_service`` (interventions); each imports only those before it.
"""

from bryta.errors import AccessDenied, NotFound, StaleVersion
from bryta.registry.evaluations import EvaluationRecord, EvidenceLevel
from bryta.registry.records import (
    AreaLinkRecord,
    FundingRecord,
    IndicatorLinkRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
from bryta.registry.service._base import record_out
from bryta.registry.service._data import (
    SYSTEM,
    Actor,
    AuditRecord,
    OrganisationIn,
    OrganisationOut,
    SuccessionIn,
    SuccessionOut,
    UserIn,
    UserOut,
)
from bryta.registry.service._service import Outcome, RegistryService

__all__ = [
    "SYSTEM",
    "AccessDenied",
    "Actor",
    "AreaLinkRecord",
    "AuditRecord",
    "EvaluationRecord",
    "EvidenceLevel",
    "FundingRecord",
    "IndicatorLinkRecord",
    "InterventionRecord",
    "NotFound",
    "OrganisationIn",
    "OrganisationOut",
    "Outcome",
    "ParticipationRecord",
    "RegistryService",
    "StaleVersion",
    "SuccessionIn",
    "SuccessionOut",
    "SuccessionRecord",
    "UserIn",
    "UserOut",
    "record_out",
]
