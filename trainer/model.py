"""The Behavior Sequence Transformer (Chen et al. 2019, "Behavior Sequence Transformer for
E-commerce Recommendation in Alibaba"), for rating prediction, in tf_keras.

The target movie is the last token of the sequence. Each token is the movie's embedding
combined with its genres, plus embeddings of its rating (history) and of its time gap to
the target and its position (BST's "position" feature); padded history slots are masked
out of attention and zeroed before the MLP, so they cannot change the prediction. User
features (id, sex, age group, occupation) are embedded and concatenated with the
transformer's output; an MLP with LeakyReLU gives a score.

Two additions to the Keras example, each chosen on validation MAE (docs/decisions.md):
matrix-factorization terms added to the score (`_collaborative_terms`), and
an ordinal head: the score and four learned cut points give a distribution over the five
stars, trained on its likelihood, and the predicted rating is that distribution's median
(smoothed, so it still ranks), MAE's best answer.

And BST's own objective beside the rating: which movie the user picks next. The same
transformer encodes the history with a query token in the target's slot (as BERT4Rec's
mask), the user's embeddings join it, and the result is a query vector; the target movie's
token gives an item vector; their dot product is the next-movie score. It is trained with
in-batch sampled softmax, the batch's other targets as negatives, each logit corrected by
the log of how often its movie is sampled (its training frequency: Yi et al. 2019,
"Sampling-Bias-Corrected Neural Modeling"), jointly with the rating's likelihood.
With `next_movie_taste` the score also holds the rating's taste term, <user factors,
movie factors>: users rate what they chose to see, and choose what they expect to like
(ratings are missing not at random: Marlin and Zemel 2009), so which movies a user picks
says much about their taste; sharing the factors lets every choice train them, as SVD++'s
implicit feedback does (Koren 2008).
"""
import dataclasses
import itertools
import math
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import tensorflow as tf
import tf_keras as keras

from movielens import constants as c
from movielens import contract
from trainer.config import TrainerConfig
from transform import features as f

TARGET_RATING = c.MAX_RATING + 1  # the target's rating is unknown: its own embedding row
# The user's demographic features, each with its vocabulary.
DEMOGRAPHICS = ((f.SEX_INDEX, f.SEX_VOCAB), (f.AGE_GROUP_INDEX, f.AGE_GROUP_VOCAB),
                (f.OCCUPATION_INDEX, f.OCCUPATION_VOCAB))
# The layers with one row per entry of a vocabulary, by vocabulary: what a warm start
# carries over by id (trainer.warm_start). tests/test_model.py checks that every such
# layer the model builds is listed.
ROWS_BY_VOCABULARY = {
    f.MOVIE_VOCAB: ("movie_embedding", "movie_factors", "movie_bias"),
    f.USER_VOCAB: ("user_embedding", "user_factors", "user_bias"),
    **{vocab: (f"{vocab}_embedding", f"{vocab}_factors") for _, vocab in DEMOGRAPHICS},
}
VOCABULARY_OF = {layer: vocab for vocab, layers in ROWS_BY_VOCABULARY.items()
                 for layer in layers}


@dataclasses.dataclass(frozen=True)
class DataShape:
  """What the model is built from, read from the Transform's output (trainer.task)."""
  vocabulary_sizes: Dict[str, int]  # embedding rows (padding and OOV included) by vocabulary
  window: int                       # history events per row (transform.config)
  # Training rows per movie index (padding and OOV rows 0): how often the next-movie
  # head's in-batch sampling draws each movie. None: uniform.
  movie_counts: Optional[Tuple[int, ...]] = None

  def movie_log_sampling_probability(self) -> np.ndarray:
    """log q(movie) per movie index, for the sampled softmax's correction; movies never
    seen in training count as seen once."""
    size = self.vocabulary_sizes[f.MOVIE_VOCAB]
    counts = np.ones(size) if self.movie_counts is None else np.maximum(
        np.asarray(self.movie_counts, dtype=np.float64), 1.0)
    return np.log(counts / counts.sum()).astype(np.float32)


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


