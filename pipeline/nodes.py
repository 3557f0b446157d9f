"""The pipeline's node ids: how create_pipeline names its components and how ML Metadata,
the runner's summary, the report, the benchmarks and the tests find them again.

Output keys are TFX's own (tfx.types.standard_component_specs) and, for the custom
components, their own modules' (components.ranking_evaluator.RANKING_KEY).
"""
EXAMPLE_GEN = "CsvExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "ImportSchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
PREVIOUS_STATISTICS_RESOLVER = "previous_span_statistics_resolver"
TRAINING_SPANS_RESOLVER = "training_spans_resolver"
ANALYZER_CACHE_RESOLVER = "analyzer_cache_resolver"
TRAINING_EXAMPLE_GEN = "TrainingSpansExampleGen"   # span mode's portable design
PREVIOUS_STATISTICS_GEN = "PreviousSpanStatisticsGen"
DISTRIBUTION_VALIDATOR = "DistributionValidator"
ANOMALY_GATE = "AnomalyGate"
TRANSFORM = "Transform"
TUNER = "Tuner"
TRAINER = "Trainer"
BASELINE_RESOLVER = "latest_blessed_model_resolver"
EVALUATOR = "Evaluator"
PUSHER = "Pusher"
RANKING_EVALUATOR = "RankingEvaluator"
REFERENCE_MODELS = "ReferenceModels"

ROLES = {  # what each node does, in the order it runs: the runner's progress lines
    EXAMPLE_GEN: "CSV -> tf.Examples, split by split",
    STATISTICS_GEN: "statistics of every feature",
    SCHEMA_GEN: "the curated schema (pipeline/schema/schema.pbtxt)",
    EXAMPLE_VALIDATOR: "data against the schema",
    TRAINING_EXAMPLE_GEN: "the spans to train on, ingested again, a split per span",
    PREVIOUS_STATISTICS_GEN: "statistics of the previous span's train part",
    PREVIOUS_STATISTICS_RESOLVER: "the previous span's statistics",
    DISTRIBUTION_VALIDATOR: "drift and skew against the schema's thresholds",
    ANOMALY_GATE: "stops the run on any anomaly or lost CSV row",
    TRAINING_SPANS_RESOLVER: "the spans to train on, from earlier runs",
    ANALYZER_CACHE_RESOLVER: "the previous span run's tf.Transform analyzer cache",
    TRANSFORM: "vocabularies, windows, genres (tf.Transform)",
    TUNER: "hyperparameter search, each trial judged on validation MAE",
    TRAINER: "the BST, early-stopped on validation MAE",
    BASELINE_RESOLVER: "the last blessed model, the baseline",
    EVALUATOR: "TFMA metrics, slices and the MAE gate",
    PUSHER: "blessed models to the serving folder",
    RANKING_EVALUATOR: "HR@10 and NDCG@10 of the next movie, beside popularity",
    REFERENCE_MODELS: "eval MAE of the training mean and of user + movie biases",
}
