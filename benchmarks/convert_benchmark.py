"""Benchmark: the Beam CSV conversion at ml-1m scale (1,000,209 ratings).

    python benchmarks/convert_benchmark.py                 # generated ml-1m-scale data
    python benchmarks/convert_benchmark.py --scale 0.1     # quicker
    python benchmarks/convert_benchmark.py --data-dir DIR  # real MovieLens 1M

Prints wall time, peak memory of the whole process tree (Beam's worker processes
included) and throughput, next to the targets: <= 3 minutes and <= 4 GB on 2 cores.
Flags it does not know are Beam pipeline options (default: DirectRunner, multi-processing
on every core).
"""
import argparse
import os
import sys
import tempfile
import threading
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from movielens import convert  # noqa: E402
from movielens import generate  # noqa: E402

TARGET_SECONDS = 180
TARGET_PEAK_BYTES = 4 * 1024 ** 3
DEFAULT_BEAM_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]


class PeakMemory:
  """Samples the summed RSS of this process and all its descendants.

  Keeps every sample (Unix time, bytes), so the peak of any time window can be read back:
  the pipeline benchmark maps ML Metadata's per-component times onto it.
  """

  def __init__(self, interval: float = 0.1):
    self.peak = 0
    self.samples = []
    self._interval = interval
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._sample, daemon=True)

  def _sample(self):
    me = psutil.Process()
    while not self._stop.is_set():
      total = 0
      for process in [me] + me.children(recursive=True):
        try:
          total += process.memory_info().rss
        except psutil.Error:  # a worker exited between listing and reading
          pass
      self.peak = max(self.peak, total)
      self.samples.append((time.time(), total))
      self._stop.wait(self._interval)

  def peak_between(self, start: float, end: float) -> int:
    """The largest sample from `start` to `end` (Unix seconds); 0 if none fell inside."""
    return max((total for when, total in self.samples if start <= when <= end), default=0)

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0, help="generated data scale")
  parser.add_argument("--data-dir", help="convert this MovieLens folder instead")
  parser.add_argument("--work-dir", help="where data and CSV go (default: a temp dir)")
  args, beam_args = parser.parse_known_args()
  work_dir = args.work_dir or tempfile.mkdtemp(prefix="convert_benchmark_")
  data_dir = args.data_dir
  if not data_dir:
    config = generate.GeneratorConfig.scaled(args.scale)
    start = time.monotonic()
    data_dir = generate.generate_movielens(os.path.join(work_dir, "raw"), config)
    print(f"generated {config.num_ratings:,} ratings in {time.monotonic() - start:.1f} s")

  config = convert.ConversionConfig(input_dir=data_dir,
                                    output_dir=os.path.join(work_dir, "csv"))
  with PeakMemory() as memory:
    start = time.monotonic()
    summary = convert.run_conversion(config, beam_args or DEFAULT_BEAM_ARGS)
    seconds = time.monotonic() - start
  rows = summary["rows"]["train"] + summary["rows"]["eval"]
  print(f"machine: {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 1024 ** 3:.0f} GiB; "
        f"beam args: {' '.join(beam_args or DEFAULT_BEAM_ARGS)}")
  print(f"{'rows':<18}{rows:>12,}   (train {summary['rows']['train']:,}, "
        f"eval {summary['rows']['eval']:,}, skipped lines {summary['skipped_total']:,})")
  print(f"{'wall time':<18}{seconds:>12.1f} s  target <= {TARGET_SECONDS} s: "
        f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'}")
  print(f"{'peak memory':<18}{memory.peak / 1024 ** 3:>12.2f} GB target <= "
        f"{TARGET_PEAK_BYTES / 1024 ** 3:.0f} GB: "
        f"{'met' if memory.peak <= TARGET_PEAK_BYTES else 'MISSED'}")
  print(f"{'throughput':<18}{rows / seconds:>12,.0f} rows/s")


if __name__ == "__main__":
  main()
