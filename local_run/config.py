"""A local run's configs from its command line: span mode, and the PipelineConfig."""
from typing import Optional, Sequence

import engines
from movielens.conversion import config as conversion_config
from pipeline import runner_flags
from pipeline.config import PipelineConfig, local_pipeline_config


def span_mode(args) -> bool:
  """Whether the flags ask for span mode (--spans N or --span-days D)."""
  return conversion_config.is_span_mode(args.spans, args.span_days)


def pipeline_config(args, csv_dir: str, beam_args: Sequence[str],
                    span: Optional[int] = None) -> PipelineConfig:
  """The PipelineConfig of a run on `csv_dir` (of span `span`'s run in span mode)."""
  return local_pipeline_config(
      args.output_dir, csv_dir, serving_dir=args.serving_dir, beam_args=beam_args,
      beam_job_names=engines.names_its_jobs(args.engine), train_steps=args.train_steps,
      span=span, portable_spans=span is not None and args.portable_spans,
      enable_cache=not args.no_cache,
      **runner_flags.training_and_gate_settings(args, span_mode=span is not None))
