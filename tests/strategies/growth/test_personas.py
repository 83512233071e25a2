"""Personas (strategies.growth.personas): k chosen by bootstrap stability then silhouette,
honest about data without groups, named from planted traits, a JSON model that re-assigns."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from strategies.errors import ConfigError, InputDataError
from strategies.growth.personas import (
    CLUSTER_COLUMNS,
    K_TABLE_COLUMNS,
    PersonaModel,
    PersonaOptions,
    PersonaResult,
    adjusted_rand,
    bootstrap_jaccard,
    fit_personas,
    name_personas,
    stability_across_seeds,
)

GENERIC = ("a", "b", "c", "d")
Data = tuple[pd.DataFrame, np.ndarray]
PERSONA_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "discount_share",
    "tenure_days",
    "has_history",
)


def _frame(values: np.ndarray, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(values, columns=list(columns))
    frame.insert(0, "user_id", [f"u{i:05d}" for i in range(len(frame))])
    return frame


def _blobs(
    sizes: tuple[int, ...] = (150, 150, 150, 150), spread: float = 8.0, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Unit-variance Gaussian blobs whose centres sit ``spread`` apart on separate axes."""
    rng = np.random.default_rng(seed)
    parts, truth = [], []
    for j, size in enumerate(sizes):
        centre = np.zeros(len(GENERIC))
        centre[j % len(GENERIC)] = spread * (1 + j // len(GENERIC))
        parts.append(rng.normal(centre, 1.0, size=(size, len(GENERIC))))
        truth += [j] * size
    order = rng.permutation(sum(sizes))
    return _frame(np.vstack(parts)[order], GENERIC), np.asarray(truth)[order]


def _fast(**changes: object) -> PersonaOptions:
    base: dict[str, object] = {
        "features": GENERIC,
        "log1p": (),
        "k_range": range(2, 7),
        "n_init": 5,
        "n_bootstrap": 20,
        "bootstrap_n_init": 2,
        "seed": 0,
    }
    base.update(changes)
    return PersonaOptions(**base)  # type: ignore[arg-type]


def _customers(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Four planted personas in the contract's features (no device columns)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(["bargain", "loyal", "browser", "new"], n, p=[0.3, 0.2, 0.3, 0.2])
    f = {c: np.zeros(n) for c in PERSONA_FEATURES}
    f["recency_days"][:] = 181.0
    for name, m in ((t, truth == t) for t in ("bargain", "loyal", "browser", "new")):
        k = int(m.sum())
        if name == "bargain":
            f["frequency"][m] = 1 + rng.poisson(5, k)
            f["monetary"][m] = rng.lognormal(np.log(30), 0.3, k)
            f["discount_share"][m] = rng.beta(8, 2, k)
            f["recency_days"][m] = rng.exponential(15, k).clip(0, 180)
            f["tenure_days"][m] = rng.uniform(200, 900, k)
        elif name == "loyal":
            f["frequency"][m] = 1 + rng.poisson(14, k)
            f["monetary"][m] = rng.lognormal(np.log(150), 0.3, k)
            f["discount_share"][m] = rng.beta(1, 8, k)
            f["recency_days"][m] = rng.exponential(6, k).clip(0, 180)
            f["tenure_days"][m] = rng.uniform(400, 1500, k)
        elif name == "browser":
            f["frequency"][m] = 1 + rng.poisson(0.5, k)
            f["monetary"][m] = rng.lognormal(np.log(50), 0.4, k)
            f["discount_share"][m] = rng.beta(1, 4, k)
            f["recency_days"][m] = rng.uniform(40, 180, k)
            f["tenure_days"][m] = rng.uniform(100, 1000, k)
        else:
            f["tenure_days"][m] = rng.uniform(0, 180, k)
    f["has_history"] = (f["frequency"] > 0).astype(float)
    frame = pd.DataFrame(f)
    frame.insert(0, "user_id", [f"c{i:05d}" for i in range(n)])
    return frame, truth


def _customer_options(**changes: object) -> PersonaOptions:
    return _fast(
        features=PERSONA_FEATURES,
        log1p=("frequency", "monetary", "recency_days", "tenure_days"),
        **changes,
    )


@pytest.fixture(scope="module")
def blobs() -> Data:
    return _blobs()


@pytest.fixture(scope="module")
def blob_fit(blobs: Data) -> PersonaResult:
    return fit_personas(blobs[0], _fast())


@pytest.fixture(scope="module")
def customers() -> Data:
    return _customers()


@pytest.fixture(scope="module")
def customer_fit(customers: Data) -> PersonaResult:
    return fit_personas(customers[0], _customer_options())


# -- recovery on clear structure --------------------------------------------------------------


def test_blobs_choose_four_and_recover_the_labels(blobs: Data, blob_fit: PersonaResult) -> None:
    frame, truth = blobs
    assert blob_fit.k == 4
    assert blob_fit.structure_found and blob_fit.warnings == ()
    assert blob_fit.null_p_value <= 0.05
    assert adjusted_rand(truth, blob_fit.assignments["persona"]) >= 0.95
    assert (blob_fit.clusters["jaccard"] >= 0.75).all()
    assert (blob_fit.clusters["share"] >= 0.05).all()
    assert list(blob_fit.assignments["user_id"]) == list(frame["user_id"])


def test_tables_have_the_documented_columns(blob_fit: PersonaResult) -> None:
    table = blob_fit.k_table
    assert tuple(table.columns) == K_TABLE_COLUMNS
    assert list(table["k"]) == [2, 3, 4, 5, 6]
    assert table["chosen"].sum() == 1 and int(table.loc[table["chosen"], "k"].iloc[0]) == 4
    row = table.set_index("k").loc[4]
    assert (
        row["admissible"]
        and row["silhouette"] == table.loc[table["admissible"], "silhouette"].max()
    )
    assert tuple(blob_fit.clusters.columns) == CLUSTER_COLUMNS
    assert list(blob_fit.clusters["persona_id"]) == [1, 2, 3, 4]
    assert blob_fit.clusters["size"].sum() == 600
    profiles = blob_fit.profiles
    assert [*profiles.columns[:4]] == ["persona_id", "persona", "size", "share"]
    assert {*GENERIC, *(f"z_{c}" for c in GENERIC)} <= set(profiles.columns)


def test_stability_across_seeds_on_blobs(blobs: Data) -> None:
    assert stability_across_seeds(blobs[0], _fast(n_null=0), seeds=(0, 1, 2)) >= 0.9


def test_same_seed_gives_identical_names_and_assignments(
    blobs: Data, blob_fit: PersonaResult
) -> None:
    again = fit_personas(blobs[0], _fast())
    pd.testing.assert_frame_equal(again.assignments, blob_fit.assignments)
    pd.testing.assert_frame_equal(again.k_table, blob_fit.k_table)
    assert again.model == blob_fit.model


# -- honesty when there are no groups ---------------------------------------------------------


def test_one_gaussian_cloud_claims_no_structure() -> None:
    frame = _frame(np.random.default_rng(1).normal(size=(600, 4)), GENERIC)
    result = fit_personas(frame, _fast())
    assert not result.k_table["admissible"].any()
    assert not result.structure_found
    assert any("no stable cluster structure" in w for w in result.warnings)


def test_stable_slices_of_a_continuum_are_not_called_groups() -> None:
    """k-means halves a 1-D normal the same way on every resample (Jaccard ~1): stability
    alone would call that structure; the Gaussian-null check must not."""
    frame = _frame(np.random.default_rng(2).normal(size=(600, 1)), ("a",))
    result = fit_personas(frame, _fast(features=("a",), n_null=19))
    assert result.k_table["admissible"].any()  # the trap: stable slices
    assert not result.structure_found
    assert result.null_p_value > 0.05
    assert any("single Gaussian" in w for w in result.warnings)


def test_a_tiny_cluster_makes_its_k_inadmissible() -> None:
    frame, truth = _blobs(sizes=(300, 300, 300, 20), spread=10.0)
    result = fit_personas(frame, _fast(n_null=0))
    row = result.k_table.set_index("k").loc[4]
    assert row["min_share"] < 0.05
    assert row["min_jaccard"] >= 0.75  # stable: only the share rules it out
    assert not row["admissible"]
    assert result.k != 4


# -- names ---------------------------------------------------------------------------------------


def test_names_reflect_the_planted_traits(customers: Data, customer_fit: PersonaResult) -> None:
    frame, truth = customers
    assert customer_fit.k == 4
    assert adjusted_rand(truth, customer_fit.assignments["persona"]) >= 0.9
    names = customer_fit.assignments["persona"].to_numpy()
    majority = pd.crosstab(truth, names).idxmax(axis=1)
    assert "discount-heavy" in majority["bargain"]
    assert "no history" in majority["new"]
    assert "frequent" in majority["loyal"].split(", ") or "high-spend" in majority["loyal"]
    assert "lapsed" in majority["browser"] or "infrequent" in majority["browser"]
    # order-derived words would only restate "never ordered"
    assert not any(w in majority["new"] for w in ("lapsed", "infrequent", "low-spend"))
    assert len(set(customer_fit.model.names)) == 4


def test_colliding_traits_still_get_unique_names() -> None:
    features = ("frequency", "monetary", "tenure_days")
    z = np.array([[2.0, 1.0, 0.3], [2.0, 1.0, -0.3], [2.0, 1.0, 0.3], [0.1, 0.0, 0.0]])
    raw = np.zeros_like(z)
    names = name_personas(features, z, raw)
    assert names == name_personas(features, z, raw)  # deterministic
    assert len(set(names)) == 4
    assert names[0].startswith("frequent, high-spend")
    assert names[1] == "frequent, high-spend, recent-signup"
    assert names[3] == "typical"


# -- the persona model ------------------------------------------------------------------------


def test_model_round_trip_assigns_identically(customers: Data, customer_fit: PersonaResult) -> None:
    frame, _ = customers
    model = customer_fit.model
    restored = PersonaModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored == model
    assigned = restored.assign(frame)
    assert assigned.index.equals(frame.index)
    assert list(assigned) == list(customer_fit.assignments["persona"])
    assert list(restored.assign_ids(frame)) == list(customer_fit.assignments["persona_id"])
    # new customers in another order, with extra columns, score row by row
    batch = frame.sample(50, random_state=3).assign(extra="x")
    expected = customer_fit.assignments.set_index("user_id").loc[batch["user_id"], "persona"]
    assert list(restored.assign(batch)) == list(expected)


def test_assign_names_a_missing_or_bad_column(customer_fit: PersonaResult, customers: Data) -> None:
    frame, _ = customers
    model = customer_fit.model
    with pytest.raises(InputDataError, match="discount_share"):
        model.assign(frame.drop(columns=["discount_share"]))
    with pytest.raises(InputDataError, match="'monetary'.*numeric"):
        model.assign(frame.assign(monetary="lots"))
    with pytest.raises(InputDataError, match="'tenure_days'.*missing or infinite"):
        model.assign(frame.assign(tenure_days=np.where(frame.index == 0, np.nan, 1.0)))
    with pytest.raises(InputDataError, match="'frequency'.*>= 0"):
        model.assign(frame.assign(frequency=-1.0))


def test_from_dict_rejects_foreign_or_broken_models(customer_fit: PersonaResult) -> None:
    data = customer_fit.model.to_dict()
    with pytest.raises(InputDataError, match="kind"):
        PersonaModel.from_dict({**data, "kind": "pickle"})
    with pytest.raises(InputDataError, match="missing keys"):
        PersonaModel.from_dict({k: v for k, v in data.items() if k != "centroids"})
    with pytest.raises(InputDataError, match="one value per feature"):
        PersonaModel.from_dict({**data, "centroids": [c[:-1] for c in data["centroids"]]})
    with pytest.raises(InputDataError, match="unique"):
        PersonaModel.from_dict({**data, "names": [data["names"][0]] * len(data["names"])})


# -- Jaccard, ARI -------------------------------------------------------------------------------


def test_bootstrap_jaccard_matches_a_hand_worked_example() -> None:
    # reference A = {0,1,2}, B = {3,4,5}; resample clusters X = {0,1}, Y = {2,3,4,5}
    # J(A,X) = 2/3, J(A,Y) = 1/6 -> 2/3;  J(B,X) = 0, J(B,Y) = 3/4 -> 3/4
    got = bootstrap_jaccard(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 1, 1, 1]), 2)
    np.testing.assert_allclose(got, [2 / 3, 3 / 4])
    # a point drawn twice counts twice: A = {0,0,1}, X = {0,0}, Y = {1,2}
    # J(A,X) = 2/3, J(A,Y) = 1/4 -> 2/3;  B = {2}: J(B,Y) = 1/2
    got = bootstrap_jaccard(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]), 2)
    np.testing.assert_allclose(got, [2 / 3, 1 / 2])
    # reference cluster 2 has no point in the resample: it dissolved
    got = bootstrap_jaccard(np.array([0, 1]), np.array([0, 1]), 3)
    np.testing.assert_allclose(got, [1.0, 1.0, 0.0])


