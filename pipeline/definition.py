"""`create_pipeline`: CSV rows -> tf.Examples -> statistics, schema, validation ->
transformed features -> trained BST -> evaluation and blessing -> pushed model.

Data flow, one folder (artifact) per component under the pipeline root:
    CsvExampleGen -> StatisticsGen -> ExampleValidator (against ImportSchemaGen's curated
    schema) -> AnomalyGate -> Transform (transform.preprocessing.preprocessing_fn)
    -> [Tuner (trainer.tuning.tuner_fn), only with tuning_trials]
    -> Trainer (trainer.task.run_fn) -> Evaluator (TFMA, baseline: the latest blessed
    model) -> Pusher (blessed models only, to config.serving_model_dir; TFX's, with
    components.pusher's executor: unique versions, whole pushes)
    Trainer -> RankingEvaluator (HR@K, NDCG@K of the next movie, beside popularity)
    CsvExampleGen -> ReferenceModels (eval MAE of the training mean and of user + movie
    biases, fit on train: what the model's MAE and the gate's bound read against)

The splits have one job each: the Transform's analyzers see train only; the Trainer fits
on train and chooses (early stopping, the kept epoch; the Tuner: hyperparameters) on
validation; eval is read only by the Evaluator, which gates on it, and by the
RankingEvaluator and ReferenceModels, which report on it.

A DistributionValidator (pipeline.drift) compares the eval split's statistics with the
train split's (skew) and the AnomalyGate reads what it found.

Span mode (config.span = k), production retraining, one run per new span of ratings:
    CsvExampleGen ingests span k alone ({SPAN} in its input pattern, k in range_config),
    so ML Metadata records the span of every Examples artifact; the DistributionValidator
    compares its statistics with span k-1's (drift). The Transform only analyzes spans
    [k - train_spans, k - 1] (the Trainer applies its graph as it reads them raw); the
    Trainer validates on the newest of those spans' last ratings and starts from the last
    blessed model (warm_start, trainer.warm_start). Where those spans and span k-1's
    statistics come from (span resolvers, or a second ExampleGen where Kubeflow runs it)
    is pipeline.span_inputs' one concern. The Evaluator and the RankingEvaluator judge on
    all of span k, which no model has trained on, candidate beside the last blessed model.
    The run that ingests span 0 has nothing earlier to train on: it ingests and checks it.
"""
import logging
from typing import Any, Dict, List, Optional, Tuple

from tfx import v1 as tfx
from tfx.dsl.components.base import base_beam_component
from tfx.dsl.components.base import base_node
from tfx.proto import example_gen_pb2
from tfx.proto import transform_pb2
from tfx.components.distribution_validator.component import DistributionValidator
from tfx.types import standard_component_specs as keys

from components import span_executors
from components.anomaly_gate import AnomalyGate
from components.pusher import Pusher
from components.ranking_evaluator import RankingEvaluator
from components.reference_models import ReferenceModels
from movielens import constants as c
from movielens import conversion
from pipeline import drift
from pipeline import evaluation
from pipeline import nodes
from pipeline import span_inputs
from pipeline.config import PipelineConfig, beam_job_name
from trainer import task
from trainer import tuning

PREPROCESSING_FN = "transform.preprocessing.preprocessing_fn"
RUN_FN = "trainer.task.run_fn"
TUNER_FN = "trainer.tuning.tuner_fn"


def _input_config(config: PipelineConfig) -> example_gen_pb2.Input:
  """The conversion already split the data: its folders become ExampleGen's splits (in
  span mode, those of the folder of span {SPAN})."""
  if config.span_mode:
    return tfx.proto.Input(splits=[
        tfx.proto.Input.Split(name=split, pattern=f"{c.SPAN_FOLDER}/{split}/*")
        for split in c.SPAN_SPLITS])
  return tfx.proto.Input(splits=[
      tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in c.SPLITS])


def _example_gen(config: PipelineConfig) -> base_node.BaseNode:
  return tfx.components.CsvExampleGen(
      input_base=config.csv_dir, input_config=_input_config(config),
      range_config=(span_inputs.span_range(config.span, config.span) if config.span_mode
                    else None),
  ).with_id(nodes.EXAMPLE_GEN)


def _distribution_validator(config: PipelineConfig, statistics,
                            earlier: Optional[span_inputs.SpanInputs]
                            ) -> Tuple[List[base_node.BaseNode], Any]:
  """The skew check (eval against train) or, in span mode, the drift check (this span
  against the previous one): its nodes, and its anomalies channel (None for span 0, which
  has nothing earlier)."""
  if config.span_mode and earlier is None:
    return [], None
  baseline, pairs = ((earlier.previous_statistics, earlier.drift_pairs) if earlier
                     else (statistics, drift.SKEW_PAIRS))
  validator = DistributionValidator(
      statistics=statistics, baseline_statistics=baseline,
      config=drift.validator_config(config.local_schema_path), include_split_pairs=pairs,
  ).with_id(nodes.DISTRIBUTION_VALIDATOR)
  return [validator], validator.outputs[keys.ANOMALIES_KEY]


