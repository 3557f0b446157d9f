"""The TFX Trainer module: the Behavior Sequence Transformer and its run_fn."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # one Keras everywhere: tf_keras
