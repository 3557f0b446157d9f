"""results.executions and results.run_list: TFX's names spelled right, and the run list's
modules free of TensorFlow (the list itself is read back in tests/test_serving.py)."""
import subprocess
import sys

from tfx.types import standard_component_specs as keys

from results import executions
from tests.test_local_runner import REPO


def test_the_output_keys_are_tfxs():
  assert executions.EVALUATION_KEY == keys.EVALUATION_KEY
  assert executions.BLESSING_KEY == keys.BLESSING_KEY
  assert executions.PUSHED_MODEL_KEY == keys.PUSHED_MODEL_KEY


def test_the_run_list_loads_neither_tensorflow_nor_tfma():
  loaded = subprocess.run(
      [sys.executable, "-c",
       "import sys; from results import run_list, metrics_file; metrics_file.proto_module(); "
       "print(sorted(m for m in sys.modules if m.split('.')[0] in "
       "('tensorflow', 'tensorflow_model_analysis', 'tfx', 'matplotlib')))"],
      cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
  assert loaded.stdout.strip() == "[]"
