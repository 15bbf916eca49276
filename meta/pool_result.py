"""Result objects of :func:`meta.pool`: typed, frozen, printable as metafor prints them.

:class:`PoolResult` holds one pooled analysis on the yi scale; ``exp()``, ``predict()`` and
``confint()`` give the back-transformed view, metafor's ``predict.rma`` and ``confint.rma.uni``.
``notes`` says, in words, every place where the result departs from the plain textbook recipe
(an ad hoc floor applied, a test that fell back to z, no prediction interval below k = 3, ...).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _fmt(x: float | None, digits: int = 4) -> str:
    return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    return "NA" if math.isnan(p) else ("<.0001" if p < 1e-4 else f"{p:.4f}")


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else math.nan


@dataclass(frozen=True)
class Prediction:
    """Predicted (average) effect with CI and prediction interval (metafor ``predict.rma``)."""

    pred: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    level: float
    pi: str = "t"


@dataclass(frozen=True)
class Tau2Interval:
    """Q-profile confidence interval of τ² and τ (metafor ``confint.rma.uni``).

    ``low_sign`` / ``high_sign`` are metafor's ``lb.sign`` / ``ub.sign``: ``"<"`` when the bound lies
    below the search range (both bounds below 0: the CI is the empty set), ``">"`` when it lies beyond
    its upper end (the bound shown is that end), else ``""``.
    """

    tau2: float
    ci_low: float
    ci_high: float
    tau: float
    tau_ci_low: float
    tau_ci_high: float
    level: float
    low_sign: str = ""
    high_sign: str = ""

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        return (f"tau^2 = {_fmt(self.tau2)} ({pct} CI {self.low_sign}{_fmt(self.ci_low)}, "
                f"{self.high_sign}{_fmt(self.ci_high)})")


@dataclass(frozen=True)
class ExpPoolResult:
    """A pooled ratio measure back-transformed with ``exp`` (estimate, CI and PI only)."""

    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    p_value: float
    k: int
    level: float
    method: str
    test: str
    scale: str = "exp"

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        pi = "" if math.isnan(self.pi_low) else f"; {pct} PI {_fmt(self.pi_low)} to {_fmt(self.pi_high)}"
        return (
            f"Pooled ratio (exp scale; k = {self.k}; {self.method}, test = {self.test}): "
            f"{_fmt(self.estimate)} ({pct} CI {_fmt(self.ci_low)} to {_fmt(self.ci_high)}), "
            f"p = {_fmt_p(self.p_value)}{pi}"
        )


@dataclass(frozen=True, eq=False)
class PoolResult:
    """Result of :func:`meta.pool` (attributes as DESIGN.md "Python API of meta/"), on the yi scale.

    ``stat`` is metafor's ``zval`` (a t value for knha/adhoc), ``weights`` are percent,
    ``version`` and ``input_sha256`` record the code version and a checksum of (yi, vi); ``pi`` is the
    prediction-interval type ("t" or "z"); ``notes`` explains every departure from the plain recipe;
    ``tau2_ci_low_sign`` / ``tau2_ci_high_sign`` are metafor's ``"<"`` / ``">"`` bound markers.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    stat: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    h2: float
    q: float
    q_df: float
    q_p: float
    pi_low: float
    pi_high: float
    weights: NDArray[np.float64] = field(repr=False)
    converged: bool
    k: int
    method: str
    test: str
    level: float
    version: str = ""
    input_sha256: str = ""
    pi: str = "t"
    notes: tuple[str, ...] = ()
    tau2_ci_low_sign: str = ""
    tau2_ci_high_sign: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (NaN becomes None, ``weights`` a list, ``notes`` a list)."""
        out: dict[str, Any] = {}
        for key, val in asdict(self).items():
            if isinstance(val, np.ndarray):
                val = [None if math.isnan(x) else float(x) for x in val]
            elif isinstance(val, float | np.floating):
                val = None if math.isnan(val) else float(val)
            elif isinstance(val, np.bool_ | np.integer):
                val = val.item()
            elif isinstance(val, tuple):
                val = list(val)
            out[key] = val
        return out

    def exp(self) -> ExpPoolResult:
        """Back-transform estimate, CI and PI with ``exp`` (for log HR / OR / RR)."""
        return ExpPoolResult(
            estimate=math.exp(self.estimate), ci_low=math.exp(self.ci_low), ci_high=math.exp(self.ci_high),
            pi_low=math.exp(self.pi_low), pi_high=math.exp(self.pi_high), p_value=self.p_value,
            k=self.k, level=self.level, method=self.method, test=self.test,
        )  # fmt: skip

    def predict(self) -> Prediction:
        """Average effect with its CI and the prediction interval (metafor ``predict`` for pi="z")."""
        return Prediction(self.estimate, self.se, self.ci_low, self.ci_high, self.pi_low, self.pi_high,
                          self.level, self.pi)

    def confint(self) -> Tau2Interval:
        """Q-profile CI for τ² and τ (metafor ``confint``)."""
        return Tau2Interval(
            self.tau2, self.tau2_ci_low, self.tau2_ci_high, _sqrt(self.tau2),
            _sqrt(self.tau2_ci_low), _sqrt(self.tau2_ci_high), self.level,
            self.tau2_ci_low_sign, self.tau2_ci_high_sign,
        )  # fmt: skip

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        sname = "zval" if self.test == "z" or self.k == 1 else "tval"
        model = "Common-Effect Model" if self.method == "FE" else "Random-Effects Model"
        est = "" if self.method == "FE" else f"; tau^2 estimator: {self.method}"
        lines = [f"{model} (k = {self.k}{est}; test = {self.test})", ""]
        if self.method != "FE":
            lines.append(
                f"tau^2: {_fmt(self.tau2)} ({pct} CI {self.tau2_ci_low_sign}{_fmt(self.tau2_ci_low)}, "
                f"{self.tau2_ci_high_sign}{_fmt(self.tau2_ci_high)})"
            )
        lines.append(f"I^2:   {_fmt(self.i2, 2)}%")
        lines.append(f"H^2:   {_fmt(self.h2)}")
        q_df = "NA" if math.isnan(self.q_df) else f"{self.q_df:g}"
        lines += ["", f"Test for Heterogeneity: Q(df = {q_df}) = {_fmt(self.q)}, p-val {_fmt_p(self.q_p)}", ""]
        lines.append(f"{'estimate':>10} {'se':>8} {sname:>8} {'pval':>8} {'ci.lb':>8} {'ci.ub':>8}")
        lines.append(
            f"{_fmt(self.estimate):>10} {_fmt(self.se):>8} {_fmt(self.stat):>8} {_fmt_p(self.p_value):>8} "
            f"{_fmt(self.ci_low):>8} {_fmt(self.ci_high):>8}"
        )
        if not math.isnan(self.pi_low):
            how = "t(k - 2)" if self.pi == "t" else "metafor predict()"
            lines += ["", f"{pct} prediction interval ({how}): [{_fmt(self.pi_low)}, {_fmt(self.pi_high)}]"]
        if not self.converged:
            lines.append("WARNING: the τ² estimate did not converge (converged = False).")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)
