"""The tf.Transform `preprocessing_fn`: CSV rows -> the BST's fixed-length inputs.

Per row it keeps the last W history events (left-padded, so the most recent event sits next
to the target), maps movie and user ids through vocabularies computed over the training
split (with an OOV bucket, so unseen ids serve), turns every movie into the multi-hot of
its genres from the catalog, and computes BST's time feature: the bucketized gap between
the target and each history event, beside plain positions.

The catalog (movie id -> genres) is read when the graph is traced and baked into it as a
constant, so the exported model owns it: serving clients send movie ids, never genres.

Raw inputs arrive as CsvExampleGen makes them: scalars, and the history as space-separated
strings, possibly missing (a user's first rating). Depending on the schema a feature may
come as a dense Tensor or as a SparseTensor; `_column` accepts both.
"""
import csv
from typing import Any, Dict

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from movielens import constants as c
from movielens import contract
from transform import features as f
from transform.config import TransformConfig


def read_genre_matrix(catalog_path: str) -> np.ndarray:
  """[max movie id + 2, NUM_GENRES] multi-hot; the last row (unknown movie) is all zero."""
  with tf.io.gfile.GFile(catalog_path, "r") as catalog:
    rows = list(csv.DictReader(catalog))
  if not rows:
    raise ValueError(f"{catalog_path} lists no movies")
  genre_column = {genre: i for i, genre in enumerate(c.GENRES)}
  max_id = max(int(row["movie_id"]) for row in rows)
  matrix = np.zeros((max_id + 2, f.NUM_GENRES), dtype=np.float32)
  for row in rows:
    for genre in row["genres"].split(c.GENRE_SEPARATOR):
      matrix[int(row["movie_id"]), genre_column[genre]] = 1.0
  return matrix


def _column(x, default) -> tf.Tensor:
  """A raw feature as a dense [batch] tensor, from a Tensor or a (missing-value) Sparse one."""
  if isinstance(x, tf.SparseTensor):
    x = tf.sparse.reset_shape(x, tf.stack([x.dense_shape[0], 1]))
    x = tf.sparse.to_dense(x, default_value=default)
  if x.shape.rank == 2:
    x = tf.squeeze(x, axis=1)
  return x


def last_events(history: tf.Tensor, window: int, pad):
  """The last `window` space-separated tokens per row, left-padded: (tokens, is_real)."""
  tokens = tf.strings.split(history)[:, -window:]  # whitespace split: "" -> no tokens
  lengths = tokens.row_lengths()
  right_padded = tokens.to_tensor(default_value=pad, shape=[None, window])
  source = tf.range(window, dtype=tf.int64)[None, :] - (window - lengths[:, None])
  is_real = source >= 0
  left_padded = tf.gather(right_padded, tf.maximum(source, 0), batch_dims=1)
  return tf.where(is_real, left_padded, pad), is_real


def _genres(movie_ids: tf.Tensor, genre_matrix: tf.Tensor) -> tf.Tensor:
  unknown = tf.shape(genre_matrix, out_type=tf.int64)[0] - 1
  in_catalog = (movie_ids >= 0) & (movie_ids < unknown)
  return tf.gather(genre_matrix, tf.where(in_catalog, movie_ids, unknown))


def _bucket_names(values: tf.Tensor, buckets) -> tf.Tensor:
  """Each value's bucket name; `buckets` lists (smallest value in the bucket, name)."""
  boundaries = [float(lowest) for lowest, _ in buckets[1:]]
  index = tf.raw_ops.Bucketize(input=tf.cast(values, tf.float32), boundaries=boundaries)
  return tf.gather(tf.constant([name for _, name in buckets]), index)


