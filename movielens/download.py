"""Download, verify and cache MovieLens 1M, only when asked.

The dataset's licence forbids redistribution, so it is never part of this repository: the
product fetches it from GroupLens for each user, checks its MD5, and extracts it into a
cache folder. Offline, it fails at once and says how to supply the files or generate data.
"""
import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from typing import Optional

from movielens import constants as c

_ZIP_NAME = "ml-1m.zip"


class DatasetUnavailableError(RuntimeError):
  """MovieLens 1M could not be obtained; the message says what to do instead."""


def file_digests(path: str):
  """(md5, sha256) hex digests of a file."""
  md5, sha256 = hashlib.md5(), hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      md5.update(block)
      sha256.update(block)
  return md5.hexdigest(), sha256.hexdigest()


def has_movielens_files(data_dir: str) -> bool:
  return missing_movielens_files(data_dir) is None


def missing_movielens_files(data_dir: str) -> Optional[str]:
  """Why `data_dir` is not a MovieLens folder, naming what is missing; None when it is."""
  if not os.path.exists(data_dir):
    return f"{data_dir} does not exist"
  if not os.path.isdir(data_dir):
    return f"{data_dir} is a file, not a folder holding {', '.join(c.DATA_FILES)}"
  missing = [name for name in c.DATA_FILES if not os.path.isfile(os.path.join(data_dir, name))]
  if missing:
    return (f"{data_dir} has no {' and no '.join(missing)} (MovieLens needs "
            f"{', '.join(c.DATA_FILES)})")
  return None


def _ways_forward(cache_dir: str) -> str:
  return (f"Either put {_ZIP_NAME} (MD5 {c.ML1M_MD5}) into {cache_dir}, or its extracted "
          f"{', '.join(c.DATA_FILES)} into {os.path.join(cache_dir, c.ML1M_ZIP_DIR)} (or "
          "pass --data-dir to a folder holding them), or run with --synthetic to generate "
          "MovieLens-format data instead.")


def _download(url: str, destination: str, timeout: float, cache_dir: str) -> None:
  partial = destination + ".part"
  logging.info("downloading %s", url)
  try:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
      shutil.copyfileobj(response, out)
  except (urllib.error.URLError, OSError) as error:
    if os.path.exists(partial):
      os.remove(partial)
    reason = getattr(error, "reason", error)
    raise DatasetUnavailableError(
        f"Could not download MovieLens 1M from {url} ({reason}); this machine may be "
        f"offline. {_ways_forward(cache_dir)}") from None
  os.replace(partial, destination)


def fetch_ml1m(cache_dir: str, url: str = c.ML1M_URL, md5: str = c.ML1M_MD5,
               timeout: float = 30.0) -> str:
  """Returns a folder holding ml-1m's ratings.dat, users.dat and movies.dat.

  Uses the extracted files or the zip already in `cache_dir`; otherwise downloads the
  zip. The zip's MD5 must equal `md5`: on a mismatch the zip is kept, renamed (it may be a
  file the user placed there by hand), and the error says where. The files are extracted
  into a temporary folder and moved into place once all are out, so an interrupted
  extraction never looks complete.
  """
  data_dir = os.path.join(cache_dir, c.ML1M_ZIP_DIR)
  if has_movielens_files(data_dir):
    return data_dir
  os.makedirs(cache_dir, exist_ok=True)
  zip_path = os.path.join(cache_dir, _ZIP_NAME)
  if not os.path.exists(zip_path):
    _download(url, zip_path, timeout, cache_dir)
  actual_md5, actual_sha256 = file_digests(zip_path)
  if actual_md5 != md5:
    kept = f"{zip_path}.md5-{actual_md5}"
    os.replace(zip_path, kept)
    raise DatasetUnavailableError(
        f"{zip_path} has MD5 {actual_md5} (SHA-256 {actual_sha256}), expected {md5}: it is "
        f"corrupt or not MovieLens 1M; kept as {kept}. Run again to download it anew. "
        + _ways_forward(cache_dir))
  logging.info("verified %s: MD5 %s, SHA-256 %s", zip_path, actual_md5, actual_sha256)
  with zipfile.ZipFile(zip_path) as archive:
    members = [f"{c.ML1M_ZIP_DIR}/{name}" for name in c.DATA_FILES]
    missing = sorted(set(members) - set(archive.namelist()))
    if missing:
      raise DatasetUnavailableError(f"{zip_path} lacks {', '.join(missing)}")
    partial = data_dir + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    for member in members:
      archive.extract(member, partial)
  os.makedirs(data_dir, exist_ok=True)
  for name in c.DATA_FILES:  # each file appears whole, or not at all
    os.replace(os.path.join(partial, c.ML1M_ZIP_DIR, name), os.path.join(data_dir, name))
  shutil.rmtree(partial)
  return data_dir
