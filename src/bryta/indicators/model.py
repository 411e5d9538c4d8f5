"""The objects of the indicator catalogue: entries, their parts, and the errors.

See :mod:`bryta.indicators.catalogue` for the catalogue itself and ``docs/indicators.md`` for the
file format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bryta.errors import InputError

DOMAINS = (
    "work",
    "housing",
    "education",
    "democracy",
    "health",
    "safety",
    "income",
    "population",
)
UNITS = ("percent", "ratio", "count", "SEK", "index", "class")
#: Units a numerator/denominator indicator may have: ``percent`` is 100·n/d, ``ratio`` n/d.
RATIO_UNITS = ("percent", "ratio")
PROVIDERS = ("scb", "kolada")
BREAKDOWNS = ("sex", "birth_region", "background", "age")
STATUSES = ("verified", "partly verified", "unverified")


class CatalogueError(InputError):
    """An indicator entry that does not follow the catalogue format (names entry and field)."""


class IndicatorError(InputError):
    """An indicator that cannot be loaded as asked, or does not fit its table."""


Selection = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Definition:
    """How the value is computed: sums of cells picked by selections (variable → codes).

    A ``ratio`` indicator has a ``numerator`` and a ``denominator``; a ``value`` indicator
    has ``value`` (a published figure, or a count summed over the selected codes).
    """

    text: str
    age_band: str
    numerator: Selection | None = None
    denominator: Selection | None = None
    value: Selection | None = None

    @property
    def selections(self) -> dict[str, Selection]:
        """The selections the definition uses, by role (numerator, denominator or value)."""
        named = {"numerator": self.numerator, "denominator": self.denominator}
        named["value"] = self.value
        return {role: sel for role, sel in named.items() if sel is not None}


@dataclass(frozen=True)
class Source:
    """The table an indicator comes from and the roles of its variables."""

    provider: str
    table: str
    contents: tuple[str, ...]
    region_variable: str
    time_variable: str
    contents_variable: str = "ContentsCode"
    years: str = ""


@dataclass(frozen=True)
class Breakdown:
    """A breakdown the table offers: the variable and the codes of its groups."""

    name: str
    variable: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Verification:
    """What was checked about an entry, where, and what was not."""

    status: str
    checked: str
    not_checked: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Indicator:
    """One catalogue entry."""

    id: str
    name_sv: str
    name_en: str
    domain: str
    unit: str
    levels: tuple[str, ...]
    definition: Definition
    source: Source
    verified: Verification
    breakdowns: Mapping[str, Breakdown] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``ratio`` (numerator/denominator) or ``value`` (a published or summed value)."""
        return "value" if self.definition.value is not None else "ratio"

    @property
    def dataset(self) -> str:
        """The warehouse dataset the loaded values are stored under."""
        return f"indicator_{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data (for ``--json`` and the web)."""
        d = self.definition
        return {
            "id": self.id,
            "name_sv": self.name_sv,
            "name_en": self.name_en,
            "domain": self.domain,
            "unit": self.unit,
            "kind": self.kind,
            "levels": list(self.levels),
            "definition": {
                "text": d.text,
                "age_band": d.age_band,
                **{role: _plain(sel) for role, sel in d.selections.items()},
            },
            "source": {
                "provider": self.source.provider,
                "table": self.source.table,
                "contents": list(self.source.contents),
                "contents_variable": self.source.contents_variable,
                "region_variable": self.source.region_variable,
                "time_variable": self.source.time_variable,
                "years": self.source.years,
            },
            "breakdowns": {
                name: {"variable": b.variable, "values": list(b.values)}
                for name, b in self.breakdowns.items()
            },
            "verified": {
                "status": self.verified.status,
                "checked": self.verified.checked,
                "not_checked": self.verified.not_checked,
                "sources": list(self.verified.sources),
            },
        }


def _plain(selection: Selection) -> dict[str, list[str]]:
    return {var: list(codes) for var, codes in selection.items()}
