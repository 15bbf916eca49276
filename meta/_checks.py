"""Input validation shared by the ``meta`` package.

Every public entry point of :mod:`meta` validates its inputs here, so that a bad value is reported
once, in one wording, with the offending index: ``"vi[3] = -0.2: sampling variances must be > 0"``.
Allowed parameter values are declared up front (PyMARE style) and an invalid one is reported with
the full list of allowed values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: τ² estimators accepted by :func:`meta.pool` (the names of metafor ``rma(method=)``).
METHODS: tuple[str, ...] = ("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
#: Tests of the pooled estimate: normal (``z``), Hartung–Knapp–Sidik–Jonkman (``knha``), and
#: knha with its scale factor floored at 1 (``adhoc``), as metafor ``rma(test=)``.
TESTS: tuple[str, ...] = ("z", "knha", "adhoc")


def check_choice(value: Any, allowed: Sequence[str], what: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError listing them.

    Examples
    --------
    >>> check_choice("REML", METHODS, "method")
    'REML'
    """
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Invalid {what} {value!r}; must be one of {', '.join(allowed)}")
    return value


def check_level(level: Any) -> float:
    """Return ``level`` as a float in (0, 1), else raise a ValueError.

    Examples
    --------
    >>> check_level(0.95)
    0.95
    """
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid level {level!r}; must be a number in (0, 1), e.g. 0.95") from None
    if not 0.0 < lv < 1.0:
        raise ValueError(f"Invalid level {level!r}; must lie in (0, 1), e.g. 0.95 (not 95)")
    return lv


def as_float_1d(x: ArrayLike, name: str, *, allow_nan: bool = False) -> NDArray[np.float64]:
    """Convert ``x`` to a 1-D float64 array, rejecting non-numeric, non-1-D and non-finite values.

    Examples
    --------
    >>> as_float_1d([1, 2], "yi")
    array([1., 2.])
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}")
    if not allow_nan:
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}[{i}] = {arr[i]}: values must be finite (no NaN or inf)")
    return arr


def check_equal_length(**arrays: NDArray[Any]) -> int:
    """Return the common length of the arrays, else raise a ValueError naming each length.

    Examples
    --------
    >>> check_equal_length(yi=np.zeros(3), vi=np.ones(3))
    3
    """
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"len({n}) = {m}" for n, m in lengths.items())
        raise ValueError(f"Inputs must have equal lengths; got {shown}")
    return next(iter(lengths.values()))


def check_positive(arr: NDArray[np.float64], name: str, meaning: str) -> None:
    """Raise a ValueError naming the first index where ``arr`` is not > 0.

    Examples
    --------
    >>> check_positive(np.array([0.1, 0.2]), "vi", "sampling variances")
    """
    bad = np.flatnonzero(~(arr > 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {arr[i]:g}: {meaning} must be > 0")


def check_yi_vi(yi: ArrayLike, vi: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate effect sizes and sampling variances of one meta-analysis.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Observed effects and their sampling variances; k >= 1, finite, ``vi > 0``.

    Returns
    -------
    yi, vi : ndarray of float64, shape (k,)

    Examples
    --------
    >>> check_yi_vi([0.1, 0.3], [0.01, 0.02])
    (array([0.1, 0.3]), array([0.01, 0.02]))
    >>> check_yi_vi([0.1], [-0.2])
    Traceback (most recent call last):
    ...
    ValueError: vi[0] = -0.2: sampling variances must be > 0
    """
    y = as_float_1d(yi, "yi")
    v = as_float_1d(vi, "vi")
    k = check_equal_length(yi=y, vi=v)
    if k == 0:
        raise ValueError("k = 0: at least one study is needed (yi and vi are empty)")
    check_positive(v, "vi", "sampling variances")
    return y, v


def check_cells(
    Y: ArrayLike, V: ArrayLike, M: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Validate padded (cells, kmax) arrays of a vectorised pooling call.

    Padding (``M == False``) may hold anything, including NaN; it is replaced by ``0`` / ``1``.
    Each cell needs at least one study; used entries must be finite with ``V > 0``.

    Examples
    --------
    >>> Y, V, M = check_cells([[0.1, 0.2]], [[0.01, 0.02]], [[True, True]])
    >>> Y.shape
    (1, 2)
    """
    Y = np.array(Y, dtype=np.float64, ndmin=2, copy=True)
    V = np.array(V, dtype=np.float64, ndmin=2, copy=True)
    M = np.array(M, dtype=bool, ndmin=2, copy=True)
    if Y.ndim != 2 or Y.shape != V.shape or Y.shape != M.shape:
        raise ValueError(f"Y, V and M must be 2-D of equal shape; got {Y.shape}, {V.shape}, {M.shape}")
    if Y.shape[0] == 0:
        raise ValueError("no cells: Y, V and M have 0 rows")
    empty = np.flatnonzero(M.sum(axis=1) == 0)
    if empty.size:
        raise ValueError(f"cell {int(empty[0])} has k = 0: at least one study is needed per cell")
    for name, arr in (("Y", Y), ("V", V)):
        bad = np.argwhere(M & ~np.isfinite(arr))
        if bad.size:
            i, j = (int(t) for t in bad[0])
            raise ValueError(f"{name}[{i}, {j}] = {arr[i, j]}: values must be finite (no NaN or inf)")
    bad = np.argwhere(M & ~(V > 0))
    if bad.size:
        i, j = (int(t) for t in bad[0])
        raise ValueError(f"V[{i}, {j}] = {V[i, j]:g}: sampling variances must be > 0")
    Y[~M] = 0.0
    V[~M] = 1.0
    with np.errstate(over="ignore", divide="ignore"):
        W = M / V
        sw2 = (W * W).sum(axis=1)  # Σw² must be finite too (DL, I², HKSJ use it)
    bad = np.flatnonzero(~np.isfinite(sw2))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"cell {i}: the weights 1/vi overflow (smallest vi = {float(V[i].min()):g}); "
                         "check the variances or rescale the effects")
    return Y, V, M
