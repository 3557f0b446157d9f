"""The locked stack installs and imports; bootstrap is idempotent and explains failure."""
import importlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def locked_versions():
  pins = {}
  with open(os.path.join(REPO, "requirements.lock")) as f:
    for line in f:
      match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
      if match:
        pins[match.group(1).lower().replace("_", "-")] = match.group(2)
  return pins


def test_the_stack_imports():
  for module in ("tfx", "tensorflow", "tensorflow_transform", "tensorflow_model_analysis",
                 "apache_beam", "tf_keras", "dill", "pandas"):
    importlib.import_module(module)
  from tfx import v1 as tfx  # the public TFX API the pipeline uses
  assert tfx.components.CsvExampleGen and tfx.orchestration.LocalDagRunner


def test_tensorflow_uses_tf_keras():
  import tensorflow as tf
  import tf_keras
  assert os.environ["TF_USE_LEGACY_KERAS"] == "1"
  assert tf.keras.Model is tf_keras.Model


def test_installed_versions_are_the_locked_ones():
  pins = locked_versions()
  assert pins["tfx"] == "1.16.0" and pins["tensorflow"].startswith("2.16.")
  assert "dill" in pins  # missing from a bare `pip install tfx==1.16.0` with new Beam
  mismatched = {}
  for name, version in pins.items():
    installed = importlib.metadata.version(name)
    if installed != version:
      mismatched[name] = (version, installed)
  assert not mismatched, f"installed packages differ from requirements.lock: {mismatched}"


def test_bootstrap_is_idempotent():
  venv = os.path.dirname(os.path.dirname(sys.executable))
  if not os.path.exists(os.path.join(venv, ".bst-fingerprint")):
    pytest.skip("not running in a venv made by bin/bootstrap")
  result = subprocess.run([os.path.join(REPO, "bin", "bootstrap")], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, BST_VENV=venv))
  assert result.returncode == 0, result.stderr
  assert "installing" not in result.stderr  # nothing to do: the venv matches the lock


@pytest.mark.skipif(any(os.path.exists(p) for p in ("/usr/bin/python3.10",
                                                    "/usr/local/bin/python3.10")),
                    reason="a system Python 3.10 exists; bootstrap would find it")
def test_bootstrap_without_python310_names_what_to_install(tmp_path):
  env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BST_VENV": str(tmp_path / "venv"),
         "BST_PYTHON": sys.executable.replace("python", "not-python")}
  result = subprocess.run(["bash", os.path.join(REPO, "bin", "bootstrap")],
                          capture_output=True, text=True, timeout=60, env=env)
  assert result.returncode == 1
  assert "needs Python 3.10" in result.stderr
  assert "pyenv install 3.10" in result.stderr and "BST_PYTHON" in result.stderr
  assert not (tmp_path / "venv").exists()


def test_the_image_installs_the_lock_and_nothing_else():
  """The Dockerfile's pip installs: the lock without resolving, then the project; no
  package of its own choosing (the image must run what the tests ran)."""
  text = open(os.path.join(REPO, "Dockerfile")).read().replace("\\\n", " ")
  installs = [command.strip() for line in text.splitlines() if line.startswith("RUN ")
              for command in line[4:].split("&&") if "pip install" in command]
  assert installs == ["pip install --no-cache-dir --no-deps -r requirements.lock",
                      "pip install --no-cache-dir --no-deps ."]


def console_scripts():
  """setup.py's installed commands: (name, module, function)."""
  text = open(os.path.join(REPO, "setup.py")).read()
  return re.findall(r'"([\w-]+)=([\w.]+):(\w+)"', text)


@pytest.mark.parametrize("name,module,function", console_scripts())
def test_each_installed_command_starts_and_names_itself(name, module, function):
  """As pip's script calls it: the function with no arguments, the script's name as
  argv[0]; --help answers with a usage line naming the command."""
  script = (f"import sys; sys.argv = [{name!r}, '--help']; "
            f"from {module} import {function}; {function}()")
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.startswith(f"usage: {name} ")
  assert result.stderr == ""  # a quiet start


def test_module_commands_name_themselves_as_run():
  result = subprocess.run([sys.executable, "-m", "serving.predict", "--help"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
  assert result.stdout.startswith("usage: python -m serving.predict ")


def test_setup_installs_every_package_of_the_product():
  """A real install (`pip install .`, the Docker image) gets every package the commands
  import: each top-level folder with an __init__.py but the tests' and benchmarks'."""
  text = open(os.path.join(REPO, "setup.py")).read()
  included = set(re.findall(r'"(\w+)", "\1\.\*"', text))
  packages = {name for name in os.listdir(REPO)
              if os.path.isfile(os.path.join(REPO, name, "__init__.py"))}
  assert included == packages - {"tests", "benchmarks"}
