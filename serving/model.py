"""A pushed model, loaded from the serving folder the Pusher writes, scoring requests."""
import argparse
import os
from typing import Any, Dict, List, Optional

import numpy as np
import tensorflow as tf

from pipeline.config import DEFAULT_SERVING_MODEL_DIR
from trainer import task
from transform import preprocessing

BATCH = 4096  # requests per call: large batches are what makes scoring fast


class NoModelError(LookupError):
  pass


def versions(serving_dir: str) -> List[int]:
  """The pushed versions (folder names are Unix times), oldest first."""
  if not os.path.isdir(serving_dir):
    return []
  return sorted(int(name) for name in os.listdir(serving_dir) if name.isdigit())


def version_dir(serving_dir: str, version: Optional[int] = None) -> str:
  """A version's folder: the given one, or the latest."""
  pushed = versions(serving_dir)
  if not pushed:
    raise NoModelError(f"no pushed model in {serving_dir}: run the pipeline until a model "
                       "is blessed (python local_runner.py)")
  if version is not None and version not in pushed:
    raise NoModelError(f"no version {version} in {serving_dir}; there are {pushed}")
  return os.path.join(serving_dir, str(version if version is not None else pushed[-1]))


def add_model_flags(parser: argparse.ArgumentParser) -> None:
  """--serving-dir and --version: which pushed model a command uses."""
  parser.add_argument("--serving-dir", default=DEFAULT_SERVING_MODEL_DIR,
                      help=f"the Pusher's folder (default {DEFAULT_SERVING_MODEL_DIR})")
  parser.add_argument("--version", type=int, help="a pushed version (default: the latest)")


class RatingModel:
  """The serving_default signature, fed serving-contract requests in batches."""

  def __init__(self, path: str):
    self.path = path
    self._serve = tf.saved_model.load(path).signatures[task.SERVING_SIGNATURE]

  def predict(self, requests: List[Dict[str, Any]]) -> np.ndarray:
    if not requests:
      return np.zeros([0], np.float32)
    examples = [preprocessing.serving_example(
        {name: request[name] for name in preprocessing.SERVING_FEATURE_SPEC})
        for request in requests]
    return np.concatenate([
        self._serve(examples=tf.constant(examples[i:i + BATCH]))[task.PREDICTION_KEY].numpy()
        .ravel() for i in range(0, len(examples), BATCH)])