def _transformer_block(config: TrainerConfig, index: int) -> Callable:
  """Self-attention over valid tokens, residual + LayerNorm, feed-forward, residual + LN:
  its layers, as a function of (tokens, mask) that can encode more than one sequence."""
  d = config.movie_embedding_dim
  attention = keras.layers.MultiHeadAttention(
      num_heads=config.num_heads, key_dim=d // config.num_heads, dropout=config.dropout,
      name=f"attention_{index}")
  attention_norm = keras.layers.LayerNormalization(name=f"attention_norm_{index}")
  feed_forward = keras.layers.Dense(config.feed_forward_dim, name=f"feed_forward_{index}")
  feed_forward_out = keras.layers.Dense(d, name=f"feed_forward_out_{index}")
  feed_forward_norm = keras.layers.LayerNormalization(name=f"feed_forward_norm_{index}")
  dropout = keras.layers.Dropout(config.dropout)

  def encode(x, mask):
    x = attention_norm(x + dropout(attention(x, x, attention_mask=mask[:, None, :])))
    hidden = feed_forward_out(keras.layers.LeakyReLU()(feed_forward(x)))
    return feed_forward_norm(x + dropout(hidden))
  return encode


def _collaborative_terms(inputs, history_genres: tf.Tensor, config: TrainerConfig,
                         sizes: Dict[str, int]) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """Matrix factorization's terms, per example, added to the MLP's score (as in Wide & Deep);
  and the (scaled) user and target-movie vectors of its taste term, <user, movie>.
  `history_genres` is [batch, window, genres], as the history's tokens read them.

  An MLP over concatenated embeddings learns a dot product poorly (Rendle et al. 2020,
  "Neural Collaborative Filtering vs. Matrix Factorization Revisited"), yet a user's taste
  for a movie is exactly that interaction. So: user bias + movie bias + <user, movie>, and
  the neighborhood term of Koren's integrated model (KDD 2008) made sequential: each
  history rating (a learned value per star) times the similarity of its movie to the
  target times a learned weight of its time gap.

  With `side_factors`, a user's vector is their own factors plus those of their sex, age
  group and occupation, and a movie's its own plus the mean of its genres' (a
  factorization machine's fields, Rendle 2010; SVDFeature): what users of a kind share
  and movies of a genre share is learned from all their ratings at once, where a single
  user's or movie's factors see only their own.

  The factors are multiplied by `factor_scale`: under Adam, whose steps are about the
  learning rate whatever the gradient, that makes them move that much faster than the
  rest, so users and movies line up within the few epochs the sequence part needs before
  it overfits. Their L2 penalty is on the unscaled lookups, per example.
  """
  regularizer = keras.regularizers.l2(config.factorization_l2)
  embed = lambda vocab, width, name: keras.layers.Embedding(
      sizes[vocab], width, activity_regularizer=regularizer, name=name)
  dim = config.factorization_dim
  movie_factors = embed(f.MOVIE_VOCAB, dim, "movie_factors")
  user, movie = inputs[f.USER_INDEX], inputs[f.TARGET_MOVIE_INDEX]
  user_vector = embed(f.USER_VOCAB, dim, "user_factors")(user)
  if config.side_factors:
    for feature, vocab in DEMOGRAPHICS:
      user_vector += embed(vocab, dim, f"{vocab}_factors")(inputs[feature])
    genre_factors = keras.layers.Dense(dim, use_bias=False, activity_regularizer=regularizer,
                                       name="genre_factors")

  def movie_vector(index, genres):
    """The movie's factors, plus the mean of its genres' with side factors."""
    if not config.side_factors:
      return movie_factors(index)
    genre_count = tf.maximum(tf.reduce_sum(genres, axis=-1, keepdims=True), 1.0)
    return movie_factors(index) + genre_factors(genres / genre_count)

  target = config.factor_scale * movie_vector(movie, inputs[f.TARGET_GENRES])       # [B, D]
  history = config.factor_scale * movie_vector(inputs[f.HISTORY_MOVIE_INDEX],
                                               history_genres)                      # [B, W, D]
  user_vector = config.factor_scale * user_vector
  taste = tf.reduce_sum(user_vector * target, axis=-1)
  biases = embed(f.USER_VOCAB, 1, "user_bias")(user) + embed(f.MOVIE_VOCAB, 1, "movie_bias")(movie)

  similarity = tf.reduce_sum(history * target[:, None, :], axis=-1)               # [B, W]
  star = tf.cast(tf.round(inputs[f.HISTORY_RATINGS]), tf.int64)
  star_value = keras.layers.Embedding(TARGET_RATING, 1, name="history_star_value")(star)
  gap_weight = keras.layers.Embedding(f.NUM_TIME_GAP_BUCKETS + 1, 1, name="history_gap_weight")(
      inputs[f.HISTORY_TIME_GAP_BUCKET])
  is_real = tf.cast(inputs[f.HISTORY_MOVIE_INDEX] != f.PAD_INDEX, similarity.dtype)
  neighborhood = tf.reduce_sum(is_real * similarity * star_value[..., 0] * gap_weight[..., 0],
                               axis=-1)
  return taste + biases[:, 0] + neighborhood, user_vector, target


