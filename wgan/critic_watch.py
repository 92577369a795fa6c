"""Warn when the critic has died: weight clipping's failure mode.

With clipped weights a critic can collapse to a near-constant function: the EM estimate
``E[C(real)] - E[C(fake)]`` drops to ~0 and stays there, the generator receives no gradient and
stops improving, while the run goes on looking healthy (no NaN, losses near 0). Measured on
Fashion-MNIST at lr 2e-4 (docs/results.md): the estimate fell from a peak of 0.21 to 1e-4 at
~58k steps and never came back. The scale of the estimate depends on the model and data (0.02
is a healthy late value at 32x32), so the test is relative to the run's own peak.
"""

from __future__ import annotations

from typing import Optional

DEAD_FRACTION = 0.01     # |EM estimate| below 1% of the run's peak ...
DEAD_LOGS = 10           # ... at this many log steps in a row


class CriticWatch:
    """Feed it the logged EM estimates; it returns a warning once the critic looks dead."""

    def __init__(self, fraction: float = DEAD_FRACTION, patience: int = DEAD_LOGS):
        self.fraction, self.patience = fraction, patience
        self.peak = 0.0
        self.low_since: Optional[int] = None
        self.low_count = 0
        self.warned = False

    def update(self, step: int, em: float) -> Optional[str]:
        self.peak = max(self.peak, abs(em))
        if abs(em) >= self.fraction * self.peak or self.peak == 0:
            self.low_count, self.low_since = 0, None
            return None
        if self.low_count == 0:
            self.low_since = step
        self.low_count += 1
        if self.low_count < self.patience or self.warned:
            return None
        self.warned = True
        return (f"warning: the EM estimate has stayed below {self.fraction:.0%} of its peak ({self.peak:.4g}) "
                f"since generator step {self.low_since} ({em:.2g} now): the critic has probably died and the "
                f"generator gets no useful gradient; a new run with a lower train.lr avoids it (docs/results.md)")
