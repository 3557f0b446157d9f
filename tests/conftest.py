"""Shared fixtures: small generated MovieLens data and hand-written .dat files."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before anything imports TensorFlow

import glob
from typing import Dict, Sequence

import pandas as pd
import pytest

from movielens import constants as c
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


def run_small_conversion(input_dir: str, output_dir: str, **settings) -> Dict:
  from movielens import convert
  config = convert.ConversionConfig(input_dir=input_dir, output_dir=output_dir, **settings)
  return convert.run_conversion(config)
