"""wgan.cli: I/O errors during training end in one error line and exit 2, and the same command resumes.
"""

import errno
import os

from helpers import (
    SHORT,
    fail_second_checkpoint,
    newest_step,
)

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
