"""Every command answers --help, and refuses a bad flag, before TensorFlow, TFX or Beam load.

Their imports are what makes a command slow to start (seconds each), so the test checks
the cause, by Python's own import log (-X importtime), rather than a wall time on a
shared machine; the seconds are printed beside (pytest -s) and benchmarked.
"""
import os
import re
import subprocess
import sys
import time
from typing import List, Sequence

import pytest

from cli import beam_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY_POINTS = {  # every command a user starts (the bin/ wrappers run these): the flags
    # it requires, so that a bad flag is the only thing wrong with a command line
    ("local_runner.py",): (),
    ("kubeflow_v2_runner.py",): ("--image", "i", "--pipeline-root", "p", "--csv-dir", "c",
                                 "--serving-dir", "s"),
    ("-m", "movielens.generate"): ("--output-dir", "o"),
    ("-m", "movielens.convert"): ("--input-dir", "i", "--output-dir", "o"),
    ("-m", "serving.predict"): ("requests.jsonl",),
    ("-m", "serving.recommend"): ("--user-id", "1"),
    ("-m", "results.report"): (),
    ("-m", "results.tensorboard"): (),
    ("-m", "engines.flink"): ("status",),
    # The benchmarks: developers' commands, held to the same start.
    ("-m", "benchmarks.choice_oracle"): (),
    ("-m", "benchmarks.convert_benchmark"): (),
    ("-m", "benchmarks.engine_benchmark"): (),
    ("-m", "benchmarks.export_compatibility"): ("--model-dir", "m"),
    ("-m", "benchmarks.model_ablation"): ("--metadata", "m"),
    ("-m", "benchmarks.pipeline_benchmark"): (),
    ("-m", "benchmarks.quality_benchmark"): (),
    ("-m", "benchmarks.refit_benchmark"): ("--metadata", "m", "--csv-dir", "c"),
    ("-m", "benchmarks.replay_benchmark"): (),
}
HEAVY = ("tensorflow", "tfx", "apache_beam")
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", re.M)


def start(entry: Sequence[str], *args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-X", "importtime", *entry, *args], cwd=REPO,
                        capture_output=True, text=True, timeout=120)


def heavy_imports(stderr: str) -> List[str]:
  return sorted({name for name in IMPORTED.findall(stderr)
                 if name.split(".")[0] in HEAVY})


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=" ".join)
def test_help_answers_before_tensorflow_tfx_or_beam_load(entry):
  started = time.monotonic()
  result = start(entry, "--help")
  print(f"{' '.join(entry)} --help: {time.monotonic() - started:.2f} s")
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.startswith("usage: ")
  assert heavy_imports(result.stderr) == []


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=" ".join)
def test_a_bad_flag_is_refused_before_tensorflow_tfx_or_beam_load(entry):
  result = start(entry, *ENTRY_POINTS[entry], "--no-such-flag")
  # argparse's usage error (2), or the one-line error of the commands that pass unknown
  # flags to Beam after checking them against Beam's (1).
  assert result.returncode in (1, 2), result.stderr[-2000:]
  errors = [line for line in result.stderr.splitlines() if "error" in line]
  assert any("--no-such-flag" in line for line in errors), errors
  assert heavy_imports(result.stderr) == []


def test_the_import_log_is_read_right():
  # The check above must be able to fail: a command that loads TensorFlow is caught.
  result = start(("-c", "import tensorflow"))
  assert "tensorflow" in heavy_imports(result.stderr)


def test_the_listed_beam_option_flags_are_the_installed_beams():
  # Commands refuse a flag that is neither theirs nor Beam's from this list, not from Beam.
  assert beam_flags.beam_option_flags() == beam_flags.installed_beam_option_flags(), (
      "Beam's options changed: rewrite the list with python -m cli.beam_flags")
