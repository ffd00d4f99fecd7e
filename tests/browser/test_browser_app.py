"""The app in a real browser: Playwright driving Debian's /usr/bin/chromium (never `playwright install`).

1. upload a clip, Analyse, see the prediction and the rendered plotly plot, judge and save (keyboard shortcut);
2. record through the microphone: Chromium's fake capture device plays a speech file into gr.Audio.
Screenshots (desktop and phone width) go to artifacts/browser/ (git-ignored) or $EMOEXPLAIN_ARTIFACTS.
"""

import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emoexplain.paths import ROOT
from helpers import AppProcess, checkpoint_env

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian chromium is not installed (CI installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000
ADMIN_TOKEN = "browser-admin-token"


@pytest.fixture(scope="module")
def demo_checkpoint_env(tmp_path_factory) -> dict:
    return checkpoint_env(tmp_path_factory.mktemp("checkpoint"))


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("EMOEXPLAIN_ARTIFACTS", ROOT / "artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def examples(tmp_path_factory, synth_speech) -> Path:
    """Two example clips with titles: the app lists them and loads the next one after each save."""
    folder = tmp_path_factory.mktemp("examples")
    for name, text in (("calm.wav", "A calm example sentence for the page."),
                       ("long.wav", "This second example is a good deal longer than the first one, so that the "
                                    "analysis of it is easy to tell apart from the analysis of anything else.")):
        shutil.copy(synth_speech(text), folder / name)
    (folder / "examples.json").write_text(json.dumps([{"file": "calm.wav", "title": "Calm example",
                                                       "emotion": "neutral"},
                                                      {"file": "long.wav", "title": "Longer example"}]))
    return folder


@pytest.fixture(scope="module")
def app(tmp_path_factory, demo_checkpoint_env, examples):
    env = {**demo_checkpoint_env, "EMOEXPLAIN_ADMIN_TOKEN": ADMIN_TOKEN, "EMOEXPLAIN_EXAMPLES_DIR": str(examples)}
    with AppProcess(tmp_path_factory.mktemp("browser-data"), env=env) as server:
        yield server


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as p:
        yield p


def _judgements(app) -> list[dict]:
    con = sqlite3.connect(app.data_dir / "emoexplain.db")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(
            "SELECT j.*, c.duration_s FROM judgements j JOIN analyses a ON a.id = j.analysis_id "
            "JOIN clips c ON c.sha256 = a.clip_sha256 ORDER BY j.id")]
    finally:
        con.close()


def _wait_for_result(page):
    page.locator("#prosody-plot .js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#emotion").get_by_text("%").first.wait_for(timeout=TIMEOUT_MS)


def test_upload_analyse_judge_and_save(app, playwright, speech_wav, examples, artifacts, tmp_path):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)  # every action waits generously (2-core CI machines)
        page.goto(app.url)
        page.locator("#demo-notice").get_by_text("not a real emotion recognizer").wait_for(timeout=TIMEOUT_MS) \
            if _demo(app) else None
        page.get_by_text("Calm example (neutral)").first.wait_for(timeout=TIMEOUT_MS)  # the example list
        page.get_by_role("button", name="Save judgement").click()  # nothing analysed yet
        page.get_by_text("Nothing to save yet").first.wait_for(timeout=TIMEOUT_MS)
        assert _judgements(app) == []
        # a silent clip whose file name is HTML: the error names the file, and it stays text
        hostile = tmp_path / "<img src=x onerror=window.__pwned=1>.wav"
        sf.write(hostile, np.zeros(32000, dtype=np.float32), 16000)
        page.locator("#audio-in input[type=file]").set_input_files(str(hostile))
        page.get_by_role("button", name="Analyse", exact=True).click()
        page.get_by_text("is silent").first.wait_for(timeout=TIMEOUT_MS)
        assert page.evaluate("window.__pwned") is None and _analyses(app) == []
        page.screenshot(path=str(artifacts / "desktop-error.png"))
        page.locator("#audio-in").get_by_role("button", name="Clear").filter(visible=True).first.click()
        page.locator("#audio-in input[type=file]").set_input_files(str(speech_wav))
        page.get_by_role("button", name="Analyse", exact=True).click()
        _wait_for_result(page)
        first_summary = page.locator(".small-note").first.inner_text()
        assert page.locator("#descriptors table").count() == 1
        assert page.locator("#prosody-plot .js-plotly-plot .scatterlayer .trace").count() >= 1
        page.screenshot(path=str(artifacts / "desktop-result.png"), full_page=True)

        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("2")  # shortcut: the 2nd emotion label
        radios = page.locator("#corrected-emotion input[type=radio]")
        sync_api.expect(radios.nth(2)).to_be_checked(timeout=TIMEOUT_MS)
        page.keyboard.press("a")  # shortcut: agree with the model
        sync_api.expect(page.locator("#corrected-emotion").get_by_label("agree")).to_be_checked(timeout=TIMEOUT_MS)
        page.locator("#verdict-pitch").get_by_label("right").check()
        page.locator("#verdict-speed").get_by_label("wrong").check()
        page.get_by_label("the right speed").first.wait_for(timeout=TIMEOUT_MS)
        page.locator("#annotator input, #annotator textarea").first.fill("browser-tester")
        page.locator("#faithfulness").get_by_label("4").check()
        page.get_by_label("Note (optional)").fill('<b id="injected" onmouseover="window.__pwned=2">hi</b> **md**')
        page.locator("#verdict-speed").get_by_label("unsure").check()  # changed mind: no value needed
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+s")  # the save shortcut
        page.locator("#save-status").get_by_text("Saved judgement #").wait_for(timeout=TIMEOUT_MS)
        page.locator("#save-status").get_by_text("Next clip loaded").wait_for(timeout=TIMEOUT_MS)
        page.keyboard.press("Control+s")  # the next clip is in the box: nothing to save until it is analysed
        page.get_by_text("Nothing to save yet").first.wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(artifacts / "desktop-saved.png"), full_page=True)
        rows = [r for r in _judgements(app) if r["annotator_id"] == "browser-tester"]
        assert len(rows) == 1 and rows[0]["agreed"] == 1 and rows[0]["faithfulness"] == 4
        assert '"speed": {"verdict": "unsure"}' in rows[0]["descriptor_verdicts"]

        # the next example is in the audio box: analysing it gives a new analysis of that clip
        page.get_by_role("button", name="Analyse", exact=True).click()
        sync_api.expect(page.locator(".small-note").first).not_to_have_text(first_summary, timeout=TIMEOUT_MS)
        _wait_for_result(page)
        example = _analyses(app)[-1]
        assert example["duration_s"] == pytest.approx(sf.info(str(examples / "calm.wav")).duration, abs=0.05)

        # the newcomer's last step: the judgement is in the Review tab and in the export
        page.get_by_role("tab", name="Review").click()
        page.get_by_label("Admin token").fill("wrong token")
        page.get_by_role("button", name="Unlock").click()
        page.get_by_text("not right").first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_label("Admin token").fill(ADMIN_TOKEN)
        page.get_by_role("button", name="Unlock").click()
        # the dataframe keeps a hidden copy of its cells for sizing: look for the visible one
        page.locator("#recent").get_by_text("browser-tester").filter(visible=True).first.wait_for(timeout=TIMEOUT_MS)
        # the note is shown as the text that was typed, never as markup
        page.locator("#recent").get_by_text('<b id="injected"').filter(visible=True).first.wait_for(timeout=TIMEOUT_MS)
        assert page.locator("#injected").count() == 0 and page.evaluate("window.__pwned") is None
        page.get_by_role("button", name="Export", exact=True).click()
        link = page.locator("a[download$='.csv']").first  # gr.File's download link
        link.wait_for(state="attached", timeout=TIMEOUT_MS)
        exported = page.request.get(link.get_attribute("href"))
        assert exported.ok and "browser-tester" in exported.text()
        page.screenshot(path=str(artifacts / "desktop-review.png"), full_page=True)

        # the Model tab: the loaded checkpoint's card, and (unlocked) the checkpoint switcher
        page.get_by_role("tab", name="Model").click()
        page.get_by_text("Loaded model").first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("button", name="Switch (admin)").click()  # reloads the selected (current) checkpoint
        page.get_by_text("Switched to").first.wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(artifacts / "desktop-model.png"), full_page=True)

        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.set_default_timeout(TIMEOUT_MS)
        phone.goto(app.url)
        phone.locator("#audio-in input[type=file]").set_input_files(str(speech_wav))
        phone.get_by_role("button", name="Analyse", exact=True).click()
        _wait_for_result(phone)
        phone.screenshot(path=str(artifacts / "phone-result.png"), full_page=True)
    finally:
        browser.close()


