"""The flags every runner shares: what to train, whether to tune, when to bless.

local_runner.py and kubeflow_v2_runner.py build the same PipelineConfig from the same
flags; each adds only what is its own (data and output folders; image and bucket paths).
"""
import argparse
from typing import Any, Dict, List, Sequence, Tuple

from cli import beam_flags
from pipeline.config import GateConfig
from trainer.config import TrainerConfig
from transform.config import TransformConfig

DEFAULT_TUNING_TRIALS = 8


def add_set_flag(parser: argparse.ArgumentParser) -> None:
  """`--set KEY=VALUE`: any TrainerConfig field (the runners and the quality benchmark)."""
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="any other TrainerConfig field (trainer/config.py), e.g. --set "
                      "learning_rate=0.001; repeat for more")


def add_training_and_gate_flags(parser: argparse.ArgumentParser) -> None:
  trainer, gate, transform = TrainerConfig(), GateConfig(), TransformConfig()
  group = parser.add_argument_group("training, tuning and the gate")
  group.add_argument("--window", type=int, default=transform.window,
                     help="history events the model reads per rating, most recent last; at "
                     "most the CSV's --history-length (default "
                     f"{transform.window})")
  group.add_argument("--epochs", type=int, default=trainer.epochs,
                     help="most training epochs; early stopping on validation MAE may end "
                     f"sooner (default {trainer.epochs}; a warm start in span mode at most "
                     f"{trainer.warm_start_epochs}: --set warm_start_epochs=N)")
  add_set_flag(group)
  group.add_argument("--tune", action="store_true",
                     help="add TFX's Tuner before the Trainer: it tries --tune-trials points "
                     "of trainer.tuning.SEARCH_SPACE, each judged on validation MAE, and the "
                     "Trainer trains with the best")
  group.add_argument("--tune-trials", type=int,
                     help="with --tune: how many points to try, each a full training run "
                     f"(default {DEFAULT_TUNING_TRIALS})")
  group.add_argument("--mae-bound", type=float, default=gate.mae_upper_bound,
                     help="bless a model only if its eval MAE is below this "
                     f"(default {gate.mae_upper_bound})")
  group.add_argument("--mae-max-increase", type=float, default=gate.mae_max_increase,
                     help="...and no more than this above the last blessed model's, beyond "
                     f"noise (default {gate.mae_max_increase:g}: no regression)")
  group.add_argument("--mae-min-improvement", type=float,
                     help="...or instead at least this much below it, beyond noise (default "
                     f"in span mode {GateConfig.SPAN_MIN_IMPROVEMENT:g}; else none required)")
  group.add_argument("--gate-confidence", type=float, default=gate.confidence,
                     help="how sure the gate must be that a change in MAE against the last "
                     "blessed model is not the noise of the eval rows (one-sided; default "
                     f"{gate.confidence:g}; 0.5 compares the MAEs as they are)")
  spans = parser.add_argument_group("span mode: one run per span of ratings")
  spans.add_argument("--span", type=int,
                     help="the span this run ingests and evaluates on (0 is the first; "
                     "default: the next one)")
  spans.add_argument("--train-spans", type=int,
                     help="train on the last this many spans before it (default: all)")
  spans.add_argument("--cold-start", action="store_true",
                     help="train from random weights, not from the last blessed model")
  spans.add_argument("--stop-on-drift", action="store_true",
                     help="stop the run before the Transform when the ratings drifted past "
                     "the schema's threshold (pipeline/schema/schema.pbtxt); drift of who "
                     "is rating only warns (pipeline/drift.py)")


def training_and_gate_settings(args: argparse.Namespace, span_mode: bool = False
                               ) -> Dict[str, Any]:
  """The PipelineConfig fields add_training_and_gate_flags' flags set (the span itself
  aside); raises ValueError on a bad --set."""
  min_improvement = args.mae_min_improvement
  if min_improvement is None and span_mode and not args.mae_max_increase:
    min_improvement = GateConfig.SPAN_MIN_IMPROVEMENT
  return {
      "train_spans": args.train_spans,
      "warm_start": not args.cold_start,
      "stop_on_drift": args.stop_on_drift,
      "transform": TransformConfig(window=args.window),
      "trainer": TrainerConfig(epochs=args.epochs).with_overrides(args.set),
      "gate": GateConfig(mae_upper_bound=args.mae_bound,
                         mae_max_increase=args.mae_max_increase,
                         mae_min_improvement=min_improvement,
                         confidence=args.gate_confidence),
      "tuning_trials": (DEFAULT_TUNING_TRIALS if args.tune_trials is None
                        else args.tune_trials) if args.tune else 0,
  }


def parse_runner_args(parser: argparse.ArgumentParser, argv: Sequence[str]
                      ) -> Tuple[argparse.Namespace, List[str]]:
  """A runner's flags and its Beam options (cli.beam_flags), with the shared flags
  checked before any work starts: raises ValueError on --tune-trials without --tune or
  below 1, a bad --set, a window below 1 or a gate value out of range."""
  args, beam_args = beam_flags.parse_args_and_beam_args(parser, argv)
  if args.tune_trials is not None and not args.tune:
    raise ValueError("--tune-trials is for --tune: add --tune, or drop --tune-trials")
  if args.tune and args.tune_trials is not None and args.tune_trials < 1:
    raise ValueError(f"--tune-trials must be at least 1, got {args.tune_trials}")
  training_and_gate_settings(args)
  return args, beam_args
