"""Calibration of the screening level against DFT (issue 23): per anchor class, the correction that holds up in
leave-one-molecule-out cross-validation, with a prediction interval; data sets tied to the protocol they were
made with; the pairs a funnel computes stored for the next fit."""

from passivscreen.calibration.dataset import (
    CalibrationError,
    build_dataset,
    calibrate,
    read_dataset,
    resolve,
    shipped_dataset,
)
from passivscreen.calibration.fit import LEVEL, ClassFit, fit_class, half_width
from passivscreen.calibration.protocol import class_of, differences, fingerprint, screen_protocol

__all__ = [
    "LEVEL",
    "CalibrationError",
    "ClassFit",
    "build_dataset",
    "calibrate",
    "class_of",
    "differences",
    "fingerprint",
    "fit_class",
    "half_width",
    "read_dataset",
    "resolve",
    "screen_protocol",
    "shipped_dataset",
]
