"""The Evaluator's metrics, per slice and model, read from the file TFMA wrote (a TFRecord
of MetricsForSlice) with TFMA's own message but without TFMA's package, whose import loads
TensorFlow: so `bin/report --list` answers at once. Local paths, as the report's store is.
"""
import functools
import glob
import importlib.util
import os
import struct
import sys
from typing import Dict, Iterator, Tuple, Union

SliceKey = Tuple[Tuple[str, Union[str, int, float]], ...]  # () is the overall slice
_PROTO_MODULE = "tensorflow_model_analysis.proto.metrics_for_slice_pb2"
_METRICS_FILES = "metrics*"  # TFMA's constants.METRICS_KEY, sharded
_LENGTH = struct.Struct("<Q")  # a TFRecord: length, its CRC, the bytes, their CRC
_CRC_BYTES = 4
_HEADER_BYTES = _LENGTH.size + _CRC_BYTES


@functools.lru_cache(maxsize=None)
def proto_module():
  """TFMA's generated metrics_for_slice_pb2: the one loaded if TFMA is, else loaded once
  from its file (it needs protobuf alone)."""
  if _PROTO_MODULE in sys.modules:
    return sys.modules[_PROTO_MODULE]
  package = importlib.util.find_spec(_PROTO_MODULE.split(".")[0])
  path = os.path.join(package.submodule_search_locations[0], "proto",
                      _PROTO_MODULE.rsplit(".", 1)[1] + ".py")
  spec = importlib.util.spec_from_file_location("_tfma_metrics_for_slice_pb2", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def records(path: str) -> Iterator[bytes]:
  """The records of an uncompressed TFRecord file (checksums not checked)."""
  with open(path, "rb") as stream:
    while True:
      header = stream.read(_HEADER_BYTES)
      if not header:
        return
      if len(header) < _HEADER_BYTES:
        raise ValueError(f"{path}: a truncated record")
      length, = _LENGTH.unpack_from(header)
      data = stream.read(length)
      if len(data) < length or len(stream.read(_CRC_BYTES)) < _CRC_BYTES:
        raise ValueError(f"{path}: a truncated record")
      yield data


def slice_key(per_slice) -> SliceKey:
  """A MetricsForSlice's or PlotsForSlice's slice as ((column, value), ...)."""
  return tuple((key.column, getattr(key, key.WhichOneof("kind")))
               for key in per_slice.slice_key.single_slice_keys)


def metrics_by_slice(evaluation_uri: str) -> Dict[SliceKey, Dict[str, Dict[str, float]]]:
  """{slice: {model name: {metric name: value}}}, as TFMA wrote them.

  The model name is "" when there was no baseline, else "candidate" or "baseline".
  """
  message = proto_module().MetricsForSlice
  paths = sorted(glob.glob(os.path.join(evaluation_uri, _METRICS_FILES)))
  if not paths:
    raise FileNotFoundError(f"no metrics file in the Evaluator's output {evaluation_uri}")
  metrics: Dict[SliceKey, Dict[str, Dict[str, float]]] = {}
  for path in paths:
    for record in records(path):
      per_slice = message.FromString(record)
      by_model = metrics.setdefault(slice_key(per_slice), {})
      for entry in per_slice.metric_keys_and_values:
        if not entry.key.is_diff:
          by_model.setdefault(entry.key.model_name, {})[entry.key.name] = (
              entry.value.double_value.value)
  return metrics


def overall_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
  """{model name: {metric name: value}} on the overall slice."""
  return metrics_by_slice(evaluation_uri)[()]


def candidate(by_model: Dict[str, Dict[str, float]]) -> Dict[str, float]:
  """The candidate's metrics of {model name: metrics}: "" when there was no baseline."""
  return by_model.get("candidate", by_model.get("", {}))
