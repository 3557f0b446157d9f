"""`python local_runner.py` end to end on small generated data."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from movielens import constants as c
from pipeline import nodes

pytestmark = pytest.mark.slow  # real pipelines and runners: the full tier only

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, timeout=300, cwd=REPO):
  return subprocess.run([sys.executable, os.path.join(REPO, "local_runner.py"), *args],
                        capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_synthetic_run_prepares_data_runs_the_pipeline_then_reuses_everything(tmp_path):
  # A short training and a bound no model meets: the refusal must be reported.
  args = ("--synthetic", "--scale", "0.01", "--epochs", "1", "--train-steps", "10",
          "--mae-bound", "0.1")
  # The output folder named relative to the working directory: the second run, from
  # another one, reuses everything only if ML Metadata recorded absolute paths.
  first = run(*args, "--output-dir", tmp_path.name, timeout=600, cwd=tmp_path.parent)
  assert first.returncode == 0, first.stderr
  assert "generating synthetic data" in first.stdout
  assert "CSV conversion (Beam)" in first.stdout
  assert "SYNTHETIC" in first.stdout
  csv_dir = tmp_path / "csv" / "synthetic-scale0.01-seed0"
  summary = json.load(open(csv_dir / c.SUMMARY_FILE))
  assert summary["synthetic"] is True
  assert sum(summary["rows"].values()) == 10_002
  assert (f"{summary['rows']['train']:,} train, {summary['rows']['validation']:,} validation, "
          f"{summary['rows']['eval']:,} eval rows") in first.stdout
  for component in (nodes.EXAMPLE_GEN, nodes.TRANSFORM, nodes.TRAINER, nodes.EVALUATOR,
                    nodes.PUSHER):
    assert f"] {component}: " in first.stdout  # its progress line
    assert re.search(rf"^  {component} +COMPLETE +[\d.]+ s$", first.stdout, re.M)
  assert re.search(r"^validation MAE \d\.\d{4} \(the Trainer kept epoch 1 of the 1 it ran; "
                   r"the last: the epoch limit ended training, not validation\)$",
                   first.stdout, re.M)
  assert re.search(r"^eval MAE \d\.\d{4} \(no blessed model before this one; bound 0.1\)$",
                   first.stdout, re.M)
  assert re.search(r"NOT BLESSED, not pushed:\n  eval MAE \d\.\d{4} is above "
                   r"the bound 0.1", first.stdout)
  assert not (tmp_path / "serving").exists()
  assert (tmp_path / "tfx" / "metadata.sqlite").is_file()
  assert_quiet(first, tmp_path)

  # The same folder through a symlink: the same run, every stage reused.
  link = tmp_path.parent / f"{tmp_path.name}-link"
  link.symlink_to(tmp_path)
  second = run(*args, "--output-dir", str(link), "--verbose", timeout=600)
  assert second.returncode == 0, second.stderr
  assert "reusing" in second.stdout and "up to date" in second.stdout
  assert "Component Trainer is running." in second.stderr  # TFX's own log, on the terminal
  assert re.search(r"^  Trainer +CACHED", second.stdout, re.M)
  assert re.search(r"^  Evaluator +CACHED", second.stdout, re.M)  # still no baseline

  # Other eval rows of the same ratings: refused before any work, naming both settings.
  other = run(*args, "--eval-fraction", "0.2", "--output-dir", str(tmp_path), timeout=600)
  assert other.returncode == 1
  assert other.stderr.strip() == (
      f"error: {tmp_path}/tfx holds runs of the same ratings with other eval rows "
      f"({csv_dir}: --eval-fraction 0.1; this run: --eval-fraction 0.2): this run would be "
      "judged against models that may have trained on its eval rows; give it its own "
      "--output-dir")
  assert json.load(open(csv_dir / c.SUMMARY_FILE))["settings"]["eval_fraction"] == 0.1


# What a person sees of a tiny run: the stage lines, heartbeats and the summary.
CONSOLE_LINE = re.compile(
    r"(\[\d\d:\d\d\] |    done in |    \.\.\. |  \w+ +(COMPLETE|CACHED|[\d.]+ s$|HR@)|"
    r"log: |note: |CSV for |TFX pipeline |component |validation MAE |eval MAE |"
    r"evaluation: |for reference, |ranking, |report: |NOT BLESSED|BLESSED|"
    r"  eval MAE |"
    r"drift and skew: |warm start from |$)")
CONSOLE_LINE_BUDGET = 66  # heartbeats aside


def assert_quiet(result, output_dir):
  """Only our own lines on the terminal; TFX's, Beam's, TensorFlow's in the log named."""
  assert result.stderr == ""
  lines = result.stdout.splitlines()
  heartbeats = [line for line in lines if line.startswith("    ... ")]  # 1 per 30 s
  assert len(lines) - len(heartbeats) <= CONSOLE_LINE_BUDGET, result.stdout
  assert [line for line in lines if not CONSOLE_LINE.match(line)] == []
  log = re.search(r"^log: (\S+) ", result.stdout, re.M).group(1)
  assert os.path.dirname(log) == str(output_dir / "logs")
  text = open(log).read()
  assert "Component Trainer is running." in text
  assert "val_mae: " in text  # Keras's own progress line


