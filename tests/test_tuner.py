"""TFX's Tuner ahead of the Trainer: trials judged on validation, the best handed over."""
import dataclasses
import json
import os

import pytest
from tfx import v1 as tfx
from tfx.types import standard_component_specs as keys

from cli.layout import LocalLayout
from pipeline import definition
from pipeline import nodes
from results import runs
from results import timeline
from tests.conftest import pipeline_config
from tests.test_local_runner import run
from tests.test_replay import IN_PROCESS, _input_spans
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


@pytest.fixture(scope="module")
def tuned_span_run(tmp_path_factory):
  """Span 0 ingested, then span 1's run with the Tuner: its store and components."""
  output_dir = str(tmp_path_factory.mktemp("tuned-spans"))
  flags = ("--synthetic", "--scale", "0.01", "--spans", "3", "--epochs", "1",
           "--train-steps", str(STEPS), "--mae-bound", "5", *IN_PROCESS,
           "--output-dir", output_dir)
  for span_flags in (("--span", "0"), ("--span", "1", "--tune", "--tune-trials", str(TRIALS))):
    result = run(*flags, *span_flags, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
  store = runs.connect(LocalLayout(output_dir).metadata_path)
  return store, runs.component_runs(store, timeline.span_runs(store)[1].run_id)


def test_a_span_run_tunes_on_the_spans_before_it_and_trains_with_the_best(tuned_span_run):
  store, components = tuned_span_run
  tuner, trainer = components[nodes.TUNER], components[nodes.TRAINER]
  assert tuner.state == trainer.state == "COMPLETE"
  assert _input_spans(store, tuner) == _input_spans(store, trainer) == [0]
  with open(os.path.join(tuner.output(keys.BEST_HYPERPARAMETERS_KEY).uri,
                         "best_hyperparameters.txt")) as f:
    best = json.load(f)["values"]
  trained = training_summary.read(trainer.output(keys.MODEL_RUN_KEY).uri)
  assert {name: trained["config"][name] for name in best} == best
