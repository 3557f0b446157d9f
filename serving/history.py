"""Every user's rating history from a MovieLens folder, indexed once for serving.recommend.

Parsing ml-1m's million-line ratings.dat would be most of a recommendation's time if done
per call. The index holds the same ratings as NumPy arrays sorted by user,
then time, then line (the order movielens.parse and the conversion give a history), and
each user's offset; it loads in milliseconds. It is built on first use from the strictly
parsed files and kept at `<index dir>/<key>.npz`, the key naming the folder and
ratings.dat's size and modification time, so an edited file gets a new index, never a
stale one. The default index dir is ~/.cache/bst-movielens/history-index.
"""
import hashlib
import os
from typing import Tuple

import numpy as np

from movielens import constants as c
from movielens import parse

DEFAULT_INDEX_DIR = os.path.join(os.path.expanduser("~"), ".cache", "bst-movielens",
                                 "history-index")
COLUMNS = ("user_id", "movie_id", "rating", "timestamp")  # movielens.parse's, as arrays


class HistoryIndex:
  """Users' ratings, oldest first, by user id."""

  def __init__(self, arrays):
    self._arrays = {name: np.asarray(arrays[name]) for name in COLUMNS}
    self._users, self._starts, self._counts = np.unique(
        self._arrays["user_id"], return_index=True, return_counts=True)

  @classmethod
  def from_ratings(cls, ratings) -> "HistoryIndex":
    """From movielens.parse's ratings frame (file order, with line numbers)."""
    order = np.lexsort((ratings.line_number.to_numpy(), ratings.timestamp.to_numpy(),
                        ratings.user_id.to_numpy()))
    return cls({name: ratings[name].to_numpy()[order] for name in COLUMNS})

  def history(self, user_id: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(movie ids, ratings, timestamps) of the user's ratings, oldest first."""
    position = np.searchsorted(self._users, user_id)
    if position == len(self._users) or self._users[position] != user_id:
      raise LookupError(f"user {user_id} has no ratings in {c.RATINGS_FILE}")
    rows = slice(self._starts[position], self._starts[position] + self._counts[position])
    return (self._arrays["movie_id"][rows], self._arrays["rating"][rows],
            self._arrays["timestamp"][rows])

  def save(self, path: str) -> None:
    """Whole or not at all: written beside, then renamed into place."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}.partial.npz"
    np.savez(partial, **self._arrays)
    os.replace(partial, path)


def index_path(data_dir: str, index_dir: str = DEFAULT_INDEX_DIR) -> str:
  """Where the index of this folder's current ratings.dat lives."""
  ratings = os.stat(os.path.join(data_dir, c.RATINGS_FILE))
  key = f"{os.path.realpath(data_dir)}|{ratings.st_size}|{ratings.st_mtime_ns}"
  return os.path.join(index_dir, hashlib.sha256(key.encode()).hexdigest()[:16] + ".npz")


def load(data_dir: str, index_dir: str = DEFAULT_INDEX_DIR) -> HistoryIndex:
  """The folder's history index: read if built before, else built (parsing the three
  files strictly, as the conversion does) and kept."""
  path = index_path(data_dir, index_dir)
  if os.path.isfile(path):
    with np.load(path) as arrays:
      return HistoryIndex(arrays)
  index = HistoryIndex.from_ratings(parse.load_movielens(data_dir).ratings)
  index.save(path)
  return index
