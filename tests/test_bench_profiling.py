"""``directory bench --profile``'s py-spy part: the server's processes are recorded
from outside, and the report lists the frames with the largest shares."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from directory_bench.comparison import render_profiles
from directory_bench.profiling import SpyRecording, py_spy, read_stacks, top_frames

RAW = (
    'process 10:"python directory serve --workers 2";process 11:"python -c from '
    'multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=7)";'
    "main (app.py:1);search (search.py:10);scan (search.py:20) 6\n"
    'process 10:"python directory serve --workers 2";process 12:"python -c x; y";'
    "main (app.py:1);search (search.py:10) 2\n"
    'process 10:"python directory serve --workers 2";main (app.py:1);load (store.py:5) 2\n'
    "a command line's second line\n"
)


def test_stacks_leave_out_process_frames_even_with_semicolons_in_command_lines():
    stacks = read_stacks(RAW)
    assert stacks == {
        ("main (app.py:1)", "search (search.py:10)", "scan (search.py:20)"): 6,
        ("main (app.py:1)", "search (search.py:10)"): 2,
        ("main (app.py:1)", "load (store.py:5)"): 2,
    }


def test_top_frames_by_running_and_by_on_the_stack():
    top = top_frames(RAW)
    assert top["samples"] == 10
    assert top["self"] == [
        ["scan (search.py:20)", 0.6], ["search (search.py:10)", 0.2], ["load (store.py:5)", 0.2]
    ]  # fmt: skip
    # main() is on every stack: a root says nothing and is left out
    assert top["total"] == [
        ["search (search.py:10)", 0.8], ["scan (search.py:20)", 0.6], ["load (store.py:5)", 0.2]
    ]  # fmt: skip
    assert top_frames("") == {"samples": 0, "self": [], "total": []}


def test_the_report_lists_the_hot_frames_or_why_there_are_none():
    top = {**top_frames(RAW), "requests_per_second": 250.0}
    results = {
        "embedded": {
            "100000": {"profiles": {"load": "/x/embedded-100000-load.txt", "load_top": top}},
            "10000": {"profiles": {"load_top": {"error": "py-spy: Permission denied"}}},
            "1000": {"offers": 1000},  # not profiled
        }
    }
    text = "\n".join(render_profiles(results))
    assert "**Server under load, embedded at 100,000 offers** (py-spy, 10 samples" in text
    assert "250 req/s while recorded" in text
    assert "| `scan (search.py:20)` | 60.0% | `search (search.py:10)` | 80.0% |" in text
    assert "py-spy under load, embedded at 10,000: py-spy: Permission denied" in text
    assert "1,000" not in text


BUSY = """
import time

def busy_scan():
    total = 0
    for i in range(10**6):
        total += i
    return total

deadline = time.time() + 20
while time.time() < deadline:
    busy_scan()
"""


@pytest.mark.slow
def test_a_real_process_is_recorded_and_its_hot_function_found(tmp_path):
    py_spy()  # installed with the test extra; fails here rather than skip
    process = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.5)
        recording = SpyRecording(process.pid, tmp_path / "profiles" / "load.txt", seconds=10)
        time.sleep(2.0)
        path = recording.stop()
    finally:
        process.kill()
        process.wait()
    top = top_frames(path.read_text())
    assert top["samples"] > 20
    name, share = top["self"][0]
    assert name.startswith("busy_scan (") and share > 0.5, top
    assert os.path.exists(tmp_path / "profiles" / "load.log")
