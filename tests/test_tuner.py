"""TFX's Tuner ahead of the Trainer: trials judged on validation, the best handed over."""
import dataclasses
import json
import os

import pytest
from tfx import v1 as tfx
from tfx.types import standard_component_specs as keys

from pipeline import definition
from pipeline import nodes
from results import runs
from tests.conftest import pipeline_config
from trainer import summary as training_summary
from trainer import tuning
from trainer.config import TrainerConfig

pytestmark = pytest.mark.slow  # real pipelines and runners: the full tier only

TRIALS = 2
TRAINER = dict(epochs=2)
STEPS = 20  # batches in all per trial and for the Trainer: a tiny run


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory, pipeline_csv):
  config = pipeline_config(str(tmp_path_factory.mktemp("tuned")), pipeline_csv, **TRAINER)
  config = dataclasses.replace(config, tuning_trials=TRIALS, train_steps=STEPS)
  tfx.orchestration.LocalDagRunner().run(definition.create_pipeline(config))
  return runs.component_runs(runs.connect(config.metadata_path))


def test_the_tuner_runs_its_trials_before_the_trainer(tuned_run):
  assert tuned_run[nodes.TUNER].state == "COMPLETE"
  assert list(tuned_run).index(nodes.TUNER) < list(tuned_run).index(nodes.TRAINER)
  results_uri = tuned_run[nodes.TUNER].output(keys.TUNER_RESULTS_KEY).uri
  with open(os.path.join(results_uri, "tuner_results.json")) as f:
    trials = json.load(f)
  assert len(trials) == TRIALS
  for trial in trials:
    assert 0 < trial["score"] < 4  # a validation MAE
    for name, values in tuning.SEARCH_SPACE.items():
      assert trial[name] in values


def test_the_trainer_trains_with_the_best_hyperparameters(tuned_run):
  best_uri = tuned_run[nodes.TUNER].output(keys.BEST_HYPERPARAMETERS_KEY).uri
  with open(os.path.join(best_uri, "best_hyperparameters.txt")) as f:
    best = json.load(f)["values"]
  with open(os.path.join(tuned_run[nodes.TUNER].output(keys.TUNER_RESULTS_KEY).uri,
                         "tuner_results.json")) as f:
    trials = json.load(f)
  assert best == {name: min(trials, key=lambda t: t["score"])[name]
                  for name in tuning.SEARCH_SPACE}
  trained = training_summary.read(tuned_run[nodes.TRAINER].output(keys.MODEL_RUN_KEY).uri)
  assert trained["config"] == TrainerConfig(**TRAINER).with_values(best).to_custom_config()
