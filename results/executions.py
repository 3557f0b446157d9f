"""A pipeline run's component executions as ML Metadata records them: per component, its
state, wall time and outputs. Read with ml_metadata alone (no TFX, no TensorFlow), so that
`bin/report --list` answers at once; results/runs.py reads each run's results from them.
"""
import dataclasses
import types
from typing import Dict, List, Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import nodes
from results.store import NODE_CONTEXT, RUN_CONTEXT

# Output keys of TFX's Evaluator and Pusher (tfx.types.standard_component_specs, whose
# import loads TensorFlow; tests/test_executions.py holds them equal).
EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
PUSHED_MODEL_KEY = "pushed_model"
# Custom properties TFX's Evaluator and Pusher set on their output artifacts.
BLESSED = "blessed"
PUSHED = "pushed"
PUSHED_DESTINATION = "pushed_destination"


@dataclasses.dataclass(frozen=True)
class ComponentRun:
  component: str  # the node id: "Trainer", "latest_blessed_model_resolver", ...
  state: str      # "COMPLETE", "CACHED" (outputs reused), "FAILED", "RUNNING", ...
  seconds: float  # wall time MLMD recorded from start to last update
  end_time: float  # Unix seconds of the last update
  outputs: Dict[str, List[metadata_store_pb2.Artifact]]  # output key -> artifacts
  execution_id: int = 0  # MLMD's execution: its events give the inputs

  def output(self, key: str) -> metadata_store_pb2.Artifact:
    artifacts = self.outputs.get(key, [])
    if len(artifacts) != 1:
      raise LookupError(f"{self.component} has {len(artifacts)} '{key}' outputs, not one")
    return artifacts[0]


def mlmd_artifact(artifact) -> types.SimpleNamespace:
  """An MLMD artifact with what the components' readers take of a TFX artifact."""
  return types.SimpleNamespace(
      uri=artifact.uri, split_names=artifact.properties["split_names"].string_value)


def run_ids(store: metadata_store.MetadataStore) -> List[str]:
  """Every pipeline run in the store, oldest first."""
  runs = sorted(store.get_contexts_by_type(RUN_CONTEXT), key=lambda c: c.create_time_since_epoch)
  return [run.name for run in runs]


def file_safe(run_id: str) -> str:
  """A run id as a file name and a TensorBoard run name: TFX's own ids (LocalDagRunner's
  clock, as in runs before local_runner named them) hold ':', which neither allows."""
  return run_id.replace(":", ".")


def component_runs(store: metadata_store.MetadataStore,
                   run_id: Optional[str] = None) -> Dict[str, ComponentRun]:
  """The components of one run (the latest by default), in the order they started."""
  run_id = run_id or run_ids(store)[-1]
  context = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
  if context is None:
    raise LookupError(f"no pipeline run {run_id!r} in this metadata store")
  executions = sorted(store.get_executions_by_context(context.id),
                      key=lambda e: (e.create_time_since_epoch, e.id))
  events = store.get_events_by_execution_ids([e.id for e in executions])
  outputs = [e for e in events if e.type == metadata_store_pb2.Event.OUTPUT]
  artifacts = {a.id: a for a in store.get_artifacts_by_id({e.artifact_id for e in outputs})}
  runs = {}
  for execution in executions:
    node, = (c.name for c in store.get_contexts_by_execution(execution.id)
             if c.type == NODE_CONTEXT)
    component = node.split(".", 1)[1]  # "<pipeline name>.<node id>"
    by_key: Dict[str, List[metadata_store_pb2.Artifact]] = {}
    for event in outputs:
      if event.execution_id == execution.id:
        by_key.setdefault(event.path.steps[0].key, []).append(artifacts[event.artifact_id])
    runs[component] = ComponentRun(
        component=component,
        state=metadata_store_pb2.Execution.State.Name(execution.last_known_state),
        seconds=(execution.last_update_time_since_epoch
                 - execution.create_time_since_epoch) / 1000,
        end_time=execution.last_update_time_since_epoch / 1000,
        outputs=by_key, execution_id=execution.id)
  return runs


def why_no_evaluation(runs: Dict[str, ComponentRun]) -> str:
  """Why a run has no Evaluator execution, in a few words: where it failed or stopped,
  or that it ran whole without one (span 0: nothing earlier to train on)."""
  gate = runs.get(nodes.ANOMALY_GATE)
  if gate and gate.state == "FAILED":
    return "stopped by the AnomalyGate: anomalies, lost rows or drift (the run's log)"
  for state, said in (("FAILED", "failed at"), ("RUNNING", "interrupted at"),
                      ("NEW", "interrupted at")):
    stopped = [run.component for run in runs.values() if run.state == state]
    if stopped:
      return f"{said} {stopped[0]}"
  return "ingested and checked; nothing to train on"


def blessed(components: Dict[str, ComponentRun]) -> bool:
  """Whether the run's Evaluator blessed its model."""
  blessing = components[nodes.EVALUATOR].output(BLESSING_KEY)
  return bool(blessing.custom_properties[BLESSED].int_value)


def pushed_to(components: Dict[str, ComponentRun]) -> Optional[str]:
  """Where the run's Pusher put its model; None when it pushed nothing."""
  pushed = components[nodes.PUSHER].output(PUSHED_MODEL_KEY)
  if not pushed.custom_properties[PUSHED].int_value:
    return None
  return pushed.custom_properties[PUSHED_DESTINATION].string_value
