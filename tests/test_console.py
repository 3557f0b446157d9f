"""cli.console: the terminal gets the stage lines, the log file everything else."""
import io
import logging
import re
import subprocess
import sys
import textwrap
import time

from cli.console import Console, FollowLog


def test_a_long_stage_beats_with_its_time_and_latest_note():
  terminal = io.StringIO()
  console = Console(terminal, heartbeat_seconds=1)
  console.stage("Trainer", "the BST")
  console.note("epoch 1 of 2: validation MAE 0.8000")
  time.sleep(2.5)
  console.done()
  console.event("Pusher", "nothing to wait for")
  time.sleep(1.5)  # no stage open: no heartbeat
  console.close()
  lines = terminal.getvalue().splitlines()
  assert lines[0] == "[00:00] Trainer: the BST"
  assert lines[1:3] == ["    ... 00:01: epoch 1 of 2: validation MAE 0.8000",
                        "    ... 00:02: epoch 1 of 2: validation MAE 0.8000"]
  assert re.fullmatch(r"    done in 00:0[23]", lines[3])
  assert re.fullmatch(r"\[00:0[23]\] Pusher: nothing to wait for", lines[4])
  assert len(lines) == 5


def test_tfx_component_lines_open_and_close_stages_and_notes_come_from_named_loggers():
  terminal = io.StringIO()
  console = Console(terminal, heartbeat_seconds=1)
  follow = FollowLog(console, {"Trainer": "the BST"}, notes_from=["trainer.task"])
  with follow.attached():
    logging.getLogger("absl").warning(FollowLog.COMPONENT_RUNNING, "Trainer")
    logging.getLogger("trainer.task").warning("epoch %d of %d", 1, 3)
    logging.getLogger("elsewhere").warning("not a note")
    time.sleep(1.5)
    logging.getLogger("absl").warning(FollowLog.COMPONENT_FINISHED, "Trainer")
  console.close()
  lines = terminal.getvalue().splitlines()
  assert lines[0] == "[00:00] Trainer: the BST"
  assert lines[1] == "    ... 00:01: epoch 1 of 3"
  assert lines[2].startswith("    done in ")


SWALLOWED_CTRL_C = textwrap.dedent("""
    import logging, os, signal, sys
    from cli import entry_point
    from cli.console import Console, FollowLog
    signal.signal(signal.SIGINT, signal.default_int_handler)
    entry_point.record_interrupts()
    follow = FollowLog(Console(), {})
    with follow.attached():
      logging.getLogger("absl").warning(FollowLog.COMPONENT_RUNNING, "Transform")
      try:  # as TensorFlow or Beam may do with a KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGINT)
      except KeyboardInterrupt:
        pass
      logging.getLogger("absl").warning(FollowLog.COMPONENT_FINISHED, "Transform")
      try:
        logging.getLogger("absl").warning(FollowLog.COMPONENT_RUNNING, "Trainer")
      except KeyboardInterrupt:
        sys.exit(130)
    print("the Trainer started")
""")


def test_a_ctrl_c_that_a_stage_swallowed_stops_the_run_before_the_next_stage():
  run = subprocess.run([sys.executable, "-c", SWALLOWED_CTRL_C], capture_output=True,
                       text=True, timeout=60)
  assert run.returncode == 130, run.stdout + run.stderr
  assert "] Transform" in run.stdout and "Trainer" not in run.stdout


QUIET_RUN = textwrap.dedent("""
    import logging, os, sys, warnings
    from cli.console import Console
    console = Console()
    descriptors = len(os.listdir("/proc/self/fd"))
    with console.quiet(sys.argv[1]):
      console.say("for people")
      print("print")
      os.write(2, b"C++ on descriptor 2\\n")
      logging.getLogger("absl").info("absl info")
      warnings.warn("a warning")
      if len(sys.argv) > 2:
        raise ValueError("bad input")
    print("after; descriptors left open:", len(os.listdir("/proc/self/fd")) - descriptors)
""")


def test_quiet_sends_everything_but_the_console_lines_to_the_log(tmp_path):
  log = tmp_path / "logs" / "run.log"
  run = subprocess.run([sys.executable, "-c", QUIET_RUN, str(log)], capture_output=True,
                       text=True, timeout=60)
  assert run.returncode == 0, run.stderr
  assert run.stdout == (f"log: {log} (everything but these lines; --verbose shows it here)\n"
                        "for people\nafter; descriptors left open: 0\n")
  assert run.stderr == ""
  text = log.read_text()
  for line in ("print", "C++ on descriptor 2", "absl info", "a warning"):
    assert line in text

  failed = subprocess.run([sys.executable, "-c", QUIET_RUN, str(log), "fail"],
                          capture_output=True, text=True, timeout=60)
  assert failed.returncode == 1
  assert f"the full log: {log}" in failed.stdout
  assert "ValueError: bad input" in failed.stderr  # the terminal's again once restored
