"""The Transform's vocabulary files, as an exported model keeps them among its assets.

The warm start reads the last blessed model's vocabularies to carry rows over by id;
serving reads the pushed model's movie vocabulary to name the movies it never trained on.
"""
import os
from typing import List

import tensorflow as tf

ASSETS_DIR = "assets"  # where a SavedModel keeps the Transform's vocabulary files


def read(model_dir: str, vocabulary: str) -> List[bytes]:
  """The entries of `vocabulary` (transform.features' *_VOCAB names), in index order."""
  with tf.io.gfile.GFile(os.path.join(model_dir, ASSETS_DIR, vocabulary), "rb") as lines:
    return [line.rstrip(b"\n") for line in lines]
