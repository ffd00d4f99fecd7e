"""The app in a real browser: Playwright driving Debian's /usr/bin/chromium (never `playwright install`).

1. every size and theme (1280x1000 and 390x844, light and dark): the demo notice reads at WCAG AA contrast;
2. desktop: an error stays in words for 15 s, upload + Analyse, the emotion and each descriptor judged in its own
   row, the plot plays the clip from a click, Save (toast + inline, result gone, next clip), Review, the Model tab's
   card and switcher in the first viewport, a bad hub id summarised;
3. phone in dark mode: a WebM upload (made with ffmpeg) analyses, nothing scrolls sideways, a descriptor judged in
   its row and saved;
4. record through the microphone: Chromium's fake capture device plays a speech file into gr.Audio.
Screenshots of each state go to artifacts/browser/ (git-ignored) or $EMOEXPLAIN_ARTIFACTS.
"""

import json
import contextlib
import os
import shutil
import sqlite3
import subprocess
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
expect = sync_api.expect
expect.set_options(timeout=60_000)   # 2-core CI machines: every expectation waits generously

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"]
TIMEOUT_MS = 60_000
ADMIN_TOKEN = "browser-admin-token"
DESKTOP = {"viewport": {"width": 1280, "height": 1000}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}

# WCAG 2.x contrast of every element with its own text inside `root`, against the colour actually behind it (the
# nearest opaque background up the tree, translucent layers blended over it); returns the lowest ratio and where.
CONTRAST_JS = """(root) => {
  const rgba = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const behind = (el) => { const layers = []; for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor); if (c[3] > 0) layers.push(c); if (c[3] >= 1) break; }
    let bg = [255, 255, 255, 1]; for (const c of layers.reverse()) bg = over(c, bg); return bg; };
  let worst = [Infinity, ""];
  for (const el of document.querySelector(root).querySelectorAll("*")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.offsetParent === null) continue;
    const bg = behind(el), fg = over(rgba(getComputedStyle(el).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < worst[0]) worst = [ratio, el.tagName + ": " + el.textContent.trim().slice(0, 40)];
  }
  return worst;
}"""
# how far anything inside `root` reaches right of the viewport (0: nothing scrolls sideways)
OVERFLOW_JS = """(root) => { const w = document.documentElement.clientWidth; let right = 0, what = "";
  for (const el of document.querySelector(root).querySelectorAll("*")) {
    const r = el.getBoundingClientRect(); if (r.width && r.right > right) { right = r.right; what = el.tagName + "." + el.className; } }
  return [Math.max(0, right - w), document.documentElement.scrollWidth - w, what]; }"""
IN_FIRST_VIEWPORT_JS = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
  return r.height > 0 && r.top >= -2 && r.bottom <= window.innerHeight + 2; }"""


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


@contextlib.contextmanager
def chromium_browser(extra_flags=()):
    """Debian's chromium with the flags every browser test uses (the one place that launches it)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + list(extra_flags))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    yield chromium
    chromium.close()


def _page(browser, app, size: dict, scheme: str):
    context = browser.new_context(color_scheme=scheme, **size)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)  # every action waits generously (2-core CI machines)
    page.goto(app.url)
    page.locator("#audio-in").wait_for()
    return page


def _rows(app, sql: str, params=()) -> list[dict]:
    con = sqlite3.connect(app.data_dir / "emoexplain.db")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def _judgements(app) -> list[dict]:
    return _rows(app, "SELECT j.*, c.duration_s FROM judgements j JOIN analyses a ON a.id = j.analysis_id "
                      "JOIN clips c ON c.sha256 = a.clip_sha256 ORDER BY j.id")


def _analyses(app, analysis_id: int | None = None) -> list[dict]:
    where = "" if analysis_id is None else f"WHERE a.id = {int(analysis_id)}"
    return _rows(app, f"SELECT a.*, c.duration_s FROM analyses a JOIN clips c ON c.sha256 = a.clip_sha256 {where} "
                      "ORDER BY a.id")


