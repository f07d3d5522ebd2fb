"""A run's folder on disk: one run at a time (an OS lock), and files replaced whole (atomic writes).

Two `zoo train` processes in one workdir would overwrite each other's checkpoints and
both report success, so a run holds an exclusive `fcntl.flock` on `workdir/lock` while
it trains. The kernel releases the lock when the process ends in any way, kill -9
included, so a crashed run never leaves a stale lock behind; the file only says who
holds it (process id, command, start time), for the error message of the next run.

Example:
    with WorkdirLock("runs/t2i"):
        atomic_write_text("runs/t2i/config.json", text)
"""

import errno
import json
import os
import sys
import tempfile
import time

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None

LOCK_FILE = "lock"


class WorkdirLockedError(RuntimeError):
    """Another process is training in this workdir."""


class WorkdirWriteError(OSError):
    """A run's file could not be written (read-only or full disk); the message says which and what is intact."""


class WorkdirLock:
    """An exclusive lock on a workdir, held until `release()` or the end of the process.

    Args:
        workdir: the run's folder (it must exist).

    Example:
        lock = WorkdirLock("runs/t2i").acquire()   # WorkdirLockedError if a run holds it
        ...
        lock.release()
    """

    def __init__(self, workdir):
        self.workdir = workdir
        self.path = os.path.join(workdir, LOCK_FILE)
        self._file = None

    @property
    def held(self):
        return self._file is not None

    def acquire(self):
        if self.held or fcntl is None:
            return self
        try:
            handle = open(self.path, "a+")
        except OSError as error:
            raise WorkdirWriteError(f"Cannot create the lock file {self.path!r}: "
                                    f"{error.strerror}; is the workdir writable?") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = _describe_holder(handle.read())
            handle.close()
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise WorkdirLockedError(
                f"{self.workdir!r} is in use by {holder}; two runs in one workdir overwrite each other's "
                "checkpoints. Wait for it to finish, stop it, or choose another --workdir.") from None
        # Written only once the lock is ours: the previous holder's line stays until then.
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
        handle.flush()
        self._file = handle
        return self

    def release(self):
        # The file stays: deleting it would let a third process lock a new inode while a second
        # still waits on the old one.
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def _describe_holder(text):
    try:
        holder = json.loads(text)
        return f"process {holder['pid']} ({holder['command']!r}, started {holder['started']})"
    except (ValueError, KeyError, TypeError):
        return "another process"


def atomic_write_text(path, text):
    """Replace `path` by `text` at once: written to a temporary file beside it, then renamed.

    A kill during the write leaves the old file (or none), never a truncated one.
    """
    folder = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
