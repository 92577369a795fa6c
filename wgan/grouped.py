"""K training runs of one architecture as one set of kernels: the sweep engine's GPU path (prototype).

One MNIST run at batch 64 leaves most of a GPU idle: its convolutions are too small to fill it.
K runs of the same shapes become one network whose every layer is the K runs' layers side by
side, as grouped convolutions (``groups=K``): run k owns channel block k of every layer, so the
runs never mix, BatchNorm keeps per-run statistics (its channels are per run), and one kernel
does the work of K. Images and noise are stacked along channels: a critic batch is
``B x (K*C) x H x W``, the critic returns ``B x K`` scores, column k being run k's.

The update is Algorithm 1 of ``wgan/step.py`` unchanged. The objective's losses average over
all ``B*K`` scores, so each run's gradient arrives divided by K; ``GroupedRMSprop`` multiplies it
back (exact when K is a power of two) and applies each run's own learning rate, and
``GroupedClip`` clips each run to its own c. What this prototype covers: weight clipping
(``wgan``) with RMSprop and DCGAN generators; penalties and spectral norm act on whole tensors
and would need per-run versions, and the MLP generator (``model.g_arch=mlp``) would need its
Linear layers grouped (a batched matmul), which is not written: both are refused. ``scripts/sweep_benchmark.py`` measures it against the runs alone.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .objectives import Objective
from .trainer import Autocast, lr_decay_factor

_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Identity)


def _cat(tensors) -> torch.Tensor:
    return torch.cat([t.detach() for t in tensors])


def group_layer(layers: Sequence[nn.Module], k: int) -> nn.Module:
    """One layer holding ``layers`` (the same layer of K runs) as channel blocks 0..K-1."""
    first = layers[0]
    if isinstance(first, _ELEMENTWISE):
        return first
    if isinstance(first, (nn.Conv2d, nn.ConvTranspose2d)):
        cls = type(first)
        grouped = cls(k * first.in_channels, k * first.out_channels, first.kernel_size, first.stride,
                      first.padding, groups=k, bias=first.bias is not None)
        # Conv2d weights are (out, in, kh, kw) and ConvTranspose2d's (in, out, kh, kw): either way
        # run r's block is the r-th slice of dim 0, which is how groups split the weight.
        grouped.weight.data.copy_(_cat(m.weight for m in layers))
        if first.bias is not None:
            grouped.bias.data.copy_(_cat(m.bias for m in layers))
        return grouped
    if isinstance(first, nn.BatchNorm2d):
        grouped = nn.BatchNorm2d(k * first.num_features, first.eps, first.momentum, first.affine)
        for name in ("weight", "bias"):
            getattr(grouped, name).data.copy_(_cat(getattr(m, name) for m in layers))
        grouped.running_mean.copy_(_cat(m.running_mean for m in layers))
        grouped.running_var.copy_(_cat(m.running_var for m in layers))
        grouped.num_batches_tracked.copy_(first.num_batches_tracked)
        return grouped
    if isinstance(first, nn.GroupNorm) and first.num_groups == 1:
        grouped = nn.GroupNorm(k, k * first.num_channels, first.eps, first.affine)
        for name in ("weight", "bias"):
            getattr(grouped, name).data.copy_(_cat(getattr(m, name) for m in layers))
        return grouped
    raise TypeError(f"grouping is not implemented for {type(first).__name__} layers")


class GroupedNet(nn.Module):
    """K DCGAN generators or critics (``models.Generator``/``Critic``, same shapes) as one network.

    A generator takes z of shape ``K x B x z_dim`` (run k's noise in row k) and returns
    ``B x (K*C) x H x W``; a critic takes ``B x (K*C) x H x W`` and returns ``B x K``.
    """

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        if any(isinstance(m, nn.Linear) for model in models for m in model.modules()):
            raise TypeError("GroupedNet groups DCGAN convolutional networks only; the MLP generator "
                            "(model.g_arch=mlp) has Linear layers it cannot group: train those runs alone")
        self.k = len(models)
        self.is_generator = hasattr(models[0], "z_dim")
        self.z_dim = getattr(models[0], "z_dim", None)
        self.net = nn.Sequential(*[group_layer([m.net[i] for m in models], self.k)
                                   for i in range(len(models[0].net))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_generator:
            k, b, z = x.shape
            return self.net(x.transpose(0, 1).reshape(b, k * z, 1, 1))
        return self.net(x).view(x.shape[0], self.k)

    def run_state_dict(self, run: int, template: nn.Module) -> dict:
        """Run ``run``'s weights with the keys of ``template`` (a model of one run)."""
        out = {}
        for (key, ours), (_, theirs) in zip(self.state_dict().items(), template.state_dict().items()):
            if ours.dim() == 0:
                out[key] = ours.clone()
            else:
                size = ours.shape[0] // self.k
                out[key] = ours[run * size:(run + 1) * size].clone()
            assert out[key].shape == theirs.shape, key
        return out


def per_run_full(param: torch.Tensor, values: Sequence[float]) -> torch.Tensor:
    """A tensor shaped like ``param`` holding ``values[r]`` in run r's block of dim 0."""
    full = torch.empty_like(param)
    size = param.shape[0] // len(values)
    for run, value in enumerate(values):
        full[run * size:(run + 1) * size] = value
    return full


class GroupedRMSprop:
    """RMSprop (PyTorch's defaults: alpha 0.99, eps 1e-8, no momentum) over grouped parameters,
    each run with its own learning rate, in a few foreach kernels and no host sync, so that it can
    be captured in a CUDA graph. ``grad_scale`` undoes the 1/K of losses averaged over K runs."""

    def __init__(self, params, lrs: Sequence[float], grad_scale: float, alpha: float = 0.99, eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.alpha, self.eps, self.grad_scale = alpha, eps, grad_scale
        self.square_avg = [torch.zeros_like(p) for p in self.params]
        self.lr = [per_run_full(p, lrs) for p in self.params]
        self.factor = torch.ones((), device=self.params[0].device)   # lr decay, refilled in place

    def zero_grad(self, set_to_none: bool = False) -> None:
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        grads = torch._foreach_mul([p.grad for p in self.params], self.grad_scale)
        torch._foreach_mul_(self.square_avg, self.alpha)
        torch._foreach_addcmul_(self.square_avg, grads, grads, value=1 - self.alpha)
        avg = torch._foreach_sqrt(self.square_avg)
        torch._foreach_add_(avg, self.eps)
        update = torch._foreach_div(grads, avg)
        torch._foreach_mul_(update, self.lr)
        torch._foreach_mul_(update, self.factor)
        torch._foreach_sub_(self.params, update)


class GroupedClip(Objective):
    """Weight clipping per run (each run's c on its block) around another objective's losses."""

    def __init__(self, objective: Objective, critic: GroupedNet, clips: Sequence[float]):
        super().__init__()
        self.inner = objective
        self.params = list(critic.parameters())
        self.high = [per_run_full(p, clips) for p in self.params]
        self.low = [-h for h in self.high]
        device = self.params[0].device
        # Per-run sums since the last reset, of what each run's own loss would have been: the
        # EM estimate mean C(real) - mean C(fake) per critic step, -mean C(G(z)) per generator step.
        self.em_sum = torch.zeros(critic.k, device=device)
        self.generator_loss_sum = torch.zeros(critic.k, device=device)

    def critic_loss(self, c_real, c_fake):
        self.em_sum += (c_real.mean(0) - c_fake.mean(0)).detach()
        return self.inner.critic_loss(c_real, c_fake)

    def generator_loss(self, c_fake):
        self.generator_loss_sum += -c_fake.mean(0).detach()
        return self.inner.generator_loss(c_fake)

    @torch.no_grad()
    def constrain(self, critic) -> None:
        torch._foreach_maximum_(self.params, self.low)
        torch._foreach_minimum_(self.params, self.high)


# Keys that may differ between the runs of one group: everything else shapes the kernels.
PER_RUN_KEYS = ("train.lr", "train.clip", "train.seed", "run.dir")


class GroupedRuns:
    """K weight-clipping runs that differ only in ``PER_RUN_KEYS``, trained as one network.

    Each run keeps what makes it the run it would be alone: its initial weights (its seed, drawn
    in the trainer's order), its real-batch order (its own ``RealSampler``), its noise stream (its
    own generator, seeded as the trainer seeds it), its learning rate and its clip value. Only
    the kernels are shared. ``train_step`` is one generator step of every run.
    """

    def __init__(self, cfgs, dataset, device=None):
        from .config import flat_config
        from .data import RealSampler
        from .devices import resolve_device
        from .models import build_models
        from .objectives import get_objective
        from .seeding import noise_seed, seed_everything

        first = flat_config(cfgs[0].to_dict())
        for cfg in cfgs[1:]:
            other = flat_config(cfg.to_dict())
            for key in first:
                if key not in PER_RUN_KEYS and not key.startswith(("log.", "run.")) and first[key] != other[key]:
                    raise ValueError(f"runs of one group must agree on {key} ({first[key]!r} vs {other[key]!r})")
        c0 = cfgs[0]
        objective = get_objective(c0.train.objective, c0.train)
        if not objective.clips_weights or objective.has_penalty or c0.train.optimizer != "rmsprop":
            raise ValueError("the grouped prototype trains weight clipping (objective wgan) with RMSprop only")
        if c0.model.g_arch != "dcgan":
            raise ValueError(f"the grouped prototype groups DCGAN generators only (model.g_arch=dcgan), got "
                             f"model.g_arch={c0.model.g_arch}; train MLP-generator runs alone")
        self.cfgs, self.k = list(cfgs), len(cfgs)
        self.device = device or resolve_device(c0.system.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = not c0.system.deterministic
            torch.backends.cudnn.deterministic = c0.system.deterministic
            tf32 = c0.system.precision != "fp32"
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
        t, size, channels = c0.train, c0.data.image_size, dataset.channels
        self.gens, self.critics, self.samplers, self.noise = [], [], [], []
        images = dataset.images
        for cfg in cfgs:                      # the trainer's order: seed, sampler, models, noise
            seed_everything(cfg.train.seed)
            sampler = RealSampler(images, size, t.batch_size, self.device, cfg.train.seed, c0.data.on_device)
            images = sampler.images           # resized once, shared by every run's sampler
            gen, critic = build_models(cfg, channels)
            self.gens.append(gen)
            self.critics.append(critic)
            self.samplers.append(sampler)
            self.noise.append(torch.Generator(device=self.device).manual_seed(noise_seed(cfg.train.seed, 0, 0)))
        fmt = torch.channels_last if c0.system.channels_last and self.device.type == "cuda" else torch.contiguous_format
        self.memory_format = fmt
        self.G = GroupedNet(self.gens).to(self.device, memory_format=fmt)
        self.C = GroupedNet(self.critics).to(self.device, memory_format=fmt)
        bf16 = c0.system.precision == "bf16" and self.device.type == "cuda"
        self._g = Autocast(self.G) if bf16 else self.G
        self._c = Autocast(self.C) if bf16 else self.C
        lrs = [cfg.train.lr for cfg in cfgs]
        self.opt_g = GroupedRMSprop(self.G.parameters(), lrs, grad_scale=self.k)
        self.opt_c = GroupedRMSprop(self.C.parameters(), lrs, grad_scale=self.k)
        self.objective = GroupedClip(objective, self.C, [cfg.train.clip for cfg in cfgs])
        self.real = torch.empty(self.k, t.batch_size, channels, size, size, device=self.device)
        self.z_c = torch.empty(self.k, t.batch_size, c0.model.z_dim, device=self.device)
        self.z_g = torch.empty_like(self.z_c)
        self.loss_c = torch.zeros((), device=self.device)   # running sums keep results observable
        self.loss_g = torch.zeros((), device=self.device)
        self.step, self._graphs, self._eager = 0, None, 0
        self.use_graphs = self.device.type == "cuda" and c0.system.cuda_graphs

    def _draw_critic_inputs(self) -> None:
        for run in range(self.k):
            self.real[run].copy_(self.samplers[run].next())
            torch.randn(self.z_c[run].shape, generator=self.noise[run], device=self.device, out=self.z_c[run])

    def _draw_generator_inputs(self) -> None:
        for run in range(self.k):
            torch.randn(self.z_g[run].shape, generator=self.noise[run], device=self.device, out=self.z_g[run])

    def _critic_compute(self) -> None:
        from .step import critic_update
        b, c, h, w = self.real.shape[1:]
        real = self.real.transpose(0, 1).reshape(b, self.k * c, h, w).contiguous(memory_format=self.memory_format)
        stats = critic_update(self._g, self._c, self.opt_c, self.objective, real, self.z_c)
        self.loss_c += stats.loss

    def _generator_compute(self) -> None:
        from .step import generator_update
        self.loss_g += generator_update(self._g, self._c, self.opt_g, self.objective, self.z_g)

    def train_step(self) -> None:
        """One generator step of every run: n_critic critic steps, then the generator step."""
        from . import graphs
        if self.use_graphs and self._graphs is None and self._eager >= 3:
            self._graphs = graphs.capture([self._critic_compute, self._generator_compute])
        eager = self.use_graphs and self._graphs is None
        t = self.cfgs[0].train
        if t.lr_decay != "none":
            self.opt_g.factor.fill_(lr_decay_factor(t, self.step, "generator"))
            self.opt_c.factor.fill_(lr_decay_factor(t, self.step, "critic"))

        def one() -> None:
            for _ in range(t.n_critic):
                self._draw_critic_inputs()
                if self._graphs:
                    self._graphs[0].replay()
                else:
                    self._critic_compute()
            self._draw_generator_inputs()
            if self._graphs:
                self._graphs[1].replay()
            else:
                self._generator_compute()

        if eager:
            graphs.warm_up(one)
            self._eager += 1
        else:
            one()
        self.step += 1

    def run_weights(self, run: int) -> tuple[dict, dict]:
        """(generator, critic) state dicts of run ``run``, keyed like a single run's models."""
        return self.G.run_state_dict(run, self.gens[0]), self.C.run_state_dict(run, self.critics[0])
