"""The serving contract: what one request to the exported model holds and what it answers.

A request is one rating event as the pipeline's CSV rows hold it (movielens.constants'
columns, without the label), with the history as three aligned lists. This module owns
that contract for every side of it: the Transform's serving adapter and the Trainer's
export (the feature spec, the signature names, the prediction key), the serving commands
(the checked row -> request conversion and the tf.Example encoder), the RankingEvaluator,
the benchmarks and the tests (the one batched scorer).

It imports TensorFlow only inside the functions that need it, so checking requests costs
no TensorFlow start-up.
"""
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from movielens import constants as c

# The exported SavedModel's signatures, each taking serialized tf.Examples as `examples`.
SERVING_SIGNATURE = "serving_default"          # contract examples -> prediction
EVAL_SIGNATURE = "predict_pipeline_examples"   # CsvExampleGen's examples -> prediction
TRANSFORM_SIGNATURE = "transform_features"     # CsvExampleGen's examples -> features
EXAMPLES_INPUT = "examples"
PREDICTION_KEY = "predicted_rating"            # float in [1, 5]
# How likely the target movie is the user's next one: a logit, log P(movie | user, history)
# up to a constant per request; compare it between movies for one user and time.
NEXT_MOVIE_KEY = "next_movie_score"
# The same prediction for TF Serving's Regress API (REST `:regress`, JSON examples): the
# names and the method TF Serving requires of a regression signature.
REGRESS_SIGNATURE = "regress"
REGRESS_METHOD = "tensorflow/serving/regress"
REGRESS_INPUT = "inputs"    # serialized tf.Examples, as for serving_default
REGRESS_OUTPUT = "outputs"  # the predicted rating

# Field -> (Python type of each value, whether it is a list), in the contract's order.
FIELDS: Dict[str, tuple] = {
    c.USER_ID: (int, False),
    c.SEX: (str, False),
    c.AGE_GROUP: (int, False),
    c.OCCUPATION: (int, False),
    c.HISTORY_MOVIE_IDS: (int, True),
    c.HISTORY_RATINGS: (float, True),
    c.HISTORY_TIMESTAMPS: (int, True),
    c.TARGET_MOVIE_ID: (int, False),
    c.TARGET_TIMESTAMP: (int, False),
}
LISTS = tuple(name for name, (_, is_list) in FIELDS.items() if is_list)
# The fields that describe the user: attributes of the same names on movielens.parse.User.
USER_FIELDS = (c.USER_ID, c.SEX, c.AGE_GROUP, c.OCCUPATION)
# Each value's domain, as docs/serving.md's contract table gives it. Ids the model never saw
# are served (its out-of-vocabulary rows); codes outside MovieLens's are refused, since
# they mean the client sent something else than it thinks.
MAX_ID = 2 ** 63 - 1  # an int64 tf.Example value
DOMAINS: Dict[str, Tuple[Callable[[Any], bool], str]] = {
    c.USER_ID: (lambda v: 1 <= v <= MAX_ID, f"an id from 1 to {MAX_ID}"),
    c.SEX: (lambda v: v in c.SEXES, " or ".join(c.SEXES)),
    c.AGE_GROUP: (lambda v: v in c.AGE_GROUPS, f"one of {str(c.AGE_GROUPS)[1:-1]}"),
    c.OCCUPATION: (lambda v: v in c.OCCUPATIONS,
                   f"{c.OCCUPATIONS[0]}-{c.OCCUPATIONS[-1]}"),
    c.HISTORY_MOVIE_IDS: (lambda v: 1 <= v <= MAX_ID, f"ids from 1 to {MAX_ID}"),
    c.HISTORY_RATINGS: (lambda v: c.MIN_RATING <= v <= c.MAX_RATING,
                        f"ratings within {c.MIN_RATING}-{c.MAX_RATING}"),
    c.HISTORY_TIMESTAMPS: (lambda v: 0 <= v <= c.MAX_TIMESTAMP,
                           f"Unix times from 0 to {c.MAX_TIMESTAMP}"),
    c.TARGET_MOVIE_ID: (lambda v: 1 <= v <= MAX_ID, f"an id from 1 to {MAX_ID}"),
    c.TARGET_TIMESTAMP: (lambda v: 0 <= v <= c.MAX_TIMESTAMP,
                         f"a Unix time from 0 to {c.MAX_TIMESTAMP}"),
}
PASSED_THROUGH = (c.RATING,)  # the label, when requests come from the pipeline's CSV
SCORING_BATCH = 4096  # examples per signature call: large batches make scoring fast

# The serving folder the Pusher writes and TF Serving, predict and recommend read: one
# folder per pushed model, named by a whole number (its Unix time), holding a SavedModel.
SAVED_MODEL_FILE = "saved_model.pb"


def pushed_versions(folder_names: Iterable[str]) -> List[int]:
  """The pushed versions among a serving folder's entries, oldest first."""
  names = (name.rstrip("/") for name in folder_names)
  return sorted(int(name) for name in names if name.isdigit())

Request = Dict[str, Any]


class InvalidRequestError(ValueError):
  """A request that breaks the contract: names its source, record and field."""

  def __init__(self, source: str, record: int, field: Optional[str], reason: str):
    where = f"field '{field}': " if field else ""
    super().__init__(f"{source}: record {record}: {where}{reason}")


