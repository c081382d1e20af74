"""The correction of each anchor class: chosen by leave-one-molecule-out cross-validation, with a prediction
interval from the cross-validated residuals.

Two models per class, fitted to the (screening E_ads, DFT E_ads) pairs of its molecules:

- ``shift``: E_dft = E_screen + b (one parameter: the mean error);
- ``linear``: E_dft = a E_screen + b (least squares; needs at least 3 molecules);
- ``group``: E_dft = E_screen + b_g, a shift per functional group of the anchor
  (:mod:`passivscreen.calibration.groups`: a phosphine oxide's P=O and a phosphate's are two groups of the P=O
  class), the class's shift for a group with no other molecule; tried where the class has two groups or more
  and one of them has two molecules or more.

A line is a candidate only where its slope over all of the class's molecules is positive: a slope <= 0 says
that the more strongly the screen binds a molecule the more weakly DFT does, an order that a few molecules
spread over a narrow range can show by chance (the four alkylammonium bromides: screen -1.51 to -1.65 eV, DFT
-1.81 to -1.91 eV, slope -0.39) and that would be extrapolated to every molecule of the class outside that range.
Nor is a positive slope carried beyond the screening E_ads its molecules span (``range_eV``): a line fitted to four
sulfoxides between -1.01 and -1.17 eV (slope 1.83) would move DMAC-DPS's -1.67 eV by -0.42 eV. A row outside the
range gets the class's shift (``shift_b_eV``) and the larger of the two models' intervals
(:func:`~passivscreen.calibration.dataset.calibrate`).

Each is refitted with one molecule left out and predicts that molecule; the model with the smaller
cross-validated mean absolute error is kept, and ``none`` (the raw value) when neither beats it: a class
whose residuals do not shrink is not corrected. The interval's half-width at ``level`` is Student's t
(n - 1 degrees of freedom) times the root mean square of the cross-validated residuals of the kept model:
they are errors of predictions for molecules the fit did not see, so the parameters' own uncertainty is in
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: The models, simplest first (a tie in cross-validated error keeps the simpler one).
MODELS = ("none", "shift", "linear", "group")

#: Fewest molecules a class needs to be calibrated (two to fit a shift and leave one out, three for a line).
MIN_MOLECULES = {"none": 1, "shift": 3, "linear": 4, "group": 3}

#: Default confidence level of the interval.
LEVEL = 0.9


def fit_model(model: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Parameters ``(a, b)`` of ``y = a x + b`` for ``model`` fitted to all of ``x``, ``y``."""
    if model == "none":
        return 1.0, 0.0
    if model == "shift":
        return 1.0, float(np.mean(y - x))
    if model == "linear":
        a, b = np.polyfit(x, y, 1)
        return float(a), float(b)
    raise ValueError(f"unknown calibration model {model!r}; choose one of {MODELS}")


def group_shifts(x: np.ndarray, y: np.ndarray, groups: Sequence[str | None]) -> dict[str, float]:
    """The ``group`` model's shift of each functional group (the mean of its molecules' E_dft - E_screen); a
    molecule without a group (None) counts in no group's shift."""
    out: dict[str, list[float]] = {}
    for xi, yi, g in zip(x, y, groups):
        if g is not None:
            out.setdefault(g, []).append(float(yi - xi))
    return {g: float(np.mean(v)) for g, v in sorted(out.items())}


def group_model_applies(groups: Sequence[str | None] | None) -> bool:
    """Whether the ``group`` model differs from ``shift`` on a class with these groups: two groups or more, one of
    them with two molecules or more (else each molecule's leave-one-out shift is the class's)."""
    if not groups:
        return False
    counts = [sum(1 for g in groups if g == k) for k in {g for g in groups if g is not None}]
    return len(counts) >= 2 and max(counts) >= 2


def loo_predictions(model: str, x: np.ndarray, y: np.ndarray, groups: Sequence[str | None] | None = None) -> np.ndarray:
    """Each molecule's value predicted by ``model`` fitted to the other molecules (``group``: the shift of the
    other molecules of its functional group, the class's shift of the others where its group has none)."""
    out = np.empty(len(x))
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        if model == "group":
            same = keep & np.array([g is not None and g == groups[i] for g in groups])  # type: ignore[index]
            out[i] = x[i] + float(np.mean((y - x)[same if same.any() else keep]))
            continue
        a, b = fit_model(model, x[keep], y[keep])
        out[i] = a * x[i] + b
    return out


def new_group_predictions(model: str, x: np.ndarray, y: np.ndarray, groups: Sequence[str | None]) -> np.ndarray:
    """Each molecule's value predicted as for a functional group the data set lacks: ``model`` (``group``: the
    class's shift) fitted to the molecules of the other groups only (leave one group out). A molecule without a
    group is left out with the molecules without one."""
    if model == "none":
        return x.copy()
    out = np.empty(len(x))
    for i in range(len(x)):
        keep = np.array([g != groups[i] for g in groups])
        m = "shift" if model == "group" or keep.sum() < MIN_MOLECULES[model] else model
        a, b = fit_model(m, x[keep], y[keep])
        out[i] = a * x[i] + b
    return out


