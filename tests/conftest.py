"""Shared fixtures: small generated MovieLens data and hand-written .dat files."""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import glob
import os
from typing import Dict, List, Optional, Sequence

import pandas as pd
import pytest
import tensorflow as tf

from movielens import constants as c
from movielens import contract
from movielens import generate

# Small enough for seconds, large enough for every statistic the tests check.
SMALL = generate.GeneratorConfig.scaled(0.01, seed=7)  # 60 users, 388 movies, 10,002 ratings


@pytest.fixture(scope="session")
def small_movielens(tmp_path_factory) -> str:
  """A generated MovieLens directory, shared read-only by the whole session."""
  return generate.generate_movielens(str(tmp_path_factory.mktemp("small_ml")), SMALL)


def write_dat_files(directory, ratings: Sequence[str], users: Sequence[str],
                    movies: Sequence[str]) -> str:
  """Writes the three .dat files (latin-1, one line per entry) and returns the folder."""
  os.makedirs(directory, exist_ok=True)
  for name, lines in ((c.RATINGS_FILE, ratings), (c.USERS_FILE, users),
                      (c.MOVIES_FILE, movies)):
    with open(os.path.join(directory, name), "w", encoding=c.FILE_ENCODING) as f:
      f.write("".join(line + "\n" for line in lines))
  return str(directory)


def read_split(output_dir: str, split: str) -> pd.DataFrame:
  """All CSV shards of one split, as strings (empty history fields stay "")."""
  paths = sorted(glob.glob(os.path.join(output_dir, split, "*.csv")))
  assert paths, f"no shards in {output_dir}/{split}"
  return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths],
                   ignore_index=True)


def eval_examples(components, limit: Optional[int] = None,
                  split: str = c.EVAL_SPLIT) -> List[bytes]:
  """Serialized tf.Examples of one split (eval by default) of a pipeline run's
  CsvExampleGen (results.runs)."""
  from pipeline import nodes
  from tfx.types import standard_component_specs as keys
  uri = components[nodes.EXAMPLE_GEN].output(keys.EXAMPLES_KEY).uri
  files = sorted(glob.glob(os.path.join(uri, f"Split-{split}", "*")))
  records = tf.data.TFRecordDataset(files, compression_type="GZIP")
  return [r.numpy() for r in (records.take(limit) if limit else records)]


def serving_values(raw_example: bytes) -> Dict[str, list]:
  """A pipeline (CSV-derived) tf.Example's values in the serving contract, each scalar as a
  one-element list (as tf.Example tools write them)."""
  feature = tf.train.Example.FromString(raw_example).features.feature
  row = {}
  for name in contract.FIELDS:  # the CSV's values: an int, or text (a missing history: "")
    kind = feature[name].WhichOneof("kind")
    values = list(getattr(feature[name], kind).value) if kind else []
    row[name] = (values[0].decode() if isinstance(values[0], bytes) else values[0]
                 ) if values else ""
  request = contract.request_from_row(row, "CsvExampleGen", 1)
  return {name: value if name in contract.LISTS else [value]
          for name, value in request.items()}


def run_small_conversion(input_dir: str, output_dir: str, **settings) -> Dict:
  from movielens import conversion
  config = conversion.ConversionConfig(input_dir=input_dir, output_dir=output_dir, **settings)
  return conversion.run_conversion(config)


# --- The pipeline, run for real on LocalDagRunner, shared by the pipeline tests ---------


def pytest_collection_modifyitems(items):
  """Every test that reads the shared pipeline runs is in the slow tier, wherever it is."""
  for item in items:
    if "pipeline_runs" in item.fixturenames:
      item.add_marker(pytest.mark.slow)


PIPELINE_DATA = generate.GeneratorConfig.scaled(0.01, seed=11)
# Loose enough that both models below pass it: the second run must be refused by the
# comparison with the first, not by the bound.
TEST_GATE_BOUND = 1.5
GOOD_TRAINER = dict(epochs=10)  # full passes; early stopping ends sooner (~40 s here)
WORSE_TRAINER = dict(epochs=2, learning_rate=0.0)  # never learns: about 3 stars for all


def pipeline_config(root: str, csv_dir: str, **trainer):
  from pipeline.config import GateConfig, local_pipeline_config
  from trainer.config import TrainerConfig
  return local_pipeline_config(root, csv_dir, trainer=TrainerConfig(**trainer),
                               gate=GateConfig(mae_upper_bound=TEST_GATE_BOUND))


@pytest.fixture(scope="session")
def pipeline_raw(tmp_path_factory) -> str:
  """The MovieLens folder the pipeline tests' data comes from."""
  return generate.generate_movielens(str(tmp_path_factory.mktemp("pipeline_raw")),
                                     PIPELINE_DATA)


@pytest.fixture(scope="session")
def pipeline_csv(tmp_path_factory, pipeline_raw) -> str:
  from movielens import conversion
  csv_dir = str(tmp_path_factory.mktemp("pipeline_csv"))
  conversion.run_conversion(conversion.ConversionConfig(pipeline_raw, csv_dir))
  return csv_dir


@pytest.fixture(scope="session")
def pipeline_runs(tmp_path_factory, pipeline_csv):
  """Two runs of the whole pipeline on one MLMD store: a trained model, then a worse one.

  Returns the config, run id and MLMD's record (results.runs) of each run.
  """
  from tfx import v1 as tfx
  from pipeline import definition
  from results import runs
  root = str(tmp_path_factory.mktemp("pipeline"))
  results = {}
  for name, trainer in (("good", GOOD_TRAINER), ("worse", WORSE_TRAINER)):
    config = pipeline_config(root, pipeline_csv, **trainer)
    tfx.orchestration.LocalDagRunner().run(definition.create_pipeline(config))
    store = runs.connect(config.metadata_path)
    run_id = runs.run_ids(store)[-1]
    components = runs.component_runs(store, run_id)
    results[name] = {"config": config, "run_id": run_id, "components": components,
                     "outcome": runs.outcome(components)}
  return results
