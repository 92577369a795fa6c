"""What a run writes while training: TensorBoard scalars and images, metrics.jsonl, PNG grids."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

import torch

from .data import to_uint8
from .rundir import RunDir
from .sampling import save_png, tile, to_image

# TensorBoard tags, documented in README.md ("TensorBoard tags").
TAGS = {
    "em_distance": "em_distance",                 # mean C(real) - mean C(fake), no penalty
    "loss_critic": "loss/critic",
    "loss_generator": "loss/generator",
    "critic_real": "critic/real_mean",
    "critic_fake": "critic/fake_mean",
    "grad_norm_critic": "grad_norm/critic",
    "grad_norm_generator": "grad_norm/generator",
    "gradient_penalty": "wgan_gp/penalty",
    "gp_grad_norm": "wgan_gp/grad_norm",
    "images_per_sec": "speed/critic_images_per_sec",
    "steps_per_sec": "speed/generator_steps_per_sec",
    "lr": "train/lr",                             # learning rate of the last generator step
    "clipped_fraction": "critic/clipped_fraction",  # wgan only: share of critic weights at +-clip
}
# Quality metrics (fid_2k, classes_covered, class_kl, ...) are grouped as metrics/<key>.
IMAGE_TAGS = {"fixed": "samples/fixed_noise", "real": "samples/real"}


def _event_thread_error(writer):
    """The exception that killed TensorBoard's background writer thread of ``writer``, else None."""
    for name in ("file_writer", "event_writer", "_async_writer", "_worker", "exception"):
        writer = getattr(writer, name, None)
    return writer


def _event_file(writer) -> str:
    """The event file of a SummaryWriter (its folder when TensorBoard's internals differ)."""
    event_writer = getattr(getattr(writer, "file_writer", None), "event_writer", None)
    return getattr(event_writer, "_file_name", None) or os.path.join(writer.get_logdir(), "events.out.tfevents.*")


def _quiet_event_thread(args) -> None:
    """threading.excepthook: an OSError (a full disk) that kills TensorBoard's writer thread is not
    printed as a traceback; RunWriter raises it in the training thread, naming the event file."""
    if isinstance(args.exc_value, OSError) and type(args.thread).__name__ == "_AsyncWriterThread":
        return
    _quiet_event_thread.previous(args)


def _install_quiet_event_thread() -> None:
    if threading.excepthook is not _quiet_event_thread:
        _quiet_event_thread.previous = threading.excepthook
        threading.excepthook = _quiet_event_thread


class RunWriter:
    """TensorBoard events and metrics.jsonl of one run; only rank 0 of a job makes one."""

    def __init__(self, run_dir: str, purge_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter
        self.run_dir = run_dir
        self.run = RunDir(run_dir)
        # On resume, events and metrics rows written after the checkpoint are dropped, so a
        # curve never shows two values for one step.
        _install_quiet_event_thread()
        try:
            self.tb = SummaryWriter(log_dir=run_dir, purge_step=purge_step)
        except OSError as err:      # its first write, of the file version event
            if err.filename is None:
                err.filename = os.path.join(run_dir, "events.out.tfevents.*")
            raise
        self.metrics_path = self.run.metrics
        if purge_step is not None:
            self.run.write_metrics([r for r in self.run.read_metrics() if r.get("step", 0) < purge_step])

    @contextlib.contextmanager
    def _events(self):
        """OSErrors of the event file (raised here from TensorBoard's writer thread, naming no
        file) name it; one the thread died of is raised even when TensorBoard's close hides it."""
        try:
            yield
            failure = _event_thread_error(self.tb)
            if failure is not None:
                raise failure
        except OSError as err:
            if err.filename is None:
                err.filename = _event_file(self.tb)
            elif isinstance(err.filename, bytes):       # TensorBoard opens its file by a bytes name
                err.filename = os.fsdecode(err.filename)
            self._failed = True
            raise

    def scalars(self, step: int, values: dict, group: str | None = None) -> None:
        """``values`` as TensorBoard scalars and one metrics.jsonl row (keys unchanged there).

        A key's tag is its ``TAGS`` entry, or ``<group>/<key>`` when a group is given (the
        evaluation passes "metrics"), else the key itself."""
        with self._events():
            for key, value in values.items():
                tag = f"{group}/{key}" if group else TAGS.get(key, key)
                self.tb.add_scalar(tag, value, step)
        self.run.append_metrics({"step": step, **values})

    def text(self, step: int, tag: str, markdown: str) -> None:
        """A TensorBoard text entry (rendered as markdown), e.g. the resolved config."""
        with self._events():
            self.tb.add_text(tag, markdown, step)

    def grid(self, step: int, kind: str, images: torch.Tensor, path: str) -> str:
        """Float images in [-1, 1] as one grid (the layout scripts/sample.py writes), to TensorBoard
        and to the PNG ``path`` (a RunDir sample path)."""
        grid = tile(to_uint8(images.detach().float().cpu()))        # H x W (gray) or H x W x C
        with self._events():
            self.tb.add_image(IMAGE_TAGS[kind], grid, step, dataformats="HW" if grid.ndim == 2 else "HWC")
        save_png(to_image(grid), path)
        return path

    def flush(self) -> None:
        with self._events():
            self.tb.flush()

    def close(self) -> None:
        """Close the event file. When closing because another error is on its way (a ``finally``)
        or after the event file's failure was raised once, a failure here is not raised (again)."""
        failing = sys.exc_info()[1] is not None or getattr(self, "_failed", False)
        if getattr(self, "_closed", False):
            return
        self._closed = True
        try:
            with self._events():
                self.tb.close()
        except OSError:
            if not failing:
                raise


def read_metrics(run_dir: str) -> list[dict]:
    """``RunDir(run_dir).read_metrics()``: rows of metrics.jsonl, skipping a torn last line."""
    return RunDir(run_dir).read_metrics()


class NullWriter:
    """Stands in for RunWriter on ranks other than 0, which write nothing."""

    def scalars(self, step: int, values: dict, group: str | None = None) -> None:
        pass

    def text(self, step: int, tag: str, markdown: str) -> None:
        pass

    def grid(self, step: int, kind: str, images, path: str) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