# --- The ordinal head: ratings are ordered categories, not a continuous quantity ----------

def _starting_cut_points() -> List[float]:
  """logit P(rating <= k), k = 1..4, on ml-1m's rating mix: where the cut points start."""
  cumulative = itertools.accumulate(
      c.ML1M_RATING_SHARES[k] for k in range(c.MIN_RATING, c.MAX_RATING))
  return [math.log(p / (1 - p)) for p in cumulative]


class OrdinalThresholds(keras.layers.Layer):
  """The cut points theta_1 < ... < theta_4 of a cumulative-logit model of the rating:
  P(rating <= k) = sigmoid(theta_k - score). Increasing by construction (softplus gaps)."""

  def build(self, input_shape):
    start = _starting_cut_points()
    inverse_softplus = lambda y: y + math.log(-math.expm1(-y))
    self.first = self.add_weight(name="first", shape=(),
                                 initializer=keras.initializers.Constant(start[0]))
    self.gaps = self.add_weight(
        name="gaps", shape=(len(start) - 1,), initializer=keras.initializers.Constant(
            [inverse_softplus(high - low) for low, high in zip(start, start[1:])]))

  def call(self, score):
    return tf.concat([self.first[None],
                      self.first + tf.math.cumsum(tf.math.softplus(self.gaps))], axis=0)


def rating_distribution(score_and_thresholds) -> tf.Tensor:
  """[batch, 5]: P(rating = k), k = 1..5, from the score and the cut points."""
  score, thresholds = score_and_thresholds
  at_most = tf.sigmoid(thresholds[None, :] - score[:, None])  # P(rating <= k), k = 1..4
  at_most = tf.pad(at_most, [[0, 0], [1, 0]])                       # P(rating <= 0) = 0
  at_most = tf.pad(at_most, [[0, 0], [0, 1]], constant_values=1.0)  # P(rating <= 5) = 1
  return at_most[:, 1:] - at_most[:, :-1]


# The strictly increasing term that keeps predictions in the order of their scores where
# the median's sigmoids saturate (float32), so ranking by prediction stays ranking by
# score: its width in stars, and the score (logits) over which it rises most of the way.
ORDER_KEEPING_WIDTH = 2e-3
ORDER_KEEPING_SCALE = 10.0


def soft_median(score: tf.Tensor, thresholds: tf.Tensor, temperature: float) -> tf.Tensor:
  """The rating to predict when judged by absolute error: the distribution's median.

  The median is 1 + #{k: theta_k < score}: steps, MAE's best answer. They are smoothed
  into sigmoids of width `temperature`, the narrower the closer to the median (chosen on
  validation). Far from every cut point the sigmoids saturate in float32, and movies
  would tie; so a term of ORDER_KEEPING_WIDTH stars, increasing in the score everywhere
  (an arctangent, nearly linear over real scores), keeps the order of the scores. The
  result spans exactly [1, 5].
  (Width 1 and no extra term would give the mean, 1 + sum_k P(rating > k): MSE's answer.)
  """
  steps = tf.reduce_sum(tf.sigmoid((score[:, None] - thresholds[None, :]) / temperature),
                        axis=1)
  num_steps = c.MAX_RATING - c.MIN_RATING
  order = 1.0 + (2.0 / math.pi) * tf.atan(score / ORDER_KEEPING_SCALE)  # in (0, 2)
  return (c.MIN_RATING + (1.0 - ORDER_KEEPING_WIDTH / num_steps) * steps
          + ORDER_KEEPING_WIDTH / 2 * order)