def test_adjusted_rand_ignores_label_names_and_checks_lengths() -> None:
    assert adjusted_rand(["a", "a", "b", "b"], [7, 7, 3, 3]) == pytest.approx(1.0)
    with pytest.raises(InputDataError, match="same rows"):
        adjusted_rand([0, 1, 1], [0, 1])


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["user_id"]), "'user_id'"),
        (lambda f: f.assign(user_id="same"), "'user_id' must be unique"),
        (lambda f: f.drop(columns=["c"]), r"missing column\(s\) \['c'\]"),
        (lambda f: f.assign(b="x"), "'b' must be numeric"),
        (lambda f: f.assign(d=np.where(f.index == 5, np.inf, f["d"])), "'d' has 1 missing"),
        (lambda f: f.assign(a=np.where(f.index == 5, np.nan, f["a"])), "'a' has 1 missing"),
        (lambda f: f.head(10), "too few"),
    ],
)
def test_fit_rejects_bad_input_naming_the_column(
    blobs: Data, change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    with pytest.raises(InputDataError, match=message):
        fit_personas(change(blobs[0]), _fast())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"features": ()}, "features"),
        ({"features": ("a", "a")}, "features"),
        ({"log1p": ("zzz",)}, "log1p"),
        ({"k_range": (1, 2)}, "k_range"),
        ({"k_range": (2.5,)}, "k_range"),
        ({"n_init": 0}, "n_init"),
        ({"n_bootstrap": 0}, "n_bootstrap"),
        ({"bootstrap_n_init": 0}, "bootstrap_n_init"),
        ({"n_null": -1}, "n_null"),
        ({"min_jaccard": 1.5}, "min_jaccard"),
        ({"min_share": 1.0}, "min_share"),
        ({"seed": -1}, "seed"),
        ({"weights": {"zzz": 1.0}}, "weights"),
        ({"weights": {"a": 0}}, "weights"),
    ],
)
def test_options_name_the_bad_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        _fast(**changes)


def test_default_options_follow_the_contract() -> None:
    options = PersonaOptions()
    assert options.features[:6] == PERSONA_FEATURES
    assert set(options.features[6:]) == {"device_desktop", "device_mobile", "device_tablet"}
    assert set(options.log1p) == {"frequency", "monetary", "recency_days", "tenure_days"}
    assert options.k_range == tuple(range(2, 9))
    assert (options.n_init, options.n_bootstrap, options.min_jaccard, options.min_share) == (
        20,
        50,
        0.75,
        0.05,
    )
