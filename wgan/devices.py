"""Device resolution: 'auto', 'cpu', 'cuda' (or a torch.device) as a torch.device.

Its own module because training, sampling, export, evaluation and the viewer all need it and
none of them should import another for it.
"""

from __future__ import annotations

import torch


class DeviceUnavailable(RuntimeError):
    """CUDA was asked for but is not available, or the device name is unknown."""


def resolve_device(device="auto") -> torch.device:
    """'auto' (CUDA if available, else CPU), 'cpu', 'cuda' or a torch.device."""
    name = device.type if isinstance(device, torch.device) else str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailable(f"device '{name}' was requested but no CUDA device is available; use cpu or auto")
    try:
        return torch.device(device)
    except RuntimeError:
        raise DeviceUnavailable(f"unknown device '{device}'; use auto, cpu or cuda") from None
