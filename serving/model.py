"""A pushed model, loaded from the serving folder the Pusher writes, scoring requests."""
import argparse
import os
from typing import Any, Dict, List, Optional

import numpy as np

from cli.layout import DEFAULT_LAYOUT
from movielens import constants as c
from movielens import contract
from transform import features as f


class NoModelError(LookupError):
  pass


def versions(serving_dir: str) -> List[int]:
  """The pushed versions (folder names are Unix times), oldest first."""
  if not os.path.isdir(serving_dir):
    return []
  return contract.pushed_versions(os.listdir(serving_dir))


def version_dir(serving_dir: str, version: Optional[int] = None) -> str:
  """A version's folder: the given one, or the latest."""
  pushed = versions(serving_dir)
  if not pushed:
    raise NoModelError(f"no pushed model in {serving_dir}: run the pipeline until a model "
                       "is blessed (bin/run), or name the serving folder with --serving-dir")
  if version is not None and version not in pushed:
    raise NoModelError(f"no version {version} in {serving_dir}; there are {pushed}")
  path = os.path.join(serving_dir, str(version if version is not None else pushed[-1]))
  if not os.path.isfile(os.path.join(path, contract.SAVED_MODEL_FILE)):
    raise NoModelError(f"{path} has no {contract.SAVED_MODEL_FILE}: not a model the "
                       "Pusher wrote")
  return path


def add_served_model_flags(parser: argparse.ArgumentParser) -> None:
  """--serving-dir and --version: which pushed model a command uses."""
  parser.add_argument("--serving-dir", default=DEFAULT_LAYOUT.serving_dir,
                      help=f"the Pusher's folder (default {DEFAULT_LAYOUT.serving_dir})")
  parser.add_argument("--version", type=int, help="a pushed version (default: the latest)")


class RatingModel:
  """The serving_default signature, fed serving-contract requests in batches: the
  predicted rating, and how likely each target is the user's next movie."""

  def __init__(self, path: str):
    # TensorFlow loads here, not at import: the commands answer --help and refuse a bad
    # request without its seconds of start-up.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from transform import vocabulary  # pylint: disable=g-import-not-at-top
    # Grappler's cost model has no estimate for the attention's Softmax and says so on
    # stderr at every load, through a C++ log TF_CPP_MIN_LOG_LEVEL does not silence. The
    # signatures are small graphs that score as fast without it (benchmarks/pipeline_
    # benchmark times serving), so the commands' stderr keeps only what they say.
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    self.path = path
    loaded = tf.saved_model.load(path)
    self._serve = loaded.signatures[contract.SERVING_SIGNATURE]
    # The Transform's window, from the shape of its output in the model: a request's
    # history events before the last `window` are read and dropped.
    self.window = loaded.signatures[contract.TRANSFORM_SIGNATURE].structured_outputs[
        f.HISTORY_MOVIE_INDEX].shape[1]
    # The movies the model trained on; any other id is scored as an unknown movie (an
    # out-of-vocabulary row), which the commands say rather than hide.
    self.known_movie_ids = {int(entry) for entry in vocabulary.read(path, f.MOVIE_VOCAB)}

  def unknown_movie_ids(self, request: Dict[str, Any]) -> List[int]:
    """The request's movie ids (history and target) the model never trained on."""
    movie_ids = list(request[c.HISTORY_MOVIE_IDS]) + [request[c.TARGET_MOVIE_ID]]
    return sorted({int(m) for m in movie_ids} - self.known_movie_ids)

  def predict(self, requests: List[Dict[str, Any]]) -> np.ndarray:
    """The predicted ratings."""
    return self.score_all(requests)[contract.PREDICTION_KEY]

  def score_all(self, requests: List[Dict[str, Any]]) -> Dict[str, np.ndarray]:
    """{contract.PREDICTION_KEY: ratings, contract.NEXT_MOVIE_KEY: next-movie scores}."""
    return self.score_examples([contract.encode(request) for request in requests])

  def score_examples(self, examples: List[bytes]) -> Dict[str, np.ndarray]:
    """score_all for requests already serialized (contract.encode, contract.with_targets)."""
    return contract.score_all(self._serve, examples)
