"""Seeds and random-number state: what makes a run repeatable and its resume exact.

A run seeds Python's, NumPy's and torch's global generators once (``seed_everything``) and draws
its critic and generator noise from a generator of its own (``noise_seed``). A checkpoint holds
all of their states (``rng_state``), restored on resume (``set_rng_state``), so a resumed run
draws the numbers the uninterrupted run would have.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                       "has_gauss": int(np_state[3]), "cached": float(np_state[4])}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def noise_seed(seed: int, rank: int, step: int) -> int:
    """Seed of a rank's noise stream: distinct per rank; ``step`` re-derives it when a run
    resumes with another number of processes."""
    return (seed + 1 + rank * 1_000_003 + step * 7_919) % 2**63
