"""bin/flink install|start|stop|status: the local Flink cluster that `--engine flink` runs
the pipeline's Beam stages on (docs/scaling_out.md).

    bin/flink start     # installs once (PyFlink's Flink, Beam's job server), then starts
                        # a JobManager, the TaskManagers and the job server on localhost
    bin/flink status    # each process, its pid and port, and whether it answers
    bin/flink stop      # ends exactly the processes `start` started
    bin/flink cancel-all  # cancels the running jobs (a killed run's job keeps its slots)

The engine lives in $BST_FLINK_HOME (default ~/.cache/bst-movielens/flink), outside the
venv and out of git.
"""
import argparse
from typing import List

from cli import entry_point
from engines.flink import cluster as flink_cluster
from engines.flink import install as flink_install
from engines.flink import settings


def main(argv: List[str]) -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("command", choices=("install", "start", "stop", "status", "cancel-all"))
  entry_point.add_debug_flag(parser, beam=False)
  args = parser.parse_args(argv)
  layout, cluster = settings.Layout(settings.home()), settings.Cluster()
  if args.command in ("install", "start") and not flink_install.up_to_date(layout):
    flink_cluster.check_stopped(layout, cluster)  # its JVMs run from the installed files
    flink_install.install(layout)
  if args.command == "start":
    flink_cluster.start(layout, cluster)
  elif args.command == "stop":
    flink_cluster.stop(layout, cluster)
  elif args.command == "cancel-all":
    flink_cluster.cancel_running_jobs(cluster)
  elif args.command == "status":
    state = flink_cluster.processes(layout, cluster)
    for process in state:
      print(process.line())
    for job in flink_cluster.running_jobs(cluster):
      print(f"job {job['name']} ({job['jid']}): {job['state']} for "
            f"{job['duration'] / 1000:.0f} s")
    if not all(process.answers for process in state):
      raise flink_cluster.EngineError("the cluster is not whole: bin/flink stop, then "
                                      "bin/flink start")


if __name__ == "__main__":
  entry_point.run(main, expected=(flink_cluster.EngineError, flink_install.InstallError))
