"""What a local run prints at its end: each component's wall time from ML Metadata, the
drift, the validation and eval MAE, the ranking, the report and the push."""
import os

from tfx.types import standard_component_specs as keys

from cli.console import Console
from components import anomaly_gate
from components import ranking_metrics
from components import reference_models
from pipeline import nodes
from pipeline.config import PipelineConfig
from results import report_page
from results import runs
from results import timeline
from trainer import summary as training_summary
from transform import features as f


def shown(path: str) -> str:
  """A path as the summary prints it: relative to this folder when under it (the runner
  records every path absolute), else whole."""
  relative = os.path.relpath(path)
  return path if relative.startswith("..") else relative


def print_drift(components, console: Console) -> None:
  validator = components.get(nodes.DISTRIBUTION_VALIDATOR)
  if validator is None:
    return
  drifted = anomaly_gate.read_drift(runs.mlmd_artifact(validator.output(keys.ANOMALIES_KEY)),
                                    timeline.ingested_span(components))
  console.say("drift and skew: " + ("none over the schema's thresholds" if not drifted else
                                    "\n  " + "\n  ".join(drifted)))


def print_summary(config: PipelineConfig, console: Console, run_id: str) -> None:
  """Run `run_id`'s per-component wall time from ML Metadata, then the drift, the
  evaluation and the push (a span's first run, with nothing to train on, stops after the
  drift)."""
  components = runs.component_runs(runs.connect(config.metadata_path), run_id)
  say = console.say
  say("\ncomponent                        state       wall time")
  for run in components.values():
    say(f"  {run.component:<30} {run.state:<10} {run.seconds:8.1f} s")
  say(f"  {'total':<30} {'':<10} {sum(r.seconds for r in components.values()):8.1f} s")
  print_drift(components, console)
  if nodes.EVALUATOR not in components:
    say(f"span {config.span} ingested and checked; later runs train on it")
    return
  result = runs.outcome(components)
  baseline = (f"last blessed model {result.baseline_mae:.4f} on the same rows: change "
              f"{result.mae - result.baseline_mae:+.4f}, noise margin {result.noise:.4f}"
              if result.baseline_mae is not None else "no blessed model before this one")
  say(f"\nvalidation MAE {result.training['validation_mae']:.4f} (the Trainer kept epoch "
      f"{result.training['kept_epoch']} of the {result.training['epochs_run']} it ran"
      + (f"; the last: {training_summary.LAST_EPOCH_MEANING})"
         if training_summary.kept_the_last_epoch(result.training) else ")"))
  warm = result.training.get("warm_start")
  if warm:
    say("warm start from the last blessed model: " + (
        f"none ({warm['skipped']})" if "skipped" in warm else "; ".join(
            f"{name} {rows['carried']:,} rows carried by id, {rows['new']:,} new, "
            f"{rows['left']:,} left" for name, rows in warm["vocabularies"].items()
            if name in (f.MOVIE_VOCAB, f.USER_VOCAB))))
  say(f"eval MAE {result.mae:.4f} ({baseline}; bound {config.gate.mae_upper_bound:g})")
  if result.references:
    say(reference_models.describe(result.references))
  say(f"evaluation: {shown(result.evaluation_uri)}")
  if result.ranking:
    say(ranking_metrics.describe(result.ranking))
  say(f"report: {shown(report_page.write_report(config.metadata_path, run_id))}")
  if result.blessed and runs.already_serving(components):
    say(f"BLESSED, and already serving as {shown(result.pushed_to)}: no new version")
  elif result.blessed:
    say(f"BLESSED and pushed to {shown(result.pushed_to)}")
  else:
    say("NOT BLESSED, not pushed:\n  " + "\n  ".join(result.failures))