def _data_checks(config: PipelineConfig, examples, schema,
                 earlier: Optional[span_inputs.SpanInputs]) -> List[base_node.BaseNode]:
  """Statistics, the schema check, the drift or skew check, and the gate that stops the
  run on what they find (last in the list)."""
  # In span mode the statistics carry their span, for the next run's span resolver.
  statistics_gen = (span_executors.StatisticsGen if config.span_mode
                    else tfx.components.StatisticsGen)(
      examples=examples, schema=schema).with_id(nodes.STATISTICS_GEN)
  statistics = statistics_gen.outputs[keys.STATISTICS_KEY]
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics, schema=schema).with_id(nodes.EXAMPLE_VALIDATOR)
  distribution_nodes, drift_anomalies = _distribution_validator(config, statistics, earlier)
  anomaly_gate = AnomalyGate(
      anomalies=example_validator.outputs[keys.ANOMALIES_KEY], statistics=statistics,
      csv_dir=config.data_dir, drift=drift_anomalies,
      stop_on_drift_of=",".join(drift.STOPPING_FEATURES) if config.stop_on_drift else "",
      span=config.span or 0, **_window_count(config, earlier)).with_id(nodes.ANOMALY_GATE)
  return [statistics_gen, example_validator, *distribution_nodes, anomaly_gate]


def _window_count(config: PipelineConfig, earlier: Optional[span_inputs.SpanInputs]
                  ) -> Dict[str, Any]:
  """The AnomalyGate's arguments that make it count the rows of a window this run
  ingested again (none otherwise)."""
  if not earlier or not earlier.ingested_again:
    return {}
  return {"window": earlier.examples, "window_csv_root": config.csv_dir,
          "window_example_gen": nodes.TRAINING_EXAMPLE_GEN}


def _transform(config: PipelineConfig, examples, schema,
               earlier: Optional[span_inputs.SpanInputs]) -> base_node.BaseNode:
  """A span run's Transform only analyzes its window: the Trainer applies the graph to the
  raw spans as it reads them. A one-span run's transforms train and validation; eval is
  not transformed: the Evaluator and the RankingEvaluator read it raw, through the model's
  own Transform graph."""
  if earlier:
    return earlier.transform(
        examples=earlier.examples, schema=schema, preprocessing_fn=PREPROCESSING_FN,
        custom_config=config.transform_custom_config(), materialize=False,
        splits_config=transform_pb2.SplitsConfig(analyze=earlier.fit_splits),
        analyzer_cache=earlier.analyzer_cache,
        disable_statistics=not config.transform_statistics).with_id(nodes.TRANSFORM)
  return tfx.components.Transform(
      examples=examples, schema=schema,
      preprocessing_fn=PREPROCESSING_FN, custom_config=config.transform_custom_config(),
      splits_config=transform_pb2.SplitsConfig(
          analyze=[c.TRAIN_SPLIT], transform=[c.TRAIN_SPLIT, c.VALIDATION_SPLIT]),
      disable_statistics=not config.transform_statistics).with_id(nodes.TRANSFORM)


def _tuner_and_trainer(config: PipelineConfig, transform: base_node.BaseNode,
                       earlier: Optional[span_inputs.SpanInputs], base_model
                       ) -> Tuple[Optional[base_node.BaseNode], base_node.BaseNode]:
  """The Trainer, fitting on train and choosing its epoch on validation, and before it
  the Tuner when `tuning_trials` asks for one (None otherwise). A span run's Trainer reads
  its window raw, from `base_model` (warm start, or None)."""
  if earlier:
    examples, tuner_class, trainer_class = earlier.examples, earlier.tuner, earlier.trainer
    train_splits, validation_splits = earlier.train_splits, earlier.validation_splits
  else:
    examples = transform.outputs[keys.TRANSFORMED_EXAMPLES_KEY]
    tuner_class, trainer_class = tfx.components.Tuner, tfx.components.Trainer
    train_splits, validation_splits = [c.TRAIN_SPLIT], [c.VALIDATION_SPLIT]
  raw = earlier is not None
  transform_graph = transform.outputs[keys.TRANSFORM_GRAPH_KEY]
  train_args = tfx.proto.TrainArgs(splits=train_splits, num_steps=config.train_steps)
  eval_args = tfx.proto.EvalArgs(splits=validation_splits, num_steps=config.eval_steps)
  tuner = tuner_class(
      tuner_fn=TUNER_FN, examples=examples, transform_graph=transform_graph,
      train_args=train_args, eval_args=eval_args,
      custom_config=tuning.tuner_custom_config(config.trainer, config.tuning_trials, raw=raw),
  ).with_id(nodes.TUNER) if config.tuning_trials else None
  trainer = trainer_class(
      run_fn=RUN_FN, examples=examples, transform_graph=transform_graph,
      hyperparameters=tuner.outputs[keys.BEST_HYPERPARAMETERS_KEY] if tuner else None,
      base_model=base_model, train_args=train_args, eval_args=eval_args,
      custom_config=dict(config.trainer.to_custom_config(), **{task.RAW_EXAMPLES: raw}),
  ).with_id(nodes.TRAINER)
  return tuner, trainer


