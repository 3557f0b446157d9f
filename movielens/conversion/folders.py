"""Where a conversion writes: one at a time per folder, whole or not at all.

On a local disk the output goes into `<output_dir>.partial`, then is moved into place,
one conversion at a time (a lock, `<output_dir>.lock`; a second one waits), so readers
never see a half-written or mixed folder. On other filesystems (gs://, s3://) the
conversion writes in place and summary.json, written last, marks it whole.
"""
import contextlib
import fcntl
import logging
import os
import shutil

from apache_beam.io.filesystems import FileSystems

from cli import disk
from movielens import constants as c
from movielens.conversion.config import ConversionConfig

# The CSV's size, from ratings.dat's: a rating line is at least this long ("1::1::5::
# 978300760\n" and up), and a CSV row holds the user, the target and up to
# history_length earlier ratings (movie id, rating, Unix time each), at most these sizes.
MIN_BYTES_PER_RATING_LINE = 20
CSV_BYTES_PER_ROW = 40
CSV_BYTES_PER_HISTORY_ITEM = 18


def is_local(path: str) -> bool:
  """A path on this machine's disk (not gs://, s3://...): where locks and renames work."""
  return "://" not in path


@contextlib.contextmanager
def one_at_a_time(output_dir: str):
  """Holds `<output_dir>.lock` (local disks): a second conversion into the same folder
  waits for the first instead of interleaving its files with it."""
  if not is_local(output_dir):
    yield
    return
  lock_path = os.path.abspath(output_dir).rstrip("/") + ".lock"
  os.makedirs(os.path.dirname(lock_path), exist_ok=True)
  with open(lock_path, "w") as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      logging.warning("another conversion is writing %s: waiting for it", output_dir)
      fcntl.flock(lock, fcntl.LOCK_EX)
    yield


def estimated_output_bytes(config: ConversionConfig) -> int:
  """At most about how many bytes the conversion writes (one span's share in span mode
  by count; every rating's, by calendar, whose spans can be of any size)."""
  ratings = os.path.getsize(os.path.join(config.input_dir, c.RATINGS_FILE))
  rows = ratings // MIN_BYTES_PER_RATING_LINE // (config.spans if config.span_mode and
                                                  not config.span_days else 1)
  return rows * (CSV_BYTES_PER_ROW + CSV_BYTES_PER_HISTORY_ITEM * config.history_length)


def require_free_space(config: ConversionConfig) -> None:
  """Refuses, before any work, a local conversion whose output cannot fit on its disk."""
  if is_local(config.output_dir) and is_local(config.input_dir):
    disk.require_free(config.output_dir, estimated_output_bytes(config),
                      "the CSV conversion")


def remove(output_dir: str) -> None:
  if is_local(output_dir):
    shutil.rmtree(output_dir, ignore_errors=True)
    return
  stale = [FileSystems.join(output_dir, name) for name in
           (*c.SPLITS, c.CATALOG_DIR, c.SUMMARY_FILE, c.SKIPPED_FILE)]
  existing = [path for path in stale if FileSystems.exists(path)]
  if existing:
    FileSystems.delete(existing)


def move_into_place(staging: str, output_dir: str) -> None:
  """Replaces output_dir by the finished staging folder: two renames, so output_dir is at
  every moment the old conversion, the new one, or absent (converted again next time)."""
  if staging == output_dir:
    return
  previous = output_dir.rstrip("/") + ".previous"
  remove(previous)
  if os.path.exists(output_dir):
    os.rename(output_dir, previous)
  os.rename(staging, output_dir)
  remove(previous)
