"""Warm start: a new model's first weights taken from the last blessed model.

Between two runs the Transform's vocabularies change: new users and movies arrive, counts
reorder the entries (most frequent first), and an id can leave a vocabulary when the
training window no longer holds it. So a row of an embedding keyed by a vocabulary
(model.ROWS_BY_VOCABULARY) is carried over by id, never by index:
    padding row      -> padding row
    an id in both    -> its new row gets its old row
    a new id         -> its row keeps the fresh initialisation a cold model would have
    an id that left  -> its row is dropped; a later request for it is out of vocabulary,
                        scored with the carried-over out-of-vocabulary row
    out of vocab     -> out of vocabulary
Every other weight (the transformer, the MLP, the rating thresholds) is copied as it is.
Then each carried value is blended with the fresh initialisation the new model was built
with, `shrink` of the base model's to 1 - shrink of the fresh one ("shrink and perturb",
TrainerConfig.warm_start_shrink): a model refitted on the same earlier ratings run after
run generalises worse than a fresh one, and the blend keeps most of its head start.
A warm start also anneals sooner and trains fewer epochs (training_config): it begins
near the minimum a cold start spends its first epochs looking for.
The old vocabularies are read from the base model's own assets (the Transform's files
that the exported SavedModel carries), so the mapping needs nothing but the model.

If the base model's weights do not line up with the new model's (another architecture,
another --set), nothing is copied and the training summary says why: a cold start.
"""
import re
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from trainer import model as bst
from trainer.config import TrainerConfig
from transform import features as f
from transform import vocabulary as vocabulary_files


def training_config(config: TrainerConfig) -> TrainerConfig:
  """The config a warm start trains with: `config` with the learning rate halving every
  warm_start_learning_rate_half_life steps, for at most warm_start_epochs epochs. At the
  cold half-life the rate stays high for the epochs a cold start needs to find the
  minimum, which a warm start already is near; there it keeps circling, and sooner
  annealing settles it in fewer epochs, after which the rate is too low to move it much."""
  return config.with_values(
      {"learning_rate_half_life": config.warm_start_learning_rate_half_life,
       "epochs": min(config.epochs, config.warm_start_epochs)})


def row_mapping(old_vocabulary: Sequence[bytes], new_vocabulary: Sequence[bytes]
                ) -> List[Tuple[int, int]]:
  """(new row, old row) pairs of an embedding keyed by a vocabulary whose entries moved
  from `old_vocabulary` to `new_vocabulary` (features' index conventions)."""
  old_rows = {entry: 1 + position for position, entry in enumerate(old_vocabulary)}
  pairs = [(f.PAD_INDEX, f.PAD_INDEX)]
  pairs += [(1 + position, old_rows[entry]) for position, entry in enumerate(new_vocabulary)
            if entry in old_rows]
  pairs += [(1 + len(new_vocabulary) + bucket, 1 + len(old_vocabulary) + bucket)
            for bucket in range(f.NUM_OOV_BUCKETS)]
  return pairs


def _layer(weight_name: str) -> str:
  """The layer of a weight, without Keras's numbering of unnamed layers ("dense_3")."""
  return re.sub(r"_\d+$", "", weight_name.split("/", 1)[0])


def _mismatch(old: Sequence[tf.Variable], new: Sequence[tf.Variable]) -> str:
  """Why the base model's weights do not line up with the new one's ("" when they do)."""
  if len(old) != len(new):
    return f"the base model has {len(old)} weights, this model {len(new)}"
  for old_weight, new_weight in zip(old, new):
    if _layer(old_weight.name) != _layer(new_weight.name):
      return f"weight {new_weight.name} is {old_weight.name} in the base model"
    if (bst.VOCABULARY_OF.get(_layer(new_weight.name)) is None
        and old_weight.shape != new_weight.shape):
      return (f"weight {new_weight.name} has shape {new_weight.shape}, "
              f"{old_weight.shape} in the base model")
  return ""


def carry_over(model, base_model_dir: str, tf_transform_output: tft.TFTransformOutput,
               shrink: float = 1.0) -> Dict[str, object]:
  """Sets `model`'s weights from the SavedModel in base_model_dir (module docstring);
  returns what was done, for the training summary. Each carried-over value becomes
  shrink * base + (1 - shrink) * its fresh initialisation (shrink and perturb)."""
  old = tf.saved_model.load(base_model_dir).weights
  new = model.scorer.weights
  reason = _mismatch(old, new)
  if reason:
    return {"base_model": base_model_dir, "skipped": reason}
  kept: Dict[str, Dict[str, int]] = {}
  for vocabulary in bst.ROWS_BY_VOCABULARY:
    old_entries = vocabulary_files.read(base_model_dir, vocabulary)
    new_entries = tf_transform_output.vocabulary_by_name(vocabulary)
    mapping = np.array(row_mapping(old_entries, new_entries))
    carried = len(mapping) - 1 - f.NUM_OOV_BUCKETS  # padding and OOV rows aside
    kept[vocabulary] = {"carried": carried, "new": len(new_entries) - carried,
                        "left": len(old_entries) - carried}
    for old_weight, new_weight in zip(old, new):
      if bst.VOCABULARY_OF.get(_layer(new_weight.name)) == vocabulary:
        rows = new_weight.numpy()
        rows[mapping[:, 0]] = _blend(old_weight.numpy()[mapping[:, 1]], rows[mapping[:, 0]],
                                     shrink)
        new_weight.assign(rows)
  for old_weight, new_weight in zip(old, new):
    if bst.VOCABULARY_OF.get(_layer(new_weight.name)) is None:
      new_weight.assign(_blend(old_weight.numpy(), new_weight.numpy(), shrink))
  return {"base_model": base_model_dir, "vocabularies": kept, "shrink": shrink}


def _blend(base: np.ndarray, fresh: np.ndarray, shrink: float) -> np.ndarray:
  return base if shrink == 1 else shrink * base + (1 - shrink) * fresh
