"""The production timeline as ML Metadata recorded it: one line per span's run.

In span mode each pipeline run ingests one span (pipeline.definition). `span_runs` finds,
for each span, the last run that ingested it and went to its end, and reads what it did
from its artifacts: the rows ingested, the drift found, the kept epoch's validation MAE,
the candidate's and the last blessed model's eval MAE on that span, the blessing and the
push. The wall time of a component whose outputs were reused from cache is that of the
run that made them, so a replay resumed after an interruption reads as the whole.
The local runner's replay prints this table; the report shows it.
"""
import dataclasses
import os
from typing import Dict, List, Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.types import standard_component_specs as keys

from components import anomaly_gate
from components import span_executors
from pipeline import nodes
from results import runs
from trainer import summary as training_summary

DONE = ("COMPLETE", "CACHED")


@dataclasses.dataclass(frozen=True)
class SpanRun:
  span: int
  run_id: str
  rows: int                      # examples ingested (StatisticsGen's count)
  drift: List[str]               # the DistributionValidator's findings; [] none
  compared: bool                 # False: no earlier span to compare with
  outcome: Optional[runs.Outcome]  # None: the first span (nothing earlier to train on)
  already_serving: bool          # blessed, but that very model was served already
  seconds: float                 # the run's components, cached ones at their first run

  def line(self) -> str:
    """The replay's line for this span."""
    drift = ("-" if not self.compared else "none" if not self.drift
             else f"{len(self.drift)} over")
    head = f"{self.span:>4} {self.rows:>9,} {drift:>7}"
    result = self.outcome
    if result is None:
      return f"{head}   ingested and checked; nothing earlier to train on{self.seconds:>32.0f} s"
    training = result.training
    baseline = f"{result.baseline_mae:.4f}" if result.baseline_mae is not None else "-"
    version = ("-" if not result.pushed_to else
               f"={result.pushed_to.rstrip('/').rsplit('/', 1)[-1]}" if self.already_serving
               else result.pushed_to.rstrip("/").rsplit("/", 1)[-1])
    last = "*" if training_summary.kept_the_last_epoch(training) else " "
    return (f"{head}   {training['validation_mae']:.4f} ({training['kept_epoch']:>2} of "
            f"{training['epochs_run']:>2}){last} {result.mae:.4f}  {baseline:>8}  "
            f"{'yes' if result.blessed else 'no':>7}  {version:>11} {self.seconds:>6.0f} s")


HEADER = ("span      rows   drift   validation MAE   eval MAE  blessed's  blessed  "
          "pushed       wall\n"
          "                         (kept epoch)     candidate  eval MAE")


def _first_run_seconds(store: metadata_store.MetadataStore, run: runs.ComponentRun) -> float:
  """A cached component's time when it made the outputs it reuses; else its own."""
  if run.state != "CACHED" or not run.outputs:
    return run.seconds
  artifact = next(iter(run.outputs.values()))[0]
  producers = [event.execution_id for event in store.get_events_by_artifact_ids([artifact.id])
               if event.type == metadata_store_pb2.Event.OUTPUT]
  executions = [e for e in store.get_executions_by_id(producers)
                if e.last_known_state == metadata_store_pb2.Execution.COMPLETE]
  if not executions:
    return run.seconds
  first = min(executions, key=lambda e: e.id)
  return (first.last_update_time_since_epoch - first.create_time_since_epoch) / 1000


def ingested_span(components: Dict[str, runs.ComponentRun]) -> int:
  """The span a run's CsvExampleGen ingested (0 for a one-span run)."""
  examples = components[nodes.EXAMPLE_GEN].output(keys.EXAMPLES_KEY)
  return examples.custom_properties[span_executors.SPAN_PROPERTY].int_value


def _span_run(store, run_id: str, components: Dict[str, runs.ComponentRun]) -> SpanRun:
  span = ingested_span(components)
  statistics = components[nodes.STATISTICS_GEN].output(keys.STATISTICS_KEY)
  validator = components.get(nodes.DISTRIBUTION_VALIDATOR)
  drift = (anomaly_gate.read_drift(runs.mlmd_artifact(validator.output(keys.ANOMALIES_KEY)), span)
           if validator else [])
  trained = nodes.EVALUATOR in components
  return SpanRun(
      span=span, run_id=run_id,
      rows=sum(anomaly_gate.example_counts(runs.mlmd_artifact(statistics)).values()),
      drift=drift, compared=validator is not None and span > 0,
      outcome=runs.outcome(components) if trained else None,
      already_serving=trained and runs.already_serving(components),
      seconds=sum(_first_run_seconds(store, run) for run in components.values()))


def runs_done(metadata_path: str) -> Dict[int, SpanRun]:
  """span_runs of the store at metadata_path; none if there is no store yet."""
  if not os.path.exists(metadata_path):
    return {}
  return span_runs(runs.connect(metadata_path))


def span_runs(store: metadata_store.MetadataStore) -> Dict[int, SpanRun]:
  """Each span's last run that went to its end, by span."""
  found: Dict[int, SpanRun] = {}
  for run_id in runs.run_ids(store):
    components = runs.component_runs(store, run_id)
    if nodes.EXAMPLE_GEN not in components or any(
        run.state not in DONE for run in components.values()):
      continue
    last = nodes.PUSHER if nodes.TRANSFORM in components else nodes.ANOMALY_GATE
    if last not in components:
      continue
    examples = components[nodes.EXAMPLE_GEN].output(keys.EXAMPLES_KEY)
    if span_executors.SPAN_PROPERTY not in examples.custom_properties:
      continue  # a one-span run
    span_run = _span_run(store, run_id, components)
    found[span_run.span] = span_run
  return found


LAST_EPOCH_NOTE = f"* the kept epoch was the last: {training_summary.LAST_EPOCH_MEANING}"


def table(by_span: Dict[int, SpanRun]) -> str:
  notes = [LAST_EPOCH_NOTE] if any(
      run.outcome and training_summary.kept_the_last_epoch(run.outcome.training)
      for run in by_span.values()) else []
  return "\n".join([HEADER, *(by_span[span].line() for span in sorted(by_span)), *notes])
