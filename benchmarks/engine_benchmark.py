"""The Beam stages on each engine: the DirectRunner in process, then the local Flink
cluster (bin/flink, engines.flink.settings.Cluster), on the same generated data, one after
the other in one session.

    bin/flink start && python -m benchmarks.engine_benchmark            # ml-1m's size
    python -m benchmarks.engine_benchmark --scale 0.1                   # minutes

Each engine runs `local_runner.py --data-dir <the data> --engine E --epochs 1 --no-cache`
(one epoch: the Trainer, the same on both, is not what is compared) in a folder of its
own. Prints, and writes to docs/benchmarks/engine_benchmark.md, each Beam stage's wall
time on both engines with their ratio, beside Flink's own job time (REST API: what the
cluster spent running the job; the rest is submission and staging), and the peak memory
of the whole process tree, the cluster's JVMs included. Target: Flink's Beam stages
within 2x the DirectRunner's.
"""
from benchmarks import common  # first: the process environment

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

from cli import entry_point
import engines
from engines.flink import cluster as flink_cluster
from engines.flink import settings as flink_settings
from pipeline import nodes
from pipeline.config import CONVERSION_STAGE, PipelineConfig, beam_job_name

BEAM_STAGES = (CONVERSION_STAGE, nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.TRANSFORM,
               nodes.EVALUATOR)
TARGET_RATIO = 2.0


def run_engine(engine: str, data_dir: str, output_dir: str) -> Tuple[Dict[str, float], int]:
  """(stage -> wall seconds, peak bytes) of one runner run on `engine`."""
  cluster_pids = [process.pid for process in flink_cluster.processes(
      flink_settings.Layout(flink_settings.home()), flink_settings.Cluster())
                  if process.pid] if engine == "flink" else []
  command = [sys.executable, os.path.join(common.REPO, "local_runner.py"), "--data-dir",
             data_dir, "--engine", engine, "--epochs", "1", "--no-cache", "--output-dir",
             output_dir]
  with common.PeakMemory(interval=0.5, others=cluster_pids) as memory:
    result = subprocess.run(command, capture_output=True, text=True)
  if result.returncode:
    raise common.RunFailed(f"the {engine} run failed (exit {result.returncode}): "
                       f"{result.stderr.strip()[-500:] or 'see its log under ' + output_dir}")
  conversion = re.search(r"CSV conversion \(Beam\).*\n(?:    \.\.\. .*\n)*    done in "
                         r"(\d+):(\d+)", result.stdout)
  seconds = {CONVERSION_STAGE: int(conversion.group(1)) * 60 + int(conversion.group(2))}
  from results import runs  # pylint: disable=g-import-not-at-top
  components = runs.component_runs(runs.connect(os.path.join(output_dir, "tfx",
                                                             "metadata.sqlite")))
  seconds.update({stage: components[stage].seconds for stage in BEAM_STAGES[1:]})
  return seconds, memory.peak


def flink_job_seconds(since_ms: float) -> Dict[str, float]:
  """Each stage's job time on the cluster (its REST API), for jobs started after
  `since_ms`."""
  names = {beam_job_name(PipelineConfig.pipeline_name, stage): stage for stage in BEAM_STAGES}
  found: Dict[str, float] = {}
  for job in flink_cluster.all_jobs(flink_settings.Cluster()):
    if job["start-time"] >= since_ms and job["name"] in names:
      stage = names[job["name"]]
      found[stage] = found.get(stage, 0) + job["duration"] / 1000
  return found


def main(argv: List[str]) -> None:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0,
                      help="generated data as a fraction of ml-1m (default 1)")
  parser.add_argument("--work-dir", help="where the runs go (default: a temporary folder)")
  common.add_page_flag(parser, "engine_benchmark")
  entry_point.add_debug_flag(parser)
  args = parser.parse_args(argv)
  flink_cluster.check_up(flink_settings.Cluster())
  work_dir = args.work_dir or tempfile.mkdtemp(prefix="engine-benchmark-")
  data_dir = common.generated_data(work_dir, args.scale)
  measured = {}
  for engine in engines.ENGINES:
    started = time.time() * 1000
    measured[engine] = run_engine(engine, data_dir, os.path.join(work_dir, engine))
    print(f"{engine}: {sum(measured[engine][0].values()):.0f} s of Beam stages", flush=True)
  jobs = flink_job_seconds(started)
  (direct, direct_peak), (flink, flink_peak) = measured["direct"], measured["flink"]
  lines = [f"{len(open(os.path.join(data_dir, 'ratings.dat')).readlines()):,} generated "
           f"ratings (scale {args.scale:g}); Flink {flink_settings.FLINK_VERSION}, "
           f"{flink_settings.Cluster().task_managers} TaskManager(s) of "
           f"{flink_settings.Cluster().slots} slots, parallelism "
           f"{flink_settings.Cluster().parallelism}, SDK workers as processes of the run.",
           "",
           "| Beam stage | DirectRunner (s) | Flink (s) | Flink / Direct | Flink's job time (s) |",
           "| --- | ---: | ---: | ---: | ---: |"]
  for stage in BEAM_STAGES:
    lines.append(f"| {stage} | {direct[stage]:.1f} | {flink[stage]:.1f} | "
                 f"{flink[stage] / direct[stage]:.2f} | {jobs.get(stage, 0):.1f} |")
  total_direct, total_flink = sum(direct.values()), sum(flink.values())
  ratio = total_flink / total_direct
  lines += [f"| **all** | {total_direct:.1f} | {total_flink:.1f} | **{ratio:.2f}** | "
            f"{sum(jobs.values()):.1f} |", "",
            f"Target: Flink's Beam stages at most {TARGET_RATIO:g}x the DirectRunner's: "
            f"{common.verdict(ratio <= TARGET_RATIO)} ({ratio:.2f}x).", "",
            f"Peak memory of the process tree: DirectRunner {direct_peak / common.GB:.2f} GB; "
            f"Flink {flink_peak / common.GB:.2f} GB, its SDK workers, JobManager, TaskManager "
            "and job server included."]
  common.publish(args.page, "Engine benchmark: the Beam stages on the DirectRunner and on "
                 "Flink", lines)


if __name__ == "__main__":
  entry_point.run(main, expected=(flink_cluster.EngineError, common.RunFailed))
