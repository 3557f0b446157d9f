"""A command's own flags, and the rest as Beam pipeline options, each checked against
the options Beam knows.

Every command that runs Beam (the CSV conversion, both runners, the benchmarks) passes
the flags it does not know to Beam: `--runner`, `--direct_num_workers`, the Dataflow,
Flink and Spark options. Beam drops an option it does not know with a warning, so a
misspelled flag of the command (`--mae_bound` for `--mae-bound`) would silently keep
its default; `parse_args_and_beam_args` refuses it instead.

Beam's flags are read from OPTION_FLAGS_FILE, a list written from the installed Beam
(`python -m cli.beam_flags`), so that a command refuses a bad flag without Beam's seconds
of start-up; a test compares it with the installed Beam's, so an upgrade that adds or
removes an option says to rewrite it.
"""
import argparse
import difflib
import os
from typing import List, Sequence, Tuple

OPTION_FLAGS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "beam_option_flags.txt")


# Options of Beam's Java Flink runner (FlinkPipelineOptions) that the Python SDK does not
# define but passes to the job server (--engine flink sets the first itself).
FLINK_JOB_SERVER_FLAGS = ("--execution_mode_for_batch", "--checkpointing_interval",
                          "--object_reuse", "--max_bundle_size", "--max_bundle_time_mills",
                          "--number_of_execution_retries", "--execution_retry_delay")


def beam_option_flags() -> List[str]:
  """Every flag of Beam's pipeline options, as OPTION_FLAGS_FILE lists them."""
  with open(OPTION_FLAGS_FILE) as lines:
    return [line.strip() for line in lines if line.startswith("-")]


def installed_beam_option_flags() -> List[str]:
  """Every flag the installed Beam's pipeline options define, collected as Beam's own
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
  """The command's own flags, and the rest as Beam pipeline options. Raises ValueError
  naming an unknown flag and the nearest known one."""
  args, rest = parser.parse_known_args(argv)
  beam_flags = beam_option_flags() + list(FLINK_JOB_SERVER_FLAGS)
  for arg in rest:
    flag = arg.split("=", 1)[0]
    if flag.startswith("-") and flag not in beam_flags:
      own = list(parser._option_string_actions)  # pylint: disable=protected-access
      near = difflib.get_close_matches(flag, own + beam_flags, n=1, cutoff=0.6)
      raise ValueError(f"unknown flag {flag}: not one of this command's (--help) nor a Beam "
                       "pipeline option" + (f"; did you mean {near[0]}?" if near else ""))
  return args, rest


if __name__ == "__main__":  # rewrites OPTION_FLAGS_FILE from the installed Beam
  with open(OPTION_FLAGS_FILE, "w") as out:
    out.write("# Beam's pipeline option flags: python -m cli.beam_flags rewrites this list\n")
    out.write("".join(f"{flag}\n" for flag in installed_beam_option_flags()))