def test_bad_data_stops_with_file_and_line(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  (data / "users.dat").write_text("1::F::1::10::48067\n")
  (data / "movies.dat").write_text("1::Heat (1995)::Action\n")
  (data / "ratings.dat").write_text("1::1::5::978300760\n1::1::6::978300761\n")
  result = run("--data-dir", str(data), "--output-dir", str(tmp_path / "out"), "--prepare-only")
  assert result.returncode == 1
  assert f"{data}/ratings.dat:2: rating outside 1-5" in result.stderr
  assert "--lenient" in result.stderr
  lenient = run("--data-dir", str(data), "--output-dir", str(tmp_path / "out"), "--lenient",
                "--prepare-only")
  assert lenient.returncode == 0, lenient.stderr
  assert '{"ratings.dat": {"rating outside 1-5": 1}}' in lenient.stdout


def test_help_explains_the_flags():
  result = run("--help")
  assert result.returncode == 0
  for flag in ("--synthetic", "--data-dir", "--output-dir", "--history-length", "--lenient",
               "--serving-dir", "--epochs", "--set", "--train-steps", "--mae-bound",
               "--mae-max-increase", "--no-cache", "--prepare-only", "--verbose", "--spans",
               "--span-days", "--span", "--replay", "--train-spans", "--cold-start",
               "--stop-on-drift", "--mae-min-improvement", "--gate-confidence"):
    assert flag in result.stdout


def run_until(component: str, *args: str, **popen) -> subprocess.Popen:
  """A local_runner.py run in a process group of its own, once `component` has started
  (and a few seconds into it); it fails the test if the run ends before."""
  process = subprocess.Popen([sys.executable, os.path.join(REPO, "local_runner.py"), *args],
                             cwd=REPO, stdout=subprocess.PIPE, text=True,
                             start_new_session=True, **popen)
  for line in process.stdout:
    if f"] {component}: " in line:
      time.sleep(3)  # inside it
      return process
  os.killpg(process.pid, signal.SIGKILL)
  pytest.fail(f"the run ended before its {component} started")


def test_a_run_killed_during_the_trainer_resumes_from_the_cache(tmp_path):
  """Killed mid-Trainer (the whole process group, Beam's workers too), the same command
  run again reuses every finished component and pushes exactly one model."""
  args = ("--synthetic", "--scale", "0.01", "--output-dir", str(tmp_path), "--epochs", "2",
          "--train-steps", "40", "--mae-bound", "5")
  first = run_until(nodes.TRAINER, *args, stderr=subprocess.DEVNULL)
  os.killpg(first.pid, signal.SIGKILL)
  first.wait()
  assert not (tmp_path / "serving").exists()

  second = run(*args, timeout=600)
  assert second.returncode == 0, second.stderr[-3000:]
  for component in (nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.ANOMALY_GATE,
                    nodes.TRANSFORM):
    assert re.search(rf"^  {component} +CACHED", second.stdout, re.M), component
  assert re.search(rf"^  {nodes.TRAINER} +COMPLETE", second.stdout, re.M)
  assert "BLESSED and pushed to" in second.stdout
  assert len(os.listdir(tmp_path / "serving")) == 1


def test_ctrl_c_is_one_line_naming_the_stage_and_the_rerun_resumes(tmp_path):
  """SIGINT to the process group, as Ctrl-C sends it, during the Transform (Beam at work):
  one line on stderr, exit 130; the same command again finishes from the cache."""
  args = ("--synthetic", "--scale", "0.01", "--output-dir", str(tmp_path), "--epochs", "1",
          "--train-steps", "10", "--mae-bound", "5")
  # SIGINT as a terminal leaves it: a test suite started in the background (`bin/test &`)
  # has it ignored, and ignored signals are inherited.
  first = run_until(nodes.TRANSFORM, *args, stderr=subprocess.PIPE,
                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
  try:
    os.killpg(first.pid, signal.SIGINT)
    _, stderr = first.communicate(timeout=120)
  finally:
    if first.poll() is None:
      os.killpg(first.pid, signal.SIGKILL)
  assert first.returncode == 130, stderr[-3000:]
  assert stderr.splitlines() == [
      f"interrupted during {nodes.TRANSFORM}; rerun the same command to resume"]

  second = run(*args, timeout=600)
  assert second.returncode == 0, second.stderr[-3000:]
  assert re.search(rf"^  {nodes.EXAMPLE_GEN} +CACHED", second.stdout, re.M)
  assert "BLESSED and pushed to" in second.stdout
