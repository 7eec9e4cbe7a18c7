"""``zoo annotate``: the page, driven in headless Chromium with key presses, saves a VIA 3 project
that the importer reads back; the server's API refuses bad segments with a clear message.

Set ``ZOO_ANNOTATE_SCREENSHOT=path.png`` to keep a screenshot of the page.
"""
from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from _cdp import Browser, find_chromium
from _data_helpers import numbered_frames, write_video
from zoo.data.annotate_server import AnnotationServer, AnnotationSession
from zoo.data.annotations import Segment, read_annotations, write_via_project

LABELS = ["walk", "run", "jump"]
FPS = 10


@pytest.fixture
def footage(tmp_path) -> Path:
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "first.mp4", numbered_frames(50, 96, 128), fps=FPS)  # H.264
    write_video(videos / "second.mp4", numbered_frames(30, 96, 128), fps=FPS)
    (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
    return videos


def _post(url: str, data: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url + "api/save", json.dumps(data).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_api_serves_state_ranges_and_checks_what_it_saves(footage, tmp_path):
    output = tmp_path / "out.json"
    write_via_project([Segment("second.mp4", 0.5, 1.0, "jump", 0.9)], output, labels=LABELS)
    with AnnotationServer(AnnotationSession(footage, LABELS, output)).start() as server:
        state = json.load(urllib.request.urlopen(server.url + "api/state", timeout=10))
        assert [v["name"] for v in state["videos"]] == ["first.mp4", "second.mp4"]
        assert state["videos"][0]["fps"] == FPS and state["videos"][0]["duration"] == pytest.approx(5.0)
        assert state["segments"] == [{"video": "second.mp4", "start": 0.5, "end": 1.0, "label": "jump", "score": 0.9}]
        ranged = urllib.request.Request(server.url + "video/first.mp4", headers={"Range": "bytes=10-19"})
        with urllib.request.urlopen(ranged, timeout=10) as response:
            assert response.status == 206 and response.read() == (footage / "first.mp4").read_bytes()[10:20]
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(server.url + "video/../labels.txt", timeout=10)
        status, answer = _post(server.url, {"segments": [{"video": "first.mp4", "start": 2, "end": 1, "label": "walk"}]})
        assert status == 400 and "ends at 1 s, before it starts" in answer["error"]
        status, answer = _post(server.url, {"segments": [{"video": "first.mp4", "start": 1, "end": 9, "label": "walk"}]})
        assert status == 400 and "lasts 5.000 s" in answer["error"]
        status, answer = _post(server.url, {"segments": [{"video": "first.mp4", "start": 1, "end": 2, "label": "fly"}]})
        assert status == 400 and "unknown label 'fly'" in answer["error"]
        assert read_annotations(output) == [Segment("second.mp4", 0.5, 1.0, "jump", 0.9)]  # nothing lost
        status, answer = _post(server.url, {"segments": [{"video": "first.mp4", "start": 1, "end": 2, "label": "run"}]})
        assert status == 200 and answer["count"] == 1
    assert read_annotations(output, labels=LABELS) == [Segment("first.mp4", 1.0, 2.0, "run")]


KEYS = {".": ("Period", 190), ",": ("Comma", 188), "[": ("BracketLeft", 219), "]": ("BracketRight", 221),
        "Delete": ("Delete", 46), "n": ("KeyN", 78), "p": ("KeyP", 80), "s": ("KeyS", 83)}


def _press(browser: Browser, key: str, times: int = 1, ctrl: bool = False) -> None:
    code, key_code = KEYS.get(key) or (f"Digit{key}", 48 + int(key))
    for _ in range(times):
        browser.press(key, code, key_code, ctrl=ctrl)


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on PATH (Debian: apt-get install chromium; or set ZOO_CHROMIUM)")
def test_page_marks_edits_deletes_and_saves_with_keys(footage, tmp_path):
    output = tmp_path / "annotations.json"
    with AnnotationServer(AnnotationSession(footage, LABELS, output)).start() as server:
        browser = Browser(find_chromium())
        try:
            if not browser.evaluate("document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.640028\"')"):
                pytest.skip("this Chromium build plays no H.264 (Debian's does)")
            browser.call("Page.enable")
            browser.call("Page.navigate", url=server.url)
            browser.wait_for("document.body && document.body.dataset.ready === '1'")
            browser.wait_for("document.getElementById('player').readyState >= 2")  # Chromium decoded the video
            assert browser.evaluate("document.getElementById('player').videoWidth") == 128
            _press(browser, "2")                        # label "run"
            _press(browser, ".", 10)                    # frame 10 = 1.0 s
            _press(browser, "[")
            _press(browser, ".", 15)                    # frame 25 = 2.5 s
            _press(browser, "]")
            _press(browser, "3")                        # label "jump": a second segment, 3.0-3.4 s
            _press(browser, ".", 5)
            _press(browser, "[")
            _press(browser, ".", 4)
            _press(browser, "]")
            _press(browser, "Delete")                   # the new segment is selected: gone again
            _press(browser, ".", 10)                    # 4.4 s: a third one, 4.4-4.9 s, then edited
            _press(browser, "[")
            _press(browser, ".", 8)                     # stops at the last frame (49 = 4.9 s)
            _press(browser, "]")
            browser.evaluate("(() => { const s = document.querySelectorAll('select.segment-label')[1];"
                             " s.value = 'walk'; s.dispatchEvent(new Event('change')); })()")
            _press(browser, "n")                        # the second video: a segment there too
            browser.wait_for("document.getElementById('player').readyState >= 2")
            _press(browser, "1")
            _press(browser, "[")
            _press(browser, ".", 3)
            _press(browser, "]")
            _press(browser, "s", ctrl=True)
            browser.wait_for("document.getElementById('status').textContent.startsWith('saved 3 segments')")
            screenshot = os.environ.get("ZOO_ANNOTATE_SCREENSHOT")
            if screenshot:
                _press(browser, "p")
                browser.wait_for("document.getElementById('player').readyState >= 2")
                browser.evaluate("document.getElementById('player').currentTime = 2.05")
                browser.wait_for("!document.getElementById('player').seeking")
                shutil.copy(browser.screenshot(tmp_path / "page.png"), screenshot)
        finally:
            browser.close()
    assert sorted(read_annotations(output, labels=LABELS, video_root=footage), key=lambda s: (s.video, s.start)) == [
        Segment("first.mp4", 1.0, 2.5, "run"), Segment("first.mp4", 4.4, 4.9, "walk"),
        Segment("second.mp4", 0.0, 0.3, "walk")]


def test_zoo_annotate_command_serves_the_page(footage, tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "zoo.cli", "annotate", str(footage), "--labels", str(tmp_path / "labels.txt"),
               "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        line = proc.stdout.readline()
        assert "annotating 2 videos" in line and str(footage / "annotations.json") in line, line
        url = line.split("open ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert b"zoo annotate" in urllib.request.urlopen(url, timeout=10).read()
        assert len(json.load(urllib.request.urlopen(url + "api/state", timeout=10))["videos"]) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run([*command[:4], str(tmp_path / "nowhere"), *command[5:]], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and bad.stderr.strip().endswith("does not exist") and bad.stderr.count("\n") == 1
