"""Pipeline runs as ML Metadata recorded them: per component, state, wall time, outputs.

LocalDagRunner records every run in the SQLite MLMD store under the pipeline root. The
runner's final report, the tests and the benchmarks read runs back from here instead of
guessing at folder layouts, and TFMA's output is read with TFMA's own loaders.
"""
import dataclasses
import types
from typing import Dict, List, Optional, Tuple, Union

import tensorflow_model_analysis as tfma
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.types import standard_component_specs as keys
from tfx.utils import path_utils

from components import pusher
from components import ranking_evaluator
from components import reference_models
from pipeline import evaluation
from pipeline import nodes
from results.store import NODE_CONTEXT, RUN_CONTEXT, connect  # noqa: F401  (runs.connect)
from trainer import summary as training_summary

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


@dataclasses.dataclass(frozen=True)
class Outcome:
  """A run's results: what the Trainer chose, what the Evaluator decided, where the Pusher
  put the model, the ranking. The runner's summary, the report and the benchmarks read
  a run through this one reader."""
  evaluation_uri: str
  mae: float                    # the candidate's eval MAE, overall
  baseline_mae: Optional[float]  # the last blessed model's, on the same data; None: none
  # The gate's noise margin on the change in MAE (pipeline.config.GateConfig), in MAE;
  # None without a baseline.
  noise: Optional[float]
  blessed: bool
  failures: List[str]           # why not blessed: each failed threshold, readable
  pushed_to: Optional[str]      # the pushed version's folder; None: not pushed
  # What the Trainer chose on the validation split: the kept epoch (1-based) and its MAE
  # and RMSE there. Beside the eval MAE, it shows how far the choice flattered the model.
  training: Dict[str, object]
  model_dir: str                # the Trainer's exported SavedModel, blessed or not
  model_run_uri: str            # the Trainer's TensorBoard logs and training summary
  ranking: Optional[Dict[str, object]]  # the RankingEvaluator's result; None: none ran
  # ReferenceModels' eval MAE of each reference predictor; None: none ran (older runs)
  references: Optional[Dict[str, Dict[str, float]]] = None


SliceKey = Tuple[Tuple[str, Union[str, int, float]], ...]  # () is the overall slice


def _slice_key(per_slice) -> SliceKey:
  return tuple((key.column, getattr(key, key.WhichOneof("kind")))
               for key in per_slice.slice_key.single_slice_keys)


def metrics_by_slice(evaluation_uri: str) -> Dict[SliceKey, Dict[str, Dict[str, float]]]:
  """{slice: {model name: {metric name: value}}}, as TFMA wrote them.

  The model name is "" when there was no baseline, else "candidate" or "baseline".
  """
  metrics: Dict[SliceKey, Dict[str, Dict[str, float]]] = {}
  for per_slice in tfma.load_metrics(evaluation_uri):
    by_model = metrics.setdefault(_slice_key(per_slice), {})
    for entry in per_slice.metric_keys_and_values:
      if not entry.key.is_diff:
        by_model.setdefault(entry.key.model_name, {})[entry.key.name] = (
            entry.value.double_value.value)
  return metrics


@dataclasses.dataclass(frozen=True)
class CalibrationBucket:
  """One bucket of the Evaluator's calibration plot: rows whose prediction is in [low, high)."""
  low: float
  high: float
  examples: float
  mean_prediction: float
  mean_label: float


def calibration(evaluation_uri: str, model_name: str = "candidate") -> List[CalibrationBucket]:
  """The overall slice's calibration plot (pipeline.evaluation's only plot), its non-empty
  buckets in order; `model_name` as in metrics_by_slice ("" is used when there was no baseline)."""
  for per_slice in tfma.load_plots(evaluation_uri):
    if _slice_key(per_slice):
      continue
    for entry in per_slice.plot_keys_and_values:  # TFMA leaves plot keys' names empty
      if (entry.value.HasField("calibration_histogram_buckets")
          and entry.key.model_name in (model_name, "")):
        return [CalibrationBucket(
                    bucket.lower_threshold_inclusive, bucket.upper_threshold_exclusive,
                    bucket.num_weighted_examples.value,
                    bucket.total_weighted_refined_prediction.value
                    / bucket.num_weighted_examples.value,
                    bucket.total_weighted_label.value / bucket.num_weighted_examples.value)
                for bucket in entry.value.calibration_histogram_buckets.buckets
                if bucket.num_weighted_examples.value > 0]
  return []


def overall_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
  """{model name: {metric name: value}} on the overall slice."""
  return metrics_by_slice(evaluation_uri)[()]


def candidate(by_model: Dict[str, Dict[str, float]]) -> Dict[str, float]:
  return by_model.get("candidate", by_model.get("", {}))