def _analyse(page, clip: Path | None = None):
    if clip is not None:
        page.locator("#audio-in input[type=file]").set_input_files(str(clip))
        page.locator("#audio-in").get_by_role("button", name="Play", exact=True).wait_for()
    page.get_by_role("button", name="Analyse", exact=True).click()
    _wait_for_result(page)


def _wait_for_result(page):
    page.locator("#prosody-plot .js-plotly-plot").first.wait_for()
    page.locator("#emotion").get_by_text("%").first.wait_for()


def _judge_row(page, name: str, verdict: str, value: str | None = None):
    """Answer descriptor ``name`` in its own row: the verdict, and the right value in the same row."""
    row = page.locator(f"#desc-{name}")
    row.locator(f"#verdict-{name}").get_by_label(verdict, exact=True).check()
    if value is not None:
        row.locator(f"#value-{name} input").click()
        page.get_by_role("option", name=value, exact=True).click()


def test_the_notice_reads_at_aa_contrast_in_every_size_and_theme(browser, app, artifacts):
    if not _demo(app):
        pytest.skip("the demo notice shows only with the demo checkpoint")
    measured = {}
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark"):
            page = _page(browser, app, size, scheme)
            page.locator("#demo-notice").get_by_text("not a real emotion recognizer").wait_for()
            assert page.evaluate("document.body.classList.contains('dark')") == (scheme == "dark")
            measured[size_name, scheme] = page.evaluate(CONTRAST_JS, "#demo-notice")
            page.screenshot(path=str(artifacts / f"{size_name}-{scheme}-start.png"))
            page.context.close()
    assert all(ratio >= 4.5 for ratio, _ in measured.values()), measured


