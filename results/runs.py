"""Pipeline runs' results, read back from ML Metadata and the artifacts it points to.

LocalDagRunner records every run in the SQLite MLMD store under the pipeline root. The
runner's final report, the tests and the benchmarks read runs back from here instead of
guessing at folder layouts: each component's execution (results.executions), the
Evaluator's metrics (results.metrics_file), and its plots and validation with TFMA's own
loaders. Their readers are named here too, as runs.component_runs and so on.
"""
import dataclasses
from typing import Dict, List, Optional

import tensorflow_model_analysis as tfma
from tfx.types import standard_component_specs as keys
from tfx.utils import path_utils

from components import pusher
from components import ranking_evaluator
from components import reference_models
from pipeline import evaluation
from pipeline import nodes
from results import executions
from results import metrics_file
from results.executions import (  # noqa: F401  (runs.component_runs, ... for their readers)
    ComponentRun, component_runs, file_safe, mlmd_artifact, run_ids, why_no_evaluation)
from results.metrics_file import (  # noqa: F401  (runs.metrics_by_slice, ...)
    SliceKey, candidate, metrics_by_slice, overall_metrics)
from results.store import connect  # noqa: F401  (runs.connect)
from trainer import summary as training_summary


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
    if metrics_file.slice_key(per_slice):
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


def outcome(runs: Dict[str, ComponentRun]) -> Outcome:
  """The results of a run that got as far as the Evaluator; raises LookupError if not."""
  if nodes.EVALUATOR not in runs:
    raise LookupError("the run has no Evaluator execution (it stopped earlier)")
  evaluator, trainer = runs[nodes.EVALUATOR], runs[nodes.TRAINER]
  evaluation_uri = evaluator.output(keys.EVALUATION_KEY).uri
  metrics = overall_metrics(evaluation_uri)
  baseline = metrics.get("baseline", {})
  model_run_uri = trainer.output(keys.MODEL_RUN_KEY).uri
  ranking = runs.get(nodes.RANKING_EVALUATOR)
  references = runs.get(nodes.REFERENCE_MODELS)
  return Outcome(
      evaluation_uri=evaluation_uri,
      mae=candidate(metrics)[evaluation.GATED_METRIC],
      baseline_mae=baseline.get(evaluation.GATED_METRIC),
      noise=gate_noise(metrics),
      blessed=executions.blessed(runs),
      failures=threshold_failures(evaluation_uri, metrics),
      pushed_to=executions.pushed_to(runs),
      training=training_summary.read(model_run_uri),
      model_dir=path_utils.serving_model_path(trainer.output(keys.MODEL_KEY).uri),
      model_run_uri=model_run_uri,
      ranking=(ranking_evaluator.read_result(ranking.output(ranking_evaluator.RANKING_KEY).uri)
               if ranking else None),
      references=(reference_models.read_result(
          references.output(reference_models.REFERENCES_KEY).uri)
                  if references and reference_models.REFERENCES_KEY in references.outputs
                  else None))
