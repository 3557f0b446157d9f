"""Benchmark: the pushed SavedModel loads and scores in the newest TensorFlow.

    python -m benchmarks.export_compatibility --model-dir outputs/serving/<version>

Users pull pushed models into notebooks, batch jobs and newer serving stacks, none of which
has this project's TF 2.16 + tf_keras + TFT. So this creates (once, under
~/.cache/bst-movielens/) a virtualenv on Python 3.11+ with only the newest
`tensorflow-cpu` on the package index, and in it loads the model both ways a user would:
`tf.saved_model.load` (what notebooks and Python jobs call) and the TF1 session loader
with tag `serve` (what TF Serving's C++ loader does). Each scores the example request
(examples/requests.jsonl) through `serving_default`; both must equal this environment's
prediction to 1e-5.
pipeline_benchmark.py runs it on the model it pushed and prints the model's size.
"""
from benchmarks import common  # first: the process environment

import argparse
import base64
import glob
import json
import os
import subprocess
import sys
from typing import Any, Dict

from movielens import contract
from serving import requests

VENV = os.path.join(os.path.expanduser("~"), ".cache", "bst-movielens", "tf-latest-venv")
PACKAGE = "tensorflow-cpu"  # plain TensorFlow: no tf_keras, no TFT
TOLERANCE = 1e-5
# The README's example request (Serving contract): one user's next rating, read and
# checked as `serving.predict` reads it, so it follows contract.FIELDS.
EXAMPLE_REQUESTS_FILE = os.path.join(common.REPO, "examples", "requests.jsonl")


def example_request() -> Dict[str, Any]:
  with open(EXAMPLE_REQUESTS_FILE) as lines:
    return requests.read_requests(lines, EXAMPLE_REQUESTS_FILE, "jsonl")[0]

# Runs inside the new virtualenv: argv = model dir, base64 example. Prints one JSON line.
_LOADER = f"""
import base64, json, sys
import tensorflow as tf
model_dir, example = sys.argv[1], base64.b64decode(sys.argv[2])
result = {{"tensorflow": tf.__version__, "python": sys.version.split()[0]}}
serve = tf.saved_model.load(model_dir).signatures["{contract.SERVING_SIGNATURE}"]
result["saved_model_load"] = float(
    serve(examples=tf.constant([example]))["{contract.PREDICTION_KEY}"].numpy()[0])
with tf.compat.v1.Graph().as_default(), tf.compat.v1.Session() as session:
  meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], model_dir)
  signature = meta_graph.signature_def["{contract.SERVING_SIGNATURE}"]
  result["session_loader"] = float(session.run(
      signature.outputs["{contract.PREDICTION_KEY}"].name,
      {{signature.inputs["{contract.EXAMPLES_INPUT}"].name: [example]}})[0])
print(json.dumps(result))
"""


def _newer_python() -> str:
  """A Python 3.11+ interpreter: BST_COMPAT_PYTHON, pyenv's, or one on the PATH."""
  candidates = [os.environ.get("BST_COMPAT_PYTHON", "")]
  candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[1-9]*/bin/python")))
  candidates += ["python3.11", "python3.12", "python3"]
  for candidate in filter(None, candidates):
    probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                           capture_output=True, text=True, check=False)
    if probe.returncode == 0 and probe.stdout.strip() == "True":
      return candidate
  raise SystemExit("error: no Python 3.11+ found for the newest TensorFlow: set "
                   "BST_COMPAT_PYTHON")


def newest_tensorflow_venv() -> str:
  """The virtualenv's python, with the newest tensorflow-cpu installed (upgraded if older)."""
  python = os.path.join(VENV, "bin", "python")
  if not os.path.exists(python):
    subprocess.run([_newer_python(), "-m", "venv", VENV], check=True)
  subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                  "--upgrade", PACKAGE], check=True)
  return python


def check(model_dir: str) -> Dict[str, object]:
  """Loads and scores `model_dir` in the newest TensorFlow; compares with this one's."""
  import tensorflow as tf  # here, not at the top: --help answers at once
  example = contract.encode(example_request())
  here = float(contract.score(
      tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE], [example])[0])
  completed = subprocess.run(
      [newest_tensorflow_venv(), "-c", _LOADER, model_dir,
       base64.b64encode(example).decode()],
      capture_output=True, text=True, check=False,
      env={k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"})
  if completed.returncode != 0:
    return {"ok": False, "here": here, "error": completed.stderr.strip().splitlines()[-1]}
  there = json.loads(completed.stdout.strip().splitlines()[-1])
  ok = all(abs(there[way] - here) <= TOLERANCE for way in ("saved_model_load", "session_loader"))
  return dict(there, ok=ok, here=here)


def model_size(model_dir: str) -> int:
  return sum(os.path.getsize(os.path.join(folder, name))
             for folder, _, names in os.walk(model_dir) for name in names)


def describe(result: Dict[str, object], model_dir: str) -> str:
  size = f"pushed model {model_size(model_dir) / 1e6:.1f} MB"
  if "error" in result:
    return f"{size}; newest TensorFlow FAILED to load it: {result['error']}"
  return (f"{size}; TensorFlow {result['tensorflow']} (Python {result['python']}, no tf_keras, "
          f"no TFT): tf.saved_model.load {result['saved_model_load']:.6f}, session loader "
          f"{result['session_loader']:.6f}, this environment {result['here']:.6f}: "
          f"{'same to ' + format(TOLERANCE, 'g') if result['ok'] else 'DIFFERENT'}")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model-dir", required=True, help="a pushed version's folder")
  args = parser.parse_args()
  result = check(args.model_dir)
  print(describe(result, args.model_dir))
  sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
  main()