def gate_noise(metrics: Dict[str, Dict[str, float]]) -> Optional[float]:
  """The noise margin the gate applied to the change in MAE (None without a baseline)."""
  if "baseline" not in metrics or evaluation.GATED_CHANGE_METRIC not in metrics["candidate"]:
    return None
  candidate_metrics = metrics["candidate"]
  return abs(candidate_metrics[evaluation.GATED_CHANGE_METRIC]
             - candidate_metrics[evaluation.GATED_METRIC])


def _change_failure(metrics: Dict[str, Dict[str, float]], judged: float, allowed: float
                    ) -> str:
  mae, baseline = metrics["candidate"][evaluation.GATED_METRIC], metrics["baseline"][
      evaluation.GATED_METRIC]
  change, noise = mae - baseline, gate_noise(metrics)
  said = (f"eval MAE {mae:.4f} against the last blessed model's {baseline:.4f} on the same "
          f"rows: a change of {change:+.4f}, {judged:+.4f} after the noise margin of "
          f"{noise:.4f}")
  if judged < change:  # the benefit of the doubt: refused only when surely worse
    return f"{said}; worse beyond noise (at most {allowed:+g} allowed)"
  return f"{said}; not better beyond noise (at most {allowed:+g} required)"


def threshold_failures(evaluation_uri: str, metrics: Dict[str, Dict[str, float]]
                       ) -> List[str]:
  """Each threshold the candidate failed, as a sentence; `metrics`: overall_metrics."""
  failures = []
  result = tfma.load_validation_result(evaluation_uri)
  for per_slice in result.metric_validations_per_slice:
    for failure in per_slice.failures:
      name, value = failure.metric_key.name, failure.metric_value.double_value.value
      threshold = failure.metric_threshold
      if threshold.HasField("value_threshold"):
        failures.append(f"eval MAE {value:.4f} is above the bound "
                        f"{threshold.value_threshold.upper_bound.value:g}")
      elif name == evaluation.GATED_CHANGE_METRIC:
        failures.append(_change_failure(metrics, value, threshold.change_threshold.absolute.value))
      else:
        failures.append(f"{name} is {value:+.4f} against the last blessed model; at most "
                        f"{threshold.change_threshold.absolute.value:+g} is allowed")
  return failures


def already_serving(runs: Dict[str, ComponentRun]) -> bool:
  """Whether the run's blessed model was being served already, so the Pusher made no
  new version (components.pusher); False for a run without a Pusher."""
  if nodes.PUSHER not in runs:
    return False
  pushed = runs[nodes.PUSHER].output(keys.PUSHED_MODEL_KEY)
  return bool(pushed.custom_properties[pusher.ALREADY_SERVING].int_value)


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


def outcome(runs: Dict[str, ComponentRun]) -> Outcome:
  """The results of a run that got as far as the Evaluator; raises LookupError if not."""
  if nodes.EVALUATOR not in runs:
    raise LookupError("the run has no Evaluator execution (it stopped earlier)")
  evaluator, trainer = runs[nodes.EVALUATOR], runs[nodes.TRAINER]
  evaluation_uri = evaluator.output(keys.EVALUATION_KEY).uri
  blessing = evaluator.output(keys.BLESSING_KEY)
  metrics = overall_metrics(evaluation_uri)
  baseline = metrics.get("baseline", {})
  pushed = runs[nodes.PUSHER].output(keys.PUSHED_MODEL_KEY)
  model_run_uri = trainer.output(keys.MODEL_RUN_KEY).uri
  ranking = runs.get(nodes.RANKING_EVALUATOR)
  references = runs.get(nodes.REFERENCE_MODELS)
  return Outcome(
      evaluation_uri=evaluation_uri,
      mae=candidate(metrics)[evaluation.GATED_METRIC],
      baseline_mae=baseline.get(evaluation.GATED_METRIC),
      noise=gate_noise(metrics),
      blessed=bool(blessing.custom_properties[BLESSED].int_value),
      failures=threshold_failures(evaluation_uri, metrics),
      pushed_to=(pushed.custom_properties[PUSHED_DESTINATION].string_value
                 if pushed.custom_properties[PUSHED].int_value else None),
      training=training_summary.read(model_run_uri),
      model_dir=path_utils.serving_model_path(trainer.output(keys.MODEL_KEY).uri),
      model_run_uri=model_run_uri,
      ranking=(ranking_evaluator.read_result(ranking.output(ranking_evaluator.RANKING_KEY).uri)
               if ranking else None),
      references=(reference_models.read_result(
          references.output(reference_models.REFERENCES_KEY).uri)
                  if references and reference_models.REFERENCES_KEY in references.outputs
                  else None))
