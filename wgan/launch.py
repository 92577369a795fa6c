"""``python -m wgan.launch``: torchrun, with wgan's exit codes and no launcher traceback.

Takes torchrun's arguments unchanged (``python -m wgan.launch --standalone --nproc_per_node=2
scripts/train.py ...``) and runs torchrun's own launcher, but reports its two ends the way
``scripts/train.py`` does. When the launcher itself gets SIGINT/SIGTERM, torchrun forwards the
signal to the workers (they finish the step, write one checkpoint, rank 0 prints one ``error:``
line) and then raises ``SignalException`` with a traceback and exit 1; here that is exit 3, the
trainer's "stopped by a signal after a checkpoint". When a worker fails, torchrun raises
``ChildFailedError`` with a traceback and exit 1 after the worker has printed its own one-line
reason; here the exit code is that worker's (2 bad input, 3 interrupted, 4 NaN/Inf, ...).
"""

from __future__ import annotations

import sys
from typing import Optional

from .commandline import EXIT_INTERRUPTED


def main(argv: Optional[list[str]] = None) -> int:
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    args = torchrun.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        torchrun.run(args)
    except SignalException:
        return EXIT_INTERRUPTED
    except ChildFailedError as err:
        _, failure = err.get_first_failure()
        return failure.exitcode if failure.exitcode > 0 else 1     # negative: killed by a signal
    return 0


if __name__ == "__main__":
    sys.exit(main())
