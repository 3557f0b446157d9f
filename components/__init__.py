"""Custom TFX components: what TFX 1.16's standard components do not do."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TFT 1.16 needs tf_keras
