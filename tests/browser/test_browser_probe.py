"""The "Test this explanation" panel in a real browser (Playwright + Debian chromium), and the /probe API."""

import pytest

from helpers import AppProcess, checkpoint_env
from test_browser_app import artifacts, chromium_browser, sync_api  # noqa: F401 (artifacts: a fixture); skips this module too where chromium is missing

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env = checkpoint_env(tmp_path_factory.mktemp("checkpoint"))
    with AppProcess(tmp_path_factory.mktemp("probe-data"), env=env) as server:
        yield server


def test_panel_shows_the_probes_and_plays_them(app, speech_wav, artifacts):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app.url)
        page.locator("#audio-in input[type=file]").set_input_files(str(speech_wav))
        page.get_by_role("button", name="Analyse", exact=True).click()
        page.locator("#prosody-plot .js-plotly-plot").first.wait_for()   # the result is shown (not the progress %)
        page.locator("#probe-btn").click()
        page.locator("#probe-sentence").get_by_text("this explanation").first.wait_for()
        table = page.locator("#probe-table")
        for name in ("pitch+4st", "pace1.25x", "level-10dB"):
            table.get_by_text(name, exact=True).filter(visible=True).first.wait_for()
        table.get_by_text("+4.0 st requested", exact=False).filter(visible=True).first.wait_for()
        page.locator("#probe-chart .js-plotly-plot").first.wait_for()
        assert page.locator("#probe-chart .js-plotly-plot .barlayer .trace").count() >= 10
        page.locator("#probe-picker").get_by_label("pace1.25x").check()
        page.locator("#probe-audio audio, #probe-audio [data-testid='waveform-x']").first.wait_for(
            state="attached")
        page.locator("#probe-panel").screenshot(path=str(artifacts / "desktop-probe.png"))


def test_probe_api(app, speech_wav):
    from gradio_client import Client, handle_file
    d = Client(app.url, verbose=False).predict(handle_file(str(speech_wav)), api_name="/probe")
    assert {p["name"] for p in d["probes"]} >= {"pitch+4st", "pitch-4st", "pace0.8x", "level+6dB"}
    assert d["probes"][0]["text"].endswith("measured") and d["summary"]
