"""The README's commands, run as a new user pastes them: the README cannot drift from the
code.

Its runnable blocks are the ```sh ones, read in order. The fast test checks each command
exists and answers --help; the slow one copies the repository as a fresh clone would have
it and runs every line in order, with two stated changes: `bin/run` at --scale 0.01
(the same commands, on a hundredth of the data), and `bin/test` left out (this test is
part of it).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from typing import List

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
SMALL_RUN = ("--scale", "0.01")  # added to bin/run lines
SKIPPED = ("bin/test",)  # the suite itself


def readme_commands() -> List[List[str]]:
  """Every line of the README's ```sh blocks, split as the shell would, comments dropped."""
  with open(README) as text:
    blocks = re.findall(r"^```sh\n(.*?)^```", text.read(), re.M | re.S)
  return [shlex.split(line, comments=True) for block in blocks
          for line in block.splitlines() if shlex.split(line, comments=True)]


def environment() -> dict:
  """The commands bootstrap a venv; this one, already set up, is the one they find."""
  return {**os.environ, "BST_VENV": sys.prefix}


def test_the_readme_has_commands_to_run():
  programs = [command[0] for command in readme_commands()]
  assert programs[0] == "bin/run"  # the run comes first: the rest use its outputs
  assert {"bin/predict", "bin/recommend", "bin/report"} <= set(programs)


@pytest.mark.parametrize("program", sorted({command[0] for command in readme_commands()}))
def test_every_readme_command_exists_and_answers_help(program):
  assert os.access(os.path.join(REPO, program), os.X_OK), f"{program} is not executable"
  result = subprocess.run([os.path.join(REPO, program), "--help"], cwd=REPO,
                          env=environment(), capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "usage:" in result.stdout


@pytest.mark.slow
def test_the_readme_commands_work_as_pasted_in_a_fresh_copy(tmp_path):
  clone = tmp_path / "bst-movielens"
  shutil.copytree(REPO, clone, ignore=shutil.ignore_patterns(
      ".git", ".venv", "outputs", "__pycache__", ".pytest_cache"))
  outputs = {}
  for command in readme_commands():
    if command[0] in SKIPPED:
      continue
    if command[0] == "bin/run":
      command = command + list(SMALL_RUN)
    result = subprocess.run(command, cwd=clone, env=environment(), capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
    outputs[command[0]] = result
  assert "BLESSED and pushed to outputs/serving/" in outputs["bin/run"].stdout
  predicted = outputs["bin/predict"].stdout.splitlines()
  assert predicted and all('"user_id": 42' in line for line in predicted)
  assert outputs["bin/predict"].stderr.strip().splitlines() in (
      [], [line for line in outputs["bin/predict"].stderr.splitlines()
           if line.startswith("warning: examples/requests.jsonl: ")])  # nothing of TF's
  ranked = [line for line in outputs["bin/recommend"].stdout.splitlines()
            if re.match(r"^ +\d+\. ", line)]
  assert len(ranked) == 10
  assert re.search(r"^\d{8}-\d{6}-\d{3} .* blessed, pushed to ",
                   outputs["bin/report"].stdout, re.M)
