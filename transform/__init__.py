"""The tf.Transform step: raw CSV features -> fixed-length model inputs (preprocessing_fn)."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TFT 1.16 needs tf_keras
