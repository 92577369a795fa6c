"""Data-parallel training under torchrun: process-group set-up and gradient averaging.

The same script runs plain or under ``torchrun``; ``from_environment()`` tells which from the
variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK). Every rank holds a full replica of both
networks. During each backward pass the gradients are averaged by all-reduces over buckets of
about 4 MB, each started as soon as backward has finished its gradients (as DDP does), and the
optimiser then steps identically everywhere, so replicas stay bitwise identical with no
parameter broadcast. DDP's module wrapper is not used because it assumes one forward per backward on a
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

    NCCL on CUDA, gloo on CPU. ``device_name`` is the config's train.device (auto|cpu|cuda).
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
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistContext(rank=rank, world_size=world, local_rank=local)


BUCKET_BYTES = 4 * 2**20   # gradients per all-reduce: big enough for bandwidth, small enough that
                           # the first bucket is sent while backward still runs (DDP's idea)


class GradientAverager:
    """Averages the gradients of ``params`` across ranks, overlapping the all-reduces with the
    backward pass.

    The parameters are grouped into buckets of about ``BUCKET_BYTES``, in reverse order (the
    order in which backward finishes them). A post-accumulate-grad hook counts each bucket's
    finished gradients; once a bucket is complete it is copied into a flat buffer and its
    asynchronous all-reduce starts, while backward computes the earlier layers. Buckets start
    strictly in index order, so every rank issues the same collectives in the same order.
    Calling the averager after ``backward()`` starts any bucket still pending (a parameter
    that got no gradient), waits on the device (no host sync) and writes the averages back.
    Every rank receives the same sums, so the replicas stay bitwise identical.
    """

    def __init__(self, params, ctx: DistContext, bucket_bytes: int = BUCKET_BYTES):
        self.params = [p for p in params if p.requires_grad]
        self.ctx = ctx
        self.calls = 0            # all-reduces issued, for tests and the scaling report
        self.buckets: list[list[torch.nn.Parameter]] = []
        if not ctx.enabled:
            return
        current, size = [], 0
        for p in reversed(self.params):
            current.append(p)
            size += p.numel() * p.element_size()
            if size >= bucket_bytes:
                self.buckets.append(current)
                current, size = [], 0
        if current:
            self.buckets.append(current)
        self._bucket_of = {id(p): i for i, bucket in enumerate(self.buckets) for p in bucket}
        self._flat = [torch.empty(sum(p.numel() for p in b), dtype=b[0].dtype, device=b[0].device)
                      for b in self.buckets]
        self._views = [list(torch.split(flat, [p.numel() for p in b])) for flat, b in zip(self._flat, self.buckets)]
        self._reset()
        for p in self.params:
            p.register_post_accumulate_grad_hook(self._grad_ready)

    def _reset(self) -> None:
        self._pending = [len(b) for b in self.buckets]
        self._works: list = []

    def _grad_ready(self, param: torch.nn.Parameter) -> None:
        index = self._bucket_of[id(param)]
        self._pending[index] -= 1
        while len(self._works) < len(self.buckets) and self._pending[len(self._works)] == 0:
            self._start(len(self._works))

    def _start(self, index: int) -> None:
        bucket, views = self.buckets[index], self._views[index]
        for p in bucket:
            if p.grad is None:          # only before the first backward fills every gradient
                p.grad = torch.zeros_like(p)
        torch._foreach_copy_(views, [p.grad.reshape(-1) for p in bucket])
        self._works.append(dist.all_reduce(self._flat[index], async_op=True))
        self.calls += 1

    def __call__(self) -> None:
        if not self.ctx.enabled:
            return
        while len(self._works) < len(self.buckets):
            self._start(len(self._works))
        for work, flat, bucket, views in zip(self._works, self._flat, self.buckets, self._views):
            work.wait()                 # the compute stream waits for the collective; the host does not
            flat.div_(self.ctx.world_size)
            torch._foreach_copy_([p.grad for p in bucket], [v.view_as(p.grad) for v, p in zip(views, bucket)])
        self._reset()


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
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
