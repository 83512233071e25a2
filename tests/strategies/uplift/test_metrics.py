"""Qini / uplift curves, AUUC, Qini coefficient and uplift@k against hand-computed examples and a
brute-force loop implementation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from strategies.errors import ConfigError, InputDataError
from strategies.uplift.metrics import (
    auuc,
    perfect_qini_curve,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_curve,
)

# Eight rows, distinct scores, already sorted best first.
#
#  row score treated y | n  N_t N_c Y_t Y_c | qini = Y_t - Y_c*N_t/N_c | uplift = (Yb_t - Yb_c)*n
#   1   0.9    T    1  | 1   1   0   1   0  | 1  (N_c = 0: Y_t)        | NaN (no control mean)
#   2   0.8    C    0  | 2   1   1   1   0  | 1 - 0       = 1         | (1 - 0)*2     = 2
#   3   0.7    T    1  | 3   2   1   2   0  | 2 - 0       = 2         | (1 - 0)*3     = 3
#   4   0.6    C    1  | 4   2   2   2   1  | 2 - 1*2/2   = 1         | (1 - 1/2)*4   = 2
#   5   0.5    T    0  | 5   3   2   2   1  | 2 - 1*3/2   = 1/2       | (2/3 - 1/2)*5 = 5/6
#   6   0.4    C    0  | 6   3   3   2   1  | 2 - 1*3/3   = 1         | (2/3 - 1/3)*6 = 2
#   7   0.3    T    0  | 7   4   3   2   1  | 2 - 1*4/3   = 2/3       | (1/2 - 1/3)*7 = 7/6
#   8   0.2    C    1  | 8   4   4   2   2  | 2 - 2*4/4   = 0         | (1/2 - 1/2)*8 = 0
#
# Qini area (unit steps, trapezoids) = interior values + ends/2 = 1+1+2+1+1/2+1+2/3 = 43/6;
# random line is 0 (Q(N) = 0), so qini_coefficient = (43/6) / 8 = 43/48.
# Perfect curve: R_t = 2 treated responders, R_c = 2 control responders:
# (0,0) -> (2,2) -> (6,2) -> (8,0), area 2 + 8 + 2 = 12, normalised = (43/6) / 12 = 43/72.
# Uplift area, NaN at n=1 skipped (straight line (0,0)->(2,2)):
# 2 + 5/2 + 5/2 + 17/12 + 17/12 + 19/12 + 7/12 = 12, AUUC = 12 / 8 = 3/2.
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
TREATED = np.array([1, 0, 1, 0, 1, 0, 1, 0], dtype=bool)
Y = np.array([1, 0, 1, 1, 0, 0, 0, 1], dtype=float)

# Six rows with ties: scores 3 | 2 2 2 | 1 1 (tied rows enter together).
#  group  rows                 | n  N_t N_c Y_t Y_c | qini            | uplift
#  s=3    (T,1)                | 1   1   0   1   0  | 1               | NaN
#  s=2    (C,1) (T,0) (T,1)    | 4   3   1   2   1  | 2 - 1*3/1 = -1  | (2/3 - 1)*4 = -4/3
#  s=1    (C,0) (T,0)          | 6   4   2   2   1  | 2 - 1*4/2 = 0   | (1/2 - 1/2)*6 = 0
# Qini area: (0+1)/2*1 + (1-1)/2*3 + (-1+0)/2*2 = 1/2 + 0 - 1 = -1/2 -> coefficient -1/12.
TIE_SCORE = np.array([3, 2, 2, 2, 1, 1], dtype=float)
TIE_TREATED = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
TIE_Y = np.array([1, 1, 0, 1, 0, 0], dtype=float)


def brute_force_curves(y, treated, score):
    """Per distinct score, best first: select every row with score >= threshold and compute
    the Qini and uplift values with plain Python sums."""
    rows = [(0, 0.0, 0.0)]
    for threshold in sorted(set(score.tolist()), reverse=True):
        sel = [i for i in range(len(y)) if score[i] >= threshold]
        t = [y[i] for i in sel if treated[i]]
        c = [y[i] for i in sel if not treated[i]]
        qini = sum(t) - (sum(c) * len(t) / len(c) if c else 0.0)
        uplift = (sum(t) / len(t) - sum(c) / len(c)) * len(sel) if t and c else math.nan
        rows.append((len(sel), qini, uplift))
    return rows


def brute_force_area(xs, vs):
    pts = [(x, v) for x, v in zip(xs, vs, strict=True) if not math.isnan(v)]
    return sum(
        (x1 - x0) * (v0 + v1) / 2 for (x0, v0), (x1, v1) in zip(pts[:-1], pts[1:], strict=True)
    )


def test_qini_curve_hand_computed():
    curve = qini_curve(Y, TREATED, SCORE)
    assert list(curve.columns) == ["n", "fraction", "n_treated", "n_control", "qini", "random"]
    assert curve["n"].tolist() == list(range(9))
    np.testing.assert_allclose(curve["qini"], [0, 1, 1, 2, 1, 0.5, 1, 2 / 3, 0])
    np.testing.assert_allclose(curve["random"], 0.0)
    np.testing.assert_allclose(curve["fraction"], np.arange(9) / 8)
    assert curve["n_treated"].tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_uplift_curve_hand_computed():
    curve = uplift_curve(Y, TREATED, SCORE)
    expected = [0, np.nan, 2, 3, 2, 5 / 6, 2, 7 / 6, 0]
    np.testing.assert_allclose(curve["uplift"], expected)


def test_scalar_metrics_hand_computed():
    assert qini_coefficient(Y, TREATED, SCORE) == pytest.approx(43 / 48)
    assert qini_coefficient(Y, TREATED, SCORE, normalize=True) == pytest.approx(43 / 72)
    assert auuc(Y, TREATED, SCORE) == pytest.approx(1.5)
    assert auuc(Y, TREATED, SCORE, subtract_random=True) == pytest.approx(1.5)
    perfect = perfect_qini_curve(Y, TREATED)
    assert perfect["n"].tolist() == [0, 2, 6, 8]
    np.testing.assert_allclose(perfect["qini"], [0, 2, 2, 0])


def test_uplift_at_k_hand_computed():
    # top 4: treated y (1, 1) mean 1, control y (0, 1) mean 1/2
    assert uplift_at_k(Y, TREATED, SCORE, 0.5) == pytest.approx(0.5)
    # top 2: treated (1), control (0)
    assert uplift_at_k(Y, TREATED, SCORE, 0.25) == pytest.approx(1.0)
    # k = 0.3 -> ceil(2.4) = 3 rows: treated (1, 1), control (0)
    assert uplift_at_k(Y, TREATED, SCORE, 0.3) == pytest.approx(1.0)
    # whole population: 2/4 - 2/4
    assert uplift_at_k(Y, TREATED, SCORE, 1.0) == pytest.approx(0.0)


def test_top_rows_all_treated_is_nan_not_a_crash():
    # top 1 row is treated only: the control mean is undefined
    assert math.isnan(uplift_at_k(Y, TREATED, SCORE, 0.125))
    # the Qini curve stays defined there (scaled control term taken as 0)
    assert qini_curve(Y, TREATED, SCORE)["qini"].iloc[1] == 1.0
    # a score that puts every treated row first: uplift curve NaN until control rows enter
    score = TREATED.astype(float)
    curve = uplift_curve(Y, TREATED, score)
    assert curve["n"].tolist() == [0, 4, 8]
    assert math.isnan(curve["uplift"].iloc[1])
    assert np.isfinite(auuc(Y, TREATED, score))


def test_ties_enter_together_hand_computed():
    curve = qini_curve(TIE_Y, TIE_TREATED, TIE_SCORE)
    assert curve["n"].tolist() == [0, 1, 4, 6]
    np.testing.assert_allclose(curve["qini"], [0, 1, -1, 0])
    np.testing.assert_allclose(
        uplift_curve(TIE_Y, TIE_TREATED, TIE_SCORE)["uplift"], [0, np.nan, -4 / 3, 0]
    )
    assert qini_coefficient(TIE_Y, TIE_TREATED, TIE_SCORE) == pytest.approx(-1 / 12)
    # k = 0.5 -> 3 rows, but the 3rd is tied with rows 2-4: all of score 2 come in
    # treated (1, 0, 1) mean 2/3, control (1) -> -1/3
    assert uplift_at_k(TIE_Y, TIE_TREATED, TIE_SCORE, 0.5) == pytest.approx(-1 / 3)


def test_ties_result_does_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    for _ in range(5):
        perm = rng.permutation(len(TIE_Y))
        args = (TIE_Y[perm], TIE_TREATED[perm], TIE_SCORE[perm])
        assert qini_coefficient(*args) == pytest.approx(-1 / 12)
        assert uplift_at_k(*args, 0.5) == pytest.approx(-1 / 3)
        assert qini_curve(*args)["qini"].tolist() == pytest.approx([0, 1, -1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("binary", [True, False])
def test_matches_brute_force_with_ties(seed, binary):
    rng = np.random.default_rng(seed)
    n = 300
    treated = rng.random(n) < 0.4
    score = np.round(rng.normal(size=n), 1)  # many ties
    y = (rng.random(n) < 0.3).astype(float) if binary else rng.gamma(2.0, 10.0, n)
    expected = brute_force_curves(y, treated, score)
    q = qini_curve(y, treated, score)
    u = uplift_curve(y, treated, score)
    assert q["n"].tolist() == [r[0] for r in expected]
    np.testing.assert_allclose(q["qini"], [r[1] for r in expected], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(u["uplift"], [r[2] for r in expected], rtol=1e-10, atol=1e-9)
    xs = [r[0] for r in expected]
    q_n = expected[-1][1]
    area = brute_force_area(xs, [r[1] for r in expected])
    assert qini_coefficient(y, treated, score) == pytest.approx((area - q_n * n / 2) / n)
    assert auuc(y, treated, score) == pytest.approx(
        brute_force_area(xs, [r[2] for r in expected]) / n
    )
    for k in (0.1, 0.3, 0.77, 1.0):
        n_k = math.ceil(k * n)
        threshold = sorted(score, reverse=True)[n_k - 1]
        sel = score >= threshold
        want = y[sel & treated].mean() - y[sel & ~treated].mean()
        assert uplift_at_k(y, treated, score, k) == pytest.approx(want)


def test_perfect_ranking_normalises_to_one_and_random_to_about_zero():
    rng = np.random.default_rng(7)
    n = 20_000
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < np.where(treated, 0.3, 0.2)).astype(float)
    perfect = np.where(treated, y, -y)
    assert qini_coefficient(y, treated, perfect, normalize=True) == pytest.approx(1.0)
    random_score = rng.random(n)
    assert abs(qini_coefficient(y, treated, random_score, normalize=True)) < 0.1
    assert qini_coefficient(y, treated, perfect) > 0
    # reversed ranking is worse than random
    assert qini_coefficient(y, treated, -perfect) < 0


def test_normalize_needs_binary_outcome():
    with pytest.raises(InputDataError, match="binary"):
        qini_coefficient(np.array([0.0, 2.5, 1.0, 0.0]), [1, 0, 1, 0], [4, 3, 2, 1], normalize=True)


def test_accepts_pandas_and_integer_treatment():
    frame = pd.DataFrame({"y": Y, "t": TREATED.astype(int), "s": SCORE})
    assert qini_coefficient(frame["y"], frame["t"], frame["s"]) == pytest.approx(43 / 48)


def test_vectorised_on_many_rows_is_fast():
    rng = np.random.default_rng(0)
    n = 300_000
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < 0.1).astype(float)
    score = rng.random(n)
    curve = qini_curve(y, treated, score)
    assert len(curve) == len(np.unique(score)) + 1
    assert curve["n"].iloc[-1] == n


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((Y[:-1], TREATED, SCORE), "same length"),
        ((np.r_[Y[:-1], np.nan], TREATED, SCORE), "missing"),
        ((Y, TREATED, np.r_[SCORE[:-1], np.nan]), "missing"),
        ((Y, np.ones(8, dtype=bool), SCORE), "no control"),
        ((Y, np.zeros(8, dtype=bool), SCORE), "no treated"),
        ((Y, np.array([0, 1, 2, 0, 1, 0, 1, 0]), SCORE), "0/1"),
        ((np.array([]), np.array([], dtype=bool), np.array([])), "no rows"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(InputDataError, match=match):
        qini_curve(*args)


@pytest.mark.parametrize("k", [0, -0.1, 1.5, True])
def test_bad_k(k):
    with pytest.raises(ConfigError, match="fraction"):
        uplift_at_k(Y, TREATED, SCORE, k)


# --- normalised Qini and normalised AUUC against scikit-uplift's published definitions --------
#
# scikit-uplift (sklift.metrics, >= 0.3): ``qini_auc_score`` and ``uplift_auc_score`` are
# (area(model) - area(random line)) / (area(perfect) - area(random line)) with x in rows,
# trapezoids (sklearn.metrics.auc), one curve point per distinct score; a curve value whose
# top-n lacks one group takes that group's mean (uplift) or scaled control sum (Qini) as 0. The
# perfect Qini curve ranks by y*t - y*(1-t) (negative_effect=True); the perfect uplift curve by
# 2*(y == t) + (y if #control responders > #treated non-responders else t). The reference below
# is a plain loop written from those definitions, not liftlab code.


def _reference_curve(y, t, score, kind):
    xs, vs = [0.0], [0.0]
    for threshold in sorted(set(score.tolist()), reverse=True):
        sel = [i for i in range(len(y)) if score[i] >= threshold]
        yt = [y[i] for i in sel if t[i]]
        yc = [y[i] for i in sel if not t[i]]
        if kind == "qini":
            v = sum(yt) - (sum(yc) * len(yt) / len(yc) if yc else 0.0)
        else:
            mt = sum(yt) / len(yt) if yt else 0.0
            mc = sum(yc) / len(yc) if yc else 0.0
            v = (mt - mc) * len(sel)
        xs.append(float(len(sel)))
        vs.append(v)
    return xs, vs


def _trapezoid(xs, vs):
    return sum((xs[i + 1] - xs[i]) * (vs[i + 1] + vs[i]) / 2 for i in range(len(xs) - 1))


def _reference_normalised(y, t, score, kind):
    y, t, score = np.asarray(y, float), np.asarray(t, bool), np.asarray(score, float)
    if kind == "qini":
        perfect = np.where(t, y, -y)
    else:
        control_responders = int(((y == 1) & ~t).sum())
        treated_non = int(((y == 0) & t).sum())
        summand = y if control_responders > treated_non else t.astype(float)
        perfect = 2.0 * (y == t) + summand
    xm, vm = _reference_curve(y, t, score, kind)
    xp, vp = _reference_curve(y, t, perfect, kind)
    baseline = xp[-1] * vp[-1] / 2
    return (_trapezoid(xm, vm) - baseline) / (_trapezoid(xp, vp) - baseline)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_normalised_qini_and_auuc_match_scikit_uplift_definitions(seed):
    rng = np.random.default_rng(seed)
    n = 300
    treated = rng.random(n) < 0.45
    x = rng.integers(0, 6, n)
    y = (rng.random(n) < 0.15 + 0.05 * x * treated).astype(float)
    # a coarse score: the best tie group holds treated and control rows, so no curve point
    # is undefined and both conventions for undefined points give the same curve
    score = np.round(x + rng.normal(0, 1.5, n)).clip(0, 6)
    top = score == score.max()
    assert treated[top].any() and (~treated[top]).any()
    assert qini_coefficient(y, treated, score, normalize=True) == pytest.approx(
        _reference_normalised(y, treated, score, "qini"), rel=1e-12
    )
    assert auuc(y, treated, score, normalize=True) == pytest.approx(
        _reference_normalised(y, treated, score, "uplift"), rel=1e-12
    )


def test_normalised_auuc_perfect_is_one_random_about_zero_and_needs_binary():
    rng = np.random.default_rng(11)
    n = 20_000
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < np.where(treated, 0.3, 0.2)).astype(float)
    control_responders = int(((y == 1) & ~treated).sum())
    treated_non = int(((y == 0) & treated).sum())
    summand = y if control_responders > treated_non else treated.astype(float)
    perfect = 2.0 * (y == treated) + summand
    assert auuc(y, treated, perfect, normalize=True) == pytest.approx(1.0)
    assert abs(auuc(y, treated, rng.random(n), normalize=True)) < 0.1
    with pytest.raises(InputDataError, match="binary"):
        auuc(np.array([0.0, 2.5, 1.0, 0.0]), [1, 0, 1, 0], [4, 3, 2, 1], normalize=True)


def test_qini_coefficient_is_a_total_not_a_per_customer_number():
    """Doubling the holdout (every row twice) doubles the Qini coefficient: it is in total
    incremental outcomes, while the normalised Qini does not move."""
    y2, t2, s2 = np.tile(Y, 2), np.tile(TREATED, 2), np.tile(SCORE, 2)
    assert qini_coefficient(y2, t2, s2) == pytest.approx(2 * qini_coefficient(Y, TREATED, SCORE))
    assert qini_coefficient(y2, t2, s2, normalize=True) == pytest.approx(
        qini_coefficient(Y, TREATED, SCORE, normalize=True)
    )
