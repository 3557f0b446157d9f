"""What the benchmarks share: the process environment, generated data and its CSV, the
eval rows with the generator's oracle, contract requests for rows, memory sampling, and
the results page each benchmark writes.

Every benchmark imports this module first (it imports cli.environment first).
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import datetime
import glob
import os
import platform
import subprocess
import sys
import threading
import time
from typing import Iterator, List, Sequence, Tuple

import pandas as pd
import psutil

from cli import entry_point
from cli.layout import LocalLayout
from movielens import constants as c
from movielens import contract
from movielens import conversion
from movielens import generate
from pipeline.config import LOCAL_BEAM_ARGS

GB = 1024 ** 3

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # commands run from here
# Each benchmark's latest results, as markdown it writes itself: committed when re-measured,
# so the numbers in the docs are always a whole run's, with the command that made them.
PAGES_DIR = os.path.join(REPO, "docs", "benchmarks")


class RunFailed(RuntimeError):
  """A command a benchmark measures failed: one line naming it and where its log is."""


def add_page_flag(parser: argparse.ArgumentParser, name: str) -> None:
  default = os.path.join(PAGES_DIR, f"{name}.md")
  parser.add_argument("--page", default=default,
                      help="where to write the results page (default "
                      f"{os.path.relpath(default, REPO)}; commit it when re-measured)")


def _git(*args: str) -> str:
  result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                          check=False)
  return result.stdout.strip()


def provenance() -> str:
  """The command as run, when, at which commit, on what machine: a page's first line."""
  command = " ".join([entry_point.command_name(), *sys.argv[1:]])
  commit = _git("rev-parse", "--short", "HEAD") or "unknown"
  if _git("status", "--porcelain", "--untracked-files=no"):
    commit += " with uncommitted changes"
  import tfx  # pylint: disable=g-import-not-at-top
  return (f"`{command}`, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"commit {commit}; {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / GB:.0f} GiB, Python {platform.python_version()}, "
          f"TFX {tfx.__version__}.")


def publish(page: str, title: str, lines: Sequence[str]) -> None:
  """Prints the results (markdown) and writes them to `page` under a heading that says
  how they were made."""
  body = "\n".join(lines).rstrip() + "\n"
  print(body, end="")
  os.makedirs(os.path.dirname(os.path.abspath(page)), exist_ok=True)
  with open(page, "w") as out:
    out.write(f"# {title}\n\nWritten by the benchmark itself: {provenance()}\n\n{body}")
  print(f"\n(written to {page})")


def verdict(met: bool) -> str:
  return "met" if met else "MISSED"


def generated_data(work_dir: str, scale: float, reuse: bool = True) -> str:
  """The raw folder of generated data at `scale` under `work_dir` (LocalLayout); with
  `reuse`, data already there from the same generator settings is kept."""
  raw = LocalLayout(work_dir).raw_dir
  generator_config = generate.GeneratorConfig.scaled(scale)
  if not (reuse and generate.read_config(raw) == generator_config):
    generate.generate_movielens(raw, generator_config)
  return raw


def converted_csv(raw_dir: str, work_dir: str, beam_args=(), reuse: bool = True
                  ) -> Tuple[str, dict]:
  """(CSV folder, conversion summary) of `raw_dir` under `work_dir` (LocalLayout); with
  `reuse`, a current conversion is kept, so a rerun in the same folder hits the TFX cache
  up to what changed."""
  config = conversion.ConversionConfig(raw_dir, LocalLayout(work_dir).csv_root)
  return config.output_dir, conversion.run_conversion(
      config, list(LOCAL_BEAM_ARGS) + list(beam_args), reuse=reuse)


def read_rows(csv_dir: str, split: str) -> pd.DataFrame:
  """One split's CSV rows, histories as the strings the CSV holds."""
  files = sorted(glob.glob(os.path.join(csv_dir, split, "*.csv")))
  return pd.concat([pd.read_csv(p, dtype={c.HISTORY_MOVIE_IDS: str, c.HISTORY_RATINGS: str,
                                          c.HISTORY_TIMESTAMPS: str, c.SEX: str},
                                keep_default_na=False) for p in files], ignore_index=True)


def splits_with_oracle(raw_dir: str, csv_dir: str) -> Tuple[pd.DataFrame, pd.DataFrame]:
  """The train rows, and the eval rows joined with the generator's oracle columns."""
  train, evaluation = read_rows(csv_dir, c.TRAIN_SPLIT), read_rows(csv_dir, c.EVAL_SPLIT)
  oracle = pd.read_csv(os.path.join(raw_dir, c.ORACLE_FILE)).rename(
      columns={"movie_id": c.TARGET_MOVIE_ID})
  return train, evaluation.merge(oracle, on=[c.USER_ID, c.TARGET_MOVIE_ID], how="left",
                                 validate="one_to_one")


def serving_examples(rows: pd.DataFrame, source: str = "eval CSV") -> List[bytes]:
  """The serving contract's tf.Examples for CSV rows, through the contract's own checked
  conversion (movielens.contract)."""
  requests: Iterator[dict] = (
      contract.request_from_row({name: row[name] for name in contract.FIELDS}, source, i)
      for i, row in enumerate(rows.to_dict("records"), start=1))
  return [contract.encode(request) for request in requests]


class PeakMemory:
  """Samples the summed RSS of this process and all its descendants, and of `others`
  (pids of processes it did not start: a cluster's JVMs).

  Keeps every sample (Unix time, bytes), so the peak of any time window can be read back:
  the pipeline benchmark maps ML Metadata's per-component times onto it.
  """

  def __init__(self, interval: float = 0.1, others: Sequence[int] = ()):
    self.peak = 0
    self.samples = []
    self._interval = interval
    self._others = [psutil.Process(pid) for pid in others]
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._sample, daemon=True)

  def _sample(self):
    me = psutil.Process()
    while not self._stop.is_set():
      total = 0
      for process in [me] + me.children(recursive=True) + self._others:
        try:
          total += process.memory_info().rss
        except psutil.Error:  # a worker exited between listing and reading
          pass
      self.peak = max(self.peak, total)
      self.samples.append((time.time(), total))
      self._stop.wait(self._interval)

  def peak_between(self, start: float, end: float) -> int:
    """The largest sample from `start` to `end` (Unix seconds); 0 if none fell inside."""
    return max((total for when, total in self.samples if start <= when <= end), default=0)

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()
