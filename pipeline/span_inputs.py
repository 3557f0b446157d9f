"""What a span run reads from the spans before its own: the training window, the previous
span's statistics (the drift check's baseline) and the components that read them. Span
mode's two designs differ here and nowhere else (docs/pipeline.md, "Span mode"):

  resolved  (local runs' default) TFX's span resolvers gather the Examples, statistics
            and analyzer cache that earlier runs made, so each span is ingested once and
            analyzed once; the span executors route each span's parts to train and
            validation (components.span_executors).
  portable  (PipelineConfig.portable_spans; what Kubeflow V2 compiles, as its compiler
            takes no span resolver) a second CsvExampleGen ingests the window again, one
            split per span and part (c.window_split), and TFX's own Transform, Tuner and
            Trainer read those splits by name.
"""
import dataclasses
from typing import Any, List, Optional, Tuple

from tfx import v1 as tfx
from tfx.dsl.components.base import base_node
from tfx.types import standard_component_specs as keys

from components import span_executors
from movielens import constants as c
from pipeline import nodes
from pipeline.config import PipelineConfig


@dataclasses.dataclass(frozen=True)
class SpanInputs:
  """The spans [config.first_training_span, span - 1] as a span run reads them."""
  nodes: List[base_node.BaseNode]  # what gathers them, in order
  examples: Any                    # their raw Examples (a channel)
  ingested_again: bool             # by this run (the window's ExampleGen): the AnomalyGate
                                   # counts their rows, as span k's
  fit_splits: List[str]            # their train parts: the Transform's analyzers and the
                                   # reference models fit on these
  train_splits: List[str]          # the Trainer's and the Tuner's train_args.splits
  validation_splits: List[str]     # ...and eval_args.splits: the newest span's last part
  previous_statistics: Any         # span - 1's statistics (a channel)
  drift_pairs: List[Tuple[str, str]]  # (this span's split, its baseline in the above)
  analyzer_cache: Any              # the Transform's cache of the run before, or None
  transform: type                  # the component classes that read them
  tuner: type
  trainer: type


def span_range(first: int, last: int) -> tfx.proto.RangeConfig:
  return tfx.proto.RangeConfig(static_range=tfx.proto.StaticRange(
      start_span_number=first, end_span_number=last))


def earlier_spans(config: PipelineConfig, schema) -> Optional[SpanInputs]:
  """The inputs from earlier spans of a span run; None for span 0 and one-span runs.
  `schema`: the curated schema's channel, which statistics are computed against."""
  if not config.span_mode or config.span == 0:
    return None
  if config.portable_spans:
    return _portable(config, schema)
  return _resolved(config)


def _span_resolver(node_id: str, key: str, artifact_type, producer: str, first: int,
                   last: int) -> base_node.BaseNode:
  """TFX's span resolver: `producer`'s artifacts of spans [first, last], from any run."""
  return tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.SpanRangeStrategy,
      config={"range_config": span_range(first, last)},
      **{key: tfx.dsl.Channel(type=artifact_type, producer_component_id=producer)},
  ).with_id(node_id)


def _resolved(config: PipelineConfig) -> SpanInputs:
  window = _span_resolver(nodes.TRAINING_SPANS_RESOLVER, keys.EXAMPLES_KEY,
                          tfx.types.standard_artifacts.Examples, nodes.EXAMPLE_GEN,
                          config.first_training_span, config.span - 1)
  previous = _span_resolver(nodes.PREVIOUS_STATISTICS_RESOLVER, keys.STATISTICS_KEY,
                            tfx.types.standard_artifacts.ExampleStatistics,
                            nodes.STATISTICS_GEN, config.span - 1, config.span - 1)
  # The run before analyzed spans up to span - 2: its cache holds them (from span 2 on).
  cache = ([_span_resolver(nodes.ANALYZER_CACHE_RESOLVER, keys.ANALYZER_CACHE_KEY,
                           tfx.types.standard_artifacts.TransformCache, nodes.TRANSFORM,
                           config.span - 2, config.span - 2)]
           if config.span >= 2 else [])
  return SpanInputs(
      nodes=[window, previous, *cache], examples=window.outputs[keys.EXAMPLES_KEY],
      ingested_again=False,
      fit_splits=[c.TRAIN_SPLIT], train_splits=[c.TRAIN_SPLIT],
      validation_splits=[c.VALIDATION_SPLIT],
      previous_statistics=previous.outputs[keys.STATISTICS_KEY],
      drift_pairs=[(c.TRAIN_SPLIT, c.TRAIN_SPLIT)],
      analyzer_cache=cache[0].outputs[keys.ANALYZER_CACHE_KEY] if cache else None,
      transform=span_executors.Transform, tuner=span_executors.Tuner,
      trainer=span_executors.Trainer)


def _portable(config: PipelineConfig, schema) -> SpanInputs:
  spans = range(config.first_training_span, config.span)
  parts = {c.window_split(span, part): f"{c.span_folder(span)}/{part}/*"
           for span in spans for part in c.SPAN_SPLITS}  # split name: its CSV files
  window_gen = tfx.components.CsvExampleGen(
      input_base=config.csv_dir, input_config=tfx.proto.Input(splits=[
          tfx.proto.Input.Split(name=name, pattern=pattern)
          for name, pattern in parts.items()]),
  ).with_id(nodes.TRAINING_EXAMPLE_GEN)
  window = window_gen.outputs[keys.EXAMPLES_KEY]
  previous = c.window_split(config.span - 1, c.TRAIN_SPLIT)
  previous_statistics = tfx.components.StatisticsGen(
      examples=window, schema=schema, exclude_splits=[name for name in parts
                                                      if name != previous],
  ).with_id(nodes.PREVIOUS_STATISTICS_GEN)
  # The same routing as span_executors.route_by_span: train on every span's train part and
  # every older span's validation part; validate on the newest span's validation part.
  train_parts = [c.window_split(span, c.TRAIN_SPLIT) for span in spans]
  return SpanInputs(
      nodes=[window_gen, previous_statistics], examples=window, ingested_again=True,
      fit_splits=train_parts,
      train_splits=train_parts + [c.window_split(span, c.VALIDATION_SPLIT)
                                  for span in spans[:-1]],
      validation_splits=[c.window_split(spans[-1], c.VALIDATION_SPLIT)],
      previous_statistics=previous_statistics.outputs[keys.STATISTICS_KEY],
      drift_pairs=[(c.TRAIN_SPLIT, previous)],
      analyzer_cache=None,
      transform=tfx.components.Transform, tuner=tfx.components.Tuner,
      trainer=tfx.components.Trainer)

