"""Drift and skew: TFX's DistributionValidator, with thresholds from the curated schema.

The schema's `drift_comparator` fields (pipeline/schema/schema.pbtxt) are the one home of
the thresholds: L-infinity distance for categorical features, Jensen-Shannon divergence
for numeric ones. TFX 1.16's ExampleValidator checks one set of statistics against the
schema and takes no baseline; its DistributionValidator compares two, so it does the
comparing here:
    span mode   the new span's statistics against the previous span's (drift); the
                previous span is also the newest training data, so this is the skew
                between what the model trained on and what it is judged on
    one span    the eval split's statistics against the train split's (skew)
"""
from typing import List, Tuple

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.proto import distribution_validator_pb2

from movielens import constants as c

# Drift that stops a run under --stop-on-drift: the ratings, what the model learns to
# predict. Drift of who is rating (sex, age group, occupation) only warns: a new mix of
# users is production's normal, and the model reads those attributes as inputs. Values
# outside the schema and missing features stop every run (ExampleValidator's anomalies).
STOPPING_FEATURES: Tuple[str, ...] = (c.RATING,)

# (statistics split, baseline split) pairs compared in a one-span run; a span run's are
# its SpanInputs.drift_pairs (pipeline.span_inputs).
SKEW_PAIRS: List[Tuple[str, str]] = [(c.EVAL_SPLIT, c.TRAIN_SPLIT)]


def read_schema(schema_path: str) -> schema_pb2.Schema:
  with open(schema_path) as text:
    return text_format.Parse(text.read(), schema_pb2.Schema())


def validator_config(schema_path: str) -> distribution_validator_pb2.DistributionValidatorConfig:
  """The DistributionValidator's comparators: each feature's drift_comparator in the schema."""
  config = distribution_validator_pb2.DistributionValidatorConfig()
  for feature in read_schema(schema_path).feature:
    if feature.HasField("drift_comparator"):
      comparator = config.default_slice_config.feature.add()
      comparator.path.step.append(feature.name)
      comparator.distribution_comparator.CopyFrom(feature.drift_comparator)
  return config
