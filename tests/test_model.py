"""The BST model: shapes, learning, masking of padding, determinism, configuration."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from movielens import constants as c
from movielens import contract
from tests.test_trainer_export import training_state
from trainer import model as bst
from trainer import task
from trainer.config import TrainerConfig
from transform import features as f

WINDOW = 4
SIZES = {f.MOVIE_VOCAB: 22, f.USER_VOCAB: 12, f.SEX_VOCAB: 4,
         f.AGE_GROUP_VOCAB: 9, f.OCCUPATION_VOCAB: 23}
DATA = bst.DataShape(SIZES, WINDOW)
CONFIG = TrainerConfig(movie_embedding_dim=8, user_embedding_dim=4,
                       num_heads=2, feed_forward_dim=16, dropout=0.0, optimizer="adam",
                       learning_rate=0.01)


def batch(size=64, seed=0):
  """Transformed features with padding, and a label that depends on the target movie."""
  rng = np.random.default_rng(seed)
  lengths = rng.integers(0, WINDOW + 1, size)
  is_real = np.arange(WINDOW)[None, :] >= (WINDOW - lengths)[:, None]
  movies = np.where(is_real, rng.integers(1, 22, (size, WINDOW)), 0)
  target = rng.integers(1, 22, size)
  features = {
      f.USER_INDEX: rng.integers(1, 12, size), f.SEX_INDEX: rng.integers(1, 4, size),
      f.AGE_GROUP_INDEX: rng.integers(1, 9, size),
      f.OCCUPATION_INDEX: rng.integers(1, 23, size),
      f.TARGET_MOVIE_INDEX: target,
      f.TARGET_GENRES: rng.integers(0, 2, (size, f.NUM_GENRES)).astype(np.float32),
      f.HISTORY_MOVIE_INDEX: movies,
      f.HISTORY_GENRES: (rng.integers(0, 2, (size, WINDOW, f.NUM_GENRES)) * is_real[:, :, None]
                         ).reshape(size, -1).astype(np.float32),
      f.HISTORY_RATINGS: np.where(is_real, rng.integers(1, 6, (size, WINDOW)), 0).astype(
          np.float32),
      f.HISTORY_TIME_GAP_BUCKET: np.where(is_real, rng.integers(1, 12, (size, WINDOW)), 0),
      f.HISTORY_POSITION: np.where(is_real, WINDOW - np.arange(WINDOW)[None, :], 0),
  }
  features = {k: tf.constant(v) for k, v in features.items()}
  label = tf.constant(1.0 + (target % 5), tf.float32)
  return features, label, is_real


@pytest.mark.parametrize("factorization_dim,side_factors",
                         [(CONFIG.factorization_dim, True), (CONFIG.factorization_dim, False),
                          (0, True)])
def test_builds_and_predicts_ratings_in_range(factorization_dim, side_factors):
  model = bst.build_bst(dataclasses.replace(CONFIG, factorization_dim=factorization_dim,
                                            side_factors=side_factors), DATA)
  layers = {layer.name for layer in model.layers}
  assert ({"user_factors", "movie_factors"} <= layers) == bool(factorization_dim)
  side = {"genre_factors", f"{f.SEX_VOCAB}_factors", f"{f.AGE_GROUP_VOCAB}_factors",
          f"{f.OCCUPATION_VOCAB}_factors"}
  assert (side <= layers) == bool(factorization_dim and side_factors)
  features, _, _ = batch()
  prediction = model(features, training=False).numpy()
  assert prediction.shape == (64,)
  assert np.isfinite(prediction).all() and (prediction >= 1).all() and (prediction <= 5).all()


def test_a_few_steps_lower_the_loss():
  keras.utils.set_random_seed(1)
  model = bst.build_bst(CONFIG, DATA)
  features, label, _ = batch(256)
  before = model.evaluate(features, label, verbose=0)[0]
  model.fit(features, label, epochs=30, batch_size=64, verbose=0)
  after = model.evaluate(features, label, verbose=0)[0]
  assert after < 0.5 * before


def _changed_at(features, where, name, value):
  changed = dict(features)
  changed[name] = tf.where(where, tf.cast(value, features[name].dtype), features[name])
  return changed


def test_padding_changes_nothing_but_real_events_do():
  keras.utils.set_random_seed(2)
  model = bst.build_bst(CONFIG, DATA)
  features, _, is_real = batch()
  assert (~is_real).any() and is_real.any()
  padded = tf.constant(~is_real)
  changed = _changed_at(features, padded, f.HISTORY_RATINGS, 5.0)
  changed = _changed_at(changed, padded, f.HISTORY_TIME_GAP_BUCKET, 7)
  changed = _changed_at(changed, padded, f.HISTORY_POSITION, 3)
  genres_padded = tf.reshape(tf.repeat(padded[:, :, None], f.NUM_GENRES, axis=2),
                             [padded.shape[0], -1])
  changed = _changed_at(changed, genres_padded, f.HISTORY_GENRES, 1.0)
  base = model(features, training=False).numpy()
  np.testing.assert_allclose(model(changed, training=False).numpy(), base, atol=1e-6)
  # The same change on real events does move predictions: the check above can fail.
  moved = _changed_at(features, tf.constant(is_real), f.HISTORY_RATINGS, 1.0)
  assert np.abs(model(moved, training=False).numpy() - base).max() > 1e-4


# Two trainings with one seed agree to within this; another seed moves predictions by more
# than a star. Not bit for bit: in one CI run the two trainings below differed in some last
# bit, which 12 Adam steps grew to 1.8e-3 in 33 of 128 predictions (a one-ulp nudge of a
# single initial weight grows to 2e-3 to 4e-3 here). TensorFlow's op determinism did not
# hold there, in a long test process; 29 repeats here, alone and after the same tests,
# were bit-identical.
SAME_SEED_TOLERANCE = 0.05


@pytest.mark.slow  # two trainings
def test_training_is_reproducible_for_a_seed():
  def train_once(seed):
    keras.backend.clear_session()  # a fresh Keras state, as in the Trainer's own process
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = bst.build_bst(CONFIG, DATA)
    features, label, _ = batch(128)
    model.fit(features, label, epochs=3, batch_size=32, verbose=0, shuffle=True)
    return model(features, training=False).numpy()
  first = train_once(3)
  np.testing.assert_allclose(train_once(3), first, atol=SAME_SEED_TOLERANCE, rtol=0)
  # The seed is what the agreement comes from: another one lands far outside the tolerance.
  assert np.abs(train_once(4) - first).max() > 10 * SAME_SEED_TOLERANCE


@pytest.mark.parametrize("next_movie_taste", [True, False])
def test_the_next_movie_score_shares_the_ratings_taste_factors(next_movie_taste):
  """With next_movie_taste, the user's rating factors take part in the next-movie score
  (so the choice loss trains them); without, they do not."""
  model = bst.build_bst(dataclasses.replace(CONFIG, next_movie_taste=next_movie_taste), DATA)
  features, _, _ = batch()
  before = model.scorer(features)[contract.NEXT_MOVIE_KEY].numpy()
  user_factors = model.get_layer("user_factors")
  user_factors.set_weights([w + 1.0 for w in user_factors.get_weights()])
  after = model.scorer(features)[contract.NEXT_MOVIE_KEY].numpy()
  assert (np.abs(after - before).max() > 1e-3) == next_movie_taste


def test_learning_rate_halves_every_half_life_of_steps():
  schedule = bst.learning_rate(dataclasses.replace(CONFIG, learning_rate_half_life=100))
  np.testing.assert_allclose([schedule(0), schedule(100), schedule(300)],
                             [0.01, 0.005, 0.00125], rtol=1e-6)
  assert bst.learning_rate(dataclasses.replace(CONFIG, learning_rate_half_life=0)) == 0.01
  with pytest.raises(ValueError, match="learning_rate_half_life"):
    TrainerConfig.from_custom_config({"learning_rate_half_life": -1})


def test_config_round_trips_and_rejects_unknown_keys():
  config = TrainerConfig(hidden_units=(64, 32, 16), epochs=3)
  assert TrainerConfig.from_custom_config(config.to_custom_config()) == config
  with pytest.raises(ValueError, match="unknown Trainer custom_config keys"):
    TrainerConfig.from_custom_config({"epoch": 3})
  with pytest.raises(ValueError, match="multiple of num_heads"):
    TrainerConfig.from_custom_config({"movie_embedding_dim": 10, "num_heads": 4})


def test_ordinal_head_gives_a_distribution_and_its_median():
  thresholds = tf.constant([-2.0, -1.0, 0.5, 2.0])
  score = tf.constant([-9.0, -1.5, 0.0, 1.0, 9.0, 2.0])
  distribution = bst.rating_distribution([score, thresholds]).numpy()
  assert (distribution >= 0).all()
  np.testing.assert_allclose(distribution.sum(axis=1), 1.0, atol=1e-6)
  # The median star: 1 + the number of cut points below the score.
  median = bst.soft_median(score, thresholds, temperature=0.05).numpy()
  np.testing.assert_allclose(median[:5], [1, 2, 3, 4, 5], atol=1e-3)
  assert median[5] == pytest.approx(4.5, abs=1e-3)  # on the last cut point: halfway
  # Smoothed, it still orders every score, as ranking needs, even where a narrow width
  # saturates every sigmoid in float32; and it stays within the stars.
  for temperature in (0.25, 0.02):
    scores = tf.linspace(-12.0, 12.0, 400)
    median = bst.soft_median(scores, thresholds, temperature).numpy()
    assert (np.diff(median) > 0).all(), temperature
    assert c.MIN_RATING <= median.min() and median.max() <= c.MAX_RATING
  narrow = bst.soft_median(tf.constant([-1e9, 1e9]), thresholds, 0.02).numpy()
  np.testing.assert_allclose(narrow, [c.MIN_RATING, c.MAX_RATING], atol=1e-6)
  # The loss is -log P(observed star).
  loss = bst.ordinal_log_loss(tf.constant([1.0, 3.0]), distribution[:2]).numpy()
  np.testing.assert_allclose(loss, -np.log([distribution[0, 0], distribution[1, 2]]), rtol=1e-6)


def test_cut_points_start_at_ml1m_rating_mix_and_stay_ordered():
  layer = bst.OrdinalThresholds()
  start = layer(tf.zeros([1])).numpy()
  shares = np.cumsum([c.ML1M_RATING_SHARES[star] for star in (1, 2, 3, 4)])
  np.testing.assert_allclose(1 / (1 + np.exp(-start)), shares, rtol=1e-5)
  layer.gaps.assign([-5.0, 3.0, -8.0])  # whatever the gaps learn, the order holds
  assert (np.diff(layer(tf.zeros([1])).numpy()) > 0).all()


@pytest.mark.slow  # a training and an export
def test_the_inference_model_drops_training_state_and_predicts_the_same(tmp_path):
  keras.utils.set_random_seed(4)
  model = bst.build_bst(CONFIG, DATA)
  features, label, _ = batch()
  model.fit(features, label, epochs=1, verbose=0)
  servable = task.inference_model(model)
  np.testing.assert_allclose(servable(features)[contract.PREDICTION_KEY].numpy(),
                             model(features).numpy(), atol=1e-6)
  tf.saved_model.save(model, str(tmp_path / "trained"))
  tf.saved_model.save(servable, str(tmp_path / "servable"))
  children, slot_variables = training_state(str(tmp_path / "trained"))
  assert "optimizer" in children and slot_variables > 0  # what the check below would catch
  children, slot_variables = training_state(str(tmp_path / "servable"))
  assert "optimizer" not in children and slot_variables == 0
  # Loaded back, both are called alike and the slim one predicts what the full one does.
  reloaded = {name: tf.saved_model.load(str(tmp_path / name)) for name in ("trained",
                                                                           "servable")}
  # (The 0.02-wide median steps turn float32 rounding in the score into a few 1e-6 stars.)
  np.testing.assert_allclose(reloaded["servable"](features)[contract.PREDICTION_KEY].numpy(),
                             reloaded["trained"](features).numpy(), rtol=1e-5, atol=1e-5)


def test_sampled_softmax_loss_on_a_hand_checked_batch():
  """Three rows; rows 0 and 2 share a movie, so neither is the other's negative."""
  query = tf.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
  item = tf.constant([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
  movies = tf.constant([7, 8, 7])
  log_q = tf.math.log(tf.constant([0.5, 0.25, 0.5]))
  loss = bst.sampled_softmax_loss(query, item, movies, log_q).numpy()
  # logits = query @ item.T - log q: row 0 [2, 0, 1] + [ln 2, ln 4, ln 2], row 2 left out.
  row0 = np.array([2 + np.log(2), 0 + np.log(4)])
  row1 = np.array([0 + np.log(2), 1 + np.log(4), 0 + np.log(2)])
  row2 = np.array([1 + np.log(4), 1 + np.log(2)])  # its own (movie 7) is last
  expected = [-row0[0] + np.log(np.exp(row0).sum()), -row1[1] + np.log(np.exp(row1).sum()),
              -row2[1] + np.log(np.exp(row2).sum())]
  np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_the_next_movie_query_does_not_see_the_target():
  model = bst.build_bst(CONFIG, DATA)
  features, _, _ = batch()
  other = dict(features, **{f.TARGET_MOVIE_INDEX: (features[f.TARGET_MOVIE_INDEX] % 20) + 1})
  _, _, query, item = model.with_heads(features, training=False)
  _, _, other_query, other_item = model.with_heads(other, training=False)
  np.testing.assert_allclose(query.numpy(), other_query.numpy(), atol=1e-6)
  assert not np.allclose(item.numpy(), other_item.numpy())
  scores = model.scorer(features)[contract.NEXT_MOVIE_KEY].numpy()
  np.testing.assert_allclose(scores, (query.numpy() * item.numpy()).sum(-1), rtol=1e-5,
                             atol=1e-5)


@pytest.mark.slow  # a training and an export
def test_the_exported_next_movie_score_ranks_a_planted_next_movie_first(tmp_path):
  """Toy data where the next movie always follows the last one (m -> m + 1): after
  training on the joint loss, the saved scorer ranks that movie first among all."""
  keras.utils.set_random_seed(1)
  features, _, _ = batch(size=2048, seed=3)
  last = features[f.HISTORY_MOVIE_INDEX].numpy()[:, -1]
  has_history = last > 0
  features = {k: tf.boolean_mask(v, has_history) for k, v in features.items()}
  planted = last[has_history] % 21 + 1  # 1..21, the movie vocabulary's real indexes
  features[f.TARGET_MOVIE_INDEX] = tf.constant(planted)
  label = tf.constant(np.full(len(planted), 4.0), tf.float32)
  counts = tuple(np.bincount(planted, minlength=SIZES[f.MOVIE_VOCAB]).tolist())
  config = dataclasses.replace(CONFIG, next_movie_weight=1.0, batch_size=256)
  model = bst.build_bst(config, dataclasses.replace(DATA, movie_counts=counts))
  model.fit(features, label, batch_size=256, epochs=30, verbose=0)
  tf.saved_model.save(task.inference_model(model), str(tmp_path / "scorer"))
  scorer = tf.saved_model.load(str(tmp_path / "scorer"))
  movies = np.arange(1, SIZES[f.MOVIE_VOCAB] - 1)  # every real movie index
  hits = 0
  for row in range(20):
    one = {k: tf.repeat(v[row:row + 1], len(movies), axis=0) for k, v in features.items()}
    one[f.TARGET_MOVIE_INDEX] = tf.constant(movies)
    scores = scorer(one)[contract.NEXT_MOVIE_KEY].numpy()
    hits += movies[np.argmax(scores)] == planted[row]
  assert hits >= 18, f"the planted movie came first for {hits} of 20 users"
