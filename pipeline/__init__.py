"""The TFX pipeline definition, the same for every runner."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TFT 1.16 needs tf_keras
