"""Customer personas: k-means on scaled pre-period features, k chosen by bootstrap stability
(Hennig's clusterboot) and then silhouette, clusters named from their distinguishing traits,
and a plain-JSON persona model that assigns new customers in batch.

Why this shape:

* **Stability first, silhouette second.** Silhouette alone rewards any k that happens to cut
  the data cleanly once; a persona that the business will target must come back when the data
  is resampled. A k is *admissible* only when every cluster's mean bootstrap Jaccard is at
  least ``min_jaccard`` (Hennig 2007 / fpc::clusterboot: 0.75 or more is a valid, stable
  cluster; below 0.6 it should not be trusted) and every cluster holds at least
  ``min_share`` of the users (a 1 % persona is not actionable and its lift would have no
  power). Among admissible k the highest silhouette wins.
* **Honesty when there is no structure.** When no k is admissible the k with the highest
  minimum Jaccard is still returned (downstream steps need *a* segmentation), but
  ``PersonaResult.structure_found`` is ``False`` and ``warnings`` says that the personas are a
  partition of a continuum, not discovered groups. Stability alone is not enough for that
  call -- k-means slices a one- or two-dimensional normal the same way on every resample --
  so the chosen partition must also be tighter than what k-means finds in a single Gaussian
  with the data's covariance (a SigClust-style Monte Carlo check, ``n_null`` simulations).
* **Features are transformed, then standardised, then optionally weighted** -- the same three
  steps, stored as numbers in :class:`PersonaModel`, are applied to new customers, so the
  training rows and a batch scored later land in the same persona (nearest centroid).
* **No pickle** (DESIGN §7): the model is a dict of lists and floats (``to_dict``/``from_dict``).

Cost control (measured on 8,000 users × 9 features, k 2..8, n_init 20, 50 resamples):

* the bootstrap refits use ``bootstrap_n_init`` = 10 starts instead of ``n_init`` = 20. Fewer
  starts let a refit stop in a worse local optimum, which *lowers* the Jaccard (a conservative
  bias): with 5 starts the minimum Jaccard at k=7 fell from 0.92 to 0.74 and the verdict
  flipped; with 10 it matched 20 starts on every k (two seeds) at ~60 % of the cost;
* the silhouette is computed on a seeded subsample of at most 5,000 rows (the same rows for
  every k);
* every thread pool (OpenMP in k-means, BLAS) is held to one thread during the fit: the work
  is hundreds of small k-means runs, and with other processes on the machine the spinning
  OpenMP/BLAS workers made each run 20× slower. The default fit takes ~15 s of one core.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from threadpoolctl import threadpool_limits

from strategies.errors import ConfigError, InputDataError

__all__ = [
    "CLUSTER_COLUMNS",
    "DEFAULT_DEVICE_COLUMNS",
    "DEFAULT_FEATURES",
    "DEFAULT_LOG1P",
    "K_TABLE_COLUMNS",
    "UNIT_COLUMN",
    "PersonaModel",
    "PersonaOptions",
    "PersonaResult",
    "adjusted_rand",
    "bootstrap_jaccard",
    "fit_personas",
    "name_personas",
    "stability_across_seeds",
]

#: The unit of the persona table (one row per user, see the growth data contract).
UNIT_COLUMN = "user_id"
#: One-hot columns of ``users.device`` (mobile/desktop/tablet) as the feature builder names them.
DEFAULT_DEVICE_COLUMNS: tuple[str, ...] = ("device_desktop", "device_mobile", "device_tablet")
DEFAULT_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "discount_share",
    "tenure_days",
    "has_history",
    *DEFAULT_DEVICE_COLUMNS,
)
#: Heavy-tailed counts and durations: log1p keeps a few whales from owning a cluster.
DEFAULT_LOG1P: tuple[str, ...] = ("frequency", "monetary", "recency_days", "tenure_days")

K_TABLE_COLUMNS: tuple[str, ...] = (
    "k",
    "silhouette",
    "min_jaccard",
    "mean_jaccard",
    "min_share",
    "inertia",
    "admissible",
    "chosen",
)
CLUSTER_COLUMNS: tuple[str, ...] = ("persona_id", "persona", "size", "share", "jaccard")

#: Silhouette is O(n²); a seeded subsample of this many rows estimates it to ~±0.01.
SILHOUETTE_SAMPLE = 5_000
#: The Gaussian-null check rejects "one cloud" at this level (19 simulations: p >= 1/20).
NULL_ALPHA = 0.05
#: A trait enters a persona's name when the cluster mean is this many SDs from the overall mean.
TRAIT_Z = 0.5
#: Words per name before collisions force more (short names are read, long ones skimmed).
NAME_TRAITS = 2
#: Features that only restate "has ordered before": for a cluster where most users have no
#: history, "infrequent, lapsed, low-spend" would describe the absence of orders three times.
ORDER_DERIVED: frozenset[str] = frozenset(
    {"recency_days", "frequency", "monetary", "discount_share"}
)
#: (word when the cluster is above the overall mean, word when below); ``None`` = not a trait.
TRAIT_WORDS: dict[str, tuple[str | None, str | None]] = {
    "recency_days": ("lapsed", "recently active"),
    "frequency": ("frequent", "infrequent"),
    "monetary": ("high-spend", "low-spend"),
    "discount_share": ("discount-heavy", "full-price"),
    "tenure_days": ("long-tenured", "recent-signup"),
    "has_history": (None, "no history"),  # having ordered is the norm, not a trait
    # Hillstrom's pre-send covariates (strategies.growth.hillstrom)
    "recency_months": ("lapsed", "recent buyers"),
    "history": ("high-spend", "low-spend"),
    "mens": ("bought men's", "no men's"),
    "womens": ("bought women's", "no women's"),
    "newbie": ("new customers", "returning"),
}
_MODEL_KIND = "liftlab.persona_model"
_MODEL_VERSION = 1


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaOptions:
    """How personas are fitted. Sequences are stored as tuples (the options are a value).

    ``weights`` multiplies a standardised column (default 1.0 each): one-hot columns such as
    device split the data into far-apart corners after standardising, so a config can
    down-weight them (or leave them out of ``features``) when device should describe personas
    rather than define them. ``bootstrap_n_init`` is the number of k-means starts of each
    bootstrap refit (see the module docstring). ``n_null`` is the number of single-Gaussian
    simulations of the structure check (0 skips it; 19 gives p-values down to 0.05).
    """

    features: Sequence[str] = DEFAULT_FEATURES
    log1p: Sequence[str] = DEFAULT_LOG1P
    k_range: Sequence[int] = tuple(range(2, 9))
    n_init: int = 20
    n_bootstrap: int = 50
    bootstrap_n_init: int = 10
    n_null: int = 19
    min_jaccard: float = 0.75
    min_share: float = 0.05
    seed: int = 0
    weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        features = _names("features", self.features)
        if not features:
            raise ConfigError("persona option 'features' must name at least one column")
        log1p = _names("log1p", self.log1p)
        missing = [c for c in log1p if c not in features]
        if missing:
            raise ConfigError(
                f"persona option 'log1p' names columns that are not features: {missing}"
            )
        ks = _whole_numbers("k_range", self.k_range)
        if not ks or min(ks) < 2:
            raise ConfigError(f"persona option 'k_range' must hold values >= 2, got {ks}")
        null = self.n_null
        if isinstance(null, bool) or not isinstance(null, int | np.integer) or null < 0:
            raise ConfigError(f"persona option 'n_null' must be an integer >= 0, got {null!r}")
        for name in ("n_init", "n_bootstrap", "bootstrap_n_init"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"persona option {name!r} must be an integer >= 1, got {value!r}")
        if not 0.0 < float(self.min_jaccard) <= 1.0:
            raise ConfigError(
                f"persona option 'min_jaccard' must be in (0, 1], got {self.min_jaccard}"
            )
        if not 0.0 <= float(self.min_share) < 1.0:
            raise ConfigError(f"persona option 'min_share' must be in [0, 1), got {self.min_share}")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int | np.integer)
            or self.seed < 0
        ):
            raise ConfigError(f"persona option 'seed' must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.weights, Mapping):
            raise ConfigError("persona option 'weights' must map feature names to numbers")
        weights: dict[str, float] = {}
        for column, weight in self.weights.items():
            if column not in features:
                raise ConfigError(
                    f"persona option 'weights' names {column!r}, which is not a feature"
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
                raise ConfigError(
                    f"persona option 'weights' for {column!r} must be a number > 0, got {weight!r}"
                )
            weights[column] = float(weight)
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "log1p", log1p)
        object.__setattr__(self, "k_range", ks)
        object.__setattr__(self, "weights", weights)


def _names(option: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigError(f"persona option {option!r} must be a list of column names")
    names = tuple(values)
    bad = [v for v in names if not isinstance(v, str) or not v]
    if bad:
        raise ConfigError(f"persona option {option!r} holds non-names: {bad}")
    dupes = sorted({v for v in names if names.count(v) > 1})
    if dupes:
        raise ConfigError(f"persona option {option!r} repeats {dupes}")
    return names


def _whole_numbers(option: str, values: Any) -> tuple[int, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigError(f"persona option {option!r} must be a list of integers")
    items = list(values)
    if any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in items):
        raise ConfigError(f"persona option {option!r} must hold integers, got {items}")
    return tuple(sorted({int(v) for v in items}))


# --------------------------------------------------------------------------------------------
# The persona model (assigns new customers; plain JSON)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaModel:
    """Feature definitions + scaler + centroids + names: everything batch scoring needs.

    ``centroids`` live in the model space (log1p where configured, standardised, weighted);
    ``assign`` applies the same transform and picks the nearest centroid.
    """

    features: tuple[str, ...]
    log1p: tuple[str, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]
    weights: tuple[float, ...]
    centroids: tuple[tuple[float, ...], ...]
    persona_ids: tuple[int, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        p, k = len(self.features), len(self.centroids)
        if not (len(self.means) == len(self.sds) == len(self.weights) == p):
            raise InputDataError(
                "persona model: means, sds and weights must have one entry per feature"
            )
        if k < 1 or any(len(c) != p for c in self.centroids):
            raise InputDataError("persona model: every centroid must have one value per feature")
        if not (len(self.names) == len(self.persona_ids) == k):
            raise InputDataError("persona model: one name and one persona id per centroid")
        if len(set(self.names)) != k:
            raise InputDataError("persona model: persona names must be unique")
        if any(c not in self.features for c in self.log1p):
            raise InputDataError("persona model: log1p names a column that is not a feature")
        values = [*self.means, *self.sds, *self.weights, *(v for c in self.centroids for v in c)]
        if not all(math.isfinite(v) for v in values) or min(self.sds) <= 0:
            raise InputDataError("persona model: scaler and centroids must be finite, sds > 0")

    # -- scoring ----------------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The model-space matrix of ``frame`` (validates columns: present, numeric, finite)."""
        raw = _feature_matrix(frame, self.features, self.log1p)
        return _to_model_space(raw, self.features, self.log1p, self.means, self.sds, self.weights)

    def assign_ids(self, frame: pd.DataFrame) -> pd.Series:
        """Persona id of each row (nearest centroid), indexed like ``frame``."""
        labels = _nearest(self.transform(frame), np.asarray(self.centroids, dtype=float))
        ids = np.asarray(self.persona_ids, dtype=int)[labels]
        return pd.Series(ids, index=frame.index, name="persona_id")

    def assign(self, frame: pd.DataFrame) -> pd.Series:
        """Persona name of each row, indexed like ``frame`` (batch inference)."""
        labels = _nearest(self.transform(frame), np.asarray(self.centroids, dtype=float))
        names = np.asarray(self.names, dtype=object)[labels]
        return pd.Series(names, index=frame.index, name="persona", dtype=object)

    # -- plain JSON ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (lists, floats, strings; floats round-trip exactly)."""
        return {
            "kind": _MODEL_KIND,
            "version": _MODEL_VERSION,
            "features": list(self.features),
            "log1p": list(self.log1p),
            "means": [float(v) for v in self.means],
            "sds": [float(v) for v in self.sds],
            "weights": [float(v) for v in self.weights],
            "centroids": [[float(v) for v in c] for c in self.centroids],
            "persona_ids": [int(v) for v in self.persona_ids],
            "names": list(self.names),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PersonaModel:
        """Rebuild from :meth:`to_dict` output; anything else fails with a named reason."""
        if not isinstance(data, Mapping):
            raise InputDataError("persona model: expected a mapping")
        if data.get("kind") != _MODEL_KIND or data.get("version") != _MODEL_VERSION:
            raise InputDataError(
                f"persona model: expected kind {_MODEL_KIND!r} version {_MODEL_VERSION}, got "
                f"{data.get('kind')!r} version {data.get('version')!r}"
            )
        keys = ("features", "log1p", "means", "sds", "weights", "centroids", "persona_ids", "names")
        missing = [key for key in keys if key not in data]
        if missing:
            raise InputDataError(f"persona model: missing keys {missing}")
        try:
            return cls(
                features=tuple(str(v) for v in data["features"]),
                log1p=tuple(str(v) for v in data["log1p"]),
                means=tuple(float(v) for v in data["means"]),
                sds=tuple(float(v) for v in data["sds"]),
                weights=tuple(float(v) for v in data["weights"]),
                centroids=tuple(tuple(float(v) for v in c) for c in data["centroids"]),
                persona_ids=tuple(int(v) for v in data["persona_ids"]),
                names=tuple(str(v) for v in data["names"]),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputDataError):
                raise
            raise InputDataError(f"persona model: malformed values ({exc})") from exc


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaResult:
    """One persona fit.

    * ``assignments``: ``user_id``, ``persona_id``, ``persona`` (one row per input row).
    * ``k_table``: :data:`K_TABLE_COLUMNS`, one row per k tried.
    * ``clusters``: :data:`CLUSTER_COLUMNS`, one row per chosen persona (``jaccard`` = mean
      bootstrap Jaccard).
    * ``profiles``: ``persona_id``, ``persona``, ``size``, ``share``, the raw mean of every
      feature (column named like the feature), then ``z_<feature>``: how far the cluster mean
      is from the reference mean in reference SDs, after log1p -- the numbers the names come
      from (see :func:`_trait_z`; ``nan`` where a persona has no one to measure).
    * ``structure_found``: some k was admissible *and* the chosen partition is tighter than
      k-means finds in a single Gaussian with the data's covariance (``null_p_value`` <=
      :data:`NULL_ALPHA`; ``nan`` when ``n_null`` is 0 and the check is skipped). When
      ``False`` the personas are a partition of data without separate groups and
      ``warnings`` says so.
    """

    model: PersonaModel
    k: int
    assignments: pd.DataFrame
    k_table: pd.DataFrame
    clusters: pd.DataFrame
    profiles: pd.DataFrame
    structure_found: bool
    null_p_value: float
    warnings: tuple[str, ...]
    options: PersonaOptions


# --------------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------------


def fit_personas(features: pd.DataFrame, options: PersonaOptions | None = None) -> PersonaResult:
    """Fit k-means for every k in ``options.k_range``, choose k (stability, then silhouette),
    name the clusters and return the model, the tables and the warnings."""
    options = options or PersonaOptions()
    warnings: list[str] = []
    user_ids = _validate_units(features)
    raw = _feature_matrix(features, options.features, options.log1p)
    n = raw.shape[0]
    if n < 2 * max(options.k_range):
        raise InputDataError(
            f"persona features: {n} rows is too few for k up to {max(options.k_range)} "
            f"(need at least {2 * max(options.k_range)})"
        )
    transformed = _log1p_columns(raw, options.features, options.log1p)
    means = transformed.mean(axis=0)
    sds = transformed.std(axis=0)
    constant = [c for c, sd in zip(options.features, sds, strict=True) if not sd > 1e-12]
    if constant:
        warnings.append(
            f"persona features {constant} are constant in this data and do not shape the "
            "personas (their scale is set to 1)"
        )
    sds = np.where(sds > 1e-12, sds, 1.0)
    weights = np.array([options.weights.get(c, 1.0) for c in options.features])
    x = (transformed - means) / sds * weights

    rng = np.random.default_rng(options.seed)
    with threadpool_limits(limits=1):
        k_table, fits = _scan_k(x, options, rng)
    admissible_rows = k_table[k_table["admissible"]]
    stable = not admissible_rows.empty
    if stable:
        best = admissible_rows.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
    else:
        best = k_table.sort_values(["min_jaccard", "k"], ascending=[False, True]).iloc[0]
        warnings.append(
            f"no k in {list(options.k_range)} gives personas that are all stable (bootstrap "
            f"Jaccard >= {options.min_jaccard}) and all large enough (share >= "
            f"{options.min_share}); the data shows no stable cluster structure, so the "
            f"{int(best['k'])} personas returned (highest minimum Jaccard, "
            f"{best['min_jaccard']:.2f}) are a partition of a continuum, not discovered groups"
        )
    k = int(best["k"])
    k_table.loc[k_table["k"] == k, "chosen"] = True
    labels, centers, jaccard = fits[k]

    null_p = float("nan")
    if options.n_null:
        with threadpool_limits(limits=1):
            null_p = _gaussian_null_p(x, k, float(best["inertia"]), options, rng)
        if stable and null_p > NULL_ALPHA:
            warnings.append(
                f"the {k} personas are stable, but k-means finds partitions as tight in a single "
                f"Gaussian cloud with the same covariance (p = {null_p:.2f} over "
                f"{options.n_null} simulations): the data is a continuum cut into stable "
                "slices, not separate groups; treat the personas as a segmentation"
            )
    structure_found = stable and (not options.n_null or null_p <= NULL_ALPHA)

    order = _persona_order(labels, centers, k)  # order[new] = old cluster index
    new_of_old = np.empty(k, dtype=int)
    new_of_old[order] = np.arange(k)
    labels = new_of_old[labels]
    centers = centers[order]
    jaccard = jaccard[order]

    sizes = np.bincount(labels, minlength=k)
    z_means = _trait_z(transformed, raw, labels, k, options.features)
    raw_means = np.vstack([raw[labels == j].mean(axis=0) for j in range(k)])
    names = name_personas(options.features, np.nan_to_num(z_means), raw_means)
    persona_ids = tuple(range(1, k + 1))
    model = PersonaModel(
        features=options.features,
        log1p=options.log1p,
        means=tuple(float(v) for v in means),
        sds=tuple(float(v) for v in sds),
        weights=tuple(float(v) for v in weights),
        centroids=tuple(tuple(float(v) for v in c) for c in centers),
        persona_ids=persona_ids,
        names=tuple(names),
    )
    # Score the training rows through the model, so "fit" and "assign later" cannot disagree.
    assigned = _nearest(x, np.asarray(model.centroids))
    moved = int((assigned != labels).sum())
    if moved:  # only on exact ties between two centroids; kept visible rather than hidden
        warnings.append(f"{moved} training rows sit on a tie between personas; nearest wins")
    names_arr = np.asarray(names, dtype=object)
    assignments = pd.DataFrame(
        {
            UNIT_COLUMN: user_ids,
            "persona_id": np.asarray(persona_ids)[assigned],
            "persona": names_arr[assigned],
        }
    )
    clusters = pd.DataFrame(
        {
            "persona_id": persona_ids,
            "persona": names,
            "size": sizes,
            "share": sizes / n,
            "jaccard": jaccard,
        },
        columns=list(CLUSTER_COLUMNS),
    )
    profiles = pd.concat(
        [
            clusters[["persona_id", "persona", "size", "share"]],
            pd.DataFrame(raw_means, columns=list(options.features)),
            pd.DataFrame(z_means, columns=[f"z_{c}" for c in options.features]),
        ],
        axis=1,
    )
    return PersonaResult(
        model=model,
        k=k,
        assignments=assignments,
        k_table=k_table,
        clusters=clusters,
        profiles=profiles,
        structure_found=structure_found,
        null_p_value=null_p,
        warnings=tuple(warnings),
        options=options,
    )


def bootstrap_jaccard(reference: np.ndarray, other: np.ndarray, n_reference: int) -> np.ndarray:
    """For each reference cluster, the best Jaccard similarity with any cluster of ``other``.

    Both arrays label the same points (in clusterboot: the resampled rows, duplicates
    counted as often as they were drawn). Jaccard = |A ∩ B| / |A ∪ B|. A reference cluster
    with no point in the sample scores 0 (it dissolved).
    """
    reference = np.asarray(reference, dtype=int)
    other = np.asarray(other, dtype=int)
    if reference.shape != other.shape:
        raise ValueError("reference and other must label the same points")
    n_other = int(other.max()) + 1 if other.size else 0
    table = np.bincount(reference * n_other + other, minlength=n_reference * n_other).reshape(
        n_reference, n_other
    )
    size_ref = table.sum(axis=1, keepdims=True)
    size_other = table.sum(axis=0, keepdims=True)
    union = size_ref + size_other - table
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, table / np.maximum(union, 1), 0.0)
    best = jaccard.max(axis=1) if n_other else np.zeros(n_reference)
    return np.where(size_ref[:, 0] > 0, best, 0.0)


