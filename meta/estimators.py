"""Between-study variance (τ²) estimators, vectorised over many meta-analyses ("cells").

Every function takes padded arrays ``Y``, ``V`` of shape (cells, kmax) and a boolean mask ``M`` of
the same shape (``True`` where a study is present) and works on all cells at once: closed-form
estimators are pure array maths, iterative ones iterate every cell together and keep one
convergence flag per cell. Definitions follow metafor 3.8 ``rma.uni`` (intercept-only model, p = 1)
exactly, including its starting values, step halving, convergence rule and the final floor at 0.

Padding entries must hold finite values (``Y = 0``, ``V = 1``, as :func:`meta._checks.check_cells`
leaves them); they get weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from meta._checks import METHODS, check_choice

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

#: metafor ``rma.uni`` ``control$tol`` default, used by its ll0check (``.Machine$double.eps^0.25``).
LL0_TOL = np.finfo(float).eps ** 0.25


@dataclass(frozen=True)
class Tau2Estimate:
    """τ² per cell with per-cell convergence information.

    Attributes
    ----------
    tau2 : ndarray, shape (cells,)
        Estimate, floored at 0.
    converged : ndarray of bool, shape (cells,)
        False where an iterative estimator hit ``maxiter`` (or PM found no bracket).
    iterations : ndarray of int, shape (cells,)
        Iterations used (0 for closed-form estimators).
    ll_reset : ndarray of bool, shape (cells,)
        True where metafor's ll0check would set τ² to 0 (ML/REML stuck at a local maximum below
        the likelihood at 0).
    profile_moved : ndarray of bool, shape (cells,), optional
        True where the likelihood-profile check replaced Fisher scoring's local maximum by the
        global one (ML/REML only); ``tau2_local`` holds the local maximum there (NaN elsewhere).
    """

    tau2: Array
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]
    ll_reset: NDArray[np.bool_]
    profile_moved: NDArray[np.bool_] | None = None
    tau2_local: Array | None = None


def _rowdot(A: Array, B: Array) -> Array:
    return np.einsum("ij,ij->i", A, B)


def weighted_parts(Y: Array, V: Array, M: Mask, tau2: Array) -> tuple[Array, Array, Array, Array]:
    """Weights ``W = 1/(V + τ²)`` (0 on padding), their row sums, weighted means and residuals.

    Residuals ``R = Y − μ̂`` are not masked: use them only multiplied by ``W`` (0 on padding).

    Examples
    --------
    >>> W, sw, mu, R = weighted_parts(np.array([[1.0, 3.0]]), np.ones((1, 2)),
    ...                               np.ones((1, 2), bool), np.zeros(1))
    >>> mu
    array([2.])
    """
    W = V + tau2[:, None]
    np.divide(M, W, out=W)  # M / (V + τ²) in one buffer (no second large temporary)
    sw = W.sum(axis=1)
    mu = _rowdot(W, Y) / sw
    R = Y - mu[:, None]
    return W, sw, mu, R


def q_stat(Y: Array, V: Array, M: Mask, tau2: Array) -> Array:
    """Generalised Cochran Q, ``Σ w_i (y_i − μ̂_w)²`` with ``w_i = 1/(v_i + τ²)``, per cell.

    # Viechtbauer 2007, Stat Med 26:37, eq. 6 (the Q-profile statistic); τ² = 0 gives Cochran's Q.

    Examples
    --------
    >>> q_stat(np.array([[1.0, 3.0]]), np.ones((1, 2)), np.ones((1, 2), bool), np.zeros(1))
    array([2.])
    """
    W, _, _, R = weighted_parts(Y, V, M, tau2)
    W *= R  # W·R in W's own buffer (W is not needed after)
    return _rowdot(W, R)


def solve_q(
    Y: Array, V: Array, M: Mask, target: Array, upper: Array, *, maxiter: int = 200,
    q_lo: Array | None = None, q_hi: Array | None = None,
) -> tuple[Array, NDArray[np.bool_]]:
    """Solve ``Q(τ²) = target`` for every cell on ``[0, upper]`` (safeguarded Newton, vectorised).

    Q(τ²) is strictly decreasing in τ². Cells with ``Q(0) < target`` get 0, cells with
    ``Q(upper) > target`` get ``upper`` (as metafor's ``confint`` truncation); the flag is False
    only where the iteration did not meet the tolerance in ``maxiter`` steps. ``q_lo`` and ``q_hi``,
    when given, are ``q_stat`` at 0 and at ``upper`` already computed (the caller's, not redone).

    Examples
    --------
    >>> Y = np.array([[0.0, 1.0, 2.0]]); V = np.full((1, 3), 0.1); M = np.ones((1, 3), bool)
    >>> x, ok = solve_q(Y, V, M, np.array([2.0]), np.array([100.0]))
    >>> round(float(q_stat(Y, V, M, x)[0]), 10)
    2.0
    """
    hi = upper.astype(np.float64).copy()
    f_lo = (q_stat(Y, V, M, np.zeros_like(target)) if q_lo is None else q_lo) - target
    f_hi = (q_stat(Y, V, M, hi) if q_hi is None else q_hi) - target
    root = np.where(f_lo <= 0, 0.0, hi)
    conv = np.ones(target.shape, dtype=bool)
    idx = np.flatnonzero((f_lo > 0) & (f_hi < 0))  # working set; compacted when a fifth is done (rows are independent)
    live = np.ones(idx.size, dtype=bool)
    x = np.zeros(idx.size)
    lo_a, hi_a = np.zeros(idx.size), hi[idx]
    Ya, Va, Ma, ta = Y[idx], V[idx], M[idx], target[idx]
    for _ in range(maxiter):
        if not live.any():
            break
        W, _, _, R = weighted_parts(Ya, Va, Ma, x)
        WR2 = W * R
        WR2 *= R  # W·R·R, one temporary fewer
        f = WR2.sum(axis=1) - ta
        df = -_rowdot(WR2, W)  # dQ/dτ² (the dμ̂/dτ² term vanishes: μ̂ minimises Q)
        pos = f > 0
        lo_a = np.where(pos, x, lo_a)
        hi_a = np.where(pos, hi_a, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - f / df
        ok = np.isfinite(newton) & (newton > lo_a) & (newton < hi_a)
        x_new = np.where(ok, newton, 0.5 * (lo_a + hi_a))
        tol = 1e-13 * np.maximum(1.0, np.abs(x_new))
        done = live & ((np.abs(x_new - x) <= tol) | (hi_a - lo_a <= tol) | (f == 0))
        x = np.where(live & (f != 0), x_new, x)
        root[idx[done]] = x[done]
        live &= ~done
        if live.sum() < 0.8 * live.size:
            keep = live
            idx, x, lo_a, hi_a, live = idx[keep], x[keep], lo_a[keep], hi_a[keep], live[keep]
            Ya, Va, Ma, ta = Ya[keep], Va[keep], Ma[keep], ta[keep]
    if live.any():
        root[idx[live]] = x[live]
        conv[idx[live]] = False
    return root, conv


def _mad2(Y: Array, M: Mask) -> Array:
    """Squared R ``mad(yi)`` per cell (constant 1.4826), used by metafor for ``tau2.max``."""
    Yn = np.where(M, Y, np.nan)
    med = np.nanmedian(Yn, axis=1)
    return (1.4826 * np.nanmedian(np.abs(Yn - med[:, None]), axis=1)) ** 2


def _he(Y: Array, V: Array, M: Mask, k: Array) -> Array:
    # Hedges & Olkin 1985 (metafor "HE"): (Σ(y − ȳ)² − Σv·(1 − 1/k)) / (k − 1), unweighted ȳ.
    ybar = np.where(M, Y, 0.0).sum(axis=1) / k
    rss = np.where(M, (Y - ybar[:, None]) ** 2, 0.0).sum(axis=1)
    trpv = np.where(M, V, 0.0).sum(axis=1) * (1.0 - 1.0 / k)
    return (rss - trpv) / (k - 1.0)


def _closed_form(method: str, Y: Array, V: Array, M: Mask, k: Array) -> Array:
    zero = np.zeros(Y.shape[0])
    if method == "HE":
        return _he(Y, V, M, k)
    if method == "DL":
        # DerSimonian & Laird 1986, Control Clin Trials 7:177: (Q − (k − 1)) / (Σw − Σw²/Σw), w = 1/v.
        W, sw, _, R = weighted_parts(Y, V, M, zero)
        q = (W * R * R).sum(axis=1)
        return (q - (k - 1.0)) / (sw - (W * W).sum(axis=1) / sw)
    if method == "HS":
        # Hunter & Schmidt 1990 (metafor "HS"): (Q − k) / Σw, w = 1/v — note k, not k − 1.
        W, sw, _, R = weighted_parts(Y, V, M, zero)
        return ((W * R * R).sum(axis=1) - k) / sw
    if method == "SJ":
        # Sidik & Jonkman 2005, J Biopharm Stat 15:823; metafor starts from τ²₀ = var(y)(k − 1)/k
        # (the unweighted mean squared deviation) and takes one step: τ²₀ · Q(τ²₀) / (k − 1).
        ybar = np.where(M, Y, 0.0).sum(axis=1) / k
        t0 = np.where(M, (Y - ybar[:, None]) ** 2, 0.0).sum(axis=1) / k
        return t0 * q_stat(Y, V, M, t0) / (k - 1.0)
    raise AssertionError(method)  # pragma: no cover


def _reml_ll(Y: Array, V: Array, M: Mask, tau2: Array, k: Array, reml: bool) -> Array:
    # Viechtbauer 2005, J Educ Behav Stat 30:261, eqs. 6 and 9 (intercept-only ML / REML log-likelihood).
    W, sw, _, R = weighted_parts(Y, V, M, tau2)
    logv = np.where(M, np.log(V + tau2[:, None]), 0.0).sum(axis=1)
    W *= R
    W *= R  # W·R·R in W's buffer
    rss = W.sum(axis=1)
    if reml:
        return -0.5 * (k - 1.0) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * np.log(sw) - 0.5 * rss
    return -0.5 * k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * rss


def _scoring(
    method: str, Y: Array, V: Array, M: Mask, k: Array, threshold: float, maxiter: int, stepadj: float,
    start: Array | None = None,
) -> tuple[Array, NDArray[np.bool_], NDArray[np.int64]]:
    """Fisher scoring as metafor rma.uni: start at max(0, HE) (or ``start``), halve a step that would
    go below 0, stop when |Δτ²| <= threshold; a cell still moving after ``maxiter`` steps has not converged."""
    tau2 = np.maximum(0.0, _he(Y, V, M, k)) if start is None else start.astype(np.float64).copy()
    iters = np.zeros(Y.shape[0], dtype=np.int64)
    conv = np.ones(Y.shape[0], dtype=bool)
    idx = np.arange(Y.shape[0])  # working set, compacted once a fifth of it has converged (rows are independent)
    live = np.ones(idx.size, dtype=bool)
    Ya, Va, Ma, ka, t = Y, V, M, k, tau2.copy()
    for it in range(1, maxiter + 1):
        if not live.any():
            break
        W, sw, _, R = weighted_parts(Ya, Va, Ma, t)
        PY = W * R  # P y for P = W − w wᵀ/Σw
        if method == "REML":
            # Viechtbauer 2005, eq. 10: (yᵀPPy − tr P) / tr(PP)
            W2 = W * W
            sw2, sw3 = W2.sum(axis=1), _rowdot(W2, W)
            trP = sw - sw2 / sw
            trPP = sw2 - 2.0 * sw3 / sw + sw2**2 / sw**2
            adj = (_rowdot(PY, PY) - trP) / trPP
        elif method == "ML":
            # Viechtbauer 2005, eq. 7: (yᵀPPy − Σw) / Σw²
            adj = (_rowdot(PY, PY) - sw) / _rowdot(W, W)
        else:
            # Morris 1983, JASA 78:47 (metafor "EB"): (Q·k/(k − 1) − k) / Σw. Its fixed point solves
            # Q(τ²) = k − 1, so EB equals PM at convergence, as metafor's documentation states.
            adj = (_rowdot(PY, R) * ka / (ka - 1.0) - ka) / sw
        adj = np.where(np.isnan(adj) | ~live, 0.0, adj) * stepadj
        # metafor: while (tau2 + adj < tau2.min) adj <- adj/2; at τ² = 0 this ends with adj = 0.
        adj = np.where((t == 0) & (adj < 0), 0.0, adj)
        for _ in range(1100):
            neg = t + adj < 0
            if not neg.any():
                break
            adj = np.where(neg, adj / 2.0, adj)
        t = t + adj
        iters[idx[live]] = it
        live &= np.abs(adj) > threshold
        tau2[idx] = t
        if live.sum() < 0.8 * live.size:
            keep = live
            idx, t, live = idx[keep], t[keep], live[keep]
            Ya, Va, Ma, ka = Ya[keep], Va[keep], Ma[keep], ka[keep]
    conv[idx[live]] = False
    return tau2, conv, iters


#: Relative grid of the likelihood-profile scan: 0 and 63 log-spaced points up to max(100, 10 τ̂²).
PROFILE_GRID = np.concatenate([[0.0], np.geomspace(1e-9, 1.0, 63)])
#: Studies per block of the profile screen (a block's (studies × grid) arrays stay in cache).
_SCREEN_BLOCK = 1024


def _grid_best(Y: Array, V: Array, M: Mask, k: Array, upper: Array, reml: bool) -> tuple[Array, Array]:
    """Best log-likelihood on :data:`PROFILE_GRID` × ``upper`` and the grid point giving it (the first on a tie)."""
    best_ll = np.full(upper.shape, -np.inf)
    best_t = np.zeros(upper.shape)
    for f in PROFILE_GRID:
        g = upper * f
        lg = _reml_ll(Y, V, M, g, k, reml)
        better = lg > best_ll
        best_ll = np.where(better, lg, best_ll)
        best_t = np.where(better, g, best_t)
    return best_ll, best_t


def _grid_bound(Y: Array, V: Array, M: Mask, k: Array, upper: Array, reml: bool) -> Array:
    """An upper bound of what :func:`_grid_best` returns as the best log-likelihood (+inf where unsure).

    Per cell and grid point the profile is Σ log(vᵢ + τ²) = log Π(vᵢ + τ²), Σwᵢ, Σwᵢyᵢ and Σwᵢyᵢ² with
    rss = Σwᵢyᵢ² − (Σwᵢyᵢ)²/Σwᵢ: one logarithm per grid point instead of one per study, on the studies
    only (cells of one k together, no padding). This and :func:`_reml_ll` both round; the bound adds
    64 times the worst-case rounding of either (a few k·ε of the magnitudes involved). Where the
    product leaves the safe range of floats, or any number is not finite, the bound is +inf.
    """
    n = M.shape[0]
    kk = M.sum(axis=1)
    best = np.full(n, np.inf)
    eps = np.finfo(float).eps
    order = np.argsort(kk, kind="stable")
    edges = np.flatnonzero(np.diff(kk[order])) + 1
    for grp in np.split(order, edges):
        m = int(kk[grp[0]])
        if m < 1:
            continue
        step = max(1, _SCREEN_BLOCK // m)
        for j in range(0, grp.size, step):
            cs = grp[j:j + step]
            mk = M[cs]
            vs, ys = V[cs][mk].reshape(-1, m), Y[cs][mk].reshape(-1, m)
            best[cs] = _bound_block(vs, ys, upper[cs], reml, eps)
    return best


def _bound_block(vs: Array, ys: Array, upper: Array, reml: bool, eps: float) -> Array:
    """:func:`_grid_bound` for cells of one k: ``vs``, ``ys`` of shape (cells, k).

    Σw, Σwy and Σwy² of every grid point come from one batched product ``Wᵀ [1, y, y²]`` (each a sum
    of k terms, as the rounding allowance below assumes, in whatever order BLAS adds them).
    """
    m = float(vs.shape[1])
    g = upper[:, None] * PROFILE_GRID[None, :]
    D = vs[:, :, None] + g[:, None, :]
    prod = D.prod(axis=1)
    W = np.divide(1.0, D, out=D)  # D is not needed after its product: the weights take its buffer
    S = np.matmul(W.transpose(0, 2, 1), np.stack([np.ones_like(ys), ys, ys * ys], axis=2))
    sw, s1, s2 = S[:, :, 0], S[:, :, 1], S[:, :, 2]
    logv, lsw = np.log(prod), np.log(sw)
    rss = s2 - s1 * s1 / sw
    const = -0.5 * ((m - 1.0) if reml else m) * np.log(2 * np.pi)
    ll = const - 0.5 * logv - 0.5 * rss
    if reml:
        ll -= 0.5 * lsw
    span = m * np.maximum(np.abs(np.log(vs.min(axis=1))), np.abs(np.log(vs.max(axis=1) + upper)))
    err = np.abs(logv)
    err += np.abs(lsw)
    err += 4.0 * s2
    err += (span + 4.0)[:, None]
    err *= 64.0 * eps * (m + 4.0)
    err += 64.0 * eps * np.abs(ll)
    err += 64.0 * eps * abs(const)
    err += ll  # ll + err: finite exactly where both are (err >= 0 or NaN)
    top = err.max(axis=1)
    safe = np.isfinite(err).all(axis=1) & (prod.min(axis=1) > 1e-280) & (prod.max(axis=1) < 1e280)
    return np.where(safe, top, np.inf)


def _profile_global(
    method: str, Y: Array, V: Array, M: Mask, k: Array, t: Array, ll: Array, conv: NDArray[np.bool_],
    threshold: float, maxiter: int, stepadj: float,
) -> tuple[Array, NDArray[np.bool_]]:
    """Global maximum of the ML/REML log-likelihood profile (Viechtbauer 2005, eqs. 6 and 9).

    The profile is evaluated on :data:`PROFILE_GRID` × max(100, 10 τ̂²); where a grid point beats
    the scoring result by more than metafor's ll0check tolerance, Fisher scoring restarts from the
    best grid point and its end point is kept if its likelihood is higher. τ² = 0 (metafor's
    ll0check reset) is the special case where that point is the boundary. Returns τ² and the mask
    of cells that moved.

    The grid is first screened cheaply (:func:`_grid_bound`): a cell whose bound of the best grid
    likelihood cannot beat ``ll`` by the tolerance is left as it is; the others (a few) are scanned
    exactly as above, so the cells that move, and where they restart, are the plain scan's.
    """
    reml = method == "REML"
    upper = np.maximum(100.0, 10.0 * t)
    out = t.copy()
    moved = np.zeros(t.shape, dtype=bool)
    live = np.flatnonzero(conv)
    if live.size == 0:
        return out, moved
    with np.errstate(all="ignore"):
        bound = _grid_bound(Y[live], V[live], M[live], k[live], upper[live], reml)
        settled = (bound - ll[live] + 4.0 * np.finfo(float).eps * (np.abs(bound) + np.abs(ll[live]))
                   < LL0_TOL * (1.0 - 1e-9))
    scan = live[~settled]
    if scan.size == 0:
        return out, moved
    best_ll, best_t = _grid_best(Y[scan], V[scan], M[scan], k[scan], upper[scan], reml)
    hit = best_ll - ll[scan] > LL0_TOL
    cand, best_ll, best_t = scan[hit], best_ll[hit], best_t[hit]
    if cand.size == 0:
        return out, moved
    t2, c2, _ = _scoring(method, Y[cand], V[cand], M[cand], k[cand], threshold, maxiter, stepadj,
                         start=best_t)
    t2 = np.maximum(t2, 0.0)
    ll2 = _reml_ll(Y[cand], V[cand], M[cand], t2, k[cand], reml)
    take = c2 & (ll2 > ll[cand])
    # a scoring restart that fails to converge keeps the best grid point (still the better maximum)
    fallback = ~c2 & (best_ll > ll[cand])
    out[cand] = np.where(take, t2, np.where(fallback, best_t, out[cand]))
    moved[cand] = take | fallback
    return out, moved


def estimate_tau2(
    Y: Array,
    V: Array,
    M: Mask,
    method: str = "REML",
    *,
    threshold: float = 1e-10,
    maxiter: int = 100,
    stepadj: float = 1.0,
    profile_check: bool = True,
) -> Tau2Estimate:
    """Estimate τ² in every cell at once.

    Parameters
    ----------
    Y, V : ndarray, shape (cells, kmax)
        Effects and sampling variances, padded (padding finite, e.g. 0 and 1).
    M : ndarray of bool, shape (cells, kmax)
        True where a study is present; each cell needs k >= 1 (k = 1 gives τ² = 0).
    method : {"DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"}
    threshold, maxiter : float, int
        Convergence of ML/REML/EB Fisher scoring (|Δτ²| <= threshold within maxiter steps) and the
        iteration cap of PM's root finder.
    stepadj : float
        Step length factor of Fisher scoring (metafor ``control$stepadj``). Scoring can oscillate
        without converging (metafor then stops with an error; we flag the cell); metafor's remedy,
        ``stepadj=0.5``, usually converges to the same maximum.
    profile_check : bool
        ML/REML: scan the likelihood profile and report its global maximum where Fisher scoring
        stopped at a local one (metafor reports the local one, or 0 via its ll0check). False
        reproduces metafor exactly, local maxima included.

    Returns
    -------
    Tau2Estimate

    Examples
    --------
    >>> Y = np.array([[-0.9, -1.6, -1.4, 0.0, -0.2]]); V = np.full((1, 5), 0.05)
    >>> est = estimate_tau2(Y, V, np.ones((1, 5), bool), "DL")
    >>> bool(est.tau2[0] > 0), bool(est.converged[0])
    (True, True)
    """
    check_choice(method, METHODS, "method")
    n = Y.shape[0]
    tau2 = np.zeros(n)
    conv = np.ones(n, dtype=bool)
    iters = np.zeros(n, dtype=np.int64)
    reset = np.zeros(n, dtype=bool)
    moved = np.zeros(n, dtype=bool)
    local = np.full(n, np.nan)
    k_all = M.sum(axis=1).astype(np.float64)
    sel = np.flatnonzero(k_all >= 2)  # k = 1: τ² = 0 by definition (metafor method "k1")
    if sel.size == 0:
        return Tau2Estimate(tau2, conv, iters, reset, moved, local)
    Ys, Vs, Ms, k = Y[sel], V[sel], M[sel], k_all[sel]
    if method in ("DL", "HE", "HS", "SJ"):
        t = _closed_form(method, Ys, Vs, Ms, k)
        c = np.ones(sel.size, dtype=bool)
        it = np.zeros(sel.size, dtype=np.int64)
    elif method == "PM":
        # Paule & Mandel 1982, J Res Natl Bur Stand 87:377: solve Q(τ²) = k − 1; τ² = 0 when Q(0) < k − 1.
        # metafor brackets on [0, max(100, 10·mad(y)²)]; we widen the bracket where it is too short
        # (metafor would stop with an error there) and flag cells where no bracket is found.
        target = k - 1.0
        upper = np.maximum(100.0, 10.0 * _mad2(Ys, Ms))
        for _ in range(30):
            short = q_stat(Ys, Vs, Ms, upper) > target
            if not short.any():
                break
            upper = np.where(short, upper * 10.0, upper)
        t, c = solve_q(Ys, Vs, Ms, target, upper, maxiter=maxiter)
        c &= ~short
        it = np.zeros(sel.size, dtype=np.int64)
    else:
        t, c, it = _scoring(method, Ys, Vs, Ms, k, threshold, maxiter, stepadj)
        if method in ("ML", "REML"):
            # metafor ll0check: if the log-likelihood at τ² = 0 beats the estimate by > tol, the
            # scoring got stuck at a local maximum and metafor sets τ² = 0 (with a warning).
            reml = method == "REML"
            ll0 = _reml_ll(Ys, Vs, Ms, np.zeros(sel.size), k, reml)
            ll = _reml_ll(Ys, Vs, Ms, np.maximum(t, 0.0), k, reml)
            r = c & (ll0 - ll > LL0_TOL) & (t > threshold)
            reset[sel] = r
            if not profile_check:
                t = np.where(r, 0.0, t)
        if method in ("ML", "REML") and profile_check:
            # Beyond metafor's ll0check (which can only fall back to 0): scan the profile and
            # climb from its best point, so the reported τ² is the global maximum.
            t_glob, mv = _profile_global(method, Ys, Vs, Ms, k, np.maximum(t, 0.0), ll, c,
                                         threshold, maxiter, stepadj)
            moved[sel] = mv
            local[sel] = np.where(mv, t, np.nan)
            t = t_glob
    tau2[sel] = np.maximum(0.0, t)
    conv[sel] = c
    iters[sel] = it
    return Tau2Estimate(tau2, conv, iters, reset, moved, local)
