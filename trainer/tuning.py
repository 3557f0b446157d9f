"""Hyperparameter search for TFX's Tuner component (KerasTuner), judged on validation.

`tuner_fn` is the Tuner's entry point (pipeline.definition adds the component when
PipelineConfig.tuning_trials > 0). Each trial trains the BST through the Trainer's own
code (trainer.task.train_model) at one point of SEARCH_SPACE, on the train split,
early-stopped on the validation split; its objective is the kept epoch's validation MAE.
The eval split is never seen. In span mode the trials read the Trainer's files
(components.span_executors routes them by span) and start from random weights: TFX's Tuner takes
no base model, so the values it picks are a cold start's, which the warm-started Trainer
then trains with. TFX writes the best point as the Tuner's
`best_hyperparameters`, which the Trainer takes as its `hyperparameters` input and lays
over its TrainerConfig (task.run_fn).

The trials run through `run_trial` rather than KerasTuner's own model building and fit:
KerasTuner here binds to Keras 3, while the model is tf_keras (TFT 1.16 needs it), and a
trial that is just "train with these settings, report the validation MAE" is the same in
both.
"""
import atexit
import shutil
import tempfile
from typing import Any, Dict, Sequence

import keras_tuner
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx

from trainer import model as bst
from trainer import task
from trainer.config import TrainerConfig

OBJECTIVE = "val_mae"
# The declared space: TrainerConfig fields and the values tried for each. Small on purpose:
# each trial is a full training run.
SEARCH_SPACE: Dict[str, Sequence[Any]] = {
    "learning_rate": (0.001, 0.002, 0.004),
    "dropout": (0.1, 0.2, 0.3),
    "factorization_l2": (0.02, 0.05, 0.1),
}
TRAINER_CONFIG_KEY = "trainer"  # the Tuner's custom_config: the TrainerConfig to start from,
MAX_TRIALS_KEY = "max_trials"   # and how many points of the space to try


def search_space() -> keras_tuner.HyperParameters:
  space = keras_tuner.HyperParameters()
  for name, values in SEARCH_SPACE.items():
    space.Choice(name, list(values))
  return space


class BstTuner(keras_tuner.RandomSearch):
  """Random search over SEARCH_SPACE; a trial is one Trainer run with those values."""

  def __init__(self, config: TrainerConfig, data: bst.DataShape, **kwargs):
    super().__init__(objective=keras_tuner.Objective(OBJECTIVE, direction="min"),
                     hyperparameters=search_space(), allow_new_entries=False,
                     seed=config.seed, **kwargs)
    self._config = config
    self._data = data

  def run_trial(self, trial, train, validation, steps_per_epoch=None):
    config = self._config.with_values(trial.hyperparameters.values)
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    _, summary = task.train_model(config, self._data, train, validation, steps_per_epoch)
    return {OBJECTIVE: summary["validation_mae"]}


def tuner_custom_config(config: TrainerConfig, max_trials: int, raw: bool = False
                        ) -> Dict[str, Any]:
  """`raw`: the examples are raw (span mode), transformed as the trials read them."""
  return {TRAINER_CONFIG_KEY: config.to_custom_config(), MAX_TRIALS_KEY: max_trials,
          task.RAW_EXAMPLES: raw}


def tuner_fn(fn_args: tfx.components.FnArgs) -> tfx.components.TunerFnResult:
  """Called by the TFX Tuner: the tuner, and the data its trials train and validate on."""
  config = TrainerConfig.from_custom_config(fn_args.custom_config[TRAINER_CONFIG_KEY])
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
  # The trials read their input after this returns: it is removed when the process ends.
  input_dir = tempfile.mkdtemp(prefix="bst-tuner-input-")
  atexit.register(shutil.rmtree, input_dir, ignore_errors=True)
  raw = bool(fn_args.custom_config.get(task.RAW_EXAMPLES, False))
  train, validation, steps_per_epoch = task.training_inputs(fn_args, config,
                                                            tf_transform_output, input_dir, raw)
  tuner = BstTuner(config, task.data_shape(tf_transform_output, fn_args.train_files, raw),
                   max_trials=fn_args.custom_config[MAX_TRIALS_KEY],
                   directory=fn_args.working_dir, project_name="bst")
  return tfx.components.TunerFnResult(
      tuner=tuner, fit_kwargs={"train": train, "validation": validation,
                               "steps_per_epoch": steps_per_epoch})
