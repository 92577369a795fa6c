"""Data-parallel training under torchrun: process-group set-up and gradient averaging.

The same script runs plain or under ``torchrun``; ``from_environment()`` tells which from the
variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK). Every rank holds a full replica of both
networks. After each backward pass the gradients are averaged with ONE all-reduce over a flat
buffer, the same collective DDP issues for networks of this size (one bucket), and the optimiser
then steps identically everywhere, so replicas stay bitwise identical with no parameter
broadcast. DDP's module wrapper is not used because it assumes one forward per backward on a
module whose parameters always require grad, while the critic runs two or three forwards per
step (real, fake, interpolates) and is frozen during the generator step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = DistContext()


def from_environment(device_name: str) -> DistContext:
    """Join the process group when started by torchrun, else return the single-process context.

    NCCL on CUDA, gloo on CPU. ``device_name`` is the config's system.device (auto|cpu|cuda).
    """
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return SINGLE
    world = int(os.environ["WORLD_SIZE"])
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local)
            # device_id binds the communicator to this rank's GPU (barrier() needs no guess).
            dist.init_process_group("nccl", device_id=torch.device("cuda", local))
        else:
            dist.init_process_group("gloo")
    return DistContext(rank=rank, world_size=world, local_rank=local)


class GradientAverager:
    """Averages the gradients of ``params`` across ranks with one all-reduce per call.

    The gradients are copied into one persistent flat buffer, reduced, and copied back. The
    buffer is allocated once, outside any CUDA graph, so the same all-reduce can be captured
    in a graph and replayed: the collective always reads and writes the same memory.
    """

    def __init__(self, params, ctx: DistContext):
        self.params = [p for p in params if p.requires_grad]
        self.ctx = ctx
        self.calls = 0            # all-reduces issued, for tests and the scaling report
        self.flat = self.views = None
        if ctx.enabled and self.params:
            sizes = [p.numel() for p in self.params]
            first = self.params[0]
            self.flat = torch.empty(sum(sizes), dtype=first.dtype, device=first.device)
            self.views = [v.view(p.shape) for v, p in zip(self.flat.split(sizes), self.params)]

    def step_pre_hook(self, optimizer, args, kwargs) -> None:
        """``Optimizer.register_step_pre_hook`` form: average right before the optimiser steps.

        A bound method of this object, not a closure over the trainer, so that the optimiser
        does not keep the whole trainer (and its GPU memory) alive in a reference cycle.
        """
        self()

    def __call__(self) -> None:
        if not self.ctx.enabled:
            return
        for p in self.params:
            if p.grad is None:          # only before the first backward fills every gradient
                p.grad = torch.zeros_like(p)
        grads = [p.grad for p in self.params]
        torch._foreach_copy_(self.views, grads)
        dist.all_reduce(self.flat)
        self.flat.div_(self.ctx.world_size)
        torch._foreach_copy_(grads, self.views)
        self.calls += 1


def all_mean(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Mean of a tensor over ranks (a log-step collective, not used per training step)."""
    if not ctx.enabled:
        return values
    out = values.clone()
    dist.all_reduce(out)
    return out / ctx.world_size


def any_rank(flag: bool, ctx: DistContext, device) -> bool:
    """True on every rank if ``flag`` is true on any rank (e.g. a signal received by one)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def gather_objects(obj, ctx: DistContext) -> list:
    """Every rank's ``obj``, in rank order (on every rank)."""
    if not ctx.enabled:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def parameter_checksums(modules, ctx: DistContext, device) -> torch.Tensor:
    """Per-rank float64 sums of every parameter: rows equal iff the replicas agree."""
    sums = torch.stack([torch.stack([p.detach().double().sum() for p in m.parameters()]).sum() for m in modules])
    sums = sums.to(device)
    if not ctx.enabled:
        return sums.unsqueeze(0)
    out = [torch.empty_like(sums) for _ in range(ctx.world_size)]
    dist.all_gather(out, sums)
    return torch.stack(out)


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx: DistContext) -> None:
    # Also for one process under torchrun: from_environment joined a group of one, and NCCL warns
    # at exit about a group that was never destroyed.
    if dist.is_initialized():
        dist.destroy_process_group()
