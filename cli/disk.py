"""Disks: a folder writable, space checked before the work and watched during it, one
line when it runs out.

A full disk fails deep inside Beam, TensorFlow or TFX, each in its own words (an OSError,
a RuntimeError carrying a worker's traceback, a TensorFlow error whose message says "No
space left on device"), and Beam's worker processes can wait for ever once their own log
cannot be written. `watched` turns all of these into NoSpaceError, which names the folder
and what to do; its watch ends a run that a full disk has stalled.
"""
import contextlib
import errno
import os
import threading
import time
from typing import Iterator, List, Sequence

from cli import entry_point

# How the layers say it: the OS (and Beam, TensorFlow), and SQLite (ML Metadata's store).
NO_SPACE_MESSAGES = (os.strerror(errno.ENOSPC), "database or disk is full")
WATCH_INTERVAL_SECONDS = 0.2  # statvfs is cheap; a failed write may be cleaned up quickly
# A failure while a disk is this close to full (or was, in the last RECENT_SECONDS) is put
# down to it: a commit or a temporary file can need more than what is left.
LOW_BYTES = 2**20
RECENT_SECONDS = 60
# A disk this close to full for STALLED_SECONDS on end: the work has stalled.
STALLED_BYTES = 64 * 2**10
STALLED_SECONDS = 3


class NoSpaceError(OSError):
  """A disk ran out of space (or would): names the folder and how to go on."""

  def __init__(self, path: str, detail: str = ""):
    super().__init__(f"no space left on device for {path}{detail}: free space on it "
                     f"(df -h {_existing(path)}), then rerun the same command to resume")


def free_bytes(path: str) -> int:
  """Bytes this process can still write on the disk of `path` (or of its nearest existing
  parent, for a folder not made yet). Root may also use the blocks kept for it."""
  stats = os.statvfs(_existing(path))
  blocks = stats.f_bfree if os.geteuid() == 0 else stats.f_bavail
  return blocks * stats.f_frsize


def require_free(path: str, needed: int, what: str) -> None:
  """Raises NoSpaceError unless the disk of `path` has `needed` bytes free for `what`."""
  free = free_bytes(path)
  if free < needed:
    raise NoSpaceError(path, f" ({what} needs about {_megabytes(needed)}; "
                       f"{_megabytes(free)} free)")


def require_writable(path: str, flag: str) -> None:
  """Raises PermissionError unless this process can write in folder `path` (named by
  command-line flag `flag`), or create it: checked, not made, so a run that ends early
  leaves no empty folder behind."""
  existing = _existing(path)
  if not os.path.isdir(existing):
    raise NotADirectoryError(f"{flag} {path}: {existing} is a file, not a folder")
  if not os.access(existing, os.W_OK | os.X_OK):
    reason = "a read-only file system" if _read_only(existing) else "no write permission"
    raise PermissionError(f"{flag} {path} is not writable ({reason} at {existing}): make "
                          f"it writable, or name another folder with {flag}")


def ran_out_of_space(error: BaseException) -> bool:
  """Whether `error`, or an error it was raised from, is a full disk."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if getattr(error, "errno", None) == errno.ENOSPC or any(
        message in str(error) for message in NO_SPACE_MESSAGES):
      return True
    error = error.__cause__ or error.__context__
  return False


@contextlib.contextmanager
def watched(paths: Sequence[str]) -> Iterator[None]:
  """Runs the block; raises NoSpaceError, naming the fullest of `paths`' disks (local
  folders; none: nothing is watched), when the block fails for want of space: its error
  says so, or a disk of `paths` is or was lately nearly full (ML Metadata's SQLite, for
  one, then reports only a failed commit). A disk full for STALLED_SECONDS on end has
  stalled the work: the block is interrupted, as Ctrl-C would."""
  if not paths:
    yield
    return
  last_low: List[float] = []  # when a disk was last seen nearly full
  stalled = threading.Event()
  stop = threading.Event()

  def watch() -> None:
    full_since = None
    while not stop.wait(WATCH_INTERVAL_SECONDS):
      now, least = time.monotonic(), min(free_bytes(path) for path in paths)
      if least < LOW_BYTES:
        last_low[:] = [now]
      full_since = (full_since or now) if least < STALLED_BYTES else None
      if full_since is not None and now - full_since >= STALLED_SECONDS:
        stalled.set()
        entry_point.interrupt_main()
        return

  watcher = threading.Thread(target=watch, name="disk-watch", daemon=True)
  watcher.start()
  try:
    yield
  except NoSpaceError:  # said already, by a watch or check inside this one
    raise
  except KeyboardInterrupt:
    if stalled.is_set():
      raise _no_space(paths) from None
    raise
  except Exception as error:  # pylint: disable=broad-except
    lately_low = last_low and time.monotonic() - last_low[0] < RECENT_SECONDS
    if ran_out_of_space(error) or lately_low or free_bytes(_fullest(paths)) < LOW_BYTES:
      raise _no_space(paths) from None
    raise
  finally:
    stop.set()
    watcher.join()


def _no_space(paths: Sequence[str]) -> NoSpaceError:
  fullest = _fullest(paths)
  return NoSpaceError(fullest, f" ({_megabytes(free_bytes(fullest))} free now)")


def _fullest(paths: Sequence[str]) -> str:
  return min(paths, key=free_bytes)


def _existing(path: str) -> str:
  """`path`, or its nearest parent that exists."""
  path = os.path.abspath(path)
  while not os.path.exists(path):
    path = os.path.dirname(path)
  return path


def _read_only(path: str) -> bool:
  return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def _megabytes(size: int) -> str:
  return f"{size / 2**20:,.1f} MB"