def _number(value: Any, kind, source: str, record: int, field: str, text: bool):
  """`value` as `kind`; `text`: a string may hold it (CSV), else it must be a number (JSON)."""
  expected = "an integer" if kind is int else "a number"
  if isinstance(value, bool) or value is None or value == "" or (
      not text and isinstance(value, str)):
    raise InvalidRequestError(source, record, field, f"expected {expected}, got {value!r}")
  try:
    number = kind(value)
  except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
    raise InvalidRequestError(source, record, field, f"expected {expected}, got {value!r}"
                              ) from None
  if kind is int and isinstance(value, float) and value != number:
    raise InvalidRequestError(source, record, field, f"expected an integer, got {value!r}")
  return number


def _field(value: Any, field: str, source: str, record: int, text: bool):
  kind, is_list = FIELDS[field]
  if not is_list and isinstance(value, list):  # a tf.Example-style [value]
    if len(value) != 1:
      raise InvalidRequestError(source, record, field, f"expected one value, got {value!r}")
    value = value[0]
  if is_list:
    if isinstance(value, str):  # space-separated, as the CSV holds it
      value, text = value.split(), True
    if not isinstance(value, list):
      raise InvalidRequestError(source, record, field, f"expected a list, got {value!r}")
    values = [_number(v, kind, source, record, field, text) for v in value]
  else:
    values = [value if kind is str else _number(value, kind, source, record, field, text)]
  in_domain, domain = DOMAINS[field]
  outside = [v for v in values if not in_domain(v)]
  if outside:
    raise InvalidRequestError(source, record, field, f"expected {domain}, got {outside[0]!r}")
  return values if is_list else values[0]


def request_from_row(values: Mapping[str, Any], source: str, record: int,
                     text: bool = True) -> Request:
  """A request in the contract's types, from a CSV row (`text`: every value a string,
  lists space-separated, as the pipeline's CSV holds them) or a JSON object (not `text`:
  numbers as JSON numbers, lists as lists or space-separated strings); raises
  InvalidRequestError naming the source, the record and the field."""
  unknown = sorted(set(values) - set(FIELDS) - set(PASSED_THROUGH))
  if unknown:
    raise InvalidRequestError(source, record, unknown[0], "not a field of the serving contract")
  request = {}
  for field in FIELDS:
    if field not in values:
      raise InvalidRequestError(source, record, field, "missing")
    request[field] = _field(values[field], field, source, record, text)
  if len({len(request[field]) for field in LISTS}) > 1:
    raise InvalidRequestError(source, record, None,
                              f"{', '.join(LISTS[:-1])} and {LISTS[-1]} differ in length")
  later = [t for t in request[c.HISTORY_TIMESTAMPS] if t > request[c.TARGET_TIMESTAMP]]
  if later:
    raise InvalidRequestError(source, record, c.HISTORY_TIMESTAMPS,
                              f"{later[0]} is after the target_timestamp "
                              f"{request[c.TARGET_TIMESTAMP]}: the history comes before")
  for field in PASSED_THROUGH:
    if field in values and values[field] not in ("", None):
      request[field] = values[field]
  return request


def feature_spec() -> Dict[str, Any]:
  """The contract as tf.io parsing specs: scalars fixed, lists of any length."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top  (see the module docstring)
  dtypes = {int: tf.int64, float: tf.float32, str: tf.string}
  return {name: tf.io.VarLenFeature(dtypes[kind]) if is_list
          else tf.io.FixedLenFeature([], dtypes[kind])
          for name, (kind, is_list) in FIELDS.items()}


def encode(request: Mapping[str, Any]) -> bytes:
  """A request as the serialized tf.Example the serving signature takes; each value a
  scalar or a list. Fields outside the contract (a passed-through label) are left out."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  missing = sorted(set(FIELDS) - set(request))
  if missing:
    raise ValueError(f"a serving example needs {missing}")
  feature = {}
  for name, (kind, _) in FIELDS.items():
    value = request[name]
    value = list(value) if isinstance(value, (list, tuple)) else [value]
    if kind is str:
      feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[v.encode() if isinstance(v, str) else v for v in value]))
    elif kind is float:
      feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=value))
    else:
      feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=value))
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def with_targets(example: bytes, movie_ids: Sequence[int]) -> List[bytes]:
  """The same serialized event (a contract example, or the pipeline's: both hold the
  target as an int64 `target_movie_id`) with each movie as its target: one parse, then a
  field set and a serialization per movie, several times faster than encoding each."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  parsed = tf.train.Example.FromString(example)
  target = parsed.features.feature[c.TARGET_MOVIE_ID].int64_list
  candidates = []
  for movie in movie_ids:
    target.value[:] = [int(movie)]
    candidates.append(parsed.SerializeToString())
  return candidates


def score_all(signature: Callable, examples: Sequence[bytes],
              batch_size: int = SCORING_BATCH) -> Dict[str, np.ndarray]:
  """Every output of one of the model's signatures for serialized examples, in batches:
  {PREDICTION_KEY: ..., NEXT_MOVIE_KEY: ...}."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  outputs = [signature(**{EXAMPLES_INPUT: tf.constant(examples[i:i + batch_size])})
             for i in range(0, len(examples), batch_size)]
  if not outputs:
    return {PREDICTION_KEY: np.zeros([0], np.float32), NEXT_MOVIE_KEY: np.zeros([0], np.float32)}
  return {key: np.concatenate([batch[key].numpy().ravel() for batch in outputs])
          for key in outputs[0]}


def score(signature: Callable, examples: Sequence[bytes],
          batch_size: int = SCORING_BATCH) -> np.ndarray:
  """The predicted ratings of one of the model's signatures for serialized examples."""
  return score_all(signature, examples, batch_size)[PREDICTION_KEY]
