"""The one atomic writer: every file the package writes goes through ``atomic_write``.

A reader (a resuming run, the viewer, a script, a second process) must see either the old file
or the complete new one, never a torn one. So each file is written to a temporary file in the
same folder (a rename is atomic only within one filesystem), flushed, fsynced and renamed over
the old name with ``os.replace``; then the folder itself is fsynced so that the rename survives
a power loss. Previews (PNG grids) pass ``durable=False``: still atomic for readers, but without
the fsyncs, which cost milliseconds per file and protect nothing a re-run would not rewrite.

Temporary files are named ``.tmp_<random><suffix>`` (the suffix of the final name, so a
checkpoint's is ``.tmp_XXXXXXXX.pt``); a failed write removes its own, and
``checkpoint.remove_temp_files`` clears those a killed process left in a run's checkpoints.
Files get the permissions a plain ``open(path, "w")`` would give (0666 minus the umask).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from typing import Any, BinaryIO, Callable, Union

PathLike = Union[str, "os.PathLike[str]"]

TEMP_PREFIX = ".tmp_"       # hidden, and what checkpoint.remove_temp_files looks for


def _create_temp(folder: str, suffix: str) -> tuple[int, str]:
    """Open a new, unique temporary file in ``folder``; return its descriptor and path.

    Not ``tempfile.mkstemp``: that creates files readable by their owner only (0600), and a
    config, metrics file or export written through here should be as readable as one written
    with ``open``.
    """
    for _ in range(100):
        tmp = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary file name in {folder}")


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable; filesystems that cannot fsync a folder are let be."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Recording:
    """The temporary file as ``write`` sees it: everything passes through, and the first OSError a
    write raised is remembered.

    torch's zip writer (``torch.save``) swallows the OSError of a full disk inside its write
    callback and later raises its own ``RuntimeError`` (``unexpected pos ...``) from its close;
    ``atomic_write`` turns that back into the OSError remembered here.
    """

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self.error: OSError | None = None

    def write(self, data):
        try:
            return self._handle.write(data)
        except OSError as err:
            if self.error is None:
                self.error = err
            raise

    def __getattr__(self, name):
        return getattr(self._handle, name)


# What torch's zip writer raises (as RuntimeError) when the bytes it handed out did not all land.
_WRITER_FAILURES = ("unexpected pos", "PytorchStreamWriter failed", "file write failed")
NEARLY_FULL = 1 << 20       # bytes free below which a writer's unexplained failure is a full disk


def _as_os_error(err: BaseException, recorded: OSError | None, folder: str, path: str) -> OSError | None:
    """The OSError that explains ``err`` (the failure of writing ``path``), naming the file; None
    when ``err`` is not an I/O failure (a bug, KeyboardInterrupt: raised unchanged)."""
    if isinstance(err, OSError) and err.errno is not None:
        found = err
    elif recorded is not None and isinstance(err, Exception):
        found = recorded
    elif isinstance(err, (RuntimeError, OSError)) and any(text in str(err) for text in _WRITER_FAILURES):
        try:
            stats = os.statvfs(folder)
            full = stats.f_bavail * stats.f_frsize < NEARLY_FULL
        except (OSError, AttributeError):
            full = False
        code = errno.ENOSPC if full else errno.EIO
        found = OSError(code, os.strerror(code))
    else:
        return None
    if found.filename is None:
        found.filename = path
    return found


def atomic_write(path: PathLike, write: Callable[[BinaryIO], Any], *, durable: bool = True) -> str:
    """Write ``path`` through a temporary file and a rename; the old file survives any failure.

    Args:
        path: the file to (re)place; its folder is created when missing.
        write: called with the temporary file opened for binary writing; fills it.
        durable: flush and fsync the file before the rename and the folder after it, so the new
            contents survive a crash of the machine. False only for files a re-run rewrites
            anyway (previews): readers still never see a torn file.

    Returns:
        ``path`` as a string.

    Raises:
        OSError: whatever ``write``, the fsync or the rename raised (e.g. ENOSPC on a full
            disk), after the temporary file was removed, with ``filename`` set to ``path`` when
            it named no file; callers turn it into their own error. A writer that hides the
            OSError of its own writes behind another exception (torch's zip writer raises
            ``RuntimeError: unexpected pos``) gets the OSError back.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = _create_temp(folder, os.path.splitext(path)[1])
    recording = None
    try:
        with os.fdopen(fd, "wb") as handle:
            recording = _Recording(handle)
            write(recording)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        # Before the unlink, which frees the space the torn file took.
        explained = _as_os_error(err, recording.error if recording else None, folder, path)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if explained is None or explained is err:
            raise
        raise explained from None
    if durable:
        _fsync_folder(folder)
    return path


def write_bytes(path: PathLike, data: bytes, *, durable: bool = True) -> str:
    """Atomically write ``data`` to ``path`` (see ``atomic_write``)."""
    return atomic_write(path, lambda handle: handle.write(data), durable=durable)


def write_text(path: PathLike, text: str, *, durable: bool = True) -> str:
    """Atomically write ``text`` as UTF-8 (newlines as given, never translated)."""
    return write_bytes(path, text.encode("utf-8"), durable=durable)


def write_json(path: PathLike, obj: Any, *, indent: int = 2, durable: bool = True) -> str:
    """Atomically write ``obj`` as JSON with a trailing newline.

    NaN and infinity are refused (ValueError) before anything is written: they are not JSON,
    and a results file that other tools cannot parse is worse than an error naming the problem.
    """
    text = json.dumps(obj, indent=indent, allow_nan=False) + "\n"
    return write_text(path, text, durable=durable)


def write_failure(err: OSError, path: str, option: str) -> str:
    """One line for an OSError writing ``path``, a file the command line's ``option`` named: a
    parent that is a regular file is named as such, a full disk gets a hint to free space."""
    reason = err.strerror or str(err) or err.__class__.__name__
    if err.errno in (errno.ENOTDIR, errno.EEXIST):
        parent = os.path.dirname(os.path.abspath(path))
        while parent and not os.path.exists(parent) and os.path.dirname(parent) != parent:
            parent = os.path.dirname(parent)
        if os.path.exists(parent) and not os.path.isdir(parent):
            return f"cannot write {path}: {parent} is a file, not a folder; choose another {option}"
    hint = "free some disk space" if err.errno in (errno.ENOSPC, errno.EDQUOT) else f"choose another {option}"
    return f"cannot write {path}: {reason}; {hint}"
