"""TensorBoard on the training logs of a local output folder, each run named for people.

    python -m results.tensorboard                       # the runs in outputs/
    python -m results.tensorboard --output-dir DIR --port 6006

Pointed at the pipeline root, TensorBoard would name runs by artifact folder ("8/train").
This reads ML Metadata instead: each pipeline run whose Trainer trained (a cached Trainer
reuses an earlier run's logs and is listed once) becomes
`<run id> kept epoch K, validation MAE M[, settings that differ from the defaults]`,
with its `train` and `validation` curves and its model choice (trainer/summary.py: MAE by
epoch and the kept epoch, laid out on one custom-scalars chart), and TensorBoard is
started on them (`--logdir_spec`), from this project's environment.
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import os
import sys
from typing import Dict, List, Sequence

from cli import entry_point
from cli.layout import DEFAULT_OUTPUT_DIR, LocalLayout
from pipeline import nodes
from trainer.config import TrainerConfig


def run_name(run_id: str, summary: Dict[str, object]) -> str:
  """A readable name; TensorBoard's --logdir_spec splits on ':' and ',', so neither
  appears in it."""
  defaults = TrainerConfig().to_custom_config()
  changed = [f"{key}={value}" for key, value in sorted(summary.get("config", {}).items())
             if defaults.get(key) != value]
  name = (f"{run_id} kept epoch {summary['kept_epoch']} validation MAE "
          f"{summary['validation_mae']:.4f}" + (f" {' '.join(changed)}" if changed else ""))
  return name.replace(":", ".").replace(",", ";")


def logdirs(metadata_path: str) -> List[str]:
  """`name:logs folder` of every run whose Trainer trained, oldest first."""
  # ML Metadata, TFX and TensorFlow load here, not at import: --help answers at once.
  from tfx.types import standard_component_specs as keys  # pylint: disable=g-import-not-at-top
  from results import runs  # pylint: disable=g-import-not-at-top
  from trainer import summary as training_summary  # pylint: disable=g-import-not-at-top
  store = runs.connect(metadata_path)
  named, seen = [], set()
  for run_id in runs.run_ids(store):
    trainer = runs.component_runs(store, run_id).get(nodes.TRAINER)
    if trainer is None or keys.MODEL_RUN_KEY not in trainer.outputs:
      continue  # stopped before training
    uri = trainer.output(keys.MODEL_RUN_KEY).uri
    if uri in seen or not os.path.isfile(
        os.path.join(uri, training_summary.TRAINING_SUMMARY_FILE)):
      continue  # cached (listed with the run that trained) or killed midway
    seen.add(uri)
    named.append(f"{run_name(run_id, training_summary.read(uri))}:{uri}")
  return named


def main(argv: Sequence[str]) -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR,
                      help=f"the runner's --output-dir (default {DEFAULT_OUTPUT_DIR})")
  parser.add_argument("--host", default="127.0.0.1",
                      help="where TensorBoard listens (default 127.0.0.1: this machine only)")
  parser.add_argument("--port", type=int, default=6006, help="its port (default 6006)")
  entry_point.add_debug_flag(parser, beam=False)
  args = parser.parse_args(argv)
  metadata = LocalLayout(args.output_dir).metadata_path
  if not os.path.isfile(metadata):
    raise FileNotFoundError(f"no metadata at {metadata}: run the pipeline first")
  named = logdirs(metadata)
  if not named:
    raise LookupError(f"no run in {metadata} has trained a model yet")
  print("\n".join(f"run: {entry.rsplit(':', 1)[0]}" for entry in named))
  print(f"open http://{args.host}:{args.port}/#custom_scalars: each run's train and "
        "validation MAE by epoch on one chart, the kept epoch marked (Keras's own curves, "
        "epochs counted from 0, are under SCALARS)", flush=True)
  os.execv(sys.executable, [sys.executable, "-m", "tensorboard.main", "--logdir_spec",
                            ",".join(named), "--host", args.host, "--port", str(args.port)])


def command() -> None:
  """The command, as `python -m results.tensorboard` and as setup.py's installed script."""
  entry_point.run(main)


if __name__ == "__main__":
  command()
