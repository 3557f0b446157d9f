"""The command-line flags both runners share: what to train and when to bless.

local_runner.py and kubeflow_v2_runner.py build the same PipelineConfig from the same
flags; each adds only what is its own (data and output folders; image and bucket paths).
"""
import argparse
from typing import Any, Dict

from pipeline.config import GateConfig
from trainer.config import TrainerConfig


def add_model_flags(parser: argparse.ArgumentParser) -> None:
  trainer, gate = TrainerConfig(), GateConfig()
  group = parser.add_argument_group("training and the gate")
  group.add_argument("--epochs", type=int, default=trainer.epochs,
                     help="most training epochs; early stopping on validation MAE may end "
                     f"sooner (default {trainer.epochs})")
  group.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="any other TrainerConfig field (trainer/config.py), e.g. --set "
                     "learning_rate=0.001; repeat for more")
  group.add_argument("--mae-bound", type=float, default=gate.mae_upper_bound,
                     help="bless a model only if its eval MAE is below this "
                     f"(default {gate.mae_upper_bound})")
  group.add_argument("--mae-max-increase", type=float, default=gate.mae_max_increase,
                     help="...and no more than this above the last blessed model's "
                     f"(default {gate.mae_max_increase:g}: no regression)")


def model_settings(args: argparse.Namespace) -> Dict[str, Any]:
  """The PipelineConfig fields add_model_flags' flags set; raises ValueError on a bad
  --set."""
  return {
      "trainer": TrainerConfig(epochs=args.epochs).with_overrides(args.set),
      "gate": GateConfig(mae_upper_bound=args.mae_bound,
                         mae_max_increase=args.mae_max_increase),
  }