def test_record_through_the_microphone(app, playwright, synth_speech, artifacts):
    speech = synth_speech("Recording through the microphone works in the browser, and this sentence proves it.")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech}"])
    try:
        context = browser.new_context(permissions=["microphone"], viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app.url)
        audio = page.locator("#audio-in")
        # gr.Audio(sources=["upload", "microphone"]) (Gradio 6.31) starts on upload; its source bar has the
        # icon buttons "Upload file" and "Record audio". Wait for the page to render before switching.
        audio.get_by_role("button", name="Record audio").click(timeout=TIMEOUT_MS)
        audio.get_by_role("button", name="Record", exact=True).click(timeout=TIMEOUT_MS)
        stop = audio.get_by_role("button", name="Stop", exact=True)
        stop.wait_for(timeout=TIMEOUT_MS)       # recording has started
        page.wait_for_timeout(4000)             # the length of the recording, not an assertion
        stop.click()
        audio.get_by_role("button", name="Play", exact=True).wait_for(timeout=TIMEOUT_MS)  # the recording is the value
        # ... and its waveform is loaded: the player shows its length (about 0:04), no longer 0:00
        sync_api.expect(audio.locator("time#duration")).not_to_have_text("0:00", timeout=TIMEOUT_MS)
        page.screenshot(path=str(artifacts / "desktop-microphone-recorded.png"))
        page.keyboard.press("Control+Enter")  # the analyse shortcut
        _wait_for_result(page)
        summary = page.locator(".small-note").first.inner_text()
        page.screenshot(path=str(artifacts / "desktop-microphone.png"), full_page=True)
    finally:
        browser.close()
    assert "analysis #" in summary, summary
    analysis_id = int(summary.split("analysis #")[1].split()[0])
    seconds = float(summary.split(" s analysed")[0].split("·")[-1])
    assert 2.5 < seconds < 8, summary  # about the 4 s recorded, not an empty or default clip
    # the recording carries the speech file: its measured pitch matches the file's own analysis
    from gradio_client import Client, handle_file
    direct = Client(app.url, verbose=False).predict(handle_file(str(speech)), api_name="/analyze")
    [recorded] = _analyses(app, analysis_id)
    recorded_pitch = json.loads(recorded["acoustics"])["pitch"]["median_hz"]
    direct_pitch = direct["acoustics"]["pitch"]["median_hz"]
    assert recorded_pitch == pytest.approx(direct_pitch, rel=0.15), (recorded_pitch, direct_pitch)
    assert recorded["clip_sha256"] != direct["acoustics"]["audio"]["sha256"]  # a real recording, not the file


def _analyses(app, analysis_id: int | None = None) -> list[dict]:
    con = sqlite3.connect(app.data_dir / "emoexplain.db")
    con.row_factory = sqlite3.Row
    where = "" if analysis_id is None else f"WHERE a.id = {int(analysis_id)}"
    try:
        return [dict(r) for r in con.execute("SELECT a.*, c.duration_s FROM analyses a JOIN clips c "
                                             f"ON c.sha256 = a.clip_sha256 {where} ORDER BY a.id")]
    finally:
        con.close()


def _demo(app) -> bool:
    return "EMOEXPLAIN_CHECKPOINT" not in app.env or "demo_checkpoint" in app.env["EMOEXPLAIN_CHECKPOINT"]
