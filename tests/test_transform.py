"""preprocessing_fn through tf.Transform's Beam implementation, on rows checkable by hand."""
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from movielens import constants as c
from transform import features as f
from transform import preprocessing
from transform.config import TransformConfig

CATALOG = ('movie_id,title,genres\n1,Heat (1995),Action\n2,"Casino, The (1995)",Drama|Crime\n'
           "3,Sabrina (1995),Comedy\n4,Balto (1995),Animation\n")


def row(user, movie, timestamp, rating, history=(), sex=b"F", age=25, occupation=4):
  """One raw row as CsvExampleGen makes it; history is [(movie, rating, timestamp)]."""
  join = lambda i: [" ".join(str(event[i]) for event in history).encode()] if history else []
  return {c.USER_ID: [user], c.SEX: [sex], c.AGE_GROUP: [age], c.OCCUPATION: [occupation],
          c.TARGET_MOVIE_ID: [movie], c.TARGET_TIMESTAMP: [timestamp], c.RATING: [rating],
          c.HISTORY_MOVIE_IDS: join(0), c.HISTORY_RATINGS: join(1),
          c.HISTORY_TIMESTAMPS: join(2)}


TRAIN_ROWS = [
    row(1, 1, 1000, 5),
    row(1, 2, 1030, 4, [(1, 5, 1000)]),
    row(1, 1, 90_000, 3, [(1, 5, 1000), (2, 4, 1030)]),  # movie 1 is the most frequent
    row(2, 3, 500, 2, sex=b"M", age=56, occupation=16),
]
EVAL_ROWS = [
    # 8 events, window 3: keeps the last three. Movie 4 and user 7 were never in training.
    row(7, 4, 10 * 86_400, 1, [(1, 1, 1), (2, 2, 2), (3, 3, 3), (1, 4, 4), (2, 5, 5),
                               (4, 1, 10 * 86_400 - 30), (3, 2, 9 * 86_400),
                               (1, 3, 2 * 86_400)]),
    row(2, 2, 100, 4),  # cold start: no history at all
]
SCALARS = (c.USER_ID, c.AGE_GROUP, c.OCCUPATION, c.TARGET_MOVIE_ID, c.TARGET_TIMESTAMP,
           c.RATING)


def raw_spec(dense_scalars: bool):
  """The two forms a schema gives raw features: VarLen everywhere, or dense scalars."""
  spec = {}
  for name in c.CSV_COLUMNS:
    dtype = tf.int64 if name in SCALARS else tf.string
    dense = dense_scalars and name not in (c.HISTORY_MOVIE_IDS, c.HISTORY_RATINGS,
                                           c.HISTORY_TIMESTAMPS)
    spec[name] = tf.io.FixedLenFeature([], dtype) if dense else tf.io.VarLenFeature(dtype)
  return spec


def as_instances(rows, spec):
  return [{k: (v[0] if isinstance(spec[k], tf.io.FixedLenFeature) else v)
           for k, v in r.items()} for r in rows]


def run_transform(tmp_path, dense_scalars: bool, window: int = 3):
  catalog = tmp_path / "movies.csv"
  catalog.write_text(CATALOG)
  spec = raw_spec(dense_scalars)
  metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
  config = {"catalog_path": str(catalog), "window": window}
  with tft_beam.Context(temp_dir=str(tmp_path / "tft_tmp")):
    (train, _), transform_fn = (
        (as_instances(TRAIN_ROWS, spec), metadata)
        | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: preprocessing.preprocessing_fn(inputs, config)))
    evaluation, _ = ((as_instances(EVAL_ROWS, spec), metadata), transform_fn) | (
        tft_beam.TransformDataset())
    _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "transform_fn"))
  return train, evaluation, tft.TFTransformOutput(str(tmp_path / "transform_fn"))


@pytest.fixture(scope="module", params=[False, True], ids=["varlen", "dense-scalars"])
def transformed(request, tmp_path_factory):
  return run_transform(tmp_path_factory.mktemp("tft"), dense_scalars=request.param)


def test_window_keeps_the_last_events_left_padded(transformed):
  train, evaluation, _ = transformed
  # Movie vocabulary from training targets: "1" (twice) first, then "2", "3" (ties by value
  # descending in tf.Transform); indices shift by one for padding: 1 -> 1, 3 -> 2, 2 -> 3.
  assert train[2][f.HISTORY_MOVIE_INDEX].tolist() == [0, 1, 3]
  assert train[2][f.HISTORY_RATINGS].tolist() == [0.0, 5.0, 4.0]
  assert train[2][f.HISTORY_POSITION].tolist() == [0, 2, 1]  # 1 = most recent
  assert evaluation[0][f.HISTORY_RATINGS].tolist() == [1.0, 2.0, 3.0]