def sampled_softmax_loss(query: tf.Tensor, item: tf.Tensor, item_index: tf.Tensor,
                         log_sampling_probability: tf.Tensor) -> tf.Tensor:
  """[batch] in-batch sampled softmax loss of each row's own item (its next movie).

  Row i's candidates are every row's item; logit_ij = <query_i, item_j> - log q_j, the
  correction for the batch drawing popular movies more often, so that <query, item>
  learns log P(movie | user) itself. A batch's other rows with row i's very movie are not
  negatives for it, and leave its softmax.
  """
  logits = tf.matmul(query, item, transpose_b=True) - log_sampling_probability[None, :]
  same_movie = tf.equal(item_index[:, None], item_index[None, :])
  own = tf.eye(tf.shape(logits)[0], dtype=tf.bool)
  logits = tf.where(same_movie & ~own, tf.constant(-1e9, logits.dtype), logits)
  return tf.nn.softmax_cross_entropy_with_logits(labels=tf.cast(own, logits.dtype),
                                                 logits=logits)


def ordinal_log_loss(rating: tf.Tensor, distribution: tf.Tensor) -> tf.Tensor:
  """-log P(observed rating): the ordinal model's likelihood."""
  star = tf.cast(tf.round(tf.reshape(rating, [-1])), tf.int32) - c.MIN_RATING
  return -tf.math.log(tf.maximum(tf.gather(distribution, star, batch_dims=1), 1e-7))


class OrdinalRatingModel(keras.Model):
  """Outputs the predicted rating (what TFMA and the metrics see); trains on the
  log-likelihood of the observed star under the rating distribution, plus
  `next_movie_weight` times the next-movie head's sampled softmax loss. `scorer` is the
  model to serve: both outputs, nothing of training.

  A point loss fits the ordinal truth poorly: MSE aims at the mean, whose MAE floor on the
  generated data is 9 % above the median's, and MAE's gradient only moves a prediction
  across whole stars, so it learns continuous effects (a user's taste) slowly. The
  likelihood learns from every rating, and the median of the learned distribution is
  MAE's answer.
  """

  def __init__(self, inputs, rating, distribution, query, item, next_movie_score,
               log_sampling_probability: np.ndarray, next_movie_weight: float, **kwargs):
    super().__init__(inputs=inputs, outputs=rating, **kwargs)
    self.with_heads = keras.Model(inputs=inputs, outputs=[rating, distribution, query, item])
    self.scorer = keras.Model(  # named as the serving contract names its outputs
        inputs=inputs, outputs={contract.PREDICTION_KEY: rating,
                                contract.NEXT_MOVIE_KEY: next_movie_score}, name="bst_scorer")
    self._log_q = tf.constant(log_sampling_probability)
    self._next_movie_weight = next_movie_weight
    self.next_movie_loss = keras.metrics.Mean(name="next_movie_loss")

  def _step(self, data, training: bool):
    """The loss, and rating and label as [batch, 1]: Keras's MAE and RMSE reduce the last
    axis, so on [batch] they would average per-batch means instead of examples."""
    features, label = data
    rating, distribution, query, item = self.with_heads(features, training=training)
    loss = self.compiled_loss(label, distribution, regularization_losses=self.losses)
    movie = features[f.TARGET_MOVIE_INDEX]
    next_movie_loss = tf.reduce_mean(sampled_softmax_loss(
        query, item, movie, tf.gather(self._log_q, movie)))
    self.next_movie_loss.update_state(next_movie_loss)
    if self._next_movie_weight:
      loss += self._next_movie_weight * next_movie_loss
    return tf.reshape(rating, [-1, 1]), tf.reshape(label, [-1, 1]), loss

  def _results(self, rating, label):
    self.compiled_metrics.update_state(label, rating)
    return {metric.name: metric.result() for metric in self.metrics}

  # Keras traces these steps with AutoGraph, which would rewrite not only them (they need
  # nothing of it: no Python control flow on tensors) but, recursively, every tf_keras
  # layer they call, since AutoGraph leaves only `keras`, not `tf_keras`, alone: most of
  # the first training step's time, in every Trainer run and Tuner trial.
  @tf.autograph.experimental.do_not_convert
  def train_step(self, data):
    with tf.GradientTape() as tape:
      rating, label, loss = self._step(data, training=True)
    self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
    return self._results(rating, label)

  @tf.autograph.experimental.do_not_convert
  def test_step(self, data):
    rating, label, _ = self._step(data, training=False)
    return self._results(rating, label)


