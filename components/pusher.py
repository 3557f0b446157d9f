"""The Pusher's executor, with versions that never collide and pushes that appear whole.

TFX 1.16's Pusher names a version by the second (`int(time.time())`) and, when that
folder already exists, skips the copy yet records the model as pushed: two pushes in one
second leave the second model nowhere while ML Metadata says it was pushed. This
executor keeps everything else of TFX's (the blessing check, the archive copy, the
pushed/pushed_destination/pushed_version properties the Resolver and the report read) and
changes only the filesystem push:
  - the version is the current second, or one past the newest existing version if that
    is not earlier, so versions only grow and a served model is never replaced;
  - the model is copied into a hidden folder and renamed into place, so a model server
    watching the folder never sees a half-copied version (on object stores, where a
    rename is a copy, `saved_model.pb` is still written last, as TFX does);
  - a model already served (a version with the same SavedModel fingerprint: the same
    trained artifact blessed again, or a retraining that gave the very same weights) is
    not pushed again: the push records that version, with ALREADY_SERVING set, and no new
    version appears.
"""
import os
import re
import time
import uuid
from typing import Any, Dict, List

from tfx import types
from tfx import v1 as tfx
from tfx.components.pusher import executor as tfx_pusher
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs as keys
from tfx.utils import io_utils
from tfx.utils import proto_utils

from movielens import contract


def versions(serving_dir: str) -> List[int]:
  """The pushed versions on any filesystem TFX reaches, oldest first."""
  if not fileio.exists(serving_dir):
    return []
  return contract.pushed_versions(fileio.listdir(serving_dir))


def next_version(serving_dir: str, now: float) -> int:
  """The current second, or one past the newest version already there."""
  return max([int(now)] + [v + 1 for v in versions(serving_dir)])


ALREADY_SERVING = "already_serving"  # the pushed model's property: no new version made
FINGERPRINT_FILE = "fingerprint.pb"   # what tf.saved_model.save writes beside the graph


def _fingerprint(model_dir: str) -> bytes:
  path = os.path.join(model_dir, FINGERPRINT_FILE)
  return io_utils.read_bytes_file(path) if fileio.exists(path) else b""


def serving_version_of(model_path: str, serving_dir: str) -> str:
  """The version folder already serving this very model ("" when none is)."""
  fingerprint = _fingerprint(model_path)
  if not fingerprint:
    return ""
  for version in reversed(versions(serving_dir)):
    folder = os.path.join(serving_dir, str(version))
    if _fingerprint(folder) == fingerprint:
      return folder
  return ""


def push(model_path: str, serving_dir: str) -> str:
  """Copies the SavedModel at model_path into a new version folder of serving_dir, whole;
  returns that folder. Safe against another push into the same folder at the same time:
  each copies into its own hidden folder, and a rename onto a version taken meanwhile
  fails and moves on to the next version."""
  fileio.makedirs(serving_dir)
  partial = os.path.join(serving_dir, f".partial-{uuid.uuid4().hex}")
  try:
    graph = contract.SAVED_MODEL_FILE
    io_utils.copy_dir(model_path, partial, deny_regex_patterns=[re.escape(graph)])
    io_utils.copy_file(os.path.join(model_path, graph),
                       os.path.join(partial, graph))  # last, as TFX's Pusher does
    while True:
      final = os.path.join(serving_dir, str(next_version(serving_dir, time.time())))
      try:
        fileio.rename(partial, final)
        return final
      except Exception:  # pylint: disable=broad-except  (each filesystem raises its own)
        if not fileio.exists(final):
          raise
  finally:
    if fileio.exists(partial):
      fileio.rmtree(partial)


class Executor(tfx_pusher.Executor):
  """TFX's Pusher executor with `push` for the filesystem destination."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    model_push = artifact_utils.get_single_instance(output_dict[keys.PUSHED_MODEL_KEY])
    if not self.CheckBlessing(input_dict):
      self._MarkNotPushed(model_push)
      return
    model_path = self.GetModelPath(input_dict)
    destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties[keys.PUSH_DESTINATION_KEY], destination)
    if destination.WhichOneof("destination") != "filesystem":
      raise NotImplementedError("this Pusher pushes to a filesystem destination only")
    serving_dir = destination.filesystem.base_directory
    serving_path = serving_version_of(model_path, serving_dir)
    model_push.set_int_custom_property(ALREADY_SERVING, int(bool(serving_path)))
    serving_path = serving_path or push(model_path, serving_dir)
    io_utils.copy_dir(model_path, model_push.uri)  # the archive copy, as TFX's Pusher
    self._MarkPushed(model_push, pushed_destination=serving_path,
                     pushed_version=os.path.basename(serving_path))


class Pusher(tfx.components.Pusher):
  """TFX's Pusher component, run by this module's Executor."""
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