def test_desktop_judge_in_the_rows_save_review_and_model_tab(browser, app, speech_wav, examples, artifacts,
                                                            tmp_path):
    page = _page(browser, app, DESKTOP, "light")
    assert page.locator("#save-btn").count() == 0            # the form shows only for a result
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")                          # ... and the save shortcut finds nothing to save
    # a silent clip whose file name is HTML: the error stays in words beside Analyse (no "Error" badges)
    hostile = tmp_path / "<img src=x onerror=window.__pwned=1>.wav"
    sf.write(hostile, np.zeros(32000, dtype=np.float32), 16000)
    page.locator("#audio-in input[type=file]").set_input_files(str(hostile))
    page.get_by_role("button", name="Analyse", exact=True).click()
    error = page.locator("#analyse-status .inline-error")
    expect(error).to_contain_text("is silent")
    page.wait_for_timeout(15_500)
    expect(error).to_be_visible()
    expect(error).to_contain_text("img src=x onerror")       # the file name as text, never markup
    assert page.get_by_text("Error", exact=True).count() == 0 and page.evaluate("window.__pwned") is None
    assert _analyses(app) == [] and _judgements(app) == []
    page.screenshot(path=str(artifacts / "desktop-light-error.png"))

    page.locator("#audio-in").get_by_role("button", name="Clear").filter(visible=True).first.click()
    expect(error).to_have_count(0)                           # the next action takes the error away
    _analyse(page, speech_wav)
    page.wait_for_function(IN_FIRST_VIEWPORT_JS, arg="#summary")   # scrolled to the result
    assert page.locator("#prosody-plot .js-plotly-plot .scatterlayer .trace").count() >= 1
    legend = page.locator("#prosody-plot .legendtext").evaluate_all("els => els.map((e) => e.textContent)")
    assert {"pitch (F0)", "energy", "words", "word boundaries"} <= set(legend), legend
    cards = page.locator("#result .desc-card")
    assert cards.count() >= 4 and "Evidence in numbers" in cards.first.inner_text()
    assert "Hz" in page.locator("#desc-pitch .desc-sentence").inner_text()
    page.locator("#desc-pitch summary").click()
    expect(page.locator("#desc-pitch .desc-details li").first).to_contain_text("Measured:")
    page.screenshot(path=str(artifacts / "desktop-light-result.png"), full_page=True)

    # the plot plays the clip from where it is clicked; the cursor follows
    plot = page.locator("#prosody-plot .js-plotly-plot")
    box = plot.bounding_box()
    plot.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.3})
    page.wait_for_function("() => Number(document.querySelector('#prosody-plot .js-plotly-plot').dataset.cursor) > 0.5")
    assert page.locator("#prosody-plot .emo-cursor").is_visible()
    page.screenshot(path=str(artifacts / "desktop-light-playing.png"))

    page.locator("body").click(position={"x": 5, "y": 5})
    emotion = page.locator("#corrected-emotion input[type=radio]")
    page.keyboard.press("2")                                 # the 2nd emotion as numbered on the page
    expect(emotion.nth(1)).to_be_checked()
    page.keyboard.press("a")                                 # the model's own label ("agree")
    model_choice = page.locator("#corrected-emotion label").filter(has_text="· model")
    expect(model_choice.locator("input")).to_be_checked()
    _judge_row(page, "pitch", "right")
    _judge_row(page, "speed", "wrong", "slow")
    page.locator("#annotator input, #annotator textarea").first.fill("browser-tester")
    page.locator("#faithfulness").get_by_label("4").check()
    page.get_by_label("Note (optional)").fill('<b id="injected" onmouseover="window.__pwned=2">hi</b> **md**')
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")                         # the save shortcut
    expect(page.locator("#save-status")).to_contain_text("Saved judgement #")
    expect(page.locator("#save-status")).to_contain_text("Next clip loaded")
    page.locator(".toast-body").filter(has_text="Saved judgement").first.wait_for()
    expect(page.locator("#result")).to_be_hidden()           # the saved result goes; the next clip is in the box
    page.screenshot(path=str(artifacts / "desktop-light-saved.png"))
    [row] = [r for r in _judgements(app) if r["annotator_id"] == "browser-tester"]
    assert row["agreed"] == 1 and row["faithfulness"] == 4
    assert json.loads(row["descriptor_verdicts"]) == {"pitch": {"verdict": "correct"},
                                                      "speed": {"verdict": "wrong", "value": "slow"}}

    _analyse(page)                                           # the next example: a new analysis of that clip
    expect(page.locator("#corrected-emotion input:checked")).to_have_count(0)   # a fresh form
    assert _analyses(app)[-1]["duration_s"] == pytest.approx(sf.info(str(examples / "calm.wav")).duration, abs=0.05)

    page.get_by_role("tab", name="Review").click()
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Unlock").click()
    # the dataframe keeps a hidden copy of its cells for sizing: look for the visible one
    page.locator("#recent").get_by_text("browser-tester").filter(visible=True).first.wait_for()
    page.locator("#recent").get_by_text('<b id="injected"').filter(visible=True).first.wait_for()
    assert page.locator("#injected").count() == 0 and page.evaluate("window.__pwned") is None
    page.get_by_role("button", name="Export", exact=True).click()
    link = page.locator("a[download$='.csv']").first  # gr.File's download link
    link.wait_for(state="attached")
    exported = page.request.get(link.get_attribute("href"))
    assert exported.ok and "browser-tester" in exported.text()
    page.locator("#recent").get_by_text("browser-tester").filter(visible=True).first.click()   # opens its analysis
    expect(page.locator("#opened-summary")).to_contain_text("Judgement #")
    expect(page.locator("#opened-cards .desc-card").first).to_be_visible()
    page.screenshot(path=str(artifacts / "desktop-light-review.png"), full_page=True)

    page.get_by_role("tab", name="Model").click()
    page.locator("#model-card").get_by_text("Loaded model").first.wait_for()
    page.locator("#switch-btn").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate(IN_FIRST_VIEWPORT_JS, "#switch-btn") and page.evaluate(IN_FIRST_VIEWPORT_JS, "#model-card")
    page.screenshot(path=str(artifacts / "desktop-light-model.png"))
    page.locator("#checkpoint-choice input").fill("no-such-user/no-such-model")
    page.locator("#checkpoint-choice input").press("Enter")
    page.locator("#switch-btn").click()
    expect(page.locator("#switch-status .inline-error")).to_contain_text("no-such-user/no-such-model")
    assert "Traceback" not in page.locator("#switch-status").inner_text()
    page.screenshot(path=str(artifacts / "desktop-light-model-error.png"))
    page.context.close()


