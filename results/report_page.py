"""A static HTML report of one pipeline run, for people without Jupyter (its command:
results/report.py).

Everything comes from the run's own records: ML Metadata finds the artifacts; TFMA's
loaders read metrics, slices and the validation; the Trainer's TensorBoard events give
the training curve; the RankingEvaluator's ranking.json the ranking. Nothing is
recomputed. Charts are matplotlib PNGs embedded in the page, so the file stands alone.
"""
import base64
import html
import io
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # files, no display
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
from matplotlib import ticker  # pylint: disable=g-import-not-at-top
import tensorflow as tf
from tensorflow_model_analysis.writers import eval_config_writer

from components import ranking_metrics
from components import reference_models
from movielens import constants as c
from pipeline import evaluation
from pipeline import metrics as error_metrics
from pipeline import nodes
from results import runs
from results import timeline
from results import store as metadata
from transform import features as f

REPORT_DIR = "reports"  # under the pipeline root: reports/<run id>.html
# Each metric by one name wherever the page shows it, whether TFMA reports it by its name
# or the gate's config by its class.
METRIC_LABELS = {error_metrics.MAE: "MAE", error_metrics.MSE: "MSE",
                 error_metrics.RMSE: "RMSE", error_metrics.EXAMPLE_COUNT: "examples",
                 error_metrics.MEAN_LABEL: "mean true rating",
                 error_metrics.MEAN_PREDICTION: "mean predicted rating"}
OVERALL_METRICS = tuple(name for _, name in evaluation.METRICS if name in METRIC_LABELS)
# A slice with fewer eval rows has an MAE too noisy to set beside the others as a bar: it
# is listed in its table, not drawn.
MIN_DRAWN_EXAMPLES = 50
# Slice values as MovieLens's README names them, rather than its codes.
VALUE_LABELS = {c.AGE_GROUP: c.AGE_GROUP_LABELS, c.OCCUPATION: c.OCCUPATION_LABELS,
                c.SEX: {"F": "female", "M": "male"}}
TRAINING_CURVES = ("epoch_mae", "epoch_loss")  # Keras's TensorBoard tags


def _png(figure) -> str:
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
  plt.close(figure)
  return ('<img src="data:image/png;base64,'
          f'{base64.b64encode(buffer.getvalue()).decode()}">')


def _cell(value: object) -> str:
  if isinstance(value, float):
    return f"{int(value):,}" if value.is_integer() and abs(value) >= 1 else f"{value:.4f}"
  return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
  cell = _cell
  head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                 for row in rows)
  return f"<table><tr>{head}</tr>{body}</table>"


def overall_section(by_slice, outcome: runs.Outcome, eval_config) -> str:
  overall = by_slice[()]
  has_baseline = "baseline" in overall
  header = ["metric", "candidate"] + (["baseline (last blessed)"] if has_baseline else [])
  rows = [[METRIC_LABELS[name], runs.candidate(overall).get(name, float("nan"))]
          + ([overall["baseline"].get(name, float("nan"))] if has_baseline else [])
          for name in OVERALL_METRICS]
  thresholds = []
  for spec in eval_config.metrics_specs:
    for metric in spec.metrics:
      for per_slice in metric.per_slice_thresholds:
        threshold = per_slice.threshold
        if threshold.HasField("value_threshold"):
          thresholds.append(["MAE at most", threshold.value_threshold.upper_bound.value])
        if threshold.HasField("change_threshold"):
          margin = json.loads(metric.config or "{}").get("margin", 0.0)
          thresholds.append([
              "change in MAE against the last blessed model, moved by "
              f"{margin:+.2f} standard errors of the paired difference (the noise "
              "margin), at most", threshold.change_threshold.absolute.value])
  if outcome.noise is not None:
    change = outcome.mae - outcome.baseline_mae
    thresholds.append(["this run: the change, and its noise margin",
                       f"{change:+.4f} ± {outcome.noise:.4f}"])
  decision = ("<p class=ok>BLESSED" + (f": pushed to {html.escape(outcome.pushed_to)}"
                                         if outcome.pushed_to else "") + "</p>"
              if outcome.blessed else "<p class=bad>NOT BLESSED: "
              + "; ".join(html.escape(f) for f in outcome.failures) + "</p>")
  note = "" if has_baseline else "<p>No blessed model before this one: the bound alone gated.</p>"
  training = outcome.training
  by_split = _table(["split", "MAE", "RMSE", "what it is for"], [
      ["validation", training["validation_mae"], training["validation_rmse"],
       f"chose the model: the Trainer kept epoch {training['kept_epoch']} of "
       f"the {training['epochs_run']} it ran"],
      ["eval", runs.candidate(overall)[error_metrics.MAE],
       runs.candidate(overall)[error_metrics.RMSE], "judged it: the gate, never a choice"]])
  return ("<h2>Overall</h2>" + _table(header, rows) + by_split + "<h2>Gate</h2>"
          + _table(["threshold", "value"], thresholds) + note + decision
          + references_table(outcome))


