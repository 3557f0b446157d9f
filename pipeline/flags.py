"""The command-line flags both runners share: what to train and when to bless; and the
check that every flag a command passes on to Beam is one Beam knows.

local_runner.py and kubeflow_v2_runner.py build the same PipelineConfig from the same
flags; each adds only what is its own (data and output folders; image and bucket paths).
"""
import argparse
import difflib
from typing import Any, Dict, List, Sequence, Tuple

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


def beam_option_flags() -> List[str]:
  """Every flag Beam's pipeline options define (--runner, --direct_num_workers, the
  Dataflow, Flink and Spark options...), collected as Beam's own
  PipelineOptions.get_all_options collects them (Beam has no public call for it)."""
  # pylint: disable=protected-access
  from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
  parser = pipeline_options._BeamArgumentParser(allow_abbrev=False)
  for options in {str(cls): cls for cls in
                  pipeline_options.PipelineOptions.__subclasses__()}.values():
    options._add_argparse_args(parser)
  return sorted(parser._option_string_actions)


def parse_args_and_beam_args(parser: argparse.ArgumentParser, argv: Sequence[str]
                             ) -> Tuple[argparse.Namespace, List[str]]:
  """The command's own flags, and the rest as Beam pipeline options, each of which Beam
  must know: Beam would drop an unknown one with a warning, so a misspelled flag of the
  command (--mae_bound for --mae-bound) would silently keep its default. Raises
  ValueError naming the flag and the nearest known one."""
  args, rest = parser.parse_known_args(argv)
  beam_flags = beam_option_flags()
  for arg in rest:
    flag = arg.split("=", 1)[0]
    if flag.startswith("-") and flag not in beam_flags:
      own = list(parser._option_string_actions)  # pylint: disable=protected-access
      near = difflib.get_close_matches(flag, own + beam_flags, n=1, cutoff=0.6)
      raise ValueError(f"unknown flag {flag}: not one of this command's (--help) nor a Beam "
                       "pipeline option" + (f"; did you mean {near[0]}?" if near else ""))
  return args, rest