def test_phone_dark_webm_no_sideways_scrolling_judge_in_a_row(browser, app, speech_wav, artifacts, tmp_path):
    webm = tmp_path / "phone recording.webm"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(speech_wav), "-c:a", "libopus", "-b:a", "32k",
                    str(webm)], check=True)
    page = _page(browser, app, PHONE, "dark")
    page.locator(".block.shortcut-hint").wait_for(state="attached")
    assert page.locator(".block.shortcut-hint").is_hidden()  # no keyboard hints on a touch screen
    _analyse(page, webm)                                     # accepted by the component, decoded by the server
    assert page.locator("#audio-in").get_by_text("Invalid file type").count() == 0
    page.wait_for_function(IN_FIRST_VIEWPORT_JS, arg="#summary")   # scrolled to the result
    beyond, scroll, what = page.evaluate(OVERFLOW_JS, "#result")
    assert beyond <= 1 and scroll <= 0, (beyond, scroll, what)
    page.screenshot(path=str(artifacts / "phone-dark-result.png"), full_page=True)
    page.locator("#corrected-emotion label").first.tap()
    _judge_row(page, "pitch", "wrong", "high")
    page.locator("#save-btn").tap()
    expect(page.locator("#save-status")).to_contain_text("Saved judgement #")
    assert json.loads(_judgements(app)[-1]["descriptor_verdicts"])["pitch"] == {"verdict": "wrong", "value": "high"}
    assert page.evaluate(CONTRAST_JS, "#save-status")[0] >= 4.5
    page.screenshot(path=str(artifacts / "phone-dark-saved.png"))
    page.context.close()


def test_record_through_the_microphone(app, playwright, synth_speech, artifacts):
    speech = synth_speech("Recording through the microphone works in the browser, and this sentence proves it.")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech}"])
    try:
        context = browser.new_context(permissions=["microphone"], **DESKTOP)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app.url)
        audio = page.locator("#audio-in")
        # gr.Audio(sources=["upload", "microphone"]) (Gradio 6.31) starts on upload; its source bar has the
        # icon buttons "Upload file" and "Record audio". Wait for the page to render before switching.
        audio.get_by_role("button", name="Record audio").click()
        audio.get_by_role("button", name="Record", exact=True).click()
        stop = audio.get_by_role("button", name="Stop", exact=True)
        stop.wait_for()                         # recording has started
        page.wait_for_timeout(4000)             # the length of the recording, not an assertion
        stop.click()
        audio.get_by_role("button", name="Play", exact=True).wait_for()  # the recording is the value
        # ... and its waveform is loaded: the player shows its length (about 0:04), no longer 0:00
        expect(audio.locator("time#duration")).not_to_have_text("0:00")
        page.keyboard.press("Control+Enter")  # the analyse shortcut
        _wait_for_result(page)
        summary = page.locator("#summary").inner_text()
        page.screenshot(path=str(artifacts / "desktop-light-microphone.png"))
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


def _demo(app) -> bool:
    return "EMOEXPLAIN_CHECKPOINT" not in app.env or "demo_checkpoint" in app.env["EMOEXPLAIN_CHECKPOINT"]
