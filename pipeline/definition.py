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
    compares its statistics with span k-1's (drift), found by TFX's span resolver.
    The Transform's analyzers and the Trainer see the Examples of spans
    [k - train_spans, k - 1] of earlier runs, gathered by another span resolver; the
    Transform only analyzes (the Trainer applies its graph as it reads), each span once:
    the analyzer cache of the run before holds the others (components.span_executors); the Trainer
    validates on the newest of those spans' last ratings (components.span_executors) and
    starts from the last blessed model (warm_start, trainer.warm_start).
    The Evaluator and the RankingEvaluator judge on all of span k, which no model has
    trained on, candidate beside the last blessed model.
    The run that ingests span 0 has nothing earlier to train on: it ingests and checks it.
"""
import logging
from typing import Any, List, Optional, Tuple

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


def _span_range(first: int, last: int) -> tfx.proto.RangeConfig:
  return tfx.proto.RangeConfig(static_range=tfx.proto.StaticRange(
      start_span_number=first, end_span_number=last))


def _span_resolver(node_id: str, key: str, artifact_type, producer: str, first: int,
                   last: int) -> base_node.BaseNode:
  """TFX's span resolver: `producer`'s artifacts of spans [first, last], from any run."""
  return tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.SpanRangeStrategy,
      config={"range_config": _span_range(first, last)},
      **{key: tfx.dsl.Channel(type=artifact_type, producer_component_id=producer)},
  ).with_id(node_id)


def _example_gen(config: PipelineConfig) -> base_node.BaseNode:
  return tfx.components.CsvExampleGen(
      input_base=config.csv_dir, input_config=_input_config(config),
      range_config=_span_range(config.span, config.span) if config.span_mode else None,
  ).with_id(nodes.EXAMPLE_GEN)


def _distribution_validator(config: PipelineConfig, statistics
                            ) -> Tuple[List[base_node.BaseNode], Any]:
  """The skew check (eval against train) or, in span mode, the drift check (this span
  against the previous one, found by a span resolver): its nodes, and its anomalies
  channel (None for span 0, which has nothing earlier)."""
  comparators = drift.validator_config(config.local_schema_path)
  if not config.span_mode:
    validator = DistributionValidator(statistics=statistics, baseline_statistics=statistics,
                                      config=comparators, include_split_pairs=drift.SKEW_PAIRS)
    return [validator.with_id(nodes.DISTRIBUTION_VALIDATOR)], validator.outputs[
        keys.ANOMALIES_KEY]
  if config.span == 0:
    return [], None
  previous = _span_resolver(nodes.PREVIOUS_STATISTICS_RESOLVER, keys.STATISTICS_KEY,
                            tfx.types.standard_artifacts.ExampleStatistics,
                            nodes.STATISTICS_GEN, config.span - 1, config.span - 1)
  validator = DistributionValidator(
      statistics=statistics, baseline_statistics=previous.outputs[keys.STATISTICS_KEY],
      config=comparators, include_split_pairs=drift.SPAN_PAIRS)
  return ([previous, validator.with_id(nodes.DISTRIBUTION_VALIDATOR)],
          validator.outputs[keys.ANOMALIES_KEY])


def _data_checks(config: PipelineConfig, examples) -> Tuple[List[base_node.BaseNode], Any]:
  """Statistics, schema, the schema check, the drift or skew check, and the gate that
  stops the run on what they find (last in the list); and the schema."""
  schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path).with_id(
      nodes.SCHEMA_GEN)
  schema = schema_gen.outputs[keys.SCHEMA_KEY]
  statistics_gen = (span_executors.StatisticsGen if config.span_mode
                    else tfx.components.StatisticsGen)(
      examples=examples, schema=schema).with_id(nodes.STATISTICS_GEN)
  statistics = statistics_gen.outputs[keys.STATISTICS_KEY]
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics, schema=schema).with_id(nodes.EXAMPLE_VALIDATOR)
  distribution_nodes, drift_anomalies = _distribution_validator(config, statistics)
  anomaly_gate = AnomalyGate(
      anomalies=example_validator.outputs[keys.ANOMALIES_KEY], statistics=statistics,
      csv_dir=config.data_dir, drift=drift_anomalies,
      stop_on_drift_of=",".join(drift.STOPPING_FEATURES) if config.stop_on_drift else "",
      span=config.span or 0).with_id(nodes.ANOMALY_GATE)
  return [statistics_gen, schema_gen, example_validator, *distribution_nodes,
          anomaly_gate], schema


def _tuner_and_trainer(config: PipelineConfig, transformed_examples, transform_graph,
                       base_model=None
                       ) -> Tuple[Optional[base_node.BaseNode], base_node.BaseNode]:
  """The Trainer, fitting on train and choosing its epoch on validation, and before it
  the Tuner when `tuning_trials` asks for one (None otherwise). In span mode the examples
  are raw and the Trainer transforms them as it reads; `base_model`: warm start."""
  train_args = tfx.proto.TrainArgs(splits=[c.TRAIN_SPLIT], num_steps=config.train_steps)
  eval_args = tfx.proto.EvalArgs(splits=[c.VALIDATION_SPLIT], num_steps=config.eval_steps)
  tuner = (span_executors.Tuner if config.span_mode else tfx.components.Tuner)(
      tuner_fn=TUNER_FN, examples=transformed_examples, transform_graph=transform_graph,
      train_args=train_args, eval_args=eval_args,
      custom_config=tuning.tuner_custom_config(config.trainer, config.tuning_trials,
                                               raw=config.span_mode),
  ).with_id(nodes.TUNER) if config.tuning_trials else None
  trainer = (span_executors.Trainer if config.span_mode else tfx.components.Trainer)(
      run_fn=RUN_FN, examples=transformed_examples, transform_graph=transform_graph,
      hyperparameters=tuner.outputs[keys.BEST_HYPERPARAMETERS_KEY] if tuner else None,
      base_model=base_model, train_args=train_args, eval_args=eval_args,
      custom_config=dict(config.trainer.to_custom_config(),
                         **{task.RAW_EXAMPLES: config.span_mode})).with_id(nodes.TRAINER)
  return tuner, trainer


def _latest_blessed_model() -> base_node.BaseNode:
  return tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id(nodes.BASELINE_RESOLVER)


def _transform(config: PipelineConfig, examples, schema) -> List[base_node.BaseNode]:
  """The Transform, last in the list; in span mode after the resolver of the analyzer
  cache of the run before (components.span_executors), from the third span's run on."""
  if config.span_mode:  # analyze only: the Trainer reads raw spans through the graph
    cache = ([_span_resolver(nodes.ANALYZER_CACHE_RESOLVER, keys.ANALYZER_CACHE_KEY,
                             tfx.types.standard_artifacts.TransformCache, nodes.TRANSFORM,
                             config.span - 2, config.span - 2)]
             if config.span >= 2 else [])
    return cache + [span_executors.Transform(
        examples=examples, schema=schema, preprocessing_fn=PREPROCESSING_FN,
        custom_config=config.transform_custom_config(), materialize=False,
        splits_config=transform_pb2.SplitsConfig(analyze=[c.TRAIN_SPLIT]),
        analyzer_cache=cache[0].outputs[keys.ANALYZER_CACHE_KEY] if cache else None,
        disable_statistics=not config.transform_statistics).with_id(nodes.TRANSFORM)]
  return [tfx.components.Transform(
      examples=examples, schema=schema,
      preprocessing_fn=PREPROCESSING_FN, custom_config=config.transform_custom_config(),
      # Eval is not transformed: the Evaluator and the RankingEvaluator read it raw,
      # through the model's own Transform graph.
      splits_config=transform_pb2.SplitsConfig(
          analyze=[c.TRAIN_SPLIT], transform=[c.TRAIN_SPLIT, c.VALIDATION_SPLIT]),
      disable_statistics=not config.transform_statistics).with_id(nodes.TRANSFORM)]