def test_cold_start_rows_are_kept_fully_padded(transformed):
  train, evaluation, _ = transformed
  for cold in (train[0], evaluation[1]):
    assert cold[f.HISTORY_MOVIE_INDEX].tolist() == [0, 0, 0]
    assert cold[f.HISTORY_POSITION].tolist() == [0, 0, 0]
    assert cold[f.HISTORY_TIME_GAP_BUCKET].tolist() == [0, 0, 0]
    assert not cold[f.HISTORY_GENRES].any()


def test_unseen_ids_map_to_the_oov_bucket(transformed):
  _, evaluation, output = transformed
  oov_movie = output.vocabulary_size_by_name(f.MOVIE_VOCAB) + 1
  assert output.vocabulary_size_by_name(f.MOVIE_VOCAB) == 3
  assert evaluation[0][f.TARGET_MOVIE_INDEX] == oov_movie          # movie 4
  assert evaluation[0][f.HISTORY_MOVIE_INDEX].tolist() == [oov_movie, 2, 1]  # 4, 3, 1
  assert evaluation[0][f.USER_INDEX] == output.vocabulary_size_by_name(f.USER_VOCAB) + 1


def test_vocabulary_sizes(transformed):
  _, _, output = transformed
  assert output.vocabulary_size_by_name(f.USER_VOCAB) == 2
  assert output.vocabulary_size_by_name(f.SEX_VOCAB) == 2
  assert output.vocabulary_size_by_name(f.AGE_GROUP_VOCAB) == 2
  assert output.vocabulary_size_by_name(f.OCCUPATION_VOCAB) == 2
  assert f.vocabulary_size(output, f.MOVIE_VOCAB) == 1 + 3 + 1  # padding + 3 + OOV


def test_genres_are_multi_hot_from_the_catalog(transformed):
  train, evaluation, _ = transformed
  genre = lambda name: c.GENRES.index(name)
  target = train[1][f.TARGET_GENRES]  # movie 2: Drama|Crime
  assert np.flatnonzero(target).tolist() == sorted([genre("Drama"), genre("Crime")])
  history = evaluation[0][f.HISTORY_GENRES].reshape(3, f.NUM_GENRES)
  # Movie 4 is out of the training vocabulary but in the catalog: it keeps its genre.
  assert [np.flatnonzero(h).tolist() for h in history] == [
      [genre("Animation")], [genre("Comedy")], [genre("Action")]]


def test_time_gaps_are_bucketized(transformed):
  train, evaluation, _ = transformed
  # Gaps to the target at 90,000 s: 89,000 s and 88,970 s: both past a day (bucket 6).
  assert train[2][f.HISTORY_TIME_GAP_BUCKET].tolist() == [0, 6, 6]
  assert train[1][f.HISTORY_TIME_GAP_BUCKET].tolist() == [0, 0, 1]  # 30 s: under a minute
  # Gaps 30 s, 1 day, 8 days -> buckets 1, 6, 8.
  assert evaluation[0][f.HISTORY_TIME_GAP_BUCKET].tolist() == [1, 6, 8]


def test_label_passes_through(transformed):
  train, _, _ = transformed
  assert [r[f.LABEL] for r in train] == [5.0, 4.0, 3.0, 2.0]


def test_config_is_required():
  with pytest.raises(ValueError, match="catalog_path"):
    TransformConfig.from_custom_config({})


def test_slicing_features_name_history_length_and_popularity(transformed):
  train, evaluation, _ = transformed
  assert [r[f.HISTORY_LENGTH_BUCKET] for r in train] == [b"0 cold start", b"1-2", b"1-2",
                                                         b"0 cold start"]
  assert evaluation[0][f.HISTORY_LENGTH_BUCKET] == b"6+"  # 8 events, window or not
  # Ranks 1-3 are all in the top 100; movie 4 was never a training target.
  assert {r[f.TARGET_POPULARITY_BUCKET] for r in train} == {b"top 100"}
  assert evaluation[0][f.TARGET_POPULARITY_BUCKET] == f.UNSEEN_MOVIE_BUCKET.encode()
  assert evaluation[1][f.TARGET_POPULARITY_BUCKET] == b"top 100"


def test_bucket_boundaries():
  histories = tf.constant(["", "5", "5 6", "5 6 7", "1 2 3 4 5", "1 2 3 4 5 6"])
  ranks = tf.constant([1, 100, 101, 1000, 1001, 1201], tf.int64)
  slices = preprocessing.slicing_features(histories, ranks, num_known_movies=tf.constant(1200))
  assert slices[f.HISTORY_LENGTH_BUCKET].numpy().tolist() == [
      b"0 cold start", b"1-2", b"1-2", b"3-5", b"3-5", b"6+"]
  assert slices[f.TARGET_POPULARITY_BUCKET].numpy().tolist() == [
      b"top 100", b"top 100", b"101-500", b"501-1000", b"1001+", b"unseen in training"]
