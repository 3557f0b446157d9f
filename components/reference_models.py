"""ReferenceModels: what the simplest rating predictors score on the eval split, so the
model's MAE (and the gate's bound) can be read against them.

Two references, fit on the training examples and scored on the eval examples the Evaluator
judges the model on:
  training mean     every rating predicted as the mean training rating
  user + movie bias the mean plus a user's and a movie's damped mean deviations (Koren's
                    baseline predictor, "Factor in the Neighbors", 2008: each deviation
                    shrunk towards 0 by MOVIE_DAMPING or USER_DAMPING pseudo-ratings),
                    clipped to the rating scale; unknown users and movies get 0 deviation
The damping terms are the paper's, fixed rather than fitted, so the references make no
choice on eval or validation data.
"""
import json
import os
from typing import Dict, List, Tuple

import numpy as np
import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import artifact
from tfx.types import artifact_utils

from movielens import constants as c

RESULT_FILE = "references.json"
REFERENCES_KEY = "references"  # the component's output: the `references` parameter below
TRAINING_MEAN, BIASES = "training mean", "user + movie bias"
MOVIE_DAMPING = 25.0
USER_DAMPING = 10.0
_FEATURES = {c.USER_ID: tf.io.FixedLenFeature([1], tf.int64),
             c.TARGET_MOVIE_ID: tf.io.FixedLenFeature([1], tf.int64),
             c.RATING: tf.io.FixedLenFeature([1], tf.int64)}


class ReferenceMetrics(artifact.Artifact):
  """references.json: the eval MAE of each reference predictor."""
  TYPE_NAME = "bst_movielens.ReferenceMetrics"  # "namespace.Name", as Kubeflow V2 requires


Ratings = Tuple[np.ndarray, np.ndarray, np.ndarray]  # user ids, movie ids, ratings


def read_ratings(files: List[str]) -> Ratings:
  """(user ids, movie ids, ratings) of every example in these gzipped TFRecord files."""
  users, movies, ratings = [], [], []
  dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(4096)
  for batch in dataset:
    parsed = tf.io.parse_example(batch, _FEATURES)
    users.append(parsed[c.USER_ID].numpy().ravel())
    movies.append(parsed[c.TARGET_MOVIE_ID].numpy().ravel())
    ratings.append(parsed[c.RATING].numpy().ravel().astype(np.float64))
  empty = np.zeros(0, np.int64)
  return tuple(np.concatenate(parts) if parts else empty for parts in (users, movies, ratings))


def _damped_deviation(keys: np.ndarray, residuals: np.ndarray, damping: float
                      ) -> Dict[int, float]:
  """key -> sum of its residuals / (damping + its count)."""
  unique, index = np.unique(keys, return_inverse=True)
  sums = np.bincount(index, weights=residuals)
  counts = np.bincount(index)
  return dict(zip(unique.tolist(), (sums / (damping + counts)).tolist()))


def fit_and_score(train: Ratings, evaluation: Ratings) -> Dict[str, Dict[str, float]]:
  """{reference: {"mae": eval MAE}} of TRAINING_MEAN and BIASES, fit on `train`."""
  train_users, train_movies, train_ratings = train
  users, movies, ratings = evaluation
  if not len(train_ratings) or not len(ratings):
    raise ValueError("the references need training and eval ratings: got "
                     f"{len(train_ratings)} and {len(ratings)}")
  mean = float(train_ratings.mean())
  movie_bias = _damped_deviation(train_movies, train_ratings - mean, MOVIE_DAMPING)
  movie_part = np.array([movie_bias.get(m, 0.0) for m in train_movies.tolist()])
  user_bias = _damped_deviation(train_users, train_ratings - mean - movie_part, USER_DAMPING)
  predicted = np.clip(mean + np.array([user_bias.get(u, 0.0) for u in users.tolist()])
                      + np.array([movie_bias.get(m, 0.0) for m in movies.tolist()]),
                      c.MIN_RATING, c.MAX_RATING)
  return {TRAINING_MEAN: {"mae": float(np.abs(ratings - mean).mean()), "prediction": mean},
          BIASES: {"mae": float(np.abs(ratings - predicted).mean())}}


def _files(examples: List[tfx.types.standard_artifacts.Examples], splits: str) -> List[str]:
  """The files of the named splits (comma-separated) that each artifact has."""
  files = []
  for each in examples:
    has = artifact_utils.decode_split_names(each.split_names)
    for split in splits.split(","):
      if split in has:
        files += sorted(tf.io.gfile.glob(os.path.join(each.uri, f"Split-{split}", "*")))
  return files


@tfx.dsl.components.component
def ReferenceModels(  # pylint: disable=invalid-name  (TFX component naming)
    training_examples: tfx.dsl.components.InputArtifact[
        List[tfx.types.standard_artifacts.Examples]],
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    references: tfx.dsl.components.OutputArtifact[ReferenceMetrics],
    train_splits: tfx.dsl.components.Parameter[str] = c.TRAIN_SPLIT,
    eval_splits: tfx.dsl.components.Parameter[str] = c.EVAL_SPLIT):
  """Writes references.json: each reference fit on `train_splits` of the training
  examples (in span mode, every training span's) and scored on `eval_splits` of
  `examples`, the rows the Evaluator judges the model on."""
  result = fit_and_score(read_ratings(_files(training_examples, train_splits)),
                         read_ratings(_files([examples], eval_splits)))
  with tf.io.gfile.GFile(os.path.join(references.uri, RESULT_FILE), "w") as out:
    json.dump(result, out, indent=2)


def read_result(references_uri: str) -> Dict[str, Dict[str, float]]:
  with tf.io.gfile.GFile(os.path.join(references_uri, RESULT_FILE)) as result:
    return json.load(result)


def describe(result: Dict[str, Dict[str, float]]) -> str:
  """One line: each reference's eval MAE, as the runner prints it."""
  return "for reference, eval MAE of the " + ", of the ".join(
      f"{name} {result[name]['mae']:.4f}" for name in (TRAINING_MEAN, BIASES))
