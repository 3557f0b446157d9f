"""The pipeline's shape in each mode, as create_components builds it (no run)."""
import json

from tfx.dsl.components.common import resolver
from tfx.types import standard_component_specs as keys

from components import span_executors
from pipeline import definition
from pipeline import nodes
from pipeline.config import local_pipeline_config
from trainer import tuning
from trainer.config import TrainerConfig


def _components(**fields):
  config = local_pipeline_config("/tmp/out", "/tmp/csv", **fields)
  return {component.id: component for component in definition.create_components(config)}


def test_one_span_checks_skew_of_eval_against_train():
  components = _components()
  assert nodes.TRAINING_SPANS_RESOLVER not in components
  validator = components[nodes.DISTRIBUTION_VALIDATOR]
  assert '["eval", "train"]' in validator.exec_properties[keys.INCLUDE_SPLIT_PAIRS_KEY]
  assert type(components[nodes.TRAINER]) is not span_executors.Trainer


def test_the_first_span_is_ingested_and_checked_only():
  for portable in (False, True):
    assert list(_components(span=0, portable_spans=portable)) == [
        nodes.EXAMPLE_GEN, nodes.SCHEMA_GEN, nodes.STATISTICS_GEN, nodes.EXAMPLE_VALIDATOR,
        nodes.ANOMALY_GATE]


def test_a_later_span_trains_on_a_window_from_the_last_blessed_model():
  components = _components(span=5, train_spans=2)
  window = components[nodes.TRAINING_SPANS_RESOLVER].exec_properties[resolver.RESOLVER_CONFIG]
  assert (window["range_config"].static_range.start_span_number,
          window["range_config"].static_range.end_span_number) == (3, 4)
  previous = components[nodes.PREVIOUS_STATISTICS_RESOLVER].exec_properties[resolver.RESOLVER_CONFIG]
  assert previous["range_config"].static_range.start_span_number == 4
  trainer = components[nodes.TRAINER]
  assert isinstance(trainer, span_executors.Trainer)
  assert keys.BASE_MODEL_KEY in trainer.inputs
  range_config = components[nodes.EXAMPLE_GEN].exec_properties[keys.RANGE_CONFIG_KEY]
  assert '"start_span_number": 5' in range_config
  cold = _components(span=5, warm_start=False)[nodes.TRAINER]
  assert keys.BASE_MODEL_KEY not in cold.inputs
  assert "window" not in components[nodes.ANOMALY_GATE].inputs  # counted when ingested


def test_a_span_run_analyzes_with_the_analyzer_cache_of_the_run_before():
  components = _components(span=5)
  cache = components[nodes.ANALYZER_CACHE_RESOLVER].exec_properties[resolver.RESOLVER_CONFIG]
  # Run 5's window ends at span 4; run 4's Transform analyzed through span 3.
  assert (cache["range_config"].static_range.start_span_number,
          cache["range_config"].static_range.end_span_number) == (3, 3)
  transform = components[nodes.TRANSFORM]
  assert isinstance(transform, span_executors.Transform)
  assert keys.ANALYZER_CACHE_KEY in transform.inputs
  first = _components(span=1)  # the first training run: no analyzer cache before it
  assert nodes.ANALYZER_CACHE_RESOLVER not in first
  assert keys.ANALYZER_CACHE_KEY not in first[nodes.TRANSFORM].inputs
  assert nodes.ANALYZER_CACHE_RESOLVER not in _components()  # one span: no cache


def test_a_span_run_tunes_on_the_trainers_raw_window():
  components = _components(span=2, tuning_trials=3)
  tuner = components[nodes.TUNER]
  assert isinstance(tuner, span_executors.Tuner)
  assert tuner.inputs[keys.EXAMPLES_KEY] is components[nodes.TRAINER].inputs[keys.EXAMPLES_KEY]
  assert tuning.tuner_custom_config(TrainerConfig(), 3, raw=True).items() <= (
      json.loads(tuner.exec_properties[keys.CUSTOM_CONFIG_KEY]).items())
  assert type(_components(tuning_trials=3)[nodes.TUNER]) is not span_executors.Tuner


def test_the_portable_design_reads_its_window_by_split_with_tfxs_own_components():
  """The same window as the resolved design, as splits of one ExampleGen's artifact: TFX's
  own Transform, Tuner and Trainer, and no span resolver (Kubeflow V2 compiles none)."""
  components = _components(span=5, train_spans=2, tuning_trials=3, portable_spans=True)
  assert not [node for node in components if node.endswith("resolver")
              and node != nodes.BASELINE_RESOLVER]
  window = components[nodes.TRAINING_EXAMPLE_GEN]
  for node in (nodes.TRANSFORM, nodes.TUNER, nodes.TRAINER):
    assert components[node].inputs[keys.EXAMPLES_KEY] is window.outputs[keys.EXAMPLES_KEY]
    assert type(components[node]).__module__.startswith("tfx."), node
  assert keys.ANALYZER_CACHE_KEY not in components[nodes.TRANSFORM].inputs
  assert keys.BASE_MODEL_KEY in components[nodes.TRAINER].inputs
  train_args = json.loads(components[nodes.TRAINER].exec_properties[keys.TRAIN_ARGS_KEY])
  assert train_args["splits"] == ["span3_train", "span4_train", "span3_validation"]
  # Ingested again, the window's rows are counted again.
  assert components[nodes.ANOMALY_GATE].inputs["window"] is window.outputs[keys.EXAMPLES_KEY]