def references_table(outcome: runs.Outcome) -> str:
  """The candidate's eval MAE beside what the simplest predictors score on the same rows
  (components.reference_models), to read the MAE and the gate's bound against."""
  if not outcome.references:
    return ""
  rows = [[f"reference: {name}", outcome.references[name]["mae"]]
          for name in (reference_models.TRAINING_MEAN, reference_models.BIASES)]
  rows.append(["the candidate", outcome.mae])
  return ("<p>For reference, the eval MAE of the simplest predictors, fit on the training "
          "split and scored on the same eval rows:</p>" + _table(["predictor", "MAE"], rows))


def _bar_chart(title: str, labels: Sequence[str], bars: Dict[str, Sequence[float]],
               lines: Optional[Dict[str, float]] = None) -> str:
  """Grouped bars, one group per label: the report's one chart style; `lines`, named
  levels across the chart (the overall MAE, the gate's bound)."""
  figure, axes = plt.subplots(figsize=(min(9, max(4, 0.4 * len(labels) * len(bars) + 2)), 2.8))
  width = 0.8 / len(bars)
  for i, (name, values) in enumerate(bars.items()):
    axes.bar([x + (i - (len(bars) - 1) / 2) * width for x in range(len(labels))], values,
             width, label=name)
  for (name, level), style in zip((lines or {}).items(), ("--", ":")):
    axes.axhline(level, color="black", linestyle=style, linewidth=1,
                 label=f"{name} {level:.4g}")
  axes.set_xticks(range(len(labels)))
  long_labels = sum(len(label) for label in labels) > 60  # would overlap side by side
  axes.set_xticklabels(labels, fontsize=8, rotation=30 if long_labels else 0,
                       ha="right" if long_labels else "center")
  axes.set_title(title, fontsize=10)
  axes.set_ylabel("MAE")
  if len(bars) > 1 or lines:  # one series alone needs no legend: the title names it
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
  return _png(figure)


# The bucket features' values in their natural order (transform.features), not as text.
BUCKET_ORDER = {
    f.HISTORY_LENGTH_BUCKET: [name for _, name in f.HISTORY_LENGTH_BUCKETS],
    f.TARGET_POPULARITY_BUCKET: [name for _, name in f.POPULARITY_RANK_BUCKETS]
                                + [f.UNSEEN_MOVIE_BUCKET],
}
FEATURE_TITLES = {c.RATING: "true rating", f.HISTORY_LENGTH_BUCKET: "history length",
                  f.TARGET_POPULARITY_BUCKET: "target movie's popularity rank"}


def slice_label(value, feature: str = "") -> str:
  """A slice value as people write it: MovieLens's name for a code, text for the bytes TFMA
  keeps string features' values as."""
  value = value.decode() if isinstance(value, bytes) else value
  return str(VALUE_LABELS.get(feature, {}).get(value, value))


def feature_slices(by_slice, feature: str) -> List[Tuple[str, Dict[str, Dict[str, float]]]]:
  """(label, {model name: metrics}) of each slice of one feature, in natural order:
  buckets as defined, numbers by value."""
  slices = [(key[0][1], by_model) for key, by_model in by_slice.items()
            if len(key) == 1 and key[0][0] == feature]
  order = BUCKET_ORDER.get(feature)
  position = ((lambda value: order.index(slice_label(value))) if order
              else (lambda value: (isinstance(value, bytes), value)))
  return [(slice_label(value, feature), by_model)
          for value, by_model in sorted(slices, key=lambda s: position(s[0]))]


