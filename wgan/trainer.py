"""One training run: building, resume, the loop's cadence, logging, evaluation and signals.

The algorithm itself lives in ``wgan/step.py`` (Algorithm 1 as ``critic_update`` and
``generator_update``) and the objective's differences in ``wgan/objectives.py``; this module
builds what they need, feeds them fresh random inputs, and wraps them: bf16 autocast around
the networks' forwards, the gradient average across torchrun processes in the optimisers' step
pre-hooks, and on CUDA capture into graphs (``wgan/graphs.py``) after a few eager steps. Random
inputs are always drawn outside the captured region, so eager and graph runs consume the same
random numbers in the same order.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch

from . import checkpoint as ckpt
from . import graphs, sampling, startup
from .commandline import EXIT_INTERRUPTED  # noqa: F401 - part of this module's API (exit 3)
from .config import Config, ConfigError
from .critic_watch import CriticWatch
from .data import ImageDataset, RealSampler, load_dataset, to_unit_range
from .devices import DeviceUnavailable
from .devices import resolve_device as _resolve_device
from .distributed import (
    SINGLE,
    DistContext,
    GradientAverager,
    all_mean,
    any_rank,
    barrier,
    gather_objects,
    parameter_checksums,
)
from .ema import GeneratorAverage
from .logs import get_logger
from .models import build_models, count_parameters
from .objectives import get_objective
from .provenance import FINISHED, INTERRUPTED, RunRecord
from .rundir import RunDir, check_resume_compatible
from .seeding import noise_seed, rng_state, seed_everything, set_rng_state
from .signals import StopOnSignal
from .step import critic_update, generator_update

GRAPH_WARMUP_STEPS = 3    # eager generator steps before the CUDA graphs are captured
EXIT_NONFINITE = 4        # a loss or weight became NaN/Inf; the last good checkpoint is kept

# Per-critic-step quantities accumulated on the device between logs (no host sync per step),
# in the order of step.CriticStats.
CRITIC_STATS = ("em_distance", "loss_critic", "critic_real", "critic_fake", "gradient_penalty", "gp_grad_norm")


class NonFiniteError(RuntimeError):
    """A loss or weight became NaN or Inf."""


class TrainingInterrupted(RuntimeError):
    """Training stopped on a signal after saving a checkpoint."""


@dataclass
class TrainResult:
    step: int                   # generator steps completed
    run_dir: str
    last_checkpoint: Optional[str]
    metrics: dict               # last logged scalars


def resolve_device(name: str) -> torch.device:
    """system.device (auto|cpu|cuda) as a torch.device; a missing GPU is a ConfigError."""
    try:
        return _resolve_device(name)
    except DeviceUnavailable:
        raise ConfigError("system.device=cuda but no CUDA device is available; use system.device=auto or cpu") from None


def lr_decay_factor(train, step: int, part: str = "generator") -> float:
    """Factor on ``train.lr`` of ``part`` (generator or critic) during generator step ``step``
    (0-based), as ``train.lr_decay`` asks: the one definition of the schedule."""
    if train.lr_decay == "linear" or (train.lr_decay == "linear-generator" and part == "generator"):
        return max(0.0, 1.0 - step / train.steps)
    return 1.0


def reads_tensor_lr(device_type: str, lr_decay: str) -> bool:
    """Whether the optimisers read their rate from a device tensor that the schedule refills.

    CUDA graphs need it (a float rate would be baked into the captured kernels), and the eager
    CUDA path takes it too: torch's RMSprop and Adam take another sequence of kernels for a tensor
    rate than for a float one, so eager and graphs would differ by rounding from the first decayed
    step on. On the CPU a capturable optimiser is not supported, and eager is the only path there.
    """
    return device_type == "cuda" and lr_decay != "none"


def optimizer_state_for(optimizer: torch.optim.Optimizer, saved: dict) -> dict:
    """``saved`` with the group settings that belong to the device rather than to the run taken
    from ``optimizer`` as this process built it: whether it is capturable, and the rate as a plain
    number (``Trainer._schedule_lr`` installs the device tensor where this path reads one).

    A checkpoint written on CUDA holds capturable groups, which the CPU refuses at the first step,
    and one written on the CPU holds non-capturable groups, which CUDA graphs cannot capture.
    Torch places each parameter's ``step`` by the loaded group's flag, so it is set before loading.
    """
    groups = [{**group, "capturable": own.get("capturable", False), "lr": float(group["lr"])}
              for group, own in zip(saved["param_groups"], optimizer.param_groups)]
    return {**saved, "param_groups": groups}


def make_optimizer(params, cfg: Config, capturable: bool) -> torch.optim.Optimizer:
    t = cfg.train
    if t.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=t.lr, capturable=capturable)
    return torch.optim.Adam(params, lr=t.lr, betas=tuple(t.betas), capturable=capturable)


class Autocast:
    """A network whose forward runs under bf16 autocast; everything else is the network's.

    Wrapping the call, not the update, keeps the backward passes and the optimiser step out of
    autocast, as PyTorch recommends, and keeps ``wgan/step.py`` free of precision concerns.
    """

    def __init__(self, module: torch.nn.Module):
        self.module = module

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False):
            return self.module(x)

    def __getattr__(self, name):
        return getattr(self.module, name)


def exit_status(error: Optional[BaseException]) -> str:
    """run.json's status of an attempt that ended with ``error`` (None: it finished)."""
    if error is None:
        return FINISHED
    if isinstance(error, (TrainingInterrupted, KeyboardInterrupt, GeneratorExit)):   # GeneratorExit: run_steps closed
        return INTERRUPTED
    return f"failed: {error.__class__.__name__}"


