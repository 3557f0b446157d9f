"""`bin/report --list`: one line per run, read from ML Metadata and the Evaluator's
metrics file alone, so that the list answers without TensorFlow's start-up."""
import time

from pipeline import metric_names
from pipeline import nodes
from results import executions
from results import metrics_file
from results import store


def verdict(components) -> str:
  """The gate's verdict and where the Pusher put the model (one run's components)."""
  if not executions.blessed(components):
    return "not blessed"
  destination = executions.pushed_to(components)
  return f"blessed, pushed to {destination}" if destination else "blessed"


def run_list(metadata_path: str) -> str:
  """One line per run, oldest first: id, start, eval MAE and the gate's verdict."""
  mlmd = store.connect(metadata_path)
  lines = [f"{'run':<28} {'started':<19}  {'eval MAE':>8}  verdict"]
  for run_id in executions.run_ids(mlmd):
    components = executions.component_runs(mlmd, run_id)
    started = min((r.end_time - r.seconds for r in components.values()), default=0)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    if nodes.EVALUATOR not in components:  # stopped before it: a failure, drift, span 0
      lines.append(f"{run_id:<28} {when:<19}  {'-':>8}  "
                   f"{executions.why_no_evaluation(components)}")
      continue
    evaluation_uri = components[nodes.EVALUATOR].output(executions.EVALUATION_KEY).uri
    mae = metrics_file.candidate(metrics_file.overall_metrics(evaluation_uri))[metric_names.MAE]
    lines.append(f"{run_id:<28} {when:<19}  {mae:8.4f}  {verdict(components)}")
  return "\n".join(lines)
