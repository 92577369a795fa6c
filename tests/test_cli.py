"""wgan.cli: I/O errors during training end in one error line and exit 2, and the same command resumes.
"""

import errno
import os
import re

import pytest
from helpers import (
    SHORT,
    fail_second_checkpoint,
    newest_step,
)

from wgan.checkpoint import list_checkpoints
from wgan.cli import train_main



def test_disk_full_during_training_is_one_line_exit_2_and_resumable(tiny_overrides, monkeypatch, capsys):
    fail_second_checkpoint(monkeypatch, "torch.save")
    run_dir = tiny_overrides[-1].split("=", 1)[1]
    rc = train_main(tiny_overrides + SHORT)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("error: cannot write checkpoint ")
    assert "No space left on device" in err and "free some disk space and re-run the same command" in err
    monkeypatch.undo()                              # space freed: the same command resumes
    assert train_main(tiny_overrides + SHORT) == 0
    assert "(generator step 2)" in capsys.readouterr().out
    assert newest_step(run_dir) == 6


def test_disk_full_while_writing_samples_is_one_line_exit_2(tiny_overrides, monkeypatch, capsys):
    from wgan import tracking

    def full(grid, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(tracking, "save_png", full)
    assert train_main(tiny_overrides + SHORT) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: I/O error writing ")
    assert "No space left on device" in err and "free some disk space" in err


# ------------------------------------------------------------------ a real full disk (issue 16, class 1)
# A real 2 MiB tmpfs holds the run; a dummy file leaves ``free`` bytes, so that the kernel's own ENOSPC
# hits, depending on the level, the TensorBoard event file (its writer thread), a sample PNG,
# metrics.jsonl, the first or a later checkpoint (inside torch.save's zip writer, which raises
# RuntimeError rather than OSError).
DISK_SHORT = SHORT[:-2] + ["log.sample_every=2", "log.log_every=1", "log.keep_checkpoints=3"]


def _leftover_temp_files(root) -> list:
    return [os.path.join(folder, n) for folder, _, names in os.walk(root) for n in names if n.startswith(".tmp_")]


@pytest.mark.parametrize("free", [9_000, 30_000, 120_000, 300_000])
def test_real_disk_full_during_training_is_one_line_exit_2_and_resumable(free, disk, tiny_args, capsys):
    from wgan.checkpoint import read_checkpoint

    run_dir = os.path.join(disk.path, "run")
    args = tiny_args + [f"run.dir={run_dir}", *DISK_SHORT]
    disk.leave(free)
    assert train_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "No space left on device" in err and "free some disk space" in err
    assert re.search(r"(writing|checkpoint) " + re.escape(run_dir) + r"/\S+", err), err   # names the file
    assert "Traceback" not in err and "Exception in thread" not in err
    assert _leftover_temp_files(run_dir) == []
    kept = list_checkpoints(run_dir)
    for step, path in kept:
        assert read_checkpoint(path)["step"] == step
    disk.unfill()                                   # space freed: the same command resumes
    assert train_main(args) == 0
    out = capsys.readouterr().out
    if kept:
        assert f"(generator step {kept[-1][0]})" in out
    assert newest_step(run_dir) == 6


def test_real_disk_full_in_a_train_process_is_one_line_exit_2(disk, tiny_args, run_train):
    """The real command: TensorBoard's writer thread, the atexit hooks and all."""
    run_dir = os.path.join(disk.path, "run")
    disk.leave(250_000)
    done = run_train(tiny_args + [f"run.dir={run_dir}", *DISK_SHORT])
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "No space left on device" in done.stderr and run_dir in done.stderr


def test_event_file_on_a_full_disk_is_an_oserror_naming_it_without_a_thread_traceback(disk, capfd):
    from wgan.tracking import RunWriter

    writer = RunWriter(os.path.join(disk.path, "run"))
    writer.run.append_metrics = lambda row: None    # only the event file fills the disk here
    disk.leave(0)
    with pytest.raises(OSError) as err:
        for step in range(1, 2000):                 # the writer thread writes; it dies of ENOSPC
            writer.scalars(step, {"em_distance": float(step), "loss_critic": -float(step)})
            if step % 100 == 0:
                writer.flush()
        writer.close()
    assert err.value.errno == errno.ENOSPC
    assert os.path.basename(err.value.filename).startswith("events.out.tfevents.")
    writer.close()                                  # closing again (the loop's finally): no second error
    assert "Traceback" not in capfd.readouterr().err


def test_metrics_append_on_a_full_disk_names_metrics_jsonl(disk):
    from wgan.rundir import RunDir

    run = RunDir(os.path.join(disk.path, "run"))
    os.makedirs(run.path)
    disk.leave(0)
    with pytest.raises(OSError) as err:
        for step in range(10_000):
            run.append_metrics({"step": step, "loss": 0.5})
    assert err.value.errno == errno.ENOSPC and err.value.filename == run.metrics
