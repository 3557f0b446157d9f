"""The Behavior Sequence Transformer (Chen et al. 2019, "Behavior Sequence Transformer for
E-commerce Recommendation in Alibaba"), for rating prediction, in tf_keras.

The target movie is the last token of the sequence. Each token is the movie's embedding
combined with its genres, plus embeddings of its rating (history) and of its time gap to
the target and its position (BST's "position" feature); padded history slots are masked
out of attention and zeroed before the MLP, so they cannot change the prediction. User
features (id, sex, age group, occupation) are embedded and concatenated with the
transformer's output; an MLP with LeakyReLU predicts a rating squashed into [1, 5].
"""
from typing import Dict, Tuple

import tensorflow as tf
import tf_keras as keras

from movielens import constants as c
from trainer.config import TrainerConfig
from transform import features as f

TARGET_RATING = c.MAX_RATING + 1  # the target's rating is unknown: its own embedding row


# Embedding rows per vocabulary (padding and OOV included), by vocabulary name.
VocabularySizes = Dict[str, int]


def _input_specs(window: int) -> Dict[str, Tuple[Tuple[int, ...], tf.DType]]:
  """(shape without batch, dtype) of each transformed feature the model reads."""
  return {
      f.USER_INDEX: ((), tf.int64),
      f.SEX_INDEX: ((), tf.int64),
      f.AGE_GROUP_INDEX: ((), tf.int64),
      f.OCCUPATION_INDEX: ((), tf.int64),
      f.TARGET_MOVIE_INDEX: ((), tf.int64),
      f.TARGET_GENRES: ((f.NUM_GENRES,), tf.float32),
      f.HISTORY_MOVIE_INDEX: ((window,), tf.int64),
      f.HISTORY_GENRES: ((window * f.NUM_GENRES,), tf.float32),
      f.HISTORY_RATINGS: ((window,), tf.float32),
      f.HISTORY_TIME_GAP_BUCKET: ((window,), tf.int64),
      f.HISTORY_POSITION: ((window,), tf.int64),
  }


INPUT_FEATURES = tuple(_input_specs(window=1))


def model_inputs(window: int) -> Dict[str, keras.Input]:
  return {name: keras.Input(shape=shape, dtype=dtype, name=name)
          for name, (shape, dtype) in _input_specs(window).items()}


def _transformer_block(x, mask, config: TrainerConfig, index: int):
  """Self-attention over valid tokens, residual + LayerNorm, feed-forward, residual + LN."""
  d = config.movie_embedding_dim
  attention = keras.layers.MultiHeadAttention(
      num_heads=config.num_heads, key_dim=d // config.num_heads, dropout=config.dropout,
      name=f"attention_{index}")(x, x, attention_mask=mask[:, None, :])
  x = keras.layers.LayerNormalization(name=f"attention_norm_{index}")(
      x + keras.layers.Dropout(config.dropout)(attention))
  hidden = keras.layers.Dense(config.feed_forward_dim, name=f"feed_forward_{index}")(x)
  hidden = keras.layers.LeakyReLU()(hidden)
  hidden = keras.layers.Dense(d, name=f"feed_forward_out_{index}")(hidden)
  return keras.layers.LayerNormalization(name=f"feed_forward_norm_{index}")(
      x + keras.layers.Dropout(config.dropout)(hidden))


def build_bst(config: TrainerConfig, sizes: VocabularySizes) -> keras.Model:
  window, d = config.window, config.movie_embedding_dim
  inputs = model_inputs(window)

  movie_embedding = keras.layers.Embedding(sizes[f.MOVIE_VOCAB], d, name="movie_embedding")
  with_genres = keras.layers.Dense(d, name="movie_with_genres")
  movie_token = lambda index, genres: with_genres(
      tf.concat([movie_embedding(index), genres], axis=-1))
  rating_embedding = keras.layers.Embedding(TARGET_RATING + 1, d, name="rating_embedding")
  gap_embedding = keras.layers.Embedding(f.NUM_TIME_GAP_BUCKETS + 1, d, name="gap_embedding")
  position_embedding = keras.layers.Embedding(window + 2, d, name="position_embedding")

  history_genres = tf.reshape(inputs[f.HISTORY_GENRES], [-1, window, f.NUM_GENRES])
  history = (movie_token(inputs[f.HISTORY_MOVIE_INDEX], history_genres)
             + rating_embedding(tf.cast(tf.round(inputs[f.HISTORY_RATINGS]), tf.int64))
             + gap_embedding(inputs[f.HISTORY_TIME_GAP_BUCKET])
             + position_embedding(inputs[f.HISTORY_POSITION]))
  # The target: its own "unknown rating", "no gap" and "position 0" rows.
  target_marker = lambda table, row: table(tf.fill(tf.shape(inputs[f.TARGET_MOVIE_INDEX]),
                                                   tf.constant(row, tf.int64)))
  target = (movie_token(inputs[f.TARGET_MOVIE_INDEX], inputs[f.TARGET_GENRES])
            + target_marker(rating_embedding, TARGET_RATING)
            + target_marker(gap_embedding, f.NUM_TIME_GAP_BUCKETS)
            + target_marker(position_embedding, window + 1))
  sequence = tf.concat([history, target[:, None, :]], axis=1)
  is_real = tf.concat([inputs[f.HISTORY_MOVIE_INDEX] != f.PAD_INDEX,
                       tf.ones_like(inputs[f.TARGET_MOVIE_INDEX], tf.bool)[:, None]], axis=1)

  for index in range(config.num_transformer_blocks):
    sequence = _transformer_block(sequence, is_real, config, index)
  sequence = sequence * tf.cast(is_real, sequence.dtype)[:, :, None]  # padding: exactly 0
  sequence = keras.layers.Flatten(name="sequence")(sequence)

  user = [keras.layers.Embedding(sizes[f.USER_VOCAB], config.user_embedding_dim,
                                 name="user_embedding")(inputs[f.USER_INDEX])]
  for feature, vocab in ((f.SEX_INDEX, f.SEX_VOCAB), (f.AGE_GROUP_INDEX, f.AGE_GROUP_VOCAB),
                         (f.OCCUPATION_INDEX, f.OCCUPATION_VOCAB)):
    user.append(keras.layers.Embedding(sizes[vocab], config.feature_embedding_dim,
                                       name=f"{vocab}_embedding")(inputs[feature]))

  x = tf.concat([sequence] + user, axis=-1)
  for units in config.hidden_units:
    x = keras.layers.Dense(units)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU()(x)
    x = keras.layers.Dropout(config.dropout)(x)
  logit = keras.layers.Dense(1, name="rating_logit")(x)
  rating = keras.layers.Lambda(
      lambda z: c.MIN_RATING + (c.MAX_RATING - c.MIN_RATING) * tf.sigmoid(z[:, 0]),
      name="predicted_rating")(logit)
  model = keras.Model(inputs=inputs, outputs=rating, name="bst")
  optimizer = keras.optimizers.get({"class_name": config.optimizer,
                                    "config": {"learning_rate": config.learning_rate}})
  model.compile(optimizer=optimizer, loss="mse",
                metrics=[keras.metrics.MeanAbsoluteError(name="mae"),
                         keras.metrics.RootMeanSquaredError(name="rmse")])
  return model