def feature_section(by_slice, feature: str, bound: Optional[float] = None) -> str:
  """One feature's slices: a chart (with the overall MAE and the gate's `bound` across
  it) and a table, or why there is nothing to compare."""
  title = FEATURE_TITLES.get(feature, feature.replace("_", " "))
  slices = feature_slices(by_slice, feature)
  empty = [name for name in BUCKET_ORDER.get(feature, ())
           if name not in {label for label, _ in slices}]
  empty_note = (f"<p>No eval row in {', '.join(html.escape(n) for n in empty)}.</p>"
                if empty and slices else "")
  if len(slices) <= 1:
    what = (f"every eval row is in one slice, {html.escape(slices[0][0])}: nothing to compare"
            if slices else "no eval rows")
    return f"<h3>By {html.escape(title)}</h3><p>Not drawn: {what}.</p>" + empty_note
  labels = [label for label, _ in slices]
  candidate = [runs.candidate(by_model) for _, by_model in slices]
  baseline = [by_model.get("baseline") for _, by_model in slices]
  has_baseline = all(baseline)
  header = ["slice", "examples", "MAE", "RMSE"]
  rows = [[label, m["example_count"], m[error_metrics.MAE], m[error_metrics.RMSE]]
          for label, m in zip(labels, candidate)]
  if has_baseline:
    header += ["baseline MAE", "change"]
    for row, m, b in zip(rows, candidate, baseline):
      row += [b[error_metrics.MAE], f"{m[error_metrics.MAE] - b[error_metrics.MAE]:+.4f}"]
  drawn = [i for i, m in enumerate(candidate) if m["example_count"] >= MIN_DRAWN_EXAMPLES]
  small = [f"{html.escape(labels[i])} ({int(candidate[i]['example_count'])})"
           for i in range(len(labels)) if i not in drawn]
  small_note = (f"<p>Listed, not drawn: under {MIN_DRAWN_EXAMPLES} eval rows, too few for "
                f"a stable MAE: {', '.join(small)}.</p>" if small else "")
  chart = ""
  if len(drawn) > 1:
    bars = {"candidate": [candidate[i][error_metrics.MAE] for i in drawn]}
    if has_baseline:
      bars["baseline (last blessed)"] = [baseline[i][error_metrics.MAE] for i in drawn]
    levels = {"overall MAE": runs.candidate(by_slice[()])[error_metrics.MAE]}
    if bound is not None:
      levels["bound"] = bound
    chart = _bar_chart(f"MAE by {title}", [labels[i] for i in drawn], bars, levels)
  return (f"<h3>By {html.escape(title)}</h3>" + empty_note + chart + small_note
          + _table(header, rows))


def slices_section(by_slice, bound: Optional[float] = None) -> str:
  return ("<h2>Slices</h2><p>Eval MAE per slice, with example counts; beside the last "
          "blessed model's when there is one. Slices inform; only the overall MAE gates.</p>"
          + "".join(feature_section(by_slice, feature, bound)
                    for feature in evaluation.SLICE_FEATURES))


def mae_bound(eval_config) -> Optional[float]:
  """The gate's bound on the overall MAE, as the Evaluator's config holds it."""
  for spec in eval_config.metrics_specs:
    for metric in spec.metrics:
      for per_slice in metric.per_slice_thresholds:
        if per_slice.threshold.HasField("value_threshold"):
          return per_slice.threshold.value_threshold.upper_bound.value
  return None


