"""The growth SQL rules (issue #14 item 2) on tiny hand-made tables whose expected numbers are
worked out by hand below, and against an independent pandas reimplementation of the contract
on a random small dataset.

The SQL runs on a bare DuckDB connection here (bronze → analysis, audits, features), so the
rules are tested without the engine machinery; tests/strategies/warehouse/test_growth_engine.py
runs the same SQL through the engines (DuckDB, PostgreSQL, Spark) with validation and staging.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd
import pytest

from strategies.engines.dialects import to_dialect
from strategies.errors import ConfigError, InputDataError
from strategies.growth.analysis_sql import (
    ANALYSIS_COLUMNS,
    BRONZE_COLUMNS,
    EXPERIMENT_AUDIT_SQL,
    FEATURE_CUTOFF_SQL,
    GLOBAL_AUDIT_SQL,
    TABLES,
    analysis_sql,
    check_select,
    feature_columns,
    features_sql,
)
from strategies.warehouse.bronze import bronze_select, typed_columns, unparsable_values_sql

PRE_PERIOD_DAYS = 180
DAY = 86_400.0


# --------------------------------------------------------------------------------------------
# The hand-made tables (text, as a CSV export holds them; "" is an empty cell = NULL)
# --------------------------------------------------------------------------------------------


def _frame(columns: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([list(r) for r in rows], columns=columns.split(), dtype=object)


def hand_made_tables() -> dict[str, pd.DataFrame]:
    """Two experiments, six users; every rule of the contract is exercised once (see the
    comments and the expected numbers in the tests).

    E01: [2026-03-02 00:00, 2026-03-16 00:00) UTC; E02: [2026-03-09 00:00, 2026-03-30 00:00).
    Feature cutoff = the earliest start = 2026-03-02T00:00:00Z.
    """
    users = _frame(
        "user_id signup_at country device",
        [
            ("u1", "2025-12-02T00:00:00+00:00", "DE", "mobile"),
            ("u2", "2026-01-01T13:00:00+01:00", "FR", "desktop"),  # = 12:00 UTC
            ("u3", "2026-02-01T00:00:00+00:00", "DE", "tablet"),
            ("u4", "2025-09-03T00:00:00+00:00", "NL", " Mobile "),  # label: trimmed, lower-cased
            ("u5", "2026-02-20T00:00:00+00:00", "DE", "desktop"),
            ("u6", "2026-03-05T00:00:00+00:00", "DE", "mobile"),  # signed up after the cutoff
        ],
    )
    experiments = _frame(
        "experiment_id name description surface start_at end_at control treatment",
        [
            ("E01", "discount_label", "Show the discount", "product", "2026-03-02T00:00:00+00:00",
             "2026-03-16T00:00:00+00:00", "A", "B"),
            ("E02", "trust_badge", "Badge at checkout", "checkout", "2026-03-09T00:00:00+00:00",
             "2026-03-30T00:00:00+00:00", "A", "B"),
        ],
    )  # fmt: skip
    sessions = _frame(
        "session_id user_id started_at device clicked added_to_cart purchased",
        [
            ("s0", "u1", "2026-03-03T09:59:59+00:00", "mobile", "1", "1", "1"),  # 1 s early
            ("s1", "u1", "2026-03-03T10:00:00+00:00", "mobile", "1", "1", ""),  # at 1st exposure
            ("s2", "u1", "2026-03-05T08:00:00+00:00", "mobile", "", "0", "1"),
            ("s3", "u1", "2026-03-16T00:00:00+00:00", "mobile", "1", "1", "1"),  # at E01's end
            ("s4", "u2", "2026-03-10T12:00:00+00:00", "desktop", "0", "0", "0"),
            ("s5", "u2", "2026-03-20T09:00:00+00:00", "desktop", "1", "0", "0"),  # after E01
            ("s6", "u3", "2026-03-11T08:00:00+00:00", "tablet", "1", "1", "1"),  # exposed at +5 s
            ("s7", "u4", "2026-03-04T10:00:00+00:00", "mobile", "1", "0", "0"),
            ("s8", "u4", "2026-03-05T10:00:00+00:00", "mobile", "1", "1", "0"),
            ("s9", "u4", "2026-03-12T00:00:00+00:00", "mobile", "1.0", "1", "1"),  # "1.0" = 1
            ("s10", "u5", "2026-03-29T23:00:00+00:00", "desktop", "1", "0", "0"),
        ],
    )
    exposures = _frame(
        "session_id experiment_id variant exposed_at",
        [
            ("s1", "E01", "A", "2026-03-03T10:00:00+00:00"),  # u1's first exposure
            ("s1", "E01", "A", "2026-03-03T10:00:00+00:00"),  # exact duplicate: collapses
            ("s2", "E01", " A ", "2026-03-05T08:00:00+00:00"),  # later exposure, trimmed label
            ("s4", "E01", "B", "2026-03-10T12:00:00+00:00"),  # u2
            ("s5", "E01", "B", "2026-03-20T09:00:00+00:00"),  # after E01's end: outside
            ("s6", "E01", "A", "2026-03-11T08:00:05+00:00"),  # u3, 5 s into session s6
            ("s7", "E01", "A", "2026-03-04T10:00:00+00:00"),  # u4 sees A ...
            ("s8", "E01", "B", "2026-03-05T10:00:00+00:00"),  # ... and B: both arms of E01
            ("s7", "E02", "B", "2026-03-04T10:00:00+00:00"),  # before E02's start: outside
            ("s9", "E02", "A", "2026-03-12T00:00:00+00:00"),  # u4 in E02, arm A only
            ("s10", "E02", "B", "2026-03-30T00:00:00+00:00"),  # at E02's end: outside
            ("s99", "E02", "A", "2026-03-15T00:00:00+00:00"),  # session unknown: no user
        ],
    )
    orders = _frame(
        "order_id user_id session_id ordered_at amount discount",
        [
            ("o1", "u1", "s1", "2026-03-03T10:30:00+00:00", "50", "10"),  # net 40
            ("o2", " u1", "", "2026-03-04T12:00:00+00:00", "20", "0"),  # no session: counts
            ("o3", "u1", "", "2026-03-03T09:00:00+00:00", "100", "0"),  # before exposure
            ("o4", "u1", "", "2026-02-01T00:00:00+00:00", "30", "5"),  # pre-period
            ("o5", "u1", "", "2026-03-01T23:59:59+00:00", "10", "0"),  # 1 s before cutoff
            ("o6", "u1", "", "2026-03-02T00:00:00+00:00", "70", "7"),  # at the cutoff: not pre
            ("o7", "u4", "s9", "2026-03-12T00:10:00+00:00", "80", "20"),  # E02, net 60
            ("o8", "u2", "", "2026-03-16T00:00:00+00:00", "15", ""),  # at E01's end: out
            ("o9", "u3", "s6", "2026-03-11T08:00:04+00:00", "40", "0"),  # 1 s before exposure
            ("o10", "u2", "", "2026-03-10T12:00:00+00:00", "25", ""),  # at exposure; NULL disc.
            ("o11", "u2", "", "2025-11-01T00:00:00+00:00", "60", "15"),  # pre-period
            ("o12", "u2", "", "2026-01-15T00:00:00+00:00", "40", "0"),  # pre-period
            ("o13", "u4", "", "2025-12-31T00:00:00+00:00", "200", "0"),  # pre-period
        ],
    )
    return {
        "users": users,
        "experiments": experiments,
        "sessions": sessions,
        "exposures": exposures,
        "orders": orders,
    }


# --------------------------------------------------------------------------------------------
# Running the SQL on a bare DuckDB connection
# --------------------------------------------------------------------------------------------


def bronze_connection(frames: Mapping[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (UTC) holding the bronze tables of ``frames`` (text cells)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for table in TABLES:
        frame = frames[table].astype(object).where(frames[table].notna(), None)
        con.register(f"raw_{table}", frame)
        columns = list(frame.columns)
        text = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in columns)
        inner = f'(SELECT {text} FROM "raw_{table}") AS r'
        typed = bronze_select(BRONZE_COLUMNS[table], columns, inner)
        con.execute(f'CREATE TABLE "staged_{table}" AS {typed}')
        for column in typed_columns(BRONZE_COLUMNS[table], columns):
            bad = con.execute(unparsable_values_sql(column, f"staged_{table}")).fetchall()
            if bad:
                raise InputDataError(f"{table}.{column}: {bad[0][0]!r} does not parse")
        select = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'CREATE TABLE "{table}" AS SELECT {select} FROM "staged_{table}"')
    return con


def run_analysis(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    frame = con.sql(analysis_sql()).df()
    frame["first_exposure_at"] = pd.to_datetime(frame["first_exposure_at"], utc=True)
    return frame


def run_features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.sql(features_sql(pre_period_days=PRE_PERIOD_DAYS)).df()


def run_audit(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.Series]:
    per_experiment = con.sql(EXPERIMENT_AUDIT_SQL).df().set_index("experiment_id")
    return per_experiment, con.sql(GLOBAL_AUDIT_SQL).df().iloc[0]


@pytest.fixture(scope="module")
def hand_made():
    con = bronze_connection(hand_made_tables())
    try:
        analysis = run_analysis(con).set_index(["experiment_id", "user_id"])
        features = run_features(con).set_index("user_id")
        per_experiment, table_wide = run_audit(con)
        yield analysis, features, per_experiment, table_wide
    finally:
        con.close()


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


# --------------------------------------------------------------------------------------------
# The rules on the hand-made tables
# --------------------------------------------------------------------------------------------


def test_one_row_per_assigned_user_in_contract_columns(hand_made) -> None:
    analysis, *_ = hand_made
    assert list(analysis.reset_index().columns) == list(ANALYSIS_COLUMNS)
    # u4 is in both arms of E01 (excluded); u5's only exposure is at E02's end (outside); the
    # exposure of unknown session s99 has no user; u6 was never exposed.
    assert list(analysis.index) == [("E01", "u1"), ("E01", "u2"), ("E01", "u3"), ("E02", "u4")]
    assert analysis["variant"].tolist() == ["A", "B", "A", "A"]


def test_first_exposure_and_the_session_boundary(hand_made) -> None:
    analysis, _, per_experiment, _ = hand_made
    u1 = analysis.loc[("E01", "u1")]
    # The duplicate of s1's exposure collapses; the later s2 exposure does not move the first.
    assert u1["first_exposure_at"] == _ts("2026-03-03T10:00:00Z")
    # s0 (one second before the first exposure) is out, s1 (exactly at it) and s2 are in,
    # s3 (exactly at E01's end) is out.
    assert u1["sessions"] == 2
    # s0 and u3's s6 (started 5 s before u3's exposure) are the excluded early sessions of E01;
    # u4's sessions before E02's start are not "before exposure" (they precede the window).
    assert per_experiment.loc["E01", "sessions_before_exposure"] == 2
    assert per_experiment.loc["E02", "sessions_before_exposure"] == 0


def test_null_flags_count_as_zero_and_are_counted(hand_made) -> None:
    analysis, _, _, table_wide = hand_made
    u1 = analysis.loc[("E01", "u1")]
    # s1: clicked 1, cart 1, purchased NULL; s2: clicked NULL, cart 0, purchased 1.
    assert (u1["clicks"], u1["add_to_carts"], u1["purchases"]) == (1, 1, 1)
    assert (u1["clicked"], u1["added_to_cart"], u1["purchased"]) == (1, 1, 1)
    assert (table_wide["null_clicked"], table_wide["null_added_to_cart"]) == (1, 0)
    assert table_wide["null_purchased"] == 1


def test_orders_after_first_exposure_with_or_without_session_net_of_discount(hand_made) -> None:
    analysis, _, _, table_wide = hand_made
    u1 = analysis.loc[("E01", "u1")]
    # o1 (50 - 10, in session s1) and o2 (20 - 0, no session) count; o3 (before the first
    # exposure) and o6 (at the cutoff, also before the exposure) do not.
    assert u1["orders"] == 2
    assert u1["revenue"] == pytest.approx(60.0)
    u2 = analysis.loc[("E01", "u2")]
    # o10 exactly at u2's first exposure counts with its NULL discount as 0; o8 at E01's end
    # does not.
    assert (u2["orders"], u2["revenue"]) == (1, 25.0)
    assert (u2["sessions"], u2["clicks"], u2["clicked"]) == (1, 0, 0)
    # From the cutoff on, o2, o3, o6, o8 and o10 have no session (pre-period orders are not
    # counted: histories have no sessions by design).
    assert table_wide["orders_without_session"] == 5


def test_users_without_sessions_after_exposure_get_zeros(hand_made) -> None:
    analysis, *_ = hand_made
    u3 = analysis.loc[("E01", "u3")]
    # u3's only session started 5 s before the exposure inside it; the order 1 s before the
    # exposure does not count either.
    counted = ["sessions", "clicks", "add_to_carts", "purchases", "orders", "revenue"]
    assert u3[counted].tolist() == [0, 0, 0, 0, 0, 0.0]
    assert u3[["clicked", "added_to_cart", "purchased"]].tolist() == [0, 0, 0]


def test_both_arms_excluded_and_outside_window_ignored(hand_made) -> None:
    analysis, _, per_experiment, _ = hand_made
    assert per_experiment["users_in_both_arms"].to_dict() == {"E01": 1, "E02": 0}
    # u4's B exposure before E02's start does not make u4 a both-arms user there.
    u4 = analysis.loc[("E02", "u4")]
    assert u4["first_exposure_at"] == _ts("2026-03-12T00:00:00Z")
    assert u4[["sessions", "clicks", "add_to_carts", "purchases", "orders"]].tolist() == [
        1, 1, 1, 1, 1
    ]  # fmt: skip
    assert u4["revenue"] == pytest.approx(60.0)
    assert per_experiment["exposures_outside_window"].to_dict() == {"E01": 1, "E02": 2}
    assert per_experiment["duplicate_exposure_rows"].to_dict() == {"E01": 1, "E02": 0}
    assert per_experiment["exposures_without_session"].to_dict() == {"E01": 0, "E02": 1}
    assert per_experiment["assigned_control"].to_dict() == {"E01": 2, "E02": 1}
    assert per_experiment["assigned_treatment"].to_dict() == {"E01": 1, "E02": 0}


def test_features_use_only_orders_before_the_cutoff(hand_made) -> None:
    _, features, _, _ = hand_made
    assert list(features.reset_index().columns) == list(feature_columns())
    u1 = features.loc["u1"]
    # o4 (30 - 5, discounted) and o5 (10, 1 s before the cutoff); o6 at the cutoff is out.
    assert u1["frequency"] == 2
    assert u1["monetary"] == pytest.approx(17.5)
    assert u1["discount_share"] == pytest.approx(0.5)
    assert u1["recency_days"] == pytest.approx(1 / DAY)
    assert u1["tenure_days"] == pytest.approx(90.0)  # 2025-12-02 → 2026-03-02
    assert (u1["has_history"], u1["device_mobile"], u1["device_desktop"]) == (1, 1, 0)
    u2 = features.loc["u2"]
    assert (u2["frequency"], u2["monetary"], u2["discount_share"]) == (2, 42.5, 0.5)
    assert u2["recency_days"] == pytest.approx(46.0)  # 2026-01-15 → 2026-03-02
    assert u2["tenure_days"] == pytest.approx(59.5)  # 2026-01-01 12:00 UTC → 2026-03-02
    u4 = features.loc["u4"]
    assert (u4["frequency"], u4["monetary"], u4["recency_days"]) == (1, 200.0, 61.0)
    assert (u4["tenure_days"], u4["device_mobile"]) == (180.0, 1)
    for user, tenure, device in (("u3", 29.0, "tablet"), ("u5", 10.0, "desktop")):
        row = features.loc[user]
        assert row["recency_days"] == PRE_PERIOD_DAYS + 1
        assert row[["frequency", "monetary", "discount_share", "has_history"]].tolist() == [
            0, 0.0, 0.0, 0
        ]  # fmt: skip
        assert row["tenure_days"] == pytest.approx(tenure)
        assert row[f"device_{device}"] == 1
    # A signup after the cutoff is no pre-period tenure.
    assert features.loc["u6", "tenure_days"] == 0.0


def test_feature_cutoff_is_the_earliest_start() -> None:
    con = bronze_connection(hand_made_tables())
    try:
        cutoff = con.execute(FEATURE_CUTOFF_SQL).fetchall()[0][0]
    finally:
        con.close()
    assert pd.Timestamp(cutoff) == _ts("2026-03-02T00:00:00Z")


# --------------------------------------------------------------------------------------------
# Bronze typing and the check relations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("orders", "amount", "12,50 EUR"),
        ("sessions", "clicked", "yes"),
        ("sessions", "purchased", "0.5"),  # a flag is a whole number
        ("exposures", "exposed_at", "yesterday"),
    ],
)
def test_a_value_that_does_not_parse_is_found_by_column(table, column, value) -> None:
    frames = hand_made_tables()
    frames[table].loc[1, column] = value
    with pytest.raises(InputDataError, match=rf"{table}\.{column}: '{value}'"):
        bronze_connection(frames)


def test_check_columns_flag_rows_that_break_cross_column_rules() -> None:
    frames = hand_made_tables()
    frames["experiments"].loc[1, "end_at"] = "2026-03-09T00:00:00+00:00"  # = start
    frames["experiments"].loc[1, "treatment"] = "A"  # = control, so E02's B is no label
    frames["exposures"].loc[3, "variant"] = "C"
    frames["orders"].loc[2, "amount"] = "0"
    con = bronze_connection(frames)
    try:
        experiments = con.sql(check_select("experiments")).df().set_index("experiment_id")
        exposures = con.sql(check_select("exposures")).df()
        orders = con.sql(check_select("orders")).df().set_index("order_id")
    finally:
        con.close()
    assert experiments["start_before_end"].to_dict() == {"E01": "ok", "E02": "E02"}
    assert experiments["arms_differ"].to_dict() == {"E01": "ok", "E02": "E02"}
    flagged = exposures["variant_of_experiment"].tolist()
    assert (flagged.count("E01: C"), flagged.count("E02: B")) == (1, 2)
    assert flagged.count("ok") == len(exposures) - 3
    assert orders.loc["o3", "amount_positive"] == "o3"
    assert (orders["amount_positive"] == "ok").sum() == len(orders) - 1


def test_every_query_transpiles_for_postgres_and_spark() -> None:
    queries = [
        analysis_sql(),
        EXPERIMENT_AUDIT_SQL,
        GLOBAL_AUDIT_SQL,
        features_sql(pre_period_days=PRE_PERIOD_DAYS),
        *(check_select(t) for t in TABLES),
        *(bronze_select(BRONZE_COLUMNS[t], list(BRONZE_COLUMNS[t]), f"raw_{t}") for t in TABLES),
    ]
    for sql in queries:
        for dialect in ("postgres", "spark"):
            assert to_dialect(sql, dialect)


def test_features_refuse_a_bad_pre_period_or_colliding_devices() -> None:
    with pytest.raises(ConfigError, match="pre_period_days"):
        features_sql(pre_period_days=0)
    with pytest.raises(ConfigError, match="collide"):
        features_sql(pre_period_days=PRE_PERIOD_DAYS, devices=("Smart TV", "smart-tv"))


# --------------------------------------------------------------------------------------------
# An independent pandas implementation of the contract, on random small data
# --------------------------------------------------------------------------------------------

START = pd.Timestamp("2026-03-02T00:00:00Z")


def random_tables(seed: int, n_users: int = 60, n_experiments: int = 3) -> dict[str, pd.DataFrame]:
    """Random text tables with the contract's mess: NULL flags, duplicate exposures, users in
    both arms, exposures outside the window or of unknown sessions, orders without a session,
    pre-period histories, timestamps on whole seconds in several offsets."""
    rng = np.random.default_rng(seed)

    zones = [dt.UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5))]

    def iso(ts: pd.Timestamp) -> str:
        return ts.tz_convert(zones[int(rng.integers(len(zones)))]).isoformat()

    def at(day_lo: float, day_hi: float) -> pd.Timestamp:
        return START + pd.Timedelta(seconds=int(rng.uniform(day_lo, day_hi) * 86_400))

    users = pd.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n_users)],
            "signup_at": [iso(at(-400, 5)) for _ in range(n_users)],
            "country": rng.choice(["DE", "FR", "NL"], n_users),
            "device": rng.choice(["mobile", "desktop", "tablet", ""], n_users),
        }
    )
    starts = [int(rng.integers(0, 8)) for _ in range(n_experiments)]
    experiments = pd.DataFrame(
        {
            "experiment_id": [f"E{i + 1:02d}" for i in range(n_experiments)],
            "name": [f"exp_{i}" for i in range(n_experiments)],
            "description": "d",
            "surface": "page",
            "start_at": [(START + pd.Timedelta(days=s)).isoformat() for s in starts],
            "end_at": [
                (START + pd.Timedelta(days=s + int(rng.integers(7, 20)))).isoformat()
                for s in starts
            ],
            "control": "A",
            "treatment": "B",
        }
    )
    flags = np.array(["0", "1", ""])
    sessions, exposures, orders = [], [], []
    arms: dict[tuple[str, int], str] = {}
    for u in users["user_id"]:
        for _ in range(int(rng.integers(0, 7))):
            sid = f"s{len(sessions):04d}"
            started = at(0, 28)
            sessions.append(
                [sid, u, iso(started), "mobile", *rng.choice(flags, 3, p=[0.55, 0.35, 0.1])]
            )
            for e in range(n_experiments):
                if rng.random() < 0.5:
                    arm = arms.setdefault((u, e), str(rng.choice(["A", "B"])))
                    if rng.random() < 0.05:
                        arm = "B" if arm == "A" else "A"  # a user may end up in both arms
                    shown = started + pd.Timedelta(seconds=int(rng.choice([0, 0, 3, 60])))
                    row = [sid, f"E{e + 1:02d}", arm, iso(shown)]
                    exposures.append(row)
                    if rng.random() < 0.1:
                        exposures.append(list(row))  # exact duplicate
            if rng.random() < 0.4:
                when = started + pd.Timedelta(seconds=int(rng.integers(0, 3600)))
                orders.append([u, sid, iso(when)])
        for _ in range(int(rng.integers(0, 4))):
            orders.append([u, "", iso(at(-180, 0))])  # pre-period history
        if rng.random() < 0.2:
            orders.append([u, "", iso(at(0, 28))])  # experiment period, no session
    exposures.append(["s9999", "E01", "A", iso(at(1, 5))])  # unknown session
    order_rows = []
    for i, (u, sid, when) in enumerate(orders):
        amount = round(float(rng.uniform(5, 200)), 2)
        discount = round(amount * float(rng.choice([0, 0, 0.1, 0.3])), 2)
        shown = "" if rng.random() < 0.05 else f"{discount}"
        order_rows.append([f"o{i:05d}", u, sid, when, f"{amount}", shown])
    return {
        "users": users.astype(object),
        "experiments": experiments.astype(object),
        "sessions": pd.DataFrame(sessions, columns=list(BRONZE_COLUMNS["sessions"])),
        "exposures": pd.DataFrame(exposures, columns=list(BRONZE_COLUMNS["exposures"])),
        "orders": pd.DataFrame(order_rows, columns=list(BRONZE_COLUMNS["orders"])),
    }


def _typed(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The raw text as pandas types it (independently of the SQL's bronze)."""
    out = {t: f.replace({"": None}).copy() for t, f in frames.items()}
    for table, kinds in BRONZE_COLUMNS.items():
        frame = out[table]
        for column, kind in kinds.items():
            if kind == "timestamp":
                frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
            elif kind in ("number", "flag"):
                frame[column] = pd.to_numeric(frame[column])
            elif frame[column].dtype == object:
                frame[column] = frame[column].map(lambda v: v.strip() if isinstance(v, str) else v)
    return out


