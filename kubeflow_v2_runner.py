"""Compiles bst-movielens for Kubeflow Pipelines or Vertex AI Pipelines.

    python kubeflow_v2_runner.py --image REGION-docker.pkg.dev/P/R/bst-movielens:TAG \\
        --pipeline-root gs://BUCKET/tfx --csv-dir gs://BUCKET/csv/ml-1m \\
        --serving-dir gs://BUCKET/serving --output pipeline.json \\
        --runner=DataflowRunner --project=P --region=R --temp_location=gs://BUCKET/tmp

It compiles the very `pipeline.definition.create_pipeline` that local_runner.py runs, with TFX's
KubeflowV2DagRunner, into a PipelineJob JSON; submit that with the KFP client or
`gcloud ai pipelines`/the Vertex AI SDK. Nothing runs here and nothing is contacted.
The CSV comes from the same conversion (`python local_runner.py --prepare-only`, or
`python -m movielens.convert` on Dataflow) copied to --csv-dir. The image is this
repository installed on TFX's own image (see Dockerfile). Flags this script does not know
are Beam pipeline options for every Beam-based component.

With --span K (and --train-spans W) it compiles run K of span mode in its portable design
(pipeline.span_inputs): a scheduled job compiles and submits one run per new span
(docs/scaling_out.md).
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import os
from typing import Sequence

from cli import entry_point
from pipeline import runner_flags
from pipeline.config import PipelineConfig

# Where the Dockerfile puts the repository, hence the curated schema, in the image.
IMAGE_REPO_DIR = "/bst-movielens"
IMAGE_SCHEMA_PATH = f"{IMAGE_REPO_DIR}/pipeline/schema/schema.pbtxt"


def parse_args(argv: Sequence[str]):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--image", required=True,
                      help="container image with this project installed (Dockerfile)")
  parser.add_argument("--pipeline-root", required=True,
                      help="where components write artifacts, e.g. gs://BUCKET/tfx")
  parser.add_argument("--csv-dir", required=True,
                      help="the CSV conversion's output (train/, validation/, eval/, catalog/;"
                      " with --span, its span-N/ folders)")
  parser.add_argument("--serving-dir", required=True, help="where blessed models are pushed")
  parser.add_argument("--schema-path", default=IMAGE_SCHEMA_PATH,
                      help=f"the curated schema as the containers see it (default "
                      f"{IMAGE_SCHEMA_PATH}, inside the image)")
  parser.add_argument("--pipeline-name", default=PipelineConfig.pipeline_name,
                      help=f"the pipeline's name on the platform (default "
                      f"{PipelineConfig.pipeline_name})")
  runner_flags.add_training_and_gate_flags(parser)
  parser.add_argument("--output", default="pipeline.json",
                      help="where to write the PipelineJob JSON (default pipeline.json)")
  entry_point.add_debug_flag(parser, beam=False)
  parser.add_argument("--spans", type=int,
                      help="with --span: how many spans the conversion made (--span is "
                      "checked against it)")
  args, beam_args = runner_flags.parse_runner_args(parser, argv)
  if args.spans is not None and args.span is None:
    raise ValueError("--spans is for span mode: add --span K, the span this run ingests")
  if args.spans is not None and not 0 <= args.span < args.spans:
    raise ValueError(f"--span {args.span} is not one of the {args.spans} spans: give 0 to "
                     f"{args.spans - 1}")
  return args, beam_args


def pipeline_config(args, beam_args: Sequence[str]) -> PipelineConfig:
  return PipelineConfig(
      csv_dir=args.csv_dir, pipeline_root=args.pipeline_root,
      serving_model_dir=args.serving_dir, metadata_path=None,  # the platform's MLMD
      pipeline_name=args.pipeline_name, schema_path=args.schema_path,
      beam_pipeline_args=list(beam_args), span=args.span,
      portable_spans=args.span is not None,  # the span resolvers do not compile
      **runner_flags.training_and_gate_settings(args, span_mode=args.span is not None))


def compile_pipeline(config: PipelineConfig, image: str, output: str) -> str:
  """Writes the PipelineJob JSON; returns its path."""
  # TFX loads here, not at import: --help answers at once and a bad flag is refused first.
  from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top
  from pipeline import definition  # pylint: disable=g-import-not-at-top
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
      output_dir=os.path.dirname(os.path.abspath(output)),
      output_filename=os.path.basename(output))
  runner.run(definition.create_pipeline(config))
  return output


def main(argv: Sequence[str]) -> None:
  args, beam_args = parse_args(argv)
  print(compile_pipeline(pipeline_config(args, beam_args), args.image, args.output))


if __name__ == "__main__":
  entry_point.run(main)
