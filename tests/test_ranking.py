"""Ranking metrics on cases checkable by hand."""
import numpy as np
import pytest
import tensorflow as tf

from movielens import constants as c

from components import ranking_evaluator
from components import ranking_metrics as ranking


def test_rank_counts_ties_against_the_true_movie():
  scores = np.array([[0.9, 0.1, 0.5],    # best: rank 1
                     [0.2, 0.3, 0.2],    # one better, one tie: rank 3
                     [0.5, 0.5, 0.5]])   # all alike: last
  assert ranking.rank_of_true(scores).tolist() == [1, 3, 3]


def test_hit_rate_and_ndcg():
  ranks = np.array([1, 3, 3, 12])
  assert ranking.hit_rate(ranks, k=1) == 0.25
  assert ranking.hit_rate(ranks, k=10) == 0.75
  # 1/log2(2) = 1, 1/log2(4) = 0.5 twice, 0 past the cut-off.
  assert ranking.ndcg(ranks, k=10) == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)
  assert ranking.summarize(ranks, k=10)["mean_rank"] == pytest.approx(19 / 4)


def test_negatives_exclude_rated_movies_and_are_seeded():
  known = np.arange(1, 21)
  rated = {1, 2, 3, 4, 5}
  first = ranking.sample_negatives(known, rated, 10, np.random.default_rng(0))
  again = ranking.sample_negatives(known, rated, 10, np.random.default_rng(0))
  assert first.tolist() == again.tolist()
  assert len(set(first.tolist())) == 10 and not set(first.tolist()) & rated
  assert ranking.sample_negatives(known, rated, 16, np.random.default_rng(0)) is None


def _write_events(path, events):
  with tf.io.TFRecordWriter(str(path), options="GZIP") as out:
    for user, movie, timestamp in events:
      out.write(tf.train.Example(features=tf.train.Features(feature={
          name: tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
          for name, value in ((c.USER_ID, user), (c.TARGET_MOVIE_ID, movie),
                              (c.TARGET_TIMESTAMP, timestamp))})).SerializeToString())


def test_the_first_event_does_not_depend_on_the_order_of_the_examples(tmp_path):
  """Two events of user 1 at the same second: the smaller movie id, in either order."""
  events = [(1, 30, 100), (1, 20, 100), (1, 10, 200), (2, 5, 50)]
  chosen = []
  for name, ordered in (("a", events), ("b", events[::-1])):
    _write_events(tmp_path / name, ordered)
    first = ranking_evaluator.first_events([str(tmp_path / name)])
    chosen.append({user: tf.train.Example.FromString(record).features.feature[
        c.TARGET_MOVIE_ID].int64_list.value[0] for user, record in first.items()})
  assert chosen[0] == chosen[1] == {1: 20, 2: 5}