def calibration_section(buckets: Sequence[runs.CalibrationBucket]) -> str:
  """The Evaluator's calibration plot: mean true rating per bucket of predicted rating."""
  if not buckets:
    return "<h2>Calibration</h2><p>No calibration plot in this evaluation.</p>"
  figure, axes = plt.subplots(figsize=(4.5, 3.5))
  axes.plot([c.MIN_RATING, c.MAX_RATING], [c.MIN_RATING, c.MAX_RATING], "--", color="grey",
            label="calibrated")
  axes.plot([b.mean_prediction for b in buckets], [b.mean_label for b in buckets], "o-",
            label="model")
  axes.set_xlabel("mean predicted rating")
  axes.set_ylabel("mean true rating")
  axes.legend(fontsize=7)
  rows = [[f"{b.low:g}-{b.high:g}", b.examples, f"{b.mean_prediction:.4f}",
           f"{b.mean_label:.4f}", f"{b.mean_label - b.mean_prediction:+.4f}"] for b in buckets]
  return ("<h2>Calibration</h2><p>Eval rows grouped by predicted rating (the Evaluator's "
          "calibration plot, buckets half a star wide, empty ones left out): where the "
          "model predicts r, do users rate r on average?</p>" + _png(figure)
          + _table(["predicted", "examples", "mean prediction", "mean true rating",
                    "true - predicted"], rows))


def training_curves(model_run_uri: str) -> Dict[Tuple[str, str], List[Tuple[int, float]]]:
  """{(tag, "train" | "validation"): [(epoch, value)]} from the Trainer's TensorBoard logs."""
  curves: Dict[Tuple[str, str], List[Tuple[int, float]]] = {}
  for path in tf.io.gfile.glob(os.path.join(model_run_uri, "*", "events.out.tfevents.*")):
    phase = os.path.basename(os.path.dirname(path))
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag in TRAINING_CURVES:
          number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else (
              value.simple_value)
          curves.setdefault((value.tag, phase), []).append((event.step, number))
  return {key: sorted(points) for key, points in curves.items()}


def training_section(model_run_uri: str, kept_epoch: int) -> str:
  curves = training_curves(model_run_uri)
  if not curves:
    return "<h2>Training</h2><p>No TensorBoard events found.</p>"
  figure, all_axes = plt.subplots(1, len(TRAINING_CURVES), figsize=(9, 3))
  for axes, tag in zip(all_axes, TRAINING_CURVES):
    for (curve_tag, phase), points in sorted(curves.items()):
      if curve_tag == tag:
        axes.plot([p[0] + 1 for p in points], [p[1] for p in points], "o-", label=phase)
    axes.axvline(kept_epoch, color="grey", linestyle=":", label=f"kept (epoch {kept_epoch})")
    axes.set_title(tag)
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.legend(fontsize=7)
  return (f"<h2>Training</h2><p>Train and validation curves; the weights of the epoch with "
          f"the best validation MAE were kept. TensorBoard logs: {html.escape(model_run_uri)}"
          "</p>" + _png(figure))


def ranking_section(result: Optional[dict]) -> str:
  if not result:
    return ""
  k = result["k"]
  chance = ranking_metrics.chance(result["negatives"], k)
  rows = [[scorer, result[scorer][f"hr@{k}"], result[scorer][f"ndcg@{k}"],
           f"{result[scorer]['mean_rank']:.1f}"] for scorer in ranking_metrics.SCORERS]
  rows.append(["chance (a random order)", chance[f"hr@{k}"], chance[f"ndcg@{k}"],
               f"{chance['mean_rank']:.1f}"])
  return (f"<h2>Ranking</h2><p>Each user's first eval event: the true movie among "
          f"{result['negatives']} unrated ones, {result['users']:,} users "
          f"({result['users_skipped_too_few_unrated_movies']} skipped: too few unrated "
          f"movies).</p><p>{html.escape(ranking_metrics.verdict(result))}</p>"
          + _table(["scorer", f"HR@{k}", f"NDCG@{k}", "mean rank"], rows))


STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
         "padding:3px 8px;text-align:right}.ok{color:green;font-weight:bold}"
         ".bad{color:#b00;font-weight:bold}")


