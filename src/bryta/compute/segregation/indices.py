"""The index registry: every aspatial index the engine computes, with declared properties.

Each index is a plain function ``(margins, params) -> array`` over *all* partitions at once:
two-group indices return partitions × groups (one column per focal group, the focal group
against the rest of the listed groups), multigroup indices return one value per partition.
The docstring of each function is its documentation: summary, ``Formula:``, ``Reference:``
and a worked value on the three-unit example of :mod:`bryta.compute.segregation._examples`

    unit   a    b
    u1    30   10
    u2    10   30
    u3    20   20

(the doctests check the worked values, which are computed by hand in each docstring).

Notation: n_ig count of group g in unit i; t_i unit total; N_g group total; T grand total;
p_ig = n_ig / t_i; π_g = N_g / T. For a two-group index with focal group g: x_i = n_ig,
y_i = t_i − x_i, X, Y their totals, P = X / T.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bryta.compute.segregation import variants
from bryta.compute.segregation._margins import Margins, entropy_of
from bryta.errors import InputError

Kind = Literal["two_group", "multigroup"]
_SECTION = re.compile(r"^[A-Z][A-Za-z ]{0,20}:")


@dataclass(frozen=True)
class Params:
    """Index parameters: ``b`` for Atkinson, ``base`` of the logarithm for M and entropies;
    ``m`` thresholds for ``con_prof``; ``B`` draws for ``bias_corrected_dissimilarity`` and
    ``iterations`` for ``modified_dissimilarity`` / ``modified_gini`` (PySAL's names and
    defaults), and the ``seed`` of those simulations (None: fresh randomness);
    ``density_optimizer`` for ``density_corrected_dissimilarity``; ``spatial`` the
    geometry and parameters of the spatial indices
    (:class:`bryta.compute.spatial.indices.SpatialParams`), None without boundaries."""

    b: float = 0.5
    base: float = math.e
    m: int = 1000
    B: int = 500
    iterations: int = 500
    seed: int | None = None
    #: The focal groups the engine will report (set by it for the simulation-based indices,
    #: which then simulate no other group); None: every group.
    focal: tuple[int, ...] | None = None
    spatial: Any = None
    #: How ``density_corrected_dissimilarity`` finds each unit's mode: ``nelder_mead``
    #: (PySAL's optimiser, step for step) or ``exact``.
    density_optimizer: str = "nelder_mead"

    def __post_init__(self) -> None:
        if self.density_optimizer not in ("nelder_mead", "exact"):
            raise InputError(
                "density_optimizer must be 'nelder_mead' (PySAL's) or 'exact', not "
                f"{self.density_optimizer!r}"
            )
        if not 0 < self.b < 1:
            raise InputError(f"Atkinson's b must be between 0 and 1 (exclusive), got {self.b}")
        if self.base <= 0 or self.base == 1:
            raise InputError(f"log base must be positive and not 1, got {self.base}")
        for name, value, least in (
            ("m", self.m, 2),
            ("B", self.B, 2),
            ("iterations", self.iterations, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
                raise InputError(
                    f"{name} must be a whole number of at least {least}, got {value!r}"
                )

    @property
    def log_base(self) -> float:
        return math.log(self.base)


@dataclass(frozen=True)
class IndexSpec:
    """An index with its declared properties (used by the engine, the docs and the tests)."""

    name: str
    kind: Kind
    func: Callable[[Margins, Params], np.ndarray]
    lower: float = 0.0
    upper: float | None = 1.0  # None: unbounded above (depends on the log base / groups)
    needs_units: bool = True  # NaN when fewer than two populated units
    decomposable: bool = False  # additive between + within strata
    uses_base: bool = False
    spatial: bool = False  # needs unit boundaries (bryta.compute.spatial.indices)
    simulated: bool = False  # random (seeded by Params.seed); computed only when named

    def _section(self, label: str) -> str:
        doc = self.func.__doc__ or ""
        lines = [ln.strip() for ln in doc.splitlines()]
        for k, line in enumerate(lines):
            if line.startswith(label + ":"):
                text = [line[len(label) + 1 :].strip()]
                for more in lines[k + 1 :]:
                    if not more or _SECTION.match(more) or more.startswith(">>>"):
                        break
                    text.append(more)
                return " ".join(text)
        return ""

    @property
    def summary(self) -> str:
        return (self.func.__doc__ or "").strip().splitlines()[0]

    @property
    def formula(self) -> str:
        return self._section("Formula")

    @property
    def reference(self) -> str:
        return self._section("Reference")

    @property
    def worked(self) -> str:
        return self._section("Worked value")


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / b


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    return entropy_of(np.stack([p, 1 - p], axis=-1))


# ---- two-group indices ----------------------------------------------------------------------


def dissimilarity(m: Margins, params: Params) -> np.ndarray:
    """Index of dissimilarity D: the share of the focal group that would have to move.

    Formula: D = ½ Σᵢ |xᵢ/X − yᵢ/Y| = Σᵢ tᵢ |pᵢ − P| / (2 T P (1 − P))
    Reference: Duncan, O. D. & Duncan, B. (1955). A methodological analysis of segregation
    indexes. American Sociological Review 20(2), 210–217.
    Worked value: focal a: ½ (|30/60 − 10/60| + |10/60 − 30/60| + |20/60 − 20/60|) = 1/3.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("dissimilarity", "a"), 6)
    0.333333
    """
    return _div(m.abs_dev, 2 * m.T[:, None] * m.pi * (1 - m.pi))


def gini(m: Margins, params: Params) -> np.ndarray:
    """Gini segregation index: mean absolute difference of unit shares, normalised.

    Formula: G = Σᵢ Σⱼ tᵢ tⱼ |pᵢ − pⱼ| / (2 T² P (1 − P))
    Reference: Duncan, O. D. & Duncan, B. (1955); Massey, D. S. & Denton, N. A. (1988). The
    dimensions of residential segregation. Social Forces 67(2), 281–315.
    Worked value: focal a, p = (0.75, 0.25, 0.5), t = 40 each: 2·1600·(0.5 + 0.25 + 0.25) /
    (2·120²·0.25) = 3200 / 7200 = 4/9.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("gini", "a"), 6)
    0.444444
    """
    return _div(m.pair_abs_sum, m.T[:, None] ** 2 * m.pi * (1 - m.pi))


def entropy(m: Margins, params: Params) -> np.ndarray:
    """Theil's entropy index H for two groups: the focal group against the rest.

    Formula: H = Σᵢ tᵢ (E − Eᵢ) / (E T), E = −P ln P − (1−P) ln(1−P), Eᵢ the same for pᵢ
    Reference: Theil, H. & Finizza, A. J. (1971). A note on the measurement of racial
    integration of schools. Journal of Mathematical Sociology 1(2), 187–193.
    Worked value: focal a: E = ln 2, Eᵢ = (0.56234, 0.56234, 0.69315);
    H = 1 − 40 · 1.81782 / (120 · 0.69315) = 0.1258.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("entropy", "a"), 4)
    0.1258
    """
    unit_e = _binary_entropy(m.p)
    total_e = _binary_entropy(np.nan_to_num(m.pi))
    return 1 - _div(m.segsum(m.t[:, None] * unit_e), m.T[:, None] * total_e)


def isolation(m: Margins, params: Params) -> np.ndarray:
    """Isolation index xPx: the focal group's average share in its own units.

    Formula: xPx = Σᵢ (xᵢ / X)(xᵢ / tᵢ)
    Reference: Bell, W. (1954). A probability model for the measurement of ecological
    segregation. Social Forces 32(4), 357–364; Massey & Denton (1988).
    Worked value: focal a: 0.5·0.75 + (1/6)·0.25 + (1/3)·0.5 = 7/12.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("isolation", "a"), 6)
    0.583333
    """
    return _div(m.segsum(m.n * m.p), m.N)


def exposure(m: Margins, params: Params) -> np.ndarray:
    """Exposure (interaction) index xPy: the focal group's average share of the others.

    Formula: xPy = Σᵢ (xᵢ / X)(yᵢ / tᵢ)
    Reference: Bell (1954); Lieberson, S. (1981). An asymmetrical approach to segregation. In
    Peach, Robinson & Smith (eds.), Ethnic Segregation in Cities, 61–82.
    Worked value: focal a: 0.5·0.25 + (1/6)·0.75 + (1/3)·0.5 = 5/12.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("exposure", "a"), 6)
    0.416667
    """
    return _div(m.segsum(m.n * (1 - m.p)), m.N)


def atkinson(m: Margins, params: Params) -> np.ndarray:
    """Atkinson index with shape parameter b (default 0.5).

    Formula: A = 1 − P/(1−P) · |Σᵢ (1 − pᵢ)^(1−b) pᵢ^b tᵢ / (P T)|^(1/(1−b))
    Reference: Atkinson, A. B. (1970). On the measurement of inequality. Journal of Economic
    Theory 2(3), 244–263; Massey & Denton (1988).
    Worked value: focal a, b = ½: 40 (2√(0.1875) + 0.5) / 60 = 0.91068; A = 1 − 0.91068² =
    0.1707.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("atkinson", "a"), 4)
    0.1707
    """
    b = params.b
    inner = m.segsum((1 - m.p) ** (1 - b) * m.p**b * m.t[:, None])
    pi = m.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - pi / (1 - pi) * np.abs(inner / (pi * m.T[:, None])) ** (1 / (1 - b))


def correlation_ratio(m: Margins, params: Params) -> np.ndarray:
    """Correlation ratio V (eta²): isolation adjusted for the focal group's share.

    Formula: V = (xPx − P) / (1 − P) = Σᵢ tᵢ (pᵢ − P)² / (T P (1 − P))
    Reference: Bell (1954); White, M. J. (1986). Segregation and diversity measures in
    population distribution. Population Index 52(2), 198–221.
    Worked value: focal a: (7/12 − 1/2) / (1/2) = 1/6.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("correlation_ratio", "a"), 6)
    0.166667
    """
    return _div(m.sq_dev, m.T[:, None] * m.pi * (1 - m.pi))


def hutchens_square_root(m: Margins, params: Params) -> np.ndarray:
    """Hutchens' square root index: one minus the Bhattacharyya affinity of x and y.

    Formula: S = 1 − Σᵢ √((xᵢ / X)(yᵢ / Y))
    Reference: Hutchens, R. M. (2004). One measure of segregation. International Economic
    Review 45(2), 555–578.
    Worked value: focal a: 1 − (2√(0.5 · 1/6) + 1/3) = 0.0893.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("hutchens_square_root", "a"), 4)
    0.0893
    """
    shares = _div(m.n, m.per_row(m.N)) * _div(m.other, m.per_row(m.other_totals))
    return 1 - m.segsum(np.sqrt(np.nan_to_num(shares)))


# ---- multigroup indices ---------------------------------------------------------------------


def mutual_information(m: Margins, params: Params) -> np.ndarray:
    """Mutual information index M between units and groups (Theil's information index).

    Formula: M = Σᵢ Σ_g (n_ig / T) log(p_ig / π_g); natural log unless ``base`` is set
    Reference: Theil, H. (1971). Principles of Econometrics; Mora, R. & Ruiz-Castillo, J.
    (2011). Entropy-based segregation indices. Sociological Methodology 41(1), 159–194.
    Worked value: the two-group example: M = H · E = 0.12581 · ln 2 = 0.0872 nats.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("mutual_information"), 4)
    0.0872
    """
    return m.mutual_information / params.log_base


def theil_h(m: Margins, params: Params) -> np.ndarray:
    """Theil's H: M normalised by the entropy of the group distribution (0–1).

    Formula: H = M / E, E = −Σ_g π_g ln π_g
    Reference: Theil & Finizza (1971); Reardon, S. F. & Firebaugh, G. (2002). Measures of
    multigroup segregation. Sociological Methodology 32, 33–67.
    Worked value: for two groups H equals the two-group entropy index: 0.1258.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("theil_h"), 4)
    0.1258
    """
    return _div(m.mutual_information, m.group_entropy)


def multigroup_dissimilarity(m: Margins, params: Params) -> np.ndarray:
    """Multigroup dissimilarity D (Reardon & Firebaugh's generalisation).

    Formula: D = Σ_g Σᵢ tᵢ |p_ig − π_g| / (2 T I), I = Σ_g π_g (1 − π_g)
    Reference: Morgan, B. S. (1975); Sakoda, J. M. (1981). A generalized index of
    dissimilarity. Demography 18(2), 245–250; Reardon & Firebaugh (2002).
    Worked value: two groups reduce it to D: 1/3.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("multigroup_dissimilarity"), 6)
    0.333333
    """
    return _div(m.abs_dev.sum(axis=1), 2 * m.T * m.simpson_interaction)


def multigroup_gini(m: Margins, params: Params) -> np.ndarray:
    """Multigroup Gini index.

    Formula: G = Σ_g Σᵢ Σⱼ tᵢ tⱼ |p_ig − p_jg| / (2 T² I)
    Reference: Reardon & Firebaugh (2002).
    Worked value: two groups reduce it to the Gini index: 4/9.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("multigroup_gini"), 6)
    0.444444
    """
    return _div(m.pair_abs_sum.sum(axis=1), m.T**2 * m.simpson_interaction)


def normalized_exposure(m: Margins, params: Params) -> np.ndarray:
    """Normalised exposure P: the π-weighted mean of the groups' correlation ratios.

    Formula: P = Σ_g Σᵢ tᵢ (p_ig − π_g)² / (T (1 − π_g))
    Reference: James, F. J. (1986). A new generalized "exposure-based" segregation index.
    Sociological Methods & Research 14(3), 301–316; Reardon & Firebaugh (2002).
    Worked value: two groups reduce it to the correlation ratio: 1/6.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("normalized_exposure"), 6)
    0.166667
    """
    return _div(m.sq_dev, m.T[:, None] * (1 - np.nan_to_num(m.pi))).sum(axis=1)


def relative_diversity(m: Margins, params: Params) -> np.ndarray:
    """Relative diversity index R: the share of diversity (Simpson) explained by units.

    Formula: R = Σ_g Σᵢ tᵢ (p_ig − π_g)² / (T I)
    Reference: Carlson, S. M. (1992). Trends in race/sex occupational inequality. Social
    Problems 39(3), 268–290; Reardon & Firebaugh (2002).
    Worked value: two groups: 2·Q / (T · 2 · ¼) = 1/6.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("relative_diversity"), 6)
    0.166667
    """
    return _div(m.sq_dev.sum(axis=1), m.T * m.simpson_interaction)


def squared_coefficient_of_variation(m: Margins, params: Params) -> np.ndarray:
    """Squared coefficient of variation C of the group shares over units.

    Formula: C = Σ_g Σᵢ tᵢ (p_ig − π_g)² / ((K − 1) T π_g), K the groups present
    Reference: Coleman, J. S., Hoffer, T. & Kilgore, S. (1982); Reardon & Firebaugh (2002).
    Worked value: two groups: 1/6 (the correlation ratio).

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("squared_coefficient_of_variation"), 6)
    0.166667
    """
    pi = np.nan_to_num(m.pi)
    terms = np.divide(m.sq_dev, pi, out=np.zeros_like(m.sq_dev), where=pi > 0)
    return _div(terms.sum(axis=1), (m.groups_present - 1) * m.T)


def simpson_concentration(m: Margins, params: Params) -> np.ndarray:
    """Simpson's concentration λ: the chance two random people belong to the same group.

    Formula: λ = Σ_g π_g²
    Reference: Simpson, E. H. (1949). Measurement of diversity. Nature 163, 688.
    Worked value: two equal groups: 0.5.

    >>> from bryta.compute.segregation._examples import example_value
    >>> example_value("simpson_concentration")
    0.5
    """
    pi = np.nan_to_num(m.pi)
    return (pi**2).sum(axis=1)


def simpson_interaction(m: Margins, params: Params) -> np.ndarray:
    """Simpson's interaction I: the chance two random people belong to different groups.

    Formula: I = Σ_g π_g (1 − π_g) = 1 − λ
    Reference: Simpson (1949); Reardon & Firebaugh (2002).
    Worked value: two equal groups: 0.5.

    >>> from bryta.compute.segregation._examples import example_value
    >>> example_value("simpson_interaction")
    0.5
    """
    return m.simpson_interaction.copy()


def diversity(m: Margins, params: Params) -> np.ndarray:
    """Diversity E: entropy of the group distribution of the whole partition.

    Formula: E = −Σ_g π_g log π_g; natural log unless ``base`` is set
    Reference: Theil (1971); White (1986).
    Worked value: two equal groups: ln 2 = 0.693147.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("diversity"), 6)
    0.693147
    """
    return m.group_entropy / params.log_base


REGISTRY: dict[str, IndexSpec] = {
    spec.name: spec
    for spec in [
        IndexSpec("dissimilarity", "two_group", dissimilarity),
        IndexSpec("gini", "two_group", gini),
        IndexSpec("entropy", "two_group", entropy),
        IndexSpec("isolation", "two_group", isolation),
        IndexSpec("exposure", "two_group", exposure),
        IndexSpec("atkinson", "two_group", atkinson),
        IndexSpec("correlation_ratio", "two_group", correlation_ratio),
        IndexSpec("hutchens_square_root", "two_group", hutchens_square_root),
        IndexSpec(
            "mutual_information",
            "multigroup",
            mutual_information,
            upper=None,
            decomposable=True,
            uses_base=True,
        ),
        IndexSpec("theil_h", "multigroup", theil_h),
        IndexSpec("multigroup_dissimilarity", "multigroup", multigroup_dissimilarity),
        IndexSpec("multigroup_gini", "multigroup", multigroup_gini),
        IndexSpec("normalized_exposure", "multigroup", normalized_exposure),
        IndexSpec("relative_diversity", "multigroup", relative_diversity),
        IndexSpec(
            "squared_coefficient_of_variation", "multigroup", squared_coefficient_of_variation
        ),
        IndexSpec("simpson_concentration", "multigroup", simpson_concentration, needs_units=False),
        IndexSpec("simpson_interaction", "multigroup", simpson_interaction, needs_units=False),
        IndexSpec(
            "diversity", "multigroup", diversity, upper=None, needs_units=False, uses_base=True
        ),
        # PySAL's remaining aspatial indices (bryta.compute.segregation.variants).
        # con_prof is 0–1 only up to its grid of m thresholds (variants.con_prof).
        IndexSpec("con_prof", "two_group", variants.con_prof, lower=-1.0, upper=None),
        IndexSpec("min_max", "two_group", variants.min_max),
        IndexSpec(
            "density_corrected_dissimilarity",
            "two_group",
            variants.density_corrected_dissimilarity,
        ),
        IndexSpec(
            "multigroup_divergence", "multigroup", variants.multigroup_divergence, upper=None
        ),
        IndexSpec(
            "bias_corrected_dissimilarity",
            "two_group",
            variants.bias_corrected_dissimilarity,
            lower=-1.0,
            simulated=True,
        ),
        IndexSpec(
            "modified_dissimilarity",
            "two_group",
            variants.modified_dissimilarity,
            lower=-1.0,
            simulated=True,
        ),
        IndexSpec("modified_gini", "two_group", variants.modified_gini, lower=-1.0, simulated=True),
    ]
}
"""Every index :func:`bryta.measure` knows, by name, in the order results are reported."""
