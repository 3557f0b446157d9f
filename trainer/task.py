"""TFX Trainer entry point: `run_fn` trains the BST on transformed examples and exports it.

The exported SavedModel has three signatures:
  serving_default     serialized tf.Examples in the public serving contract (README) ->
                      {"predicted_rating": float in [1, 5]}. It runs the Transform graph
                      itself, so serving and training share one preprocessing.
  predict_pipeline_examples
                      serialized tf.Examples as CsvExampleGen writes them (histories as
                      space-separated strings) -> {"predicted_rating"}: what TFMA scores.
  transform_features  the same examples -> transformed features, label and slicing
                      features included: TFMA's preprocessing function.
"""
import logging
import os
from typing import Dict, List

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from trainer import model as bst
from trainer.config import TrainerConfig
from transform import features as f
from transform import preprocessing

PREDICTION_KEY = "predicted_rating"
SERVING_SIGNATURE = "serving_default"
EVAL_SIGNATURE = "predict_pipeline_examples"
TRANSFORM_SIGNATURE = "transform_features"


def vocabulary_sizes(tf_transform_output: tft.TFTransformOutput) -> bst.VocabularySizes:
  return {name: f.vocabulary_size(tf_transform_output, name)
          for name in (f.MOVIE_VOCAB, f.USER_VOCAB, f.SEX_VOCAB, f.AGE_GROUP_VOCAB,
                       f.OCCUPATION_VOCAB)}


def make_dataset(file_pattern: List[str], data_accessor: tfx.components.DataAccessor,
                 tf_transform_output: tft.TFTransformOutput, batch_size: int,
                 num_epochs, seed: int, shuffle: bool) -> tf.data.Dataset:
  return data_accessor.tf_dataset_factory(
      file_pattern,
      tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=f.LABEL,
                                     num_epochs=num_epochs, shuffle=shuffle,
                                     shuffle_seed=seed),
      tf_transform_output.transformed_metadata.schema)


def model_features(features: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
  """The transformed features the model takes (the label and extras left out)."""
  return {name: features[name] for name in bst.INPUT_FEATURES}


def _serving_signatures(model: keras.Model, tf_transform_output: tft.TFTransformOutput):
  model.tft_layer = tf_transform_output.transform_features_layer()
  raw_feature_spec = tf_transform_output.raw_feature_spec()
  examples = tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")

  @tf.function(input_signature=[examples])
  def serve(serialized):
    parsed = tf.io.parse_example(serialized, preprocessing.SERVING_FEATURE_SPEC)
    raw = preprocessing.serving_to_raw(parsed, raw_feature_spec)
    transformed = model.tft_layer(raw)
    return {PREDICTION_KEY: model(model_features(transformed))}

  @tf.function(input_signature=[examples])
  def transform_features(serialized):
    return model.tft_layer(tf.io.parse_example(serialized, raw_feature_spec))

  @tf.function(input_signature=[examples])
  def predict_pipeline_examples(serialized):
    transformed = model.tft_layer(tf.io.parse_example(serialized, raw_feature_spec))
    return {PREDICTION_KEY: model(model_features(transformed))}

  return {SERVING_SIGNATURE: serve, EVAL_SIGNATURE: predict_pipeline_examples,
          TRANSFORM_SIGNATURE: transform_features}


def export(model: keras.Model, tf_transform_output: tft.TFTransformOutput,
           serving_model_dir: str) -> None:
  tf.saved_model.save(model, serving_model_dir,
                      signatures=_serving_signatures(model, tf_transform_output))


def run_fn(fn_args: tfx.components.FnArgs) -> None:
  """Called by the TFX Trainer. Trains for `epochs` (or train_steps), stops early on eval MAE."""
  config = TrainerConfig.from_custom_config(fn_args.custom_config)
  keras.utils.set_random_seed(config.seed)
  tf.config.experimental.enable_op_determinism()
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

  # With train_steps, epochs split them; without, each epoch is one pass over the data.
  steps_per_epoch = (max(1, fn_args.train_steps // config.epochs)
                     if fn_args.train_steps else None)
  train = make_dataset(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                       config.batch_size, None if steps_per_epoch else 1, config.seed,
                       shuffle=True)
  evaluation = make_dataset(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                            config.batch_size, 1, config.seed, shuffle=False)
  if fn_args.eval_steps:
    evaluation = evaluation.take(fn_args.eval_steps)

  model = bst.build_bst(config, vocabulary_sizes(tf_transform_output))
  callbacks = [
      keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch"),
      keras.callbacks.EarlyStopping(monitor="val_mae", patience=config.early_stopping_patience,
                                    restore_best_weights=True),
  ]
  history = model.fit(train.map(lambda x, y: (model_features(x), y)),
                      validation_data=evaluation.map(lambda x, y: (model_features(x), y)),
                      epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                      callbacks=callbacks, verbose=2)
  logging.info("eval MAE per epoch: %s", history.history.get("val_mae"))
  export(model, tf_transform_output, fn_args.serving_model_dir)
