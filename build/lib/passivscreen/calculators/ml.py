"""Machine-learned universal potentials: CHGNet and SevenNet (weights ship in their wheels)."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from ase.calculators.calculator import Calculator

from passivscreen.calculators.common import ML_HINT, require
from passivscreen.calculators.threads import set_torch_threads


def make_chgnet(model: str = "0.3.0", use_device: str = "cpu", **kw: Any) -> Calculator:
    """CHGNet pretrained universal potential (weights ship in the chgnet wheel)."""
    require("chgnet", "chgnet", ML_HINT)
    with contextlib.redirect_stdout(io.StringIO()):  # CHGNet prints its version and device
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        set_torch_threads()
        net = CHGNet.load(model_name=model, use_device=use_device, verbose=False)
        return CHGNetCalculator(model=net, use_device=use_device, **kw)


def make_sevenn(model: str = "7net-0", device: str = "cpu", **kw: Any) -> Calculator:
    """SevenNet pretrained potential (the sevenn wheel ships 7net-0 and others)."""
    require("sevenn", "sevenn", ML_HINT)
    import warnings

    from sevenn.calculator import SevenNetCalculator

    set_torch_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no tensor-product accelerator" on a CPU
        return SevenNetCalculator(model=model, device=device, **kw)