def adjusted_rand(truth: Sequence[Any] | pd.Series, predicted: Sequence[Any] | pd.Series) -> float:
    """Adjusted Rand index between two labelings of the same rows (1 = identical partitions,
    ~0 = chance agreement); labels may be any hashable values (names vs ids is fine)."""
    truth_arr = np.asarray(truth)
    predicted_arr = np.asarray(predicted)
    if truth_arr.shape != predicted_arr.shape:
        raise InputDataError(
            f"adjusted_rand needs two labelings of the same rows, got {truth_arr.shape[0]} and "
            f"{predicted_arr.shape[0]}"
        )
    return float(adjusted_rand_score(truth_arr, predicted_arr))


def with_personas(table: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """``table`` (one row per experiment × user, or per user) with each user's ``persona_id``
    and ``persona`` (NULL for a user the persona fit did not see)."""
    personas = assignments[["user_id", "persona_id", "persona"]]
    return table.merge(personas, on="user_id", how="left", validate="many_to_one")


def persona_recovery(assignments: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """How well the personas recover known ones (simulated data): the adjusted Rand index on
    the users in both tables (``user_id`` + ``persona``), with the matched user count and the
    confusion table as nested dicts (true persona → found persona → users)."""
    missing = [c for c in ("user_id", "persona") if c not in truth.columns]
    if missing:
        raise InputDataError(f"persona truth lacks column(s) {missing} (has {list(truth.columns)})")
    merged = assignments[["user_id", "persona"]].merge(
        truth[["user_id", "persona"]].astype({"user_id": str}),
        on="user_id",
        suffixes=("_found", "_true"),
    )
    if merged.empty:
        raise InputDataError("persona truth shares no user_id with the customers analysed")
    table = pd.crosstab(merged["persona_true"], merged["persona_found"])
    return {
        "ari": adjusted_rand(merged["persona_true"], merged["persona_found"]),
        "users_matched": int(len(merged)),
        "confusion": {
            str(t): {str(f): int(n) for f, n in row.items()} for t, row in table.iterrows()
        },
    }


def stability_across_seeds(
    features: pd.DataFrame, options: PersonaOptions | None = None, seeds: Sequence[int] = (0, 1, 2)
) -> float:
    """Mean pairwise ARI between the chosen partitions of full fits with different seeds.

    Each seed changes the k-means starts, the bootstrap resamples and the silhouette
    subsample, so this checks the whole procedure (including the choice of k), not one
    k-means run. Costs ``len(seeds)`` full fits.
    """
    options = options or PersonaOptions()
    seeds = list(seeds)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"stability_across_seeds needs at least two distinct seeds, got {seeds}")
    partitions = [
        fit_personas(features, replace(options, seed=int(s))).assignments["persona_id"].to_numpy()
        for s in seeds
    ]
    return float(np.mean([adjusted_rand(a, b) for a, b in combinations(partitions, 2)]))


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


def _validate_units(frame: pd.DataFrame) -> np.ndarray:
    if not isinstance(frame, pd.DataFrame):
        raise InputDataError("persona features must be a pandas DataFrame")
    if UNIT_COLUMN not in frame.columns:
        raise InputDataError(f"persona features: missing unit column {UNIT_COLUMN!r}")
    ids = frame[UNIT_COLUMN]
    if ids.isna().any():
        raise InputDataError(
            f"persona features: column {UNIT_COLUMN!r} has {int(ids.isna().sum())} empty ids"
        )
    dupes = ids[ids.duplicated()].unique()
    if len(dupes):
        raise InputDataError(
            f"persona features: column {UNIT_COLUMN!r} must be unique (one row per user); "
            f"{len(dupes)} repeated, e.g. {list(dupes[:3])}"
        )
    return ids.to_numpy()


def _feature_matrix(
    frame: pd.DataFrame, columns: Sequence[str], log1p: Sequence[str]
) -> np.ndarray:
    """Raw feature values as float, after checking presence, type, finiteness, log1p range."""
    if not isinstance(frame, pd.DataFrame):
        raise InputDataError("persona features must be a pandas DataFrame")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(f"persona features: missing column(s) {missing}")
    if frame.columns.duplicated().any():
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise InputDataError(f"persona features: duplicated column name(s) {dupes}")
    if len(frame) == 0:
        raise InputDataError("persona features: the table has no rows")
    for column in columns:
        series = frame[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            raise InputDataError(
                f"persona features: column {column!r} must be numeric, got {series.dtype}"
            )
    values = frame[list(columns)].to_numpy(dtype=float, na_value=np.nan)
    for j, column in enumerate(columns):
        bad = ~np.isfinite(values[:, j])
        if bad.any():
            raise InputDataError(
                f"persona features: column {column!r} has {int(bad.sum())} missing or infinite "
                "values (fill them before fitting: the contract gives 0 / pre-period length + 1)"
            )
        if column in log1p and (values[:, j] < 0).any():
            raise InputDataError(
                f"persona features: column {column!r} is log1p-transformed and must be >= 0, "
                f"found {int((values[:, j] < 0).sum())} negative values"
            )
    return values


def _log1p_columns(raw: np.ndarray, columns: Sequence[str], log1p: Sequence[str]) -> np.ndarray:
    out = raw.copy()
    for j, column in enumerate(columns):
        if column in log1p:
            out[:, j] = np.log1p(out[:, j])
    return out


def _to_model_space(
    raw: np.ndarray,
    columns: Sequence[str],
    log1p: Sequence[str],
    means: Sequence[float],
    sds: Sequence[float],
    weights: Sequence[float],
) -> np.ndarray:
    transformed = _log1p_columns(raw, columns, log1p)
    return (transformed - np.asarray(means)) / np.asarray(sds) * np.asarray(weights)


def _nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (squared Euclidean; ties go to the lower index)."""
    distances = (
        (x**2).sum(axis=1)[:, None] - 2.0 * x @ centroids.T + (centroids**2).sum(axis=1)[None, :]
    )
    return distances.argmin(axis=1)


def _kmeans(x: np.ndarray, k: int, n_init: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    model = KMeans(n_clusters=k, n_init=n_init, random_state=int(seed)).fit(x)
    centers = model.cluster_centers_
    return _nearest(x, centers), centers, float(model.inertia_)


def _scan_k(
    x: np.ndarray, options: PersonaOptions, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The k-table and, per k, (labels, centres, per-cluster mean Jaccard)."""
    n = x.shape[0]
    sub = rng.choice(n, SILHOUETTE_SAMPLE, replace=False) if n > SILHOUETTE_SAMPLE else None
    resamples = rng.integers(0, n, size=(options.n_bootstrap, n))
    boot_seeds = rng.integers(0, 2**31 - 1, size=options.n_bootstrap)
    rows: list[dict[str, Any]] = []
    fits: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for k in options.k_range:
        labels, centers, inertia = _kmeans(x, k, options.n_init, options.seed)
        jaccard = _stability(x, labels, k, resamples, boot_seeds, options.bootstrap_n_init)
        shares = np.bincount(labels, minlength=k) / n
        xs, ls = (x, labels) if sub is None else (x[sub], labels[sub])
        silhouette = float(silhouette_score(xs, ls)) if len(np.unique(ls)) > 1 else float("nan")
        admissible = bool(
            jaccard.min() >= options.min_jaccard and shares.min() >= options.min_share
        )
        fits[k] = (labels, centers, jaccard)
        rows.append(
            {
                "k": k,
                "silhouette": silhouette,
                "min_jaccard": float(jaccard.min()),
                "mean_jaccard": float(jaccard.mean()),
                "min_share": float(shares.min()),
                "inertia": float(inertia),
                "admissible": admissible,
                "chosen": False,
            }
        )
    return pd.DataFrame(rows, columns=list(K_TABLE_COLUMNS)), fits


def _gaussian_null_p(
    x: np.ndarray, k: int, inertia: float, options: PersonaOptions, rng: np.random.Generator
) -> float:
    """Monte Carlo p-value of "k-means finds clusters this tight in one Gaussian cloud".

    The statistic is the cluster index (within-cluster SS / total SS, as in SigClust, Liu et
    al. 2008) of the k-means fit; the null draws as many rows from a normal distribution with
    the data's covariance and fits k-means with the same ``n_init``. Bootstrap stability
    alone cannot make this call: k-means cuts a one-dimensional normal into two halves that
    come back on every resample (Jaccard ~0.98), though there is only one group.
    """
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    total = float((centred**2).sum())
    if total <= 0:
        return 1.0
    observed = inertia / total
    cov = np.atleast_2d(np.cov(x, rowvar=False))
    as_tight = 0
    for _ in range(options.n_null):
        draw = rng.multivariate_normal(np.zeros(x.shape[1]), cov, size=n, method="eigh")
        fit = KMeans(n_clusters=k, n_init=options.n_init, random_state=int(rng.integers(2**31 - 1)))
        fit.fit(draw)
        null_total = float(((draw - draw.mean(axis=0)) ** 2).sum())
        as_tight += int(fit.inertia_ / null_total <= observed)
    return (1 + as_tight) / (options.n_null + 1)


def _stability(
    x: np.ndarray,
    labels: np.ndarray,
    k: int,
    resamples: np.ndarray,
    seeds: np.ndarray,
    n_init: int,
) -> np.ndarray:
    """Mean clusterboot Jaccard of each original cluster over the bootstrap resamples.

    The resamples (and their k-means seeds) are shared by every k: common random numbers
    make the k-table compare the values of k, not the luck of their draws.
    """
    scores = np.zeros((len(resamples), k))
    for b, (rows, seed) in enumerate(zip(resamples, seeds, strict=True)):
        boot = KMeans(n_clusters=k, n_init=n_init, random_state=int(seed)).fit(x[rows])
        scores[b] = bootstrap_jaccard(labels[rows], boot.labels_, k)
    return scores.mean(axis=0)


def _trait_z(
    transformed: np.ndarray,
    raw: np.ndarray,
    labels: np.ndarray,
    k: int,
    features: Sequence[str],
) -> np.ndarray:
    """Cluster means in SD units (log1p space) against the right reference population.

    Most features compare with all users. Order-derived features (:data:`ORDER_DERIVED`),
    when ``has_history`` is a feature, compare the cluster's users *with* history against all
    users with history: users without orders carry structural zeros there (frequency 0,
    monetary 0), which drag the overall mean down until every buying cluster looks
    "frequent, high-spend". A cluster without anyone with history gets ``nan`` there.
    """

    def z_of(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
        sd = values.std()
        sd = sd if sd > 1e-12 else 1.0
        return np.array(
            [(values[g].mean() - values.mean()) / sd if g.any() else np.nan for g in groups]
        )

    members = [labels == j for j in range(k)]
    z = np.column_stack([z_of(transformed[:, i], members) for i in range(len(features))])
    if "has_history" in features:
        history = raw[:, list(features).index("has_history")] >= 0.5
        if history.sum() > 1:
            buyers = [m[history] for m in members]
            for i, feature in enumerate(features):
                if feature in ORDER_DERIVED:
                    z[:, i] = z_of(transformed[history, i], buyers)
    return z


def _persona_order(labels: np.ndarray, centers: np.ndarray, k: int) -> np.ndarray:
    """Largest persona first (ties: centroid coordinates), so ids do not depend on the
    arbitrary numbering k-means returns."""
    sizes = np.bincount(labels, minlength=k)
    keys = [(-int(sizes[j]), *np.round(centers[j], 12).tolist()) for j in range(k)]
    return np.array(sorted(range(k), key=lambda j: keys[j]), dtype=int)


def _trait_word(feature: str, z: float) -> str | None:
    high = z > 0
    if feature in TRAIT_WORDS:
        return TRAIT_WORDS[feature][0 if high else 1]
    if feature.startswith("device_"):
        return f"{feature.removeprefix('device_')}-first" if high else None
    return f"{'high' if high else 'low'} {feature}"


def name_personas(features: Sequence[str], z_means: np.ndarray, raw_means: np.ndarray) -> list[str]:
    """Readable unique names from the strongest traits (|z| >= TRAIT_Z), strongest first.

    ``z_means`` (k × features) is each cluster's mean in SD units of the overall mean;
    ``raw_means`` the raw means (read for ``has_history``: a cluster where most users have no
    history is named "no history" and its order-derived traits are left out). Words come from
    :data:`TRAIT_WORDS`, ``device_<x>`` columns give "<x>-first", other columns "high/low
    <column>"; a cluster without a strong trait is "typical". Colliding names take more
    traits (even weaker ones) until they differ; as a last resort a number is appended in
    persona order. Deterministic: ties in |z| follow feature order.
    """
    features = tuple(features)
    z_means = np.atleast_2d(np.asarray(z_means, dtype=float))
    raw_means = np.atleast_2d(np.asarray(raw_means, dtype=float))
    k = z_means.shape[0]
    candidates: list[list[str]] = []
    strong: list[int] = []
    for j in range(k):
        no_history = "has_history" in features and raw_means[j, features.index("has_history")] < 0.5
        ranked = sorted(range(len(features)), key=lambda i: (-abs(z_means[j, i]), i))
        words: list[str] = []
        n_strong = 0
        if no_history:
            words.append(TRAIT_WORDS["has_history"][1])
            n_strong += 1
        for i in ranked:
            feature = features[i]
            if feature == "has_history" and no_history:
                continue
            if no_history and feature in ORDER_DERIVED:
                continue
            word = _trait_word(feature, float(z_means[j, i]))
            if word is None or word in words:
                continue
            words.append(word)
            if abs(z_means[j, i]) >= TRAIT_Z:
                n_strong += 1
        candidates.append(words)
        strong.append(n_strong)

    counts = [min(NAME_TRAITS, s) for s in strong]

    def name_of(j: int) -> str:
        return ", ".join(candidates[j][: counts[j]]) if counts[j] else "typical"

    while True:
        names = [name_of(j) for j in range(k)]
        clashing = {j for j in range(k) if names.count(names[j]) > 1}
        growable = [j for j in sorted(clashing) if counts[j] < len(candidates[j])]
        if not growable:
            break
        for j in growable:
            counts[j] += 1
    unique: list[str] = []
    for name in names:
        candidate, number = name, 1
        while candidate in unique or (candidate != name and candidate in names):
            number += 1
            candidate = f"{name} ({number})"
        unique.append(candidate)
    return unique