def learning_rate(config: TrainerConfig):
  """The optimizer's learning rate: constant, or halving every `learning_rate_half_life`
  steps (smoothly). Annealing lets the weights settle into the minimum the full rate
  circles. Counted in steps, it leaves small data at about the full rate."""
  if not config.learning_rate_half_life:
    return config.learning_rate
  return keras.optimizers.schedules.ExponentialDecay(
      config.learning_rate, decay_steps=config.learning_rate_half_life, decay_rate=0.5)


class _Tokens(NamedTuple):
  """The transformer's input tokens, each [batch, ..., d], and which slots are real."""
  history: tf.Tensor        # [batch, window, d]: movie with genres, rating, gap, position
  target_movie: tf.Tensor   # [batch, d]: the target's movie with its genres
  target_slot: tf.Tensor    # [batch, d]: the target's "unknown rating", gap and position
  is_real: tf.Tensor        # [batch, window + 1]: False on padded history slots
  history_genres: tf.Tensor  # [batch, window, genres]


def _tokens(inputs: Dict[str, tf.Tensor], window: int, sizes: Dict[str, int],
            d: int) -> _Tokens:
  """Each history event's token (its movie with genres, plus embeddings of its rating,
  time gap to the target and position) and the target's parts. Movie ids, genres and
  positions share one table between history and target."""
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
  target_slot = (target_marker(rating_embedding, TARGET_RATING)
                 + target_marker(gap_embedding, f.NUM_TIME_GAP_BUCKETS)
                 + target_marker(position_embedding, window + 1))
  target_movie = movie_token(inputs[f.TARGET_MOVIE_INDEX], inputs[f.TARGET_GENRES])
  is_real = tf.concat([inputs[f.HISTORY_MOVIE_INDEX] != f.PAD_INDEX,
                       tf.ones_like(inputs[f.TARGET_MOVIE_INDEX], tf.bool)[:, None]], axis=1)
  return _Tokens(history, target_movie, target_slot, is_real, history_genres)


