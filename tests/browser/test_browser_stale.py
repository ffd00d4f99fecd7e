"""Stale results in a real browser (issue 10): the result and the form always belong to the clip in the box.

After Clear, after a new upload, after a failed analysis and after the example that a save loads, the
previous result and form are gone (the result panel, with its Save, shows only for the clip it belongs to) and
nothing is stored on the previous analysis. Debian's chromium.
"""

import json
import shutil
import sqlite3

import numpy as np
import pytest
import soundfile as sf

from helpers import AppProcess, checkpoint_env
from test_browser_app import TIMEOUT_MS, chromium_browser, sync_api  # (skips this module too without chromium)


@pytest.fixture(scope="module")
def app(tmp_path_factory, synth_speech):
    examples = tmp_path_factory.mktemp("examples")
    shutil.copy(synth_speech("The example that a save loads next."), examples / "next.wav")
    (examples / "examples.json").write_text(json.dumps([{"file": "next.wav", "title": "Next example"}]))
    env = {**checkpoint_env(tmp_path_factory.mktemp("checkpoint")), "EMOEXPLAIN_EXAMPLES_DIR": str(examples)}
    with AppProcess(tmp_path_factory.mktemp("stale-data"), env=env) as server:
        yield server


def judgements(app) -> list[dict]:
    con = sqlite3.connect(app.data_dir / "emoexplain.db")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM judgements ORDER BY id")]
    finally:
        con.close()


def test_the_result_always_belongs_to_the_clip_in_the_box(app, synth_speech, tmp_path):
    first, second = synth_speech("The first clip of this test."), synth_speech("A second clip, not the first.")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32000, dtype=np.float32), 16000)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app.url)
        upload, analyse = page.locator("#audio-in input[type=file]"), page.get_by_role("button", name="Analyse",
                                                                                      exact=True)
        result = page.locator("#result .desc-card")
        status = page.locator("#save-status")

        def clear():
            page.locator("#audio-in").get_by_role("button", name="Clear").filter(visible=True).first.click()

        def shows_result():
            result.first.wait_for(timeout=TIMEOUT_MS)
            page.locator("#emotion").get_by_text("%").first.wait_for(timeout=TIMEOUT_MS)

        def save_is_refused():
            """No form to save from (the result panel is gone), and the save shortcut stores nothing."""
            before = len(judgements(app))
            sync_api.expect(page.locator("#save-btn")).to_have_count(0, timeout=TIMEOUT_MS)
            page.locator("body").click(position={"x": 5, "y": 5})
            page.keyboard.press("Control+s")
            page.wait_for_timeout(500)
            assert len(judgements(app)) == before

        def pick_agree():   # the model's own label is the "agree" choice
            page.locator("#corrected-emotion label").filter(has_text="· model").locator("input").check()

        # 1. analyse the first clip, then Clear: result and form go, Save has nothing to save
        upload.set_input_files(str(first))
        analyse.click()
        shows_result()
        pick_agree()
        clear()
        sync_api.expect(result).to_have_count(0, timeout=TIMEOUT_MS)
        save_is_refused()
        # 2. a new upload after a result: the old result is gone before Analyse
        upload.set_input_files(str(first))
        analyse.click()
        shows_result()
        clear()
        upload.set_input_files(str(second))
        sync_api.expect(result).to_have_count(0, timeout=TIMEOUT_MS)
        save_is_refused()
        # 3. a failed analysis of a new clip leaves no result of the previous one to save
        analyse.click()
        shows_result()
        clear()
        upload.set_input_files(str(silent))
        analyse.click()
        page.get_by_text("is silent").first.wait_for(timeout=TIMEOUT_MS)
        sync_api.expect(result).to_have_count(0, timeout=TIMEOUT_MS)
        save_is_refused()
        assert judgements(app) == []
        # 4. a save loads the next example: the saved result goes with the clip it was for
        clear()
        upload.set_input_files(str(second))
        analyse.click()
        shows_result()
        pick_agree()
        page.get_by_role("button", name="Save judgement").click()
        status.get_by_text("Next clip loaded").wait_for(timeout=TIMEOUT_MS)
        sync_api.expect(result).to_have_count(0, timeout=TIMEOUT_MS)
        save_is_refused()
        assert len(judgements(app)) == 1