def create_components(config: PipelineConfig) -> List[base_node.BaseNode]:
  example_gen = _example_gen(config)
  examples = example_gen.outputs[keys.EXAMPLES_KEY]
  checks, schema = _data_checks(config, examples)
  if config.span_mode and config.span == 0:
    return [example_gen] + checks  # nothing earlier to train on: ingest and check only

  training_examples, window = examples, []
  if config.span_mode:
    window = [_span_resolver(nodes.TRAINING_SPANS_RESOLVER, keys.EXAMPLES_KEY,
                             tfx.types.standard_artifacts.Examples, nodes.EXAMPLE_GEN,
                             config.first_training_span, config.span - 1)]
    training_examples = window[0].outputs[keys.EXAMPLES_KEY]
  *cache, transform = _transform(config, training_examples, schema)
  transform.add_upstream_node(checks[-1])  # the AnomalyGate: no training on bad data
  transform_graph = transform.outputs[keys.TRANSFORM_GRAPH_KEY]

  baseline_model = _latest_blessed_model()
  warm_start = config.span_mode and config.warm_start
  tuner, trainer = _tuner_and_trainer(
      config, training_examples if config.span_mode
      else transform.outputs[keys.TRANSFORMED_EXAMPLES_KEY], transform_graph,
      baseline_model.outputs[keys.MODEL_KEY] if warm_start else None)
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
      examples=examples, model=model, transform_graph=transform_graph,
      negatives=config.ranking.negatives, k=config.ranking.k, seed=config.ranking.seed,
      eval_splits=",".join(eval_splits)).with_id(nodes.RANKING_EVALUATOR)
  references = ReferenceModels(
      training_examples=training_examples, examples=examples,
      eval_splits=",".join(eval_splits)).with_id(nodes.REFERENCE_MODELS)
  references.add_upstream_node(checks[-1])  # no numbers from data the gate stopped
  return [example_gen] + checks + window + cache + [transform] + ([tuner] if tuner else []) + [
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
