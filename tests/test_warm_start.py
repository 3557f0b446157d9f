"""Warm start: rows carried over by id when the vocabularies change between runs."""
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tests.test_model import CONFIG, SIZES, WINDOW
from trainer import model as bst
from trainer import warm_start
from transform import features as f
from transform import vocabulary as vocabulary_files


def test_rows_map_by_id_when_the_order_changes():
  old, new = [b"10", b"20", b"30"], [b"30", b"40", b"10"]  # 20 left, 40 arrived
  assert warm_start.row_mapping(old, new) == [
      (f.PAD_INDEX, f.PAD_INDEX), (1, 3), (3, 1), (4, 4)]  # 30, 10, then OOV -> OOV


class FakeTransformOutput:
  """The one method carry_over reads of tft.TFTransformOutput."""

  def __init__(self, vocabularies):
    self._vocabularies = vocabularies

  def vocabulary_by_name(self, name):
    return self._vocabularies[name]


def _vocabularies(movies):
  """Entries for every vocabulary of SIZES (padding and OOV rows aside)."""
  vocabularies = {name: [str(i).encode() for i in range(1, size - 1)]
                  for name, size in SIZES.items()}
  vocabularies[f.MOVIE_VOCAB] = movies
  return vocabularies


def _export(model, vocabularies, export_dir):
  root = tf.Module()
  root.weights = list(model.scorer.weights)
  tf.saved_model.save(root, export_dir)
  os.makedirs(os.path.join(export_dir, vocabulary_files.ASSETS_DIR), exist_ok=True)
  for name, entries in vocabularies.items():
    with open(os.path.join(export_dir, vocabulary_files.ASSETS_DIR, name), "wb") as out:
      out.write(b"".join(entry + b"\n" for entry in entries))


def _weight(model, layer, kind="embeddings"):
  weight, = [w for w in model.scorer.weights if w.name.startswith(f"{layer}/{kind}")]
  return weight.numpy()


def test_a_warm_model_keeps_each_movies_row_by_id(tmp_path):
  movies = [str(100 + i).encode() for i in range(SIZES[f.MOVIE_VOCAB] - 2)]
  keras.utils.set_random_seed(1)
  old_model = bst.build_bst(CONFIG, bst.DataShape(SIZES, WINDOW))
  _export(old_model, _vocabularies(movies), str(tmp_path / "base"))

  # The next run: the order reversed, the first movie gone, a new one at the end.
  new_movies = list(reversed(movies[1:])) + [b"999"]
  keras.utils.set_random_seed(2)
  new_model = bst.build_bst(CONFIG, bst.DataShape(SIZES, WINDOW))
  fresh = {layer: _weight(new_model, layer) for layer in bst.VOCABULARY_OF}
  done = warm_start.carry_over(new_model, str(tmp_path / "base"),
                               FakeTransformOutput(_vocabularies(new_movies)))
  assert done["vocabularies"][f.MOVIE_VOCAB] == {"carried": len(movies) - 1, "new": 1,
                                                 "left": 1}
  for layer in bst.ROWS_BY_VOCABULARY[f.MOVIE_VOCAB]:
    old_rows, new_rows = _weight(old_model, layer), _weight(new_model, layer)
    for position, movie in enumerate(new_movies[:-1]):
      np.testing.assert_array_equal(new_rows[1 + position],
                                    old_rows[1 + movies.index(movie)])
    new_row = 1 + len(new_movies) - 1
    np.testing.assert_array_equal(new_rows[new_row], fresh[layer][new_row])  # as if cold
    np.testing.assert_array_equal(new_rows[0], old_rows[0])    # padding
    np.testing.assert_array_equal(new_rows[-1], old_rows[-1])  # out of vocabulary
  np.testing.assert_array_equal(_weight(new_model, "mlp_score", "kernel"),
                                _weight(old_model, "mlp_score", "kernel"))


def test_every_layer_with_a_row_per_entry_is_listed():
  """Each embedding with as many rows as a vocabulary is in ROWS_BY_VOCABULARY, or a warm
  start would copy its rows by index."""
  sizes = {name: 30 + 7 * i for i, name in enumerate(SIZES)}  # all distinct
  model = bst.build_bst(CONFIG, bst.DataShape(sizes, WINDOW))
  by_rows = {size: name for name, size in sizes.items()}
  keyed = {w.name.split("/")[0]: by_rows[w.shape[0]] for w in model.scorer.weights
           if len(w.shape) == 2 and w.shape[0] in by_rows}
  assert keyed == bst.VOCABULARY_OF


def test_another_architecture_is_a_cold_start(tmp_path):
  movies = [str(i).encode() for i in range(SIZES[f.MOVIE_VOCAB] - 2)]
  _export(bst.build_bst(CONFIG, bst.DataShape(SIZES, WINDOW)), _vocabularies(movies),
          str(tmp_path / "base"))
  wider = bst.build_bst(CONFIG.with_values({"hidden_units": [8]}),
                        bst.DataShape(SIZES, WINDOW))
  done = warm_start.carry_over(wider, str(tmp_path / "base"),
                               FakeTransformOutput(_vocabularies(movies)))
  assert "skipped" in done


def test_shrink_blends_the_base_model_with_a_fresh_initialisation(tmp_path):
  """Shrink and perturb: each carried value is shrink * base + (1 - shrink) * fresh; a new
  id's row stays fresh."""
  movies = [str(100 + i).encode() for i in range(SIZES[f.MOVIE_VOCAB] - 2)]
  keras.utils.set_random_seed(1)
  old_model = bst.build_bst(CONFIG, bst.DataShape(SIZES, WINDOW))
  _export(old_model, _vocabularies(movies), str(tmp_path / "base"))
  new_movies = movies[1:] + [b"999"]
  keras.utils.set_random_seed(2)
  new_model = bst.build_bst(CONFIG, bst.DataShape(SIZES, WINDOW))
  fresh_rows = _weight(new_model, "movie_embedding")
  fresh_kernel = _weight(new_model, "mlp_score", "kernel")
  warm_start.carry_over(new_model, str(tmp_path / "base"),
                        FakeTransformOutput(_vocabularies(new_movies)), shrink=0.25)
  old_rows, new_rows = _weight(old_model, "movie_embedding"), _weight(new_model, "movie_embedding")
  np.testing.assert_allclose(new_rows[1], 0.25 * old_rows[2] + 0.75 * fresh_rows[1], rtol=1e-6)
  np.testing.assert_array_equal(new_rows[len(new_movies)], fresh_rows[len(new_movies)])
  np.testing.assert_allclose(_weight(new_model, "mlp_score", "kernel"),
                             0.25 * _weight(old_model, "mlp_score", "kernel")
                             + 0.75 * fresh_kernel, rtol=1e-6)


def test_a_warm_start_anneals_at_its_own_half_life_for_fewer_epochs():
  config = CONFIG.with_values({"learning_rate_half_life": 800, "epochs": 10,
                               "warm_start_learning_rate_half_life": 400,
                               "warm_start_epochs": 2})
  warm = warm_start.training_config(config)
  assert (warm.learning_rate_half_life, warm.epochs) == (400, 2)
  # Nothing else moved:
  assert warm.with_values({"learning_rate_half_life": 800, "epochs": 10}) == config
  assert warm_start.training_config(config.with_values({"epochs": 1})).epochs == 1
  with pytest.raises(ValueError, match="warm_start_learning_rate_half_life"):
    config.with_values({"warm_start_learning_rate_half_life": -1})
  with pytest.raises(ValueError, match="warm_start_epochs"):
    config.with_values({"warm_start_epochs": 0})