def pandas_analysis(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The contract's analysis-ready table, by pandas."""
    t = _typed(frames)
    exp = t["experiments"].set_index("experiment_id")
    x = t["exposures"].drop_duplicates()
    x = x.merge(t["sessions"][["session_id", "user_id"]], on="session_id", how="inner")
    x = x.join(exp[["start_at", "end_at"]], on="experiment_id")
    x = x[(x["exposed_at"] >= x["start_at"]) & (x["exposed_at"] < x["end_at"])]
    grouped = x.groupby(["experiment_id", "user_id"])
    assigned = grouped.agg(
        variant=("variant", "first"),
        n_variants=("variant", "nunique"),
        first_exposure_at=("exposed_at", "min"),
        end_at=("end_at", "first"),
    ).reset_index()
    assigned = assigned[assigned["n_variants"] == 1]
    rows = []
    sessions, orders = t["sessions"], t["orders"]
    for a in assigned.itertuples(index=False):
        s = sessions[
            (sessions["user_id"] == a.user_id)
            & (sessions["started_at"] >= a.first_exposure_at)
            & (sessions["started_at"] < a.end_at)
        ]
        o = orders[
            (orders["user_id"] == a.user_id)
            & (orders["ordered_at"] >= a.first_exposure_at)
            & (orders["ordered_at"] < a.end_at)
        ]
        clicks = int((s["clicked"].fillna(0) == 1).sum())
        carts = int((s["added_to_cart"].fillna(0) == 1).sum())
        purchases = int((s["purchased"].fillna(0) == 1).sum())
        rows.append(
            {
                "experiment_id": a.experiment_id,
                "user_id": a.user_id,
                "variant": a.variant,
                "first_exposure_at": a.first_exposure_at,
                "sessions": len(s),
                "clicks": clicks,
                "add_to_carts": carts,
                "purchases": purchases,
                "orders": len(o),
                "revenue": float((o["amount"] - o["discount"].fillna(0)).sum()),
                "clicked": int(clicks > 0),
                "added_to_cart": int(carts > 0),
                "purchased": int(purchases > 0),
            }
        )
    frame = pd.DataFrame(rows, columns=list(ANALYSIS_COLUMNS))
    return frame.sort_values(["experiment_id", "user_id"]).reset_index(drop=True)


def pandas_features(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The contract's persona features, by pandas."""
    t = _typed(frames)
    cutoff = t["experiments"]["start_at"].min()
    pre = t["orders"][t["orders"]["ordered_at"] < cutoff].copy()
    pre["net"] = pre["amount"] - pre["discount"].fillna(0)
    pre["discounted"] = pre["discount"].fillna(0) > 0
    rows = []
    for u in t["users"].itertuples(index=False):
        mine = pre[pre["user_id"] == u.user_id]
        n = len(mine)
        device = u.device.lower() if isinstance(u.device, str) else None
        rows.append(
            {
                "user_id": u.user_id,
                "recency_days": (cutoff - mine["ordered_at"].max()).total_seconds() / 86_400
                if n
                else PRE_PERIOD_DAYS + 1.0,
                "frequency": n,
                "monetary": float(mine["net"].mean()) if n else 0.0,
                "discount_share": float(mine["discounted"].mean()) if n else 0.0,
                "tenure_days": max((cutoff - u.signup_at).total_seconds() / 86_400, 0.0),
                **{f"device_{d}": int(device == d) for d in ("desktop", "mobile", "tablet")},
                "has_history": int(n > 0),
            }
        )
    return pd.DataFrame(rows).sort_values("user_id").reset_index(drop=True)


def assert_frames_match(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal up to dtype width and float rounding (sums in another order)."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for column in want.columns:
        left, right = got[column].reset_index(drop=True), want[column].reset_index(drop=True)
        if pd.api.types.is_float_dtype(right) or pd.api.types.is_float_dtype(left):
            np.testing.assert_allclose(left.astype(float), right.astype(float), rtol=1e-9)
        elif pd.api.types.is_datetime64_any_dtype(right):
            assert (pd.to_datetime(left, utc=True) == pd.to_datetime(right, utc=True)).all()
        else:
            assert left.astype(str).tolist() == right.astype(str).tolist(), column


@pytest.mark.parametrize("seed", [1, 2])
def test_sql_equals_an_independent_pandas_implementation(seed) -> None:
    frames = random_tables(seed)
    con = bronze_connection(frames)
    try:
        analysis, features = run_analysis(con), run_features(con)
        per_experiment, _ = run_audit(con)
    finally:
        con.close()
    want = pandas_analysis(frames)
    assert len(want) > 30 and want["orders"].sum() > 0  # the data exercises the rules
    assert per_experiment["users_in_both_arms"].sum() > 0
    assert per_experiment["duplicate_exposure_rows"].sum() > 0
    assert_frames_match(analysis, want)
    assert_frames_match(features, pandas_features(frames))