def _encode(config: TrainerConfig, inputs: Dict[str, tf.Tensor], tokens: _Tokens, d: int
            ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Runs the transformer blocks over two sequences that share the history: with the
  target movie in the last slot (the rating's input, flattened, padding exactly 0), and
  with a learned query token there instead (the next-movie head's: it must not see the
  movie it scores), whose last slot's output is returned."""
  sequence = tf.concat(
      [tokens.history, (tokens.target_movie + tokens.target_slot)[:, None, :]], axis=1)
  query_token = keras.layers.Embedding(1, d, name="query_token")(
      tf.zeros_like(inputs[f.TARGET_MOVIE_INDEX]))
  query_sequence = tf.concat(
      [tokens.history, (query_token + tokens.target_slot)[:, None, :]], axis=1)
  blocks = [_transformer_block(config, index) for index in range(config.num_transformer_blocks)]
  for block in blocks:
    sequence = block(sequence, tokens.is_real)
    query_sequence = block(query_sequence, tokens.is_real)
  sequence = sequence * tf.cast(tokens.is_real, sequence.dtype)[:, :, None]
  return keras.layers.Flatten(name="sequence")(sequence), query_sequence[:, -1, :]


def _user_embeddings(inputs: Dict[str, tf.Tensor], config: TrainerConfig,
                     sizes: Dict[str, int]) -> List[tf.Tensor]:
  """The user id's embedding and one per demographic feature."""
  user = [keras.layers.Embedding(sizes[f.USER_VOCAB], config.user_embedding_dim,
                                 name="user_embedding")(inputs[f.USER_INDEX])]
  for feature, vocab in DEMOGRAPHICS:
    user.append(keras.layers.Embedding(sizes[vocab], config.feature_embedding_dim,
                                       name=f"{vocab}_embedding")(inputs[feature]))
  return user


def _mlp_score(config: TrainerConfig, x: tf.Tensor) -> tf.Tensor:
  """The Keras BST example's MLP (Dense, BatchNorm, LeakyReLU, Dropout) to one score."""
  for units in config.hidden_units:
    x = keras.layers.Dense(units)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU()(x)
    x = keras.layers.Dropout(config.dropout)(x)
  return keras.layers.Dense(1, name="mlp_score")(x)[:, 0]


def build_bst(config: TrainerConfig, data: DataShape) -> keras.Model:
  """The compiled BST with its two heads, for transformed features (model_inputs).

  Rating: the transformer's output over the history and the target, with the user's
  embeddings, through the MLP to a score, plus the factorization terms; the score and
  learned cut points give a distribution over the five stars (trained on its
  likelihood), whose smoothed median is the predicted rating.
  Next movie: a query (the transformer's output at a query token in the target's slot,
  with the user's embeddings) dotted with the target movie's item vector, each extended
  by the taste factors when `next_movie_taste`; trained by in-batch sampled softmax
  (OrdinalRatingModel), weighted by `next_movie_weight`.
  `data` gives the window, the vocabulary sizes and the movies' training frequencies.
  """
  window, sizes, d = data.window, data.vocabulary_sizes, config.movie_embedding_dim
  inputs = model_inputs(window)
  tokens = _tokens(inputs, window, sizes, d)
  sequence, query_state = _encode(config, inputs, tokens, d)
  user = _user_embeddings(inputs, config, sizes)

  query = keras.layers.Dense(d, name="next_movie_query")(
      tf.concat([query_state] + user, axis=-1))
  item = keras.layers.Dense(d, name="next_movie_item")(tokens.target_movie)
  score = _mlp_score(config, tf.concat([sequence] + user, axis=-1))
  if config.factorization_dim:
    terms, user_taste, movie_taste = _collaborative_terms(
        inputs, tokens.history_genres, config, sizes)
    score += terms
    if config.next_movie_taste:
      query = tf.concat([query, user_taste], axis=-1)
      item = tf.concat([item, movie_taste], axis=-1)
  next_movie_score = keras.layers.Lambda(lambda qi: tf.reduce_sum(qi[0] * qi[1], axis=-1),
                                         name="next_movie_score")([query, item])
  thresholds = OrdinalThresholds(name="rating_thresholds")(score)
  distribution = keras.layers.Lambda(rating_distribution, name="rating_distribution")(
      [score, thresholds])
  rating = keras.layers.Lambda(lambda st: soft_median(*st, config.median_temperature),
                               name="predicted_rating")([score, thresholds])
  model = OrdinalRatingModel(
      inputs=inputs, rating=rating, distribution=distribution, query=query, item=item,
      next_movie_score=next_movie_score,
      log_sampling_probability=data.movie_log_sampling_probability(),
      next_movie_weight=config.next_movie_weight, name="bst")
  optimizer = keras.optimizers.get({"class_name": config.optimizer,
                                    "config": {"learning_rate": learning_rate(config)}})
  model.compile(optimizer=optimizer, loss=ordinal_log_loss,
                metrics=[keras.metrics.MeanAbsoluteError(name="mae"),
                         keras.metrics.RootMeanSquaredError(name="rmse")])
  return model
