"""CUDA graph capture and replay of zero-argument step callables.

A training step of these small networks is hundreds of short kernels; launching them from
Python leaves the GPU waiting. Capturing a step once and replaying it runs the same kernels
without that overhead. The callables must read their inputs from, and write their results to,
tensors that stay at fixed addresses (the caller refills them before each replay), and must be
run eagerly a few times first (``warm_up``) so that optimiser state exists and cuDNN has chosen
its algorithms before capture.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

Step = Callable[[], object]


def _own_stream() -> "torch.cuda.Stream | None":
    """The current stream if the caller chose one (not the default stream), else None.

    A caller that runs several trainers on their own streams (the sweep's ConcurrentExecutor)
    must warm up, capture and replay each on its own stream: cuBLAS workspaces are kept per
    (handle, stream), so graphs captured on one shared side stream would share one workspace,
    and their replays on concurrent streams would overwrite each other's: spectrally normalised
    critics, whose matrix-vector products run on cuBLAS, stopped learning (README "Sweeps").
    """
    current = torch.cuda.current_stream()
    return None if current == torch.cuda.default_stream() else current


def warm_up(step: Step) -> None:
    """Run ``step`` eagerly on a side stream, as capture requires of the work before it: the
    caller's own stream if it chose one, else a fresh one."""
    if _own_stream() is not None:
        step()
        return
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        step()
    torch.cuda.current_stream().wait_stream(stream)


def capture(steps: Sequence[Step], thread_local: bool = False) -> list[torch.cuda.CUDAGraph]:
    """One CUDA graph per callable, captured in order (each with its own memory pool).

    Capturing records the kernels and runs none of them. ``thread_local`` limits the capture's
    error checking to this thread: under torchrun, NCCL's watchdog thread queries its events
    while a capture is open, which "global" mode would turn into an error.
    """
    torch.cuda.synchronize()
    mode = "thread_local" if thread_local else "global"
    stream = _own_stream()          # None: torch.cuda.graph's own side stream
    graphs = []
    for step in steps:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream, capture_error_mode=mode):
            step()
        graphs.append(graph)
    torch.cuda.synchronize()
    return graphs
