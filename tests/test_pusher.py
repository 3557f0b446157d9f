"""The Pusher's executor: versions that never collide, pushes that appear whole."""
import os
import threading

from components import pusher


def saved_model(tmp_path):
  model = tmp_path / "model"
  (model / "variables").mkdir(parents=True)
  (model / "variables" / "variables.index").write_text("weights")
  (model / "saved_model.pb").write_text("graph")
  return str(model)


def test_pushes_in_the_same_second_get_their_own_versions(tmp_path):
  model, serving = saved_model(tmp_path), str(tmp_path / "serving")
  pushed = [pusher.push(model, serving) for _ in range(3)]
  versions = [int(os.path.basename(p)) for p in pushed]
  assert versions == sorted(set(versions)) and len(versions) == 3  # all new, increasing
  assert sorted(os.listdir(serving)) == [str(v) for v in versions]  # nothing else left
  for path in pushed:
    assert open(os.path.join(path, "saved_model.pb")).read() == "graph"
    assert open(os.path.join(path, "variables", "variables.index")).read() == "weights"


def test_a_version_is_never_reused_even_from_the_future(tmp_path):
  model, serving = saved_model(tmp_path), tmp_path / "serving"
  (serving / "9999999999").mkdir(parents=True)  # a clock that was ahead once
  assert os.path.basename(pusher.push(model, str(serving))) == "10000000000"
  assert pusher.next_version(str(serving), now=5) == 10000000001


def test_concurrent_pushes_each_land_whole(tmp_path):
  model, serving = saved_model(tmp_path), str(tmp_path / "serving")
  pushed = []
  threads = [threading.Thread(target=lambda: pushed.append(pusher.push(model, serving)))
             for _ in range(4)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert len(set(pushed)) == 4 and sorted(os.listdir(serving)) == sorted(
      os.path.basename(p) for p in pushed)
  assert all(os.path.isfile(os.path.join(p, "saved_model.pb")) for p in pushed)


def test_a_model_already_served_is_found_by_its_fingerprint(tmp_path):
  model, serving = saved_model(tmp_path), str(tmp_path / "serving")
  (tmp_path / "model" / pusher.FINGERPRINT_FILE).write_bytes(b"weights v1")
  assert pusher.serving_version_of(model, serving) == ""
  first = pusher.push(model, serving)
  assert pusher.serving_version_of(model, serving) == first
  (tmp_path / "model" / pusher.FINGERPRINT_FILE).write_bytes(b"weights v2")  # retrained
  assert pusher.serving_version_of(model, serving) == ""
