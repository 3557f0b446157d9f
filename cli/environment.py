"""The process environment every entry point sets up first, before TensorFlow loads.

Import this module before anything else in a program's entry point (the runners, the
serving commands, the report, the benchmarks, the tests' conftest):

    from cli import environment  # noqa: F401  (first: before TensorFlow loads)

Nothing else in the project changes the process environment, so no module's behaviour
depends on which package happened to be imported first. Child processes (Beam's workers,
the TensorBoard and export-check subprocesses) inherit what is set here.
"""
import os
import warnings

# TF 2.16 defaults to Keras 3; TFT 1.16 and TFMA 0.47 need tf_keras. TensorFlow reads this
# when it is first imported, so it must be set before then.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# TensorFlow's C++ start-up log: on a CPU-only machine, "Unable to register cuDNN factory"
# and the like, at ERROR level though harmless. Errors that matter reach Python as
# exceptions; TF_CPP_MIN_LOG_LEVEL=0 in the environment brings the log back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Warnings on import that no user of this pipeline can act on: Google's client libraries
# on future support for Python 3.10 and for the versions TFX 1.16 pins; TensorBoard 2.16 on
# the pkg_resources it imports. Child processes get the filters through the environment
# variable (exact module names), this process directly (any google module).
_IGNORED_WARNINGS = ((FutureWarning, "google.api_core._python_version_support"),
                     (FutureWarning, "google.auth.transport.grpc"),
                     (FutureWarning, "google.cloud.aiplatform.models"),
                     (UserWarning, "tensorboard.default"))
os.environ.setdefault("PYTHONWARNINGS", ",".join(
    f"ignore::{category.__name__}:{module}" for category, module in _IGNORED_WARNINGS))
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
warnings.filterwarnings("ignore", category=UserWarning, module=r"tensorboard\.default")