class Trainer:
    """Owns the models, optimisers, data sampler and RNGs of one run.

    ``Trainer(cfg).run()`` trains until ``cfg.train.steps`` generator steps, resuming from the
    newest good checkpoint in ``cfg.run.dir``. The step methods can also be called directly
    (tests and notebooks do).

    Messages (the summary line, resume notes, warnings) go to ``echo`` when one is given (the
    command line passes ``print``), else to the ``logging`` logger ``"wgan"`` at INFO, with the
    resolved config at DEBUG (see ``wgan/logs.py``: ``logging.getLogger("wgan").setLevel(
    logging.WARNING)`` silences a notebook).
    """

    def __init__(self, cfg: Config, dataset: Optional[ImageDataset] = None,
                 echo: Optional[Callable[[str], None]] = None, dist_ctx: DistContext = SINGLE):
        self.cfg, self.dist = cfg, dist_ctx
        if not dist_ctx.is_main:
            self.echo = self._echo_detail = lambda _: None
        elif echo is not None:
            self.echo = self._echo_detail = echo
        else:
            logger = get_logger()
            self.echo, self._echo_detail = logger.info, logger.debug
        t, system = cfg.train, cfg.system
        self.device = resolve_device(system.device)
        if self.device.type == "cuda" and dist_ctx.enabled:
            self.device = torch.device("cuda", dist_ctx.local_rank)
        self.objective = get_objective(t.objective, t)
        seed_everything(t.seed)
        self.dataset = dataset if dataset is not None else load_dataset(cfg)
        if t.batch_size * dist_ctx.world_size > len(self.dataset):
            raise ConfigError(f"train.batch_size={t.batch_size} x {dist_ctx.world_size} processes is larger than "
                              f"the dataset ({len(self.dataset)} images); lower train.batch_size")
        if self.device.type == "cuda":
            # Autotuning picks the fastest algorithm by timing, which can differ between runs
            # and change the rounding; deterministic mode trades that speed for repeatability.
            torch.backends.cudnn.benchmark = not system.deterministic
            torch.backends.cudnn.deterministic = system.deterministic
            # PyTorch lets cuDNN use TF32 by default; "fp32" means fp32 here, so it is opt-in.
            tf32 = system.precision != "fp32"
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
        self.sampler = RealSampler(self.dataset.images, cfg.data.image_size, t.batch_size, self.device,
                                   t.seed, cfg.data.on_device, dist_ctx.rank, dist_ctx.world_size)
        self.generator, critic = build_models(cfg, self.dataset.channels)
        self.critic = self.objective.prepare_critic(critic)
        self.memory_format = (torch.channels_last if system.channels_last and self.device.type == "cuda"
                              else torch.contiguous_format)
        self.generator.to(self.device, memory_format=self.memory_format)
        self.critic.to(self.device, memory_format=self.memory_format)
        bf16 = system.precision == "bf16" and self.device.type == "cuda"
        self._g_forward = Autocast(self.generator) if bf16 else self.generator
        self._c_forward = Autocast(self.critic) if bf16 else self.critic
        # Under torchrun the graphs hold the NCCL all-reduces too: every rank replays the same
        # sequence of graphs, so the collectives pair up as they do eagerly.
        self.use_graphs = self.device.type == "cuda" and system.cuda_graphs
        self.tensor_lr = reads_tensor_lr(self.device.type, t.lr_decay)
        capturable = self.use_graphs or self.tensor_lr
        self.opt_g = make_optimizer(self.generator.parameters(), cfg, capturable)
        self.opt_c = make_optimizer(self.critic.parameters(), cfg, capturable)
        # The gradient average across processes runs between backward and the optimiser step.
        self.average_c = GradientAverager(self.critic.parameters(), dist_ctx)
        self.average_g = GradientAverager(self.generator.parameters(), dist_ctx)
        self.opt_c.register_step_pre_hook(self.average_c.step_pre_hook)
        self.opt_g.register_step_pre_hook(self.average_g.step_pre_hook)
        self.lr_schedules: list = []
        self._lr_tensors: list = []
        self._schedule_lr(0)
        self.ema = GeneratorAverage(self.generator, t.ema, t.batch_size) if t.ema else None
        self.critic_watch = CriticWatch() if self.objective.clips_weights else None
        self.noise = torch.Generator(device=self.device).manual_seed(noise_seed(t.seed, dist_ctx.rank, 0))
        fixed = torch.Generator().manual_seed(t.seed + 2)
        self.fixed_z = torch.randn(cfg.log.n_samples, cfg.model.z_dim, generator=fixed).to(self.device)
        self.step = 0
        self.critic_steps_done = 0
        # Static input buffers: the eager path and the captured graphs read the same tensors.
        b, z_dim = t.batch_size, cfg.model.z_dim
        self.real_buf = torch.empty(b, self.dataset.channels, cfg.data.image_size, cfg.data.image_size,
                                    device=self.device).contiguous(memory_format=self.memory_format)
        self.z_c = torch.empty(b, z_dim, device=self.device)
        self.z_g = torch.empty(b, z_dim, device=self.device)
        self.alpha = torch.empty(b, device=self.device)
        self._reset_accumulators()
        self._graphs: Optional[tuple] = None
        self._graph_collectives = (0, 0)     # all-reduces inside each graph (critic, generator)
        self._stop_signal: Optional[int] = None
        self._resumed_from: Optional[str] = None   # checkpoint this run resumed from, if any
        self._evaluator = None
        self.best_fid = float("inf")

    # ---------------------------------------------------------------- random inputs
    def _draw_critic_inputs(self) -> None:
        self.real_buf.copy_(self.sampler.next())
        torch.randn(self.z_c.shape, generator=self.noise, device=self.device, out=self.z_c)
        if self.objective.needs_interpolates:
            torch.rand(self.alpha.shape, generator=self.noise, device=self.device, out=self.alpha)

    def _draw_generator_inputs(self) -> None:
        torch.randn(self.z_g.shape, generator=self.noise, device=self.device, out=self.z_g)

    # ---------------------------------------------------------------- the two steps
    def _reset_accumulators(self) -> None:
        self.acc_critic = torch.zeros(len(CRITIC_STATS), device=self.device)
        self.acc_gen = torch.zeros(1, device=self.device)
        # Step of the first non-finite loss (-1 = none), kept on the device: no sync per step.
        self.first_bad = torch.full((2,), -1, dtype=torch.long, device=self.device)
        self.step_counter = torch.zeros((), dtype=torch.long, device=self.device)

    def _critic_compute(self) -> None:
        """One critic update on the current buffers plus its bookkeeping (capturable)."""
        stats = critic_update(self._g_forward, self._c_forward, self.opt_c, self.objective,
                              self.real_buf, self.z_c, self.alpha)
        self.acc_critic += torch.stack(stats)
        bad = ~torch.isfinite(stats.loss)
        self.first_bad[0] = torch.where(bad & (self.first_bad[0] < 0), self.step_counter, self.first_bad[0])

    def _generator_compute(self) -> None:
        """One generator update on the current noise plus its bookkeeping (capturable)."""
        loss = generator_update(self._g_forward, self._c_forward, self.opt_g, self.objective, self.z_g)
        if self.ema is not None:
            self.ema.update(self.step_counter)
        self.acc_gen += loss
        bad = ~torch.isfinite(loss)
        self.first_bad[1] = torch.where(bad & (self.first_bad[1] < 0), self.step_counter, self.first_bad[1])
        self.step_counter += 1

    def critic_step(self) -> None:
        """One critic update on a fresh real batch and fresh noise."""
        self._draw_critic_inputs()
        if self._graphs is not None:
            self._graphs[0].replay()
            self.average_c.calls += self._graph_collectives[0]
        else:
            self._critic_compute()
        self.critic_steps_done += 1

    def generator_step(self) -> None:
        """One generator update on fresh noise, critic parameters frozen."""
        self._draw_generator_inputs()
        if self._graphs is not None:
            self._graphs[1].replay()
            self.average_g.calls += self._graph_collectives[1]
        else:
            self._generator_compute()
        self.step += 1
        self._advance_lr()

    def critic_iters(self, step: int) -> int:
        """Critic steps before generator step ``step`` (the official schedule if enabled)."""
        t = self.cfg.train
        if t.critic_warmup and (step < 25 or step % 500 == 0):
            return 100
        return t.n_critic

    def train_step(self) -> None:
        """One iteration of Algorithm 1: n_critic critic steps, then one generator step."""
        for _ in range(self.critic_iters(self.step)):
            self.critic_step()
        self.generator_step()

    # ---------------------------------------------------------------- learning rate
    def lr_at(self, step: int, part: str = "generator") -> float:
        """Learning rate of ``part``'s optimiser (generator or critic) during generator step ``step`` (0-based)."""
        return self.cfg.train.lr * lr_decay_factor(self.cfg.train, step, part)

    def _schedule_lr(self, step: int) -> None:
        """(Re)build the lr schedules so that the next generator step, ``step``, uses ``lr_at(step)``.

        Called at build and after loading optimiser state (which replaces the groups' rates), so
        a resumed run follows the schedule of its current ``train.steps``. On CUDA the rate lives
        in a device tensor per group that the (capturable) optimiser reads and the schedule
        refills in place (``reads_tensor_lr`` says why).
        """
        if self.cfg.train.lr_decay == "none":
            return
        self._lr_tensors = []
        parts = ((self.opt_c, "critic"), (self.opt_g, "generator"))
        for opt, part in parts:
            for group in opt.param_groups:
                group["initial_lr"] = self.cfg.train.lr
                if self.tensor_lr:
                    group["lr"] = torch.tensor(self.lr_at(step, part), device=self.device)
                    self._lr_tensors.append((group, group["lr"]))
        self.lr_schedules = [torch.optim.lr_scheduler.LambdaLR(
            opt, functools.partial(lr_decay_factor, self.cfg.train, part=part), last_epoch=step - 1)
            for opt, part in parts]

    def _advance_lr(self) -> None:
        for schedule in self.lr_schedules:
            schedule.step()
        for group, tensor in self._lr_tensors:
            if group["lr"] is not tensor:       # a torch whose schedulers assign instead of fill
                tensor.fill_(float(group["lr"]))
                group["lr"] = tensor

    # ---------------------------------------------------------------- CUDA graphs
    def capture_graphs(self) -> None:
        """Capture the critic and generator updates as CUDA graphs (after eager warm-up steps)."""
        # No collective may be in flight when a capture starts (NCCL's watchdog would query its
        # event mid-capture).
        barrier(self.dist)
        calls = self.average_c.calls, self.average_g.calls
        self._graphs = tuple(graphs.capture([self._critic_compute, self._generator_compute],
                                            thread_local=self.dist.enabled))
        # Capturing recorded the collectives once without running them: count them per replay.
        self._graph_collectives = (self.average_c.calls - calls[0], self.average_g.calls - calls[1])
        self.average_c.calls, self.average_g.calls = calls

    def _eager_warmup_step(self) -> None:
        """A real training step run eagerly on a side stream, as CUDA graph capture requires
        before capture (it allocates optimiser state and lets cuDNN pick its algorithms)."""
        graphs.warm_up(self.train_step)

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """Everything needed to continue bit-exactly. Under torchrun every rank must call it
        (it gathers each rank's RNG states); only rank 0 writes the result."""
        local_rng = {**rng_state(), "noise": self.noise.get_state()}
        ranks = gather_objects(local_rng, self.dist) if self.dist.enabled else None
        averaged = {"generator_ema": self.sampling_generator().state_dict()} if self.ema is not None else {}
        return {
            "step": self.step,
            "critic_steps": self.critic_steps_done,
            "generator": self.generator.state_dict(),
            **averaged,
            "critic": self.critic.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_c": self.opt_c.state_dict(),
            "config": self.cfg.to_dict(),
            "channels": self.dataset.channels,
            "fixed_z": self.fixed_z.cpu(),
            "world_size": self.dist.world_size,
            "rng": {**local_rng, "sampler": self.sampler.state_dict(), "ranks": ranks},
        }

    def check_compatible(self, state: dict) -> None:
        """Raise CheckpointError if ``state`` was made by models of another shape."""
        for name, module in (("generator", self.generator), ("generator_ema", self.generator),
                             ("critic", self.critic)):
            if name not in state:       # only the optional average can be absent (read_checkpoint checks)
                continue
            own = module.state_dict()
            theirs = state[name]
            if set(own) != set(theirs) or any(own[k].shape != theirs[k].shape for k in own):
                raise ckpt.CheckpointError(f"checkpoint holds a {name} of another architecture than the config's")
        if not os.path.lexists(RunDir(self.cfg.run.dir).config):
            # config.yaml was deleted: the checkpoint's copy names the experiment (ConfigError: a
            # refusal to resume, not a damaged file), checked before config.yaml is rewritten.
            check_resume_compatible(state["config"], self.cfg)
        # Everything load_state_dict reads, checked before anything is loaded: a file that fails
        # here is a damaged checkpoint, and load_latest falls back to an older one.
        ckpt.check_optimizer_state("opt_g", state["opt_g"], self.opt_g)
        ckpt.check_optimizer_state("opt_c", state["opt_c"], self.opt_c)
        ckpt.check_finite(state)
        fixed_z = state.get("fixed_z")
        if not isinstance(fixed_z, torch.Tensor) or fixed_z.dim() != 2 or fixed_z.shape[1] != self.cfg.model.z_dim:
            raise ckpt.CheckpointError("checkpoint's fixed_z is missing or not a batch of latents of model.z_dim")
        rng = state["rng"]
        try:
            saved_world = int(state.get("world_size", 1))
            own = rng["ranks"][self.dist.rank] if self.dist.enabled and saved_world == self.dist.world_size else rng
        except (TypeError, ValueError, KeyError, IndexError):
            raise ckpt.CheckpointError("checkpoint's random number state rng.ranks is missing or malformed") from None
        if saved_world == self.dist.world_size:
            ckpt.check_rng_state(own, self.noise.device)
        ckpt.check_sampler_state(rng.get("sampler"), self.sampler.generator.device, len(self.sampler))

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(optimizer_state_for(self.opt_g, state["opt_g"]))
        self.opt_c.load_state_dict(optimizer_state_for(self.opt_c, state["opt_c"]))
        self.step = int(state["step"])
        self._schedule_lr(self.step)           # loading replaced the groups' learning rates
        self.critic_steps_done = int(state.get("critic_steps", 0))
        self.fixed_z = state["fixed_z"].to(self.device)
        if self.ema is not None and "generator_ema" in state:
            self.ema.load_state_dict(state["generator_ema"], self.step)
        elif self.ema is not None:
            self.ema.copy_from_live()
            self.echo(f"note: train.ema is on but the checkpoint holds no averaged generator; the average "
                      f"starts from the weights of generator step {self.step}")
        rng = state["rng"]
        saved_world = int(state.get("world_size", 1))
        if saved_world == self.dist.world_size:
            own = rng["ranks"][self.dist.rank] if self.dist.enabled else rng
            set_rng_state(own)
            self.noise.set_state(own["noise"])
        else:
            # Another number of processes: the data order continues exactly (its state is shared
            # by all ranks); each rank's noise stream is re-derived from (seed, rank, step).
            seed = noise_seed(self.cfg.train.seed, self.dist.rank, self.step)
            torch.manual_seed(seed)
            self.noise.manual_seed(seed)
            self.echo(f"note: checkpoint written by {saved_world} process(es), resuming with "
                      f"{self.dist.world_size}: noise streams re-derived from (seed, rank, step)")
        self.sampler.load_state_dict(rng["sampler"])
        self.step_counter.fill_(self.step)

    def _health(self) -> torch.Tensor:
        """[first bad critic step, first bad generator step, generator finite, critic finite] on the
        device, so a caller can read it together with other values in one host sync."""
        finite = [torch.stack([torch.isfinite(p.detach()).all() for p in m.parameters()]).all()
                  for m in (self.generator, self.critic)]
        return torch.cat([self.first_bad.double(), torch.stack(finite).double()])

    def _raise_if_nonfinite(self, health: list) -> None:
        """Raise NonFiniteError naming the step and quantity that went NaN/Inf."""
        bad_critic, bad_gen, generator_ok, critic_ok = health
        # Non-finite weights are the cause and the losses their symptom (NaN generator weights make
        # the critic loss NaN first), so the weights are named first, the first bad loss after.
        losses = [f"{name} loss at generator step {int(at) + 1}" for name, at in (("critic", bad_critic),
                                                                                 ("generator", bad_gen)) if at >= 0]
        bad = " and ".join(name for name, ok in (("generator", generator_ok), ("critic", critic_ok)) if not ok)
        if bad:
            first = f" (first NaN/Inf loss: {losses[0]})" if losses else ""
            raise NonFiniteError(f"{bad} weights became NaN/Inf by generator step {self.step}{first}")
        if bad_critic >= 0:
            raise NonFiniteError(f"critic loss became NaN/Inf at generator step {int(bad_critic) + 1}")
        if bad_gen >= 0:
            raise NonFiniteError(f"generator loss became NaN/Inf at generator step {int(bad_gen) + 1}")

    def check_finite(self) -> None:
        """Raise NonFiniteError if a loss or weight went NaN/Inf (one host sync)."""
        self._raise_if_nonfinite(self._health().tolist())

    def sampling_generator(self) -> torch.nn.Module:
        """The generator that grids, metrics, checkpoints' exports and best_generator use: the
        weight average when ``train.ema`` is on (BatchNorm statistics refreshed), else the live one."""
        if self.ema is None:
            return self.generator
        return self.ema.ready(self.step)

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Output of ``sampling_generator()`` in [-1, 1] for ``z``, with BatchNorm in eval mode."""
        model = self.sampling_generator()
        was_training = model.training
        model.eval()
        try:
            return model(z.to(self.device)).float()
        finally:
            model.train(was_training)

    def grad_norms(self) -> dict:
        out = {}
        for key, module in (("grad_norm_critic", self.critic), ("grad_norm_generator", self.generator)):
            grads = [p.grad for p in module.parameters() if p.grad is not None]
            if grads:
                out[key] = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        return out

    def _clipped_fraction(self) -> dict:
        """For weight clipping, ``clipped_fraction``: the share of critic weights at +-clip, as a
        device tensor (read with the other scalars in one sync). A critic whose weights all sit
        at the bounds has lost its capacity: the first sign of a dying critic."""
        if not self.objective.clips_weights:
            return {}
        params = [p.detach() for p in self.critic.parameters()]
        at_bound = torch.stack([(p.abs() >= self.objective.clip).sum() for p in params]).sum()
        return {"clipped_fraction": at_bound.double() / sum(p.numel() for p in params)}

    # ---------------------------------------------------------------- the loop
    def run(self) -> TrainResult:
        """Train to ``cfg.train.steps`` generator steps in ``cfg.run.dir``, resuming if possible.

        Under torchrun every rank calls this; rank 0 alone touches the run directory.
        """
        steps = self.run_steps()
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value

    def run_steps(self, handle_signals: bool = True) -> Iterator[int]:
        """``run()`` one generator step at a time: yields the step count after each step's
        logging and checkpointing, and returns the TrainResult (as ``StopIteration.value``).

        This lets one process interleave several runs (the sweep's ConcurrentExecutor).
        ``handle_signals=False`` leaves SIGINT/SIGTERM to the caller, who sets a stop by calling
        ``request_stop``: handlers are process-wide, and runs that start and end out of order
        cannot each install and restore one. Closing the iterator early releases the run
        directory and records the run as stopped, as an exception out of ``run()`` does.
        """
        cfg, main = self.cfg, self.dist.is_main
        run_dir, run = cfg.run.dir, RunDir(cfg.run.dir)
        with contextlib.ExitStack() as stack:
            path = None
            if main:
                run.preflight(cfg)      # again here: notebook users call run() without the CLI
                os.makedirs(run_dir, exist_ok=True)
                stack.enter_context(run.locked())
            if handle_signals:
                stack.enter_context(StopOnSignal(self._on_signal, pending=startup.pending))
            if main:
                resumed = ckpt.load_latest(run_dir, validate=self.check_compatible, map_location="cpu")
                path = resumed[0] if resumed else None
            path = gather_objects(path, self.dist)[0]       # every rank resumes from rank 0's choice
            if path is not None:
                state = resumed[1] if main else ckpt.read_checkpoint(path, map_location="cpu")
                self.load_state_dict(state)
                self.echo(f"resuming {run_dir} from {path} (generator step {self.step})")
                self._resumed_from = path
            record = None
            if main:
                run.write_config(cfg)
                fids = [v for row in run.read_metrics() if row.get("step", 0) <= self.step  # not a crashed
                        for k, v in row.items() if k.startswith("fid_")]                   # attempt's rows
                self.best_fid = min(fids, default=float("inf"))
                record = RunRecord(run.run_json, self.device, self.step, self.dist.world_size)
                record.write()
            error = None
            try:
                return (yield from self._loop())
            except BaseException as err:
                error = err
                raise
            finally:
                if record is not None:
                    record.finish(self.step, exit_status(error))

    def _loop(self) -> Iterator[int]:
        from tqdm import tqdm

        from .tracking import NullWriter, RunWriter

        cfg, t, log, main = self.cfg, self.cfg.train, self.cfg.log, self.dist.is_main
        run = RunDir(cfg.run.dir)
        # Purge what a crashed earlier attempt logged after the checkpoint resumed from (all of it
        # when no checkpoint was reached), so metrics.jsonl and TensorBoard hold each step once.
        writer = RunWriter(cfg.run.dir, purge_step=self.step + 1 if self.step else 0) if main else NullWriter()
        self.echo(self.summary())
        self._echo_detail("resolved config:\n" + cfg.to_yaml().rstrip())
        writer.text(self.step, "config", "```yaml\n" + cfg.to_yaml().rstrip() + "\n```")
        if self.step == 0:
            real = to_unit_range(self.sampler.images[: log.n_samples].to(self.device))
            writer.grid(0, "real", real, run.sample("real.png"))
        last_ckpt, metrics = self._resumed_from, {}
        bar = tqdm(total=t.steps, initial=self.step, disable=not (log.progress and main), unit="step",
                   dynamic_ncols=True, file=sys.stderr)
        tick, tick_step, eager_steps = time.perf_counter(), self.step, 0
        first_step = self.step
        self._critic_steps_at_log = self.critic_steps_done
        try:
            while self.step < t.steps:
                if self.use_graphs and self._graphs is None and eager_steps >= GRAPH_WARMUP_STEPS:
                    self.capture_graphs()
                if self.use_graphs and self._graphs is None:
                    self._eager_warmup_step()
                    eager_steps += 1
                else:
                    self.train_step()
                bar.update(1)
                log_now = self.step % log.log_every == 0 or self.step == t.steps
                if log_now:
                    now = time.perf_counter()
                    metrics = self._log_scalars(writer, now - tick, self.step - tick_step)
                    tick, tick_step = now, self.step
                    bar.set_postfix(em=f"{metrics['em_distance']:.4f}")
                    warning = self.critic_watch and self.critic_watch.update(self.step, metrics["em_distance"])
                    if warning:
                        self.echo(warning)
                # Under torchrun the ranks agree on stopping at log steps (one tiny collective),
                # so that all of them reach the same checkpoint.
                stop = (any_rank(self._stop_signal is not None, self.dist, self.device) if log_now
                        else False) if self.dist.enabled else self._stop_signal is not None
                if main and (self.step % log.sample_every == 0 or self.step == t.steps):
                    writer.grid(self.step, "fixed", self.sample(self.fixed_z), run.sample_grid(self.step))
                if main and log.eval_every and (self.step % log.eval_every == 0 or self.step == t.steps):
                    self._evaluate(writer)
                if self.step % log.checkpoint_every == 0 or self.step == t.steps or stop:
                    if not log_now:                 # a log step has just checked
                        self.check_finite()
                    state = self.state_dict()
                    if main:
                        last_ckpt = ckpt.save_checkpoint(cfg.run.dir, self.step, state, log.keep_checkpoints)
                        writer.flush()
                    barrier(self.dist)
                if stop:
                    raise TrainingInterrupted(
                        f"stopped by signal {self._stop_signal or 'on another rank'} at generator step {self.step}; "
                        f"checkpoint {last_ckpt}; run the same command again to resume")
                yield self.step
        finally:
            bar.close()
            writer.close()
        if main and self.step == first_step:
            # Nothing to train (a finished run re-run): its last logged scalars, not an empty dict.
            metrics = next(({k: v for k, v in row.items() if k != "step"} for row in reversed(run.read_metrics())
                            if "em_distance" in row), {})
        if self.dist.enabled and self.step > first_step:
            collectives = self.average_c.calls + self.average_g.calls
            self.echo(f"all-reduces per generator step: {collectives / (self.step - first_step):.1f} "
                      f"({self.dist.world_size} processes)")
        return TrainResult(self.step, cfg.run.dir, last_ckpt, metrics)

    def _log_scalars(self, writer, seconds: float, steps: int) -> dict:
        """Scalars since the last log (averaged over ranks), gradient norms and the NaN/Inf flags,
        read in the one host sync of a log interval."""
        critic_steps = max(1, self.critic_steps_done - self._critic_steps_at_log)
        self._critic_steps_at_log = self.critic_steps_done
        sums = all_mean(torch.cat([self.acc_critic / critic_steps, self.acc_gen / max(1, steps)]), self.dist)
        norms = self.grad_norms()
        extra = {**norms, **self._clipped_fraction()}
        values = torch.cat([sums.double(), torch.stack(list(extra.values())).double() if extra
                            else sums.new_zeros(0, dtype=torch.float64), self._health()]).tolist()
        n_sums = len(CRITIC_STATS) + 1
        metrics = dict(zip(CRITIC_STATS, values[:n_sums - 1]))
        metrics["loss_generator"] = values[n_sums - 1]
        metrics.update(zip(extra, values[n_sums:n_sums + len(extra)]))
        self._raise_if_nonfinite(values[n_sums + len(extra):])
        if not self.objective.has_penalty:
            metrics.pop("gradient_penalty")
            metrics.pop("gp_grad_norm")
        if seconds > 0 and steps > 0:
            metrics["steps_per_sec"] = steps / seconds
            # Real images the critics consumed per second, over all ranks.
            metrics["images_per_sec"] = critic_steps * self.cfg.train.batch_size * self.dist.world_size / seconds
        metrics["lr"] = self.lr_at(self.step - 1)      # the generator's rate in the step just taken
        if self.cfg.system.check_replicas:
            self.assert_replicas_equal()
        writer.scalars(self.step, metrics)
        self.acc_critic.zero_()
        self.acc_gen.zero_()
        return metrics

    def _evaluate(self, writer) -> dict:
        """Quality metrics on ``log.eval_samples`` images (rank 0); keeps the best generator by FID."""
        from .export import save_generator
        from .metrics import TrainingMetrics
        from .metrics.training import fid_key

        log = self.cfg.log
        if self._evaluator is None:
            self._evaluator = TrainingMetrics(self.cfg.data.name, self.cfg.data.root, self.device, log.eval_samples,
                                              inception_path=log.inception, log=self.echo)
        metrics = self._evaluator(self.sample_many)
        writer.scalars(self.step, metrics, group="metrics")
        fid = metrics.get(fid_key(log.eval_samples))
        if fid is not None and fid < self.best_fid:
            self.best_fid = fid
            save_generator(self.sampling_generator(),
                           RunDir(self.cfg.run.dir).best_generator, step=self.step,
                           dataset=self.cfg.data.name, objective=self.cfg.train.objective)
        return metrics

    def sample_many(self, n: int) -> torch.Tensor:
        """``n`` uint8 images from the same seeded latents at every call, so evaluations compare."""
        return sampling.generate(self.sampling_generator(), n, self.cfg.train.seed + 3)

    def assert_replicas_equal(self) -> None:
        """Debug check under torchrun: every rank holds bitwise-equal parameters."""
        sums = parameter_checksums((self.generator, self.critic), self.dist, self.device)
        if not bool((sums == sums[0]).all()):
            raise RuntimeError(f"replicas diverged at generator step {self.step}: parameter sums per rank "
                               f"{sums.tolist()}")

    def request_stop(self, signum: int) -> None:
        """Finish the current generator step, checkpoint, and stop (``run`` raises
        TrainingInterrupted naming ``signum``). Safe from a signal handler."""
        if self._stop_signal is None:
            self._stop_signal = signum

    def _on_signal(self, signum: int) -> None:
        """First SIGINT/SIGTERM while training: finish this step, checkpoint, stop (exit 3)."""
        self._stop_signal = signum
        self.echo(f"\nsignal {signum} received: finishing this step and writing a checkpoint "
                  f"(press Ctrl-C again to stop at once)")

    def summary(self) -> str:
        cfg = self.cfg
        return (f"wgan: {cfg.train.objective} on {self.dataset.name} ({len(self.dataset)} images, "
                f"{self.dataset.channels}ch, {cfg.data.image_size}px) | device {self.device} "
                f"{'(CUDA graphs)' if self.use_graphs else ''}| generator {count_parameters(self.generator):,} "
                f"params, critic {count_parameters(self.critic):,} | seed {cfg.train.seed} | run dir {cfg.run.dir}"
                + (f" | {self.dist.world_size} processes x batch {cfg.train.batch_size} = global batch "
                   f"{self.dist.world_size * cfg.train.batch_size}" if self.dist.enabled else ""))


def train(cfg: Config, dataset: Optional[ImageDataset] = None,
          echo: Optional[Callable[[str], None]] = None, dist_ctx: DistContext = SINGLE) -> TrainResult:
    """Train a WGAN as configured; resumes if ``cfg.run.dir`` holds checkpoints.

    Returns the run's TrainResult; its ``metrics`` are the scalars of the last log step (for a
    finished run trained again, zero steps, the last row of its ``metrics.jsonl``). Messages go
    to ``echo`` if given, else to the logger ``"wgan"`` (see ``Trainer``).
    """
    return Trainer(cfg, dataset, echo, dist_ctx).run()
