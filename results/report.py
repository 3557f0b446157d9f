"""The report's command: lists a store's runs, or writes one run's HTML report.

    python -m results.report                      # the latest run in outputs/tfx
    python -m results.report --list               # every run: date, eval MAE, blessed
    python -m results.report --run RUN_ID --output report.html
    python -m results.report --output-dir DIR     # a run of local_runner.py --output-dir DIR

The page itself is results/report_page.py, loaded after the flags are read: --help and
--list (results/run_list.py) answer at once, without TensorFlow's start-up.
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import logging
import os
from typing import Sequence

from cli import entry_point
from cli.layout import DEFAULT_LAYOUT, DEFAULT_OUTPUT_DIR, LocalLayout


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  where = parser.add_mutually_exclusive_group()
  where.add_argument("--output-dir", help="the runner's --output-dir (default "
                     f"{DEFAULT_LAYOUT.output_dir}): its runs are in tfx/metadata.sqlite")
  where.add_argument("--metadata", help="or the pipeline's MLMD file itself (default "
                     f"{DEFAULT_LAYOUT.metadata_path})")
  parser.add_argument("--run", help="a run id (default: the latest run)")
  parser.add_argument("--output", help="the HTML file (default <pipeline root>/reports/<run>.html)")
  parser.add_argument("--list", action="store_true",
                      help="list the runs (date, eval MAE, blessed) and stop")
  entry_point.add_debug_flag(parser, beam=False)
  args = parser.parse_args(argv)
  args.metadata = (args.metadata
                   or LocalLayout(args.output_dir or DEFAULT_OUTPUT_DIR).metadata_path)
  return args


def main(argv: Sequence[str]) -> None:
  args = parse_args(argv)
  if not os.path.isfile(args.metadata):
    raise FileNotFoundError(f"no metadata at {args.metadata}: run the pipeline first "
                            "(bin/run), or name its folder with --output-dir")
  if args.list:
    from results import run_list  # pylint: disable=g-import-not-at-top
    print(run_list.run_list(args.metadata))
    return
  # TFMA's readers use TensorFlow APIs it deprecates, and TensorFlow says so on every call.
  logging.getLogger("tensorflow").setLevel(logging.ERROR)
  from results import report_page  # pylint: disable=g-import-not-at-top
  print(report_page.write_report(args.metadata, args.run, args.output))


def command() -> None:
  """The command, as `python -m results.report` and as setup.py's installed script."""
  entry_point.run(main)


if __name__ == "__main__":
  command()
