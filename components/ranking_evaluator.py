"""RankingEvaluator: how well the model orders movies, beside MAE.

Users see a ranked list, not a rating. For every user with a held-out (eval) event, the
first such event's true movie is ranked among itself and N negatives: movies the model
knows (the Transform's vocabulary) that the user never rated in any split, sampled
with a fixed seed. The model scores each candidate as the target of that very event
(same history, same time) twice over: by its next-movie score (how likely the user picks
it next) and by its predicted rating; a popularity baseline scores them by training
frequency (the vocabulary's order). Reported for each of the three: HR@K (the true movie
in the top K), NDCG@K (1 / log2(1 + rank) when it is) and the mean rank, with ties
counted against the true movie (components/ranking_metrics.py).
"""
import json
import os
from typing import Dict, List, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx.types import artifact
from tfx.types import artifact_utils
from tfx.utils import path_utils

from movielens import constants as c
from components import ranking_metrics as metrics
from movielens import contract
from transform import features as f

RESULT_FILE = "ranking.json"
RANKING_KEY = "ranking"  # the component's output: the `ranking` parameter below


class RankingMetrics(artifact.Artifact):
  """ranking.json: HR@K, NDCG@K and mean rank of each of metrics.SCORERS."""
  TYPE_NAME = "bst_movielens.RankingMetrics"  # "namespace.Name", as Kubeflow V2 requires


# --- Reading the pipeline's examples ------------------------------------------------------

def _split_files(examples, split: str) -> List[str]:
  return sorted(tf.io.gfile.glob(os.path.join(examples.uri, f"Split-{split}", "*")))


def _records(files: List[str]) -> tf.data.Dataset:
  return tf.data.TFRecordDataset(files, compression_type="GZIP").batch(contract.SCORING_BATCH)


_KEYS = {name: tf.io.FixedLenFeature([1], tf.int64)
         for name in (c.USER_ID, c.TARGET_MOVIE_ID, c.TARGET_TIMESTAMP)}


def rated_movies(files: List[str]) -> Dict[int, set]:
  """user id -> every movie the user rated in these files."""
  rated: Dict[int, set] = {}
  for batch in _records(files):
    keys = tf.io.parse_example(batch, _KEYS)
    for user, movie in zip(keys[c.USER_ID].numpy().ravel(),
                           keys[c.TARGET_MOVIE_ID].numpy().ravel()):
      rated.setdefault(int(user), set()).add(int(movie))
  return rated


def first_events(files: List[str]) -> Dict[int, bytes]:
  """user id -> the serialized example of the user's first event in these files, by
  event_order."""
  first: Dict[int, Tuple[Tuple[int, int], bytes]] = {}
  for batch in _records(files):
    keys = tf.io.parse_example(batch, _KEYS)
    for user, timestamp, movie, record in zip(keys[c.USER_ID].numpy().ravel(),
                                              keys[c.TARGET_TIMESTAMP].numpy().ravel(),
                                              keys[c.TARGET_MOVIE_ID].numpy().ravel(),
                                              batch.numpy()):
      order = metrics.event_order(timestamp, movie)
      if int(user) not in first or order < first[int(user)][0]:
        first[int(user)] = (order, record)
  return {user: record for user, (_, record) in first.items()}


# --- Candidates and scores ------------------------------------------------------------------

def evaluate(model, events: Dict[int, bytes], rated: Dict[int, set],
             movies_by_popularity: np.ndarray, negatives: int, k: int,
             seed: int) -> Dict[str, object]:
  """HR@K and NDCG@K of the model and of popularity, over the same candidates."""
  rng = np.random.default_rng(seed)
  popularity_rank = {int(m): rank for rank, m in enumerate(movies_by_popularity)}
  sampled = {user: metrics.sample_negatives(movies_by_popularity, rated[user], negatives, rng)
             for user in sorted(events)}
  users = [user for user, movies in sampled.items() if movies is not None]
  skipped = len(events) - len(users)  # so few unrated movies that N negatives do not exist
  if not users:
    raise ValueError(f"no user has {negatives} known movies left unrated: lower `negatives`")
  true_movie = lambda user: tf.train.Example.FromString(events[user]).features.feature[
      c.TARGET_MOVIE_ID].int64_list.value[0]
  candidates = np.array([np.concatenate([[true_movie(user)], sampled[user]]) for user in users],
                        dtype=np.int64).reshape(len(users), 1 + negatives)
  examples = [example for user, movies in zip(users, candidates)
              for example in contract.with_targets(events[user], movies)]
  scores = contract.score_all(model.signatures[contract.EVAL_SIGNATURE], examples)
  unseen = len(movies_by_popularity)  # never rated in training: least popular of all
  scores[metrics.POPULARITY] = -np.vectorize(
      lambda m: popularity_rank.get(m, unseen))(candidates)
  return {
      "users": len(users), "users_skipped_too_few_unrated_movies": skipped,
      "negatives": negatives, "k": k, "seed": seed,
      **{scorer: metrics.summarize(
          metrics.rank_of_true(scores[scorer].reshape(candidates.shape)), k)
         for scorer in metrics.SCORERS},
  }


@tfx.dsl.components.component
def RankingEvaluator(  # pylint: disable=invalid-name  (TFX component naming)
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    transform_graph: tfx.dsl.components.InputArtifact[
        tfx.types.standard_artifacts.TransformGraph],
    ranking: tfx.dsl.components.OutputArtifact[RankingMetrics],
    negatives: tfx.dsl.components.Parameter[int],  # values: pipeline.config.RankingConfig
    k: tfx.dsl.components.Parameter[int],
    seed: tfx.dsl.components.Parameter[int],
    eval_splits: tfx.dsl.components.Parameter[str] = c.EVAL_SPLIT):
  """Writes ranking.json: HR@K, NDCG@K and mean rank of metrics.SCORERS on the eval split
  (or the comma-separated `eval_splits`: in span mode, all of the new span)."""
  movies_by_popularity = np.array(
      [int(m) for m in tft.TFTransformOutput(transform_graph.uri).vocabulary_by_name(
          f.MOVIE_VOCAB)], dtype=np.int64)
  splits = artifact_utils.decode_split_names(examples.split_names)
  rated = rated_movies([path for split in splits for path in _split_files(examples, split)])
  events = first_events([path for split in eval_splits.split(",")
                         for path in _split_files(examples, split)])
  loaded = tf.saved_model.load(path_utils.serving_model_path(model.uri))
  result = evaluate(loaded, events, rated, movies_by_popularity, negatives, k, seed)
  with tf.io.gfile.GFile(os.path.join(ranking.uri, RESULT_FILE), "w") as out:
    json.dump(result, out, indent=2)


def read_result(ranking_uri: str) -> Dict[str, object]:
  with tf.io.gfile.GFile(os.path.join(ranking_uri, RESULT_FILE)) as result:
    return json.load(result)