def slicing_features(history: tf.Tensor, target_movie_index: tf.Tensor,
                     num_known_movies: tf.Tensor) -> Dict[str, tf.Tensor]:
  """What TFMA slices by: cold start vs warm, and head vs tail movies.

  The movie vocabulary is ordered by training frequency, so a movie's index is its
  popularity rank; indexes past the vocabulary are movies never rated in training.
  """
  history_length = tf.strings.split(history).row_lengths()
  popularity = _bucket_names(target_movie_index, f.POPULARITY_RANK_BUCKETS)
  unseen = target_movie_index > tf.cast(num_known_movies, tf.int64)
  return {
      f.HISTORY_LENGTH_BUCKET: _bucket_names(history_length, f.HISTORY_LENGTH_BUCKETS),
      f.TARGET_POPULARITY_BUCKET: tf.where(unseen, f.UNSEEN_MOVIE_BUCKET, popularity),
  }


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, Any]:
  """tf.Transform entry point (the TFX Transform component calls it by name)."""
  config, catalog_path = TransformConfig.from_custom_config(custom_config)
  window = config.window
  genre_matrix = tf.constant(read_genre_matrix(catalog_path))
  outputs = {}

  for feature, (raw_name, vocab_name) in f.USER_VOCABS.items():
    raw = _column(inputs[raw_name], "" if raw_name == c.SEX else -1)
    outputs[feature] = tft.compute_and_apply_vocabulary(
        tf.strings.as_string(raw) if raw.dtype != tf.string else raw,
        num_oov_buckets=f.NUM_OOV_BUCKETS, vocab_filename=vocab_name) + 1

  # One movie vocabulary for the target and the history. Every movie in a training row's
  # history is also the target of an earlier training row, so the targets cover both.
  target_movie = _column(inputs[c.TARGET_MOVIE_ID], -1)
  target_movie_text = tf.strings.as_string(target_movie)
  movie_vocab = tft.vocabulary(target_movie_text, vocab_filename=f.MOVIE_VOCAB)
  movie_index = lambda ids: tft.apply_vocabulary(
      ids, movie_vocab, num_oov_buckets=f.NUM_OOV_BUCKETS) + 1
  outputs[f.TARGET_MOVIE_INDEX] = movie_index(target_movie_text)
  outputs[f.TARGET_GENRES] = _genres(target_movie, genre_matrix)

  history_movie_text = _column(inputs[c.HISTORY_MOVIE_IDS], "")
  outputs.update(slicing_features(history_movie_text, outputs[f.TARGET_MOVIE_INDEX],
                                  tft.experimental.get_vocabulary_size_by_name(f.MOVIE_VOCAB)))
  history_movies, is_real = last_events(history_movie_text, window, "")
  history_ratings, _ = last_events(_column(inputs[c.HISTORY_RATINGS], ""), window, "0")
  history_times, _ = last_events(_column(inputs[c.HISTORY_TIMESTAMPS], ""), window, "0")
  outputs[f.HISTORY_MOVIE_INDEX] = tf.where(is_real, movie_index(history_movies),
                                            tf.constant(f.PAD_INDEX, tf.int64))
  # Padding becomes movie id -1: not in the catalog, so its genre row is all zeros.
  history_movie_ids = tf.strings.to_number(tf.where(is_real, history_movies, "-1"), tf.int64)
  outputs[f.HISTORY_GENRES] = tf.reshape(_genres(history_movie_ids, genre_matrix),
                                         [-1, window * f.NUM_GENRES])
  outputs[f.HISTORY_RATINGS] = tf.strings.to_number(history_ratings, tf.float32)

  target_time = _column(inputs[c.TARGET_TIMESTAMP], 0)
  gaps = target_time[:, None] - tf.strings.to_number(history_times, tf.int64)
  gap_bucket = tf.raw_ops.Bucketize(input=tf.cast(gaps, tf.float32),
                                    boundaries=[float(b) for b in f.TIME_GAP_BOUNDARIES_SECONDS])
  outputs[f.HISTORY_TIME_GAP_BUCKET] = tf.where(is_real, tf.cast(gap_bucket, tf.int64) + 1, 0)
  slot = tf.range(window, dtype=tf.int64)[None, :]
  outputs[f.HISTORY_POSITION] = tf.where(is_real, window - slot, 0)

  outputs[f.LABEL] = tf.cast(_column(inputs[c.RATING], 0), tf.float32)
  return outputs


# --- Serving: the contract's tf.Examples (movielens.contract) -> what the Transform reads ---

def _joined(values: tf.SparseTensor) -> tf.Tensor:
  """Per row, the list's values as one space-separated string (the CSV's form)."""
  ragged = tf.RaggedTensor.from_sparse(values)
  if ragged.dtype.is_floating:
    text = tf.strings.as_string(ragged.flat_values, shortest=True)
  else:
    text = tf.strings.as_string(ragged.flat_values)
  return tf.strings.reduce_join(ragged.with_flat_values(text), axis=1, separator=" ")


def serving_to_raw(parsed: Dict[str, Any], raw_feature_spec: Dict[str, Any]) -> Dict[str, Any]:
  """Serving features (history as lists) -> raw features as the Transform was traced on.

  Each raw feature takes the form `raw_feature_spec` gives it (dense, or sparse with one
  value per row), so the Transform graph runs exactly as it did on the CSV rows.
  """
  raw = {}
  for name, spec in raw_feature_spec.items():
    if name not in contract.FIELDS:
      continue  # the label
    value = parsed[name]
    if isinstance(value, tf.SparseTensor):
      value = _joined(value)
    if isinstance(spec, tf.io.VarLenFeature):
      batch = tf.shape(value, out_type=tf.int64)[0]
      raw[name] = tf.SparseTensor(
          indices=tf.stack([tf.range(batch), tf.zeros([batch], tf.int64)], axis=1),
          values=value, dense_shape=tf.stack([batch, 1]))
    else:
      raw[name] = tf.reshape(value, [-1] + list(spec.shape))
  return raw
