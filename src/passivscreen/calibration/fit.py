"""The correction of each anchor class: chosen by leave-one-molecule-out cross-validation, with a prediction
interval from the cross-validated residuals.

Two models per class, fitted to the (screening E_ads, DFT E_ads) pairs of its molecules:

- ``shift``: E_dft = E_screen + b (one parameter: the mean error);
- ``linear``: E_dft = a E_screen + b (least squares; needs at least 3 molecules).

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
MODELS = ("none", "shift", "linear")

#: Fewest molecules a class needs to be calibrated (two to fit a shift and leave one out, three for a line).
MIN_MOLECULES = {"none": 1, "shift": 3, "linear": 4}

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


def loo_predictions(model: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each molecule's value predicted by ``model`` fitted to the other molecules."""
    out = np.empty(len(x))
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        a, b = fit_model(model, x[keep], y[keep])
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

    def predict(self, e_screen: float) -> float:
        """The calibrated E_ads of a screening E_ads."""
        return self.a * e_screen + self.b

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_class(names: Sequence[str], x: Sequence[float], y: Sequence[float], level: float = LEVEL) -> ClassFit:
    """Choose and fit the correction of one class from its molecules' screening (``x``) and DFT (``y``) E_ads.

    Every model the class has enough molecules for (:data:`MIN_MOLECULES`) is cross-validated by leaving one
    molecule out; the one with the lowest cross-validated MAE wins (ties: the simpler), ``none`` included.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xa) != len(ya) or len(xa) == 0:
        raise ValueError("fit_class needs as many screening as DFT values, at least one")
    cv = {}
    residuals = {}
    for model in MODELS:
        if len(xa) < MIN_MOLECULES[model]:
            continue
        pred = xa if model == "none" else loo_predictions(model, xa, ya)
        residuals[model] = pred - ya
        cv[model] = float(np.mean(np.abs(residuals[model])))
    best = min(cv, key=lambda m: (round(cv[m], 6), MODELS.index(m)))
    a, b = fit_model(best, xa, ya)
    res = residuals[best]
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
    )