def t_factor(level: float, n: int) -> float:
    """Student's t quantile for a two-sided ``level`` interval from ``n`` residuals (n - 1 degrees of freedom)."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2.0, max(n - 1, 1)))


def half_width(residuals: Sequence[float], level: float) -> float:
    """Half-width of the prediction interval at ``level`` from cross-validated residuals."""
    r = np.asarray(residuals, dtype=float)
    return t_factor(level, len(r)) * float(np.sqrt(np.mean(r**2)))


@dataclass
class ClassFit:
    """The calibration of one anchor class (binding mode)."""

    model: str
    a: float
    b: float
    n: int
    molecules: list[str]
    loo_mae_raw_eV: float
    loo_mae_eV: float
    loo_max_eV: float
    rms_loo_eV: float
    half_width_eV: float
    level: float
    cv_mae_eV: dict[str, float] = field(default_factory=dict)
    loo_residuals_eV: list[float] = field(default_factory=list)
    group_shifts_eV: dict[str, float] = field(default_factory=dict)
    #: the functional groups of the class's molecules (a row of another group is a new group)
    groups: list[str] = field(default_factory=list)
    #: leave-one-group-out residuals and their half-width: the error of a group the data set lacks (None: the
    #: class has one group, so that error is not measured)
    new_group_residuals_eV: list[float] = field(default_factory=list)
    new_group_half_width_eV: float | None = None
    #: the lowest and highest screening E_ads of the class's molecules: a line is not extrapolated beyond them
    range_eV: list[float] = field(default_factory=list)
    #: the class's shift, its leave-one-out residuals and their half-width: a linear class's correction outside
    #: ``range_eV``
    shift_b_eV: float | None = None
    shift_residuals_eV: list[float] = field(default_factory=list)
    shift_half_width_eV: float | None = None

    def predict(self, e_screen: float, group: str | None = None) -> float:
        """The calibrated E_ads of a screening E_ads (of a molecule of functional group ``group``: with the
        ``group`` model its group's shift where the data set has the group, else the class's)."""
        return predict(self.as_dict(), e_screen, group)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def predict(fit: dict[str, Any], e_screen: float, group: str | None = None) -> float:
    """A class fit's (:meth:`ClassFit.as_dict`, or the table :func:`~passivscreen.calibration.resolve` makes of it)
    calibrated E_ads of ``e_screen`` for a molecule of functional group ``group``."""
    shifts = fit.get("group_shifts_eV") or {}
    if fit["model"] == "group" and group in shifts:
        return e_screen + shifts[group]
    return fit["a"] * e_screen + fit["b"]


def fit_class(
    names: Sequence[str],
    x: Sequence[float],
    y: Sequence[float],
    level: float = LEVEL,
    groups: Sequence[str | None] | None = None,
) -> ClassFit:
    """Choose and fit the correction of one class from its molecules' screening (``x``) and DFT (``y``) E_ads.

    Every model the class has enough molecules for (:data:`MIN_MOLECULES`) is cross-validated by leaving one
    molecule out; the one with the lowest cross-validated MAE wins (ties: the simpler), ``none`` included.
    ``groups``: each molecule's functional group (:func:`~passivscreen.calibration.groups.functional_group`),
    for the ``group`` model (:func:`group_model_applies`); its ``a``, ``b`` are the class's shift, the
    correction of a group the data set lacks.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xa) != len(ya) or len(xa) == 0:
        raise ValueError("fit_class needs as many screening as DFT values, at least one")
    if groups is not None and len(groups) != len(xa):
        raise ValueError("fit_class needs one group per molecule")
    cv = {}
    residuals = {}
    for model in MODELS:
        if len(xa) < MIN_MOLECULES[model] or (model == "group" and not group_model_applies(groups)):
            continue
        if model == "linear" and fit_model("linear", xa, ya)[0] <= 0.0:
            continue  # a line that turns the screen's order round is no calibration (module docstring)
        pred = xa if model == "none" else loo_predictions(model, xa, ya, groups)
        residuals[model] = pred - ya
        cv[model] = float(np.mean(np.abs(residuals[model])))
    best = min(cv, key=lambda m: (round(cv[m], 6), MODELS.index(m)))
    a, b = fit_model("shift" if best == "group" else best, xa, ya)
    res = residuals[best]
    seen = sorted({g for g in groups or [] if g is not None})
    new = new_group_predictions(best, xa, ya, groups) - ya if len(seen) >= 2 else np.array([])
    return ClassFit(
        model=best,
        a=a,
        b=b,
        n=len(xa),
        molecules=list(names),
        loo_mae_raw_eV=cv["none"],
        loo_mae_eV=cv[best],
        loo_max_eV=float(np.max(np.abs(res))),
        rms_loo_eV=float(np.sqrt(np.mean(res**2))),
        half_width_eV=half_width(res, level),
        level=level,
        cv_mae_eV=cv,
        loo_residuals_eV=[float(r) for r in res],
        group_shifts_eV=group_shifts(xa, ya, groups) if best == "group" else {},
        groups=seen,
        new_group_residuals_eV=[float(r) for r in new],
        new_group_half_width_eV=half_width(new, level) if new.size else None,
        range_eV=[float(xa.min()), float(xa.max())],
        shift_b_eV=fit_model("shift", xa, ya)[1] if "shift" in residuals else None,
        shift_residuals_eV=[float(r) for r in residuals.get("shift", [])],
        shift_half_width_eV=half_width(residuals["shift"], level) if "shift" in residuals else None,
    )