def spans_section(by_span: Dict[int, timeline.SpanRun]) -> str:
  """Span mode: each span's run, the candidate's eval MAE beside that of the model it had
  to beat (the last blessed one, on the same span), and what the drift check found."""
  trained = [by_span[span] for span in sorted(by_span) if by_span[span].outcome]
  if all(run.span == 0 for run in trained):  # not span mode: span 0 is all there is
    return ""
  rows = [[run.span, f"{run.rows:,}", "; ".join(run.drift) or ("none" if run.compared else "-"),
           f"{run.outcome.mae:.4f}",
           "-" if run.outcome.baseline_mae is None else f"{run.outcome.baseline_mae:.4f}",
           "yes" if run.outcome.blessed else "no: " + "; ".join(run.outcome.failures)]
          for run in trained]
  labels = [f"span {run.span}" for run in trained]
  bars = {"candidate": [run.outcome.mae for run in trained],
          "model it had to beat": [run.outcome.baseline_mae or float("nan") for run in trained]}
  return ("<h2>Spans</h2><p>One run per span: each trained on the spans before it and was "
          "judged on its own span, beside the last blessed model on the same ratings.</p>"
          + _table(["span", "rows", "drift", "eval MAE", "blessed model's eval MAE",
                    "blessed"], rows)
          + _bar_chart("eval MAE per span", labels, bars))


def data_section(summary: Optional[Dict[str, object]]) -> str:
  """What the run read: the MovieLens folder (generated or files), the CSV and its rows
  per split, users, movies, skipped lines and the conversion's settings."""
  if summary is None:
    return "<h2>Data</h2><p>The CSV this run read is no longer on disk.</p>"
  kind = "generated (movielens.generate)" if summary["synthetic"] else "MovieLens files"
  rows = [[f"{split} rows", count] for split, count in summary["rows"].items()]
  rows += [["users", summary["users"]], ["movies", summary["movies"]],
           ["skipped lines", summary["skipped_total"]]]
  rows += [[name, value] for name, value in sorted(summary["settings"].items())]
  return (f"<h2>Data</h2><p>{html.escape(str(summary['input_dir']))}: {kind}, converted "
          f"to {html.escape(str(summary['csv_dir']))}.</p>" + _table(["", "value"], rows))


def render(components: Dict[str, runs.ComponentRun], run_id: str,
           by_span: Optional[Dict[int, timeline.SpanRun]] = None,
           data: Optional[Dict[str, object]] = None) -> str:
  try:
    outcome = runs.outcome(components)
  except LookupError as error:
    raise LookupError(f"run {run_id}: {error}") from None
  by_slice = runs.metrics_by_slice(outcome.evaluation_uri)
  # The config alone: tfma.load_eval_result also loads the plots of a model it is not
  # told the name of, and warns once a slice when there are two.
  eval_config, *_ = eval_config_writer.load_eval_run(outcome.evaluation_uri)
  timings = _table(["component", "state", "seconds"],
                   [[r.component, r.state, f"{r.seconds:.1f}"] for r in components.values()])
  return (f"<!doctype html><html><head><meta charset=utf-8><title>bst-movielens {run_id}"
          f"</title><style>{STYLE}</style></head><body><h1>bst-movielens: run {run_id}</h1>"
          f"<p>Evaluation: {html.escape(outcome.evaluation_uri)}</p>"
          + overall_section(by_slice, outcome, eval_config) + data_section(data)
          + spans_section(by_span or {})
          + ranking_section(outcome.ranking) + slices_section(by_slice, mae_bound(eval_config))
          + calibration_section(runs.calibration(outcome.evaluation_uri))
          + training_section(outcome.model_run_uri, outcome.training["kept_epoch"])
          + "<h2>Components</h2>" + timings + "</body></html>")


def write_report(metadata_path: str, run_id: Optional[str] = None,
                 output: Optional[str] = None) -> str:
  """Renders a run's report (the latest run by default); returns the file's path."""
  store = runs.connect(metadata_path)
  run_id = run_id or runs.run_ids(store)[-1]
  components = runs.component_runs(store, run_id)
  example_gen = components.get(nodes.EXAMPLE_GEN)
  data = example_gen and metadata.ingested_summary(
      store.get_executions_by_id([example_gen.execution_id])[0])
  page = render(components, run_id, timeline.span_runs(store), data)
  output = output or os.path.join(os.path.dirname(metadata_path), REPORT_DIR,
                                  f"{runs.file_safe(run_id)}.html")
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  with open(output, "w", encoding="utf-8") as out:
    out.write(page)
  return output
