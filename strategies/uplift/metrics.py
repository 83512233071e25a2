"""Ranking metrics for uplift scores: Qini and uplift curves, AUUC, Qini coefficient, uplift@k.

Every function compares ONE treatment arm with control: the caller keeps only the rows of that
arm and of control. Inputs are ``y`` (outcome, binary or continuous), ``treated`` (bool, or 0/1)
and ``score`` (predicted uplift; higher means "target first").

Notation, for the ``n`` rows with the highest scores:

* ``N_t(n)``, ``N_c(n)``: number of treated / control rows among them;
* ``Y_t(n)``, ``Y_c(n)``: sum of ``y`` over those treated / control rows;
* ``N``: all rows; ``Q(N)``, ``U(N)``: the curve values with every row targeted.

Ties. Rows are sorted by score, descending, and rows with *equal* scores enter the curve
together: a curve has one point per distinct score (plus the origin ``n = 0``), never a point
between two tied rows, so no result depends on the order of tied rows. Areas are trapezoids
between consecutive points, i.e. a tie group is drawn as a straight line.

Undefined values. A curve point whose top-``n`` rows hold no control row (or, for the uplift
curve, no treated row) has no control mean to compare with:

* the **uplift curve** is NaN there (``(Ȳ_t − Ȳ_c)·n`` needs both means); areas skip NaN points,
  i.e. the curve is drawn straight from the previous defined point to the next one (the origin
  and ``n = N`` are always defined);
* the **Qini curve** stays defined: with ``N_c(n) = 0`` also ``Y_c(n) = 0`` and the scaled
  control term ``Y_c·N_t/N_c`` is taken as 0, so ``Q(n) = Y_t(n)`` (the convention of
  scikit-uplift and of Radcliffe's optimal Qini curve);
* :func:`uplift_at_k` is NaN when the top ``k`` holds no treated or no control row.

Input problems (length mismatch, NaN, no treated or no control row at all) raise
:class:`~strategies.errors.InputDataError`. Everything is vectorised (one sort + cumulative
sums), so a million rows take well under a second.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError

__all__ = [
    "auuc",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "qini_coefficient",
    "qini_curve",
    "uplift_at_k",
    "uplift_curve",
]


# --------------------------------------------------------------------------------------------
# input checks and the shared cumulative pass
# --------------------------------------------------------------------------------------------


def _as_float(values: Any, what: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"{what} must be numeric: {exc}") from exc
    if out.ndim != 1:
        raise InputDataError(f"{what} must be one-dimensional, got shape {out.shape}")
    return out


def _check(y: Any, treated: Any, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yv = _as_float(y, "y")
    sv = _as_float(score, "score")
    tv_raw = np.asarray(treated)
    if tv_raw.ndim != 1:
        raise InputDataError(f"treated must be one-dimensional, got shape {tv_raw.shape}")
    lengths = {"y": len(yv), "treated": len(tv_raw), "score": len(sv)}
    if len(set(lengths.values())) != 1:
        raise InputDataError(f"y, treated and score must have the same length, got {lengths}")
    if len(yv) == 0:
        raise InputDataError("no rows to evaluate")
    if tv_raw.dtype == bool:
        tv = tv_raw
    else:
        try:
            tf = np.asarray(tv_raw, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputDataError(f"treated must be boolean or 0/1, got {tv_raw.dtype}") from exc
        if not np.isin(tf, (0.0, 1.0)).all():
            bad = pd.unique(tf[~np.isin(tf, (0.0, 1.0))])[:5]
            raise InputDataError(f"treated must be boolean or 0/1, found value(s) {list(bad)}")
        tv = tf == 1.0
    for name, arr in (("y", yv), ("score", sv)):
        n_bad = int((~np.isfinite(arr)).sum())
        if n_bad:
            raise InputDataError(f"{name} has {n_bad} missing or infinite value(s)")
    n_t = int(tv.sum())
    if n_t == 0 or n_t == len(tv):
        group = "control" if n_t else "treated"
        raise InputDataError(
            f"uplift metrics need both treated and control rows; there is no {group} row"
        )
    return yv, tv, sv


def _cumulative(y: np.ndarray, treated: np.ndarray, score: np.ndarray) -> dict[str, np.ndarray]:
    """Cumulative counts and sums at the end of every tie group, origin (n = 0) first."""
    order = np.argsort(-score, kind="stable")
    s, yo, to = score[order], y[order], treated[order]
    last = np.empty(len(s), dtype=bool)
    last[:-1] = s[1:] != s[:-1]
    last[-1] = True
    n = np.flatnonzero(last) + 1
    n_t = np.cumsum(to)[last]
    y_t = np.cumsum(np.where(to, yo, 0.0))[last]
    y_c = np.cumsum(np.where(to, 0.0, yo))[last]

    def with_origin(a: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], a])

    n_all = with_origin(n).astype(np.int64)
    n_treated = with_origin(n_t).astype(np.int64)
    return {
        "n": n_all,
        "n_treated": n_treated,
        "n_control": n_all - n_treated,
        "y_treated": with_origin(y_t).astype(np.float64),
        "y_control": with_origin(y_c).astype(np.float64),
    }


def _qini_values(c: dict[str, np.ndarray]) -> np.ndarray:
    ratio = np.divide(
        c["n_treated"],
        c["n_control"],
        out=np.zeros(len(c["n"]), dtype=np.float64),
        where=c["n_control"] > 0,
    )
    return c["y_treated"] - c["y_control"] * ratio


def _uplift_values(c: dict[str, np.ndarray]) -> np.ndarray:
    nan = np.full(len(c["n"]), np.nan)
    mean_t = np.divide(c["y_treated"], c["n_treated"], out=nan.copy(), where=c["n_treated"] > 0)
    mean_c = np.divide(c["y_control"], c["n_control"], out=nan.copy(), where=c["n_control"] > 0)
    values = (mean_t - mean_c) * c["n"]
    values[0] = 0.0
    return values


def _area(x: np.ndarray, v: np.ndarray) -> float:
    """Trapezoid area over the defined (non-NaN) points."""
    keep = ~np.isnan(v)
    x, v = x[keep].astype(np.float64), v[keep]
    return float(np.sum((x[1:] - x[:-1]) * (v[1:] + v[:-1]) / 2.0))


def _frame(c: dict[str, np.ndarray], column: str, values: np.ndarray) -> pd.DataFrame:
    n = c["n"]
    total = n[-1]
    return pd.DataFrame(
        {
            "n": n,
            "fraction": n / total,
            "n_treated": c["n_treated"],
            "n_control": c["n_control"],
            column: values,
            "random": values[-1] * n / total,
        }
    )


# --------------------------------------------------------------------------------------------
# curves
# --------------------------------------------------------------------------------------------


def qini_curve(y: Any, treated: Any, score: Any) -> pd.DataFrame:
    """The Qini curve: one row per distinct score (best first), plus the origin.

    Columns: ``n`` (rows targeted), ``fraction`` (``n / N``), ``n_treated``, ``n_control``,
    ``qini`` = ``Y_t(n) − Y_c(n)·N_t(n)/N_c(n)`` (incremental outcome among the targeted treated
    rows, control scaled to the treated count; ``Y_t(n)`` when ``N_c(n) = 0``, see the module
    docstring) and ``random`` = ``Q(N)·n/N`` (the expected curve of a random ranking).
    """
    yv, tv, sv = _check(y, treated, score)
    c = _cumulative(yv, tv, sv)
    return _frame(c, "qini", _qini_values(c))


def uplift_curve(y: Any, treated: Any, score: Any) -> pd.DataFrame:
    """The (cumulative) uplift curve: ``uplift`` = ``(Ȳ_t(n) − Ȳ_c(n))·n`` with
    ``Ȳ_t(n) = Y_t(n)/N_t(n)``, ``Ȳ_c(n) = Y_c(n)/N_c(n)``: the incremental outcome if the top
    ``n`` were all treated. NaN where the top ``n`` lacks treated or control rows; 0 at the
    origin. Same other columns as :func:`qini_curve`, ``random`` = ``U(N)·n/N``.
    """
    yv, tv, sv = _check(y, treated, score)
    c = _cumulative(yv, tv, sv)
    return _frame(c, "uplift", _uplift_values(c))


def perfect_qini_curve(y: Any, treated: Any) -> pd.DataFrame:
    """The optimal Qini curve for a **binary** outcome (Radcliffe 2007): the Qini curve of the
    ranking "treated responders first, control responders last, everyone else in between",
    i.e. of the score ``y·t − y·(1 − t)``. With ties grouped this is the straight-line path
    ``(0, 0) → (R_t, R_t) → (N − R_c, R_t) → (N, Q(N))`` (``R_t``, ``R_c``: treated / control
    responders). Used to normalise :func:`qini_coefficient`.
    """
    yv, tv, _ = _check(y, treated, np.zeros(np.size(y)))
    if not np.isin(yv, (0.0, 1.0)).all():
        raise InputDataError("the perfect Qini curve needs a binary outcome (y in {0, 1})")
    perfect = np.where(tv, yv, -yv)
    c = _cumulative(yv, tv, perfect)
    return _frame(c, "qini", _qini_values(c))


def perfect_uplift_curve(y: Any, treated: Any) -> pd.DataFrame:
    """The optimal uplift curve for a **binary** outcome, as scikit-uplift defines it
    (``sklift.metrics.perfect_uplift_curve``): the uplift curve of the score
    ``2·[y = t] + s`` with ``s = y`` when control responders outnumber treated non-responders,
    else ``s = t``: treated responders and control non-responders first, control responders
    and treated non-responders last. Used to normalise :func:`auuc`.

    The top tie group of this ranking holds no control row; the curve is drawn straight from
    the origin to the first defined point; when the holdout has a control non-responder that
    point is ``(n, n)`` and scikit-uplift's zero-filled point for the top group, ``(R_t, R_t)``,
    lies on the same line, so both conventions give the same area.
    """
    yv, tv, _ = _check(y, treated, np.zeros(np.size(y)))
    if not np.isin(yv, (0.0, 1.0)).all():
        raise InputDataError("the perfect uplift curve needs a binary outcome (y in {0, 1})")
    t = tv.astype(np.float64)
    control_responders = int(((yv == 1.0) & ~tv).sum())
    treated_non_responders = int(((yv == 0.0) & tv).sum())
    summand = yv if control_responders > treated_non_responders else t
    perfect = 2.0 * (yv == t) + summand
    c = _cumulative(yv, tv, perfect)
    return _frame(c, "uplift", _uplift_values(c))


# --------------------------------------------------------------------------------------------
# scalar summaries
# --------------------------------------------------------------------------------------------


def auuc(
    y: Any,
    treated: Any,
    score: Any,
    *,
    subtract_random: bool = False,
    normalize: bool = False,
) -> float:
    """Area under the uplift curve per row: ``AUUC = (1/N) ∫₀ᴺ U(n) dn`` (trapezoids between
    the curve points, NaN points skipped), i.e. the curve integrated over the *fraction*
    targeted. Units: outcome units times customers, like ``U`` itself (e.g. incremental visits
    on the whole holdout), so it grows with the holdout size; it is **not** per customer.

    With ``subtract_random=True`` the random ranking's area ``U(N)/2`` is subtracted, so 0
    means "no better than random" (the uplift-curve analogue of the Qini coefficient).

    ``normalize=True`` (binary ``y`` only; ``subtract_random`` is then implied) returns
    ``(A_model − A_random) / (A_perfect − A_random)`` with ``A_perfect`` the area under
    :func:`perfect_uplift_curve`: scikit-uplift's ``uplift_auc_score`` (sklift.metrics,
    ≥ 0.3). 1 for the perfect ranking, 0 for random; NaN when the denominator is not positive.
    """
    yv, tv, sv = _check(y, treated, score)
    c = _cumulative(yv, tv, sv)
    values = _uplift_values(c)
    total = float(c["n"][-1])
    if normalize:
        perfect = perfect_uplift_curve(yv, tv)
        a_random = values[-1] * total / 2.0
        denominator = _area(perfect["n"].to_numpy(), perfect["uplift"].to_numpy()) - a_random
        if not denominator > 0:
            return math.nan
        return (_area(c["n"], values) - a_random) / denominator
    area = _area(c["n"], values) / total
    if subtract_random:
        area -= values[-1] / 2.0
    return area


def qini_coefficient(y: Any, treated: Any, score: Any, *, normalize: bool = False) -> float:
    """Qini coefficient: the area between the Qini curve and the random line, over the fraction
    targeted.

    ``qini_coefficient = (A_model − A_random) / N`` where ``A_model = ∫₀ᴺ Q(n) dn`` (trapezoids
    between the curve points, x in rows) and ``A_random = Q(N)·N/2`` (area under the straight
    line from the origin to ``(N, Q(N))``). Equivalently ``∫₀¹ [Q(fN) − f·Q(N)] df`` over the
    fraction ``f`` targeted. Units: incremental outcome **totals on the evaluated rows** (e.g.
    incremental visits over the whole holdout), not per customer: it doubles when the holdout
    doubles, so compare it only between learners on the same holdout and read the normalised
    value across runs. 0 means random ranking, positive better than random, negative worse.

    ``normalize=True`` (binary ``y`` only) divides by the same area for the optimal curve
    instead of ``N``: ``(A_model − A_random) / (A_perfect − A_random)`` with ``A_perfect`` the
    area under :func:`perfect_qini_curve` (scikit-uplift's ``qini_auc_score`` convention). It is
    1 for the perfect ranking, 0 for random, and NaN when the denominator is not positive
    (e.g. no responder at all).
    """
    yv, tv, sv = _check(y, treated, score)
    c = _cumulative(yv, tv, sv)
    values = _qini_values(c)
    total = float(c["n"][-1])
    a_model = _area(c["n"], values)
    a_random = values[-1] * total / 2.0
    if not normalize:
        return (a_model - a_random) / total
    perfect = perfect_qini_curve(yv, tv)
    a_perfect = _area(perfect["n"].to_numpy(), perfect["qini"].to_numpy())
    denominator = a_perfect - a_random
    if not denominator > 0:
        return math.nan
    return (a_model - a_random) / denominator


def uplift_at_k(y: Any, treated: Any, score: Any, k: float) -> float:
    """``mean(y | treated, top k) − mean(y | control, top k)``.

    ``k`` is a fraction in (0, 1]. The top ``k`` are the ``⌈k·N⌉`` highest-scored rows **plus
    every row tied with the last of them** (ties are never split, so the result does not depend
    on row order; with heavy ties the selection can exceed ``k·N`` rows). NaN when the selection
    holds no treated or no control row: the difference is undefined there, it is not 0.
    """
    if isinstance(k, bool) or not isinstance(k, int | float) or not 0.0 < k <= 1.0:
        raise ConfigError(f"k must be a fraction in (0, 1], got {k!r}")
    yv, tv, sv = _check(y, treated, score)
    n = len(yv)
    n_k = max(1, min(n, math.ceil(k * n - 1e-9)))
    threshold = np.partition(-sv, n_k - 1)[n_k - 1]
    top = -sv <= threshold
    sel_t, sel_c = top & tv, top & ~tv
    if not sel_t.any() or not sel_c.any():
        return math.nan
    return float(yv[sel_t].mean() - yv[sel_c].mean())
