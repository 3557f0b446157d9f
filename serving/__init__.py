"""Using a pushed model: requests in the serving contract, predictions, recommendations."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # the model's Transform layer needs tf_keras