def _latest_blessed_model() -> base_node.BaseNode:
  return tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id(nodes.BASELINE_RESOLVER)


def create_components(config: PipelineConfig) -> List[base_node.BaseNode]:
  example_gen = _example_gen(config)
  examples = example_gen.outputs[keys.EXAMPLES_KEY]
  schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path).with_id(
      nodes.SCHEMA_GEN)
  schema = schema_gen.outputs[keys.SCHEMA_KEY]
  earlier = span_inputs.earlier_spans(config, schema)  # None: a one-span run, or span 0
  window = earlier.nodes if earlier else []
  checks = _data_checks(config, examples, schema, earlier)
  anomaly_gate = checks[-1]
  if config.span_mode and earlier is None:
    return [example_gen, schema_gen] + checks  # span 0: nothing earlier to train on

  transform = _transform(config, examples, schema, earlier)
  transform.add_upstream_node(anomaly_gate)  # no training on bad data
  baseline_model = _latest_blessed_model()
  warm_start = baseline_model.outputs[keys.MODEL_KEY] if earlier and config.warm_start else None
  tuner, trainer = _tuner_and_trainer(config, transform, earlier, warm_start)
  model = trainer.outputs[keys.MODEL_KEY]

  eval_splits = list(c.SPAN_SPLITS) if config.span_mode else [c.EVAL_SPLIT]
  evaluator = tfx.components.Evaluator(
      examples=examples, example_splits=eval_splits, model=model,
      baseline_model=baseline_model.outputs[keys.MODEL_KEY],
      eval_config=evaluation.eval_config(config.gate)).with_id(nodes.EVALUATOR)
  pusher = Pusher(
      model=model, model_blessing=evaluator.outputs[keys.BLESSING_KEY],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(
              base_directory=config.serving_model_dir))).with_id(nodes.PUSHER)
  ranking_evaluator = RankingEvaluator(
      examples=examples, model=model, transform_graph=transform.outputs[
          keys.TRANSFORM_GRAPH_KEY],
      negatives=config.ranking.negatives, k=config.ranking.k, seed=config.ranking.seed,
      eval_splits=",".join(eval_splits)).with_id(nodes.RANKING_EVALUATOR)
  references = ReferenceModels(
      training_examples=earlier.examples if earlier else examples, examples=examples,
      train_splits=",".join(earlier.fit_splits if earlier else [c.TRAIN_SPLIT]),
      eval_splits=",".join(eval_splits)).with_id(nodes.REFERENCE_MODELS)
  references.add_upstream_node(anomaly_gate)  # no numbers from data the gate stopped
  return [example_gen, schema_gen] + window + checks + [transform] + ([tuner] if tuner else []) + [
      trainer, baseline_model, evaluator, pusher, ranking_evaluator, references]


def check_csv(config: PipelineConfig) -> None:
  """The CSV must be converted and hold the Transform's window (PipelineConfig.check_csv).
  A remote CSV folder (gs://...) is checked by the AnomalyGate when the pipeline runs, not
  here: the machine that compiles a Kubeflow pipeline may not reach the bucket."""
  if not conversion.is_local(config.csv_dir):
    logging.info("CSV %s is remote: its summary is checked when the pipeline runs",
                 config.csv_dir)
    return
  config.check_csv(conversion.read_summary(config.data_dir))


def name_beam_jobs(components: List[base_node.BaseNode], pipeline_name: str) -> None:
  """Names each Beam-based component's jobs after it, so that an engine's list of jobs
  (Flink's web UI and REST API) says which stage each one ran."""
  for component in components:
    if isinstance(component, base_beam_component.BaseBeamComponent):
      component.with_beam_pipeline_args(
          [f"--job_name={beam_job_name(pipeline_name, component.id)}"])


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
  check_csv(config)
  metadata = (tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
              if config.metadata_path else None)
  components = create_components(config)
  if config.beam_job_names:
    name_beam_jobs(components, config.pipeline_name)
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=components,
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata,
      beam_pipeline_args=list(config.beam_pipeline_args))
