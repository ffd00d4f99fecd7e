"""Two annotators in two browser contexts work through one campaign with overlap 2 (issue 13): every clip ends
with two judgements and a consensus, and the Review tab shows gold accuracy and leave-one-out agreement."""

import re

import numpy as np
import pytest
import soundfile as sf

from helpers import AppProcess, checkpoint_env
from test_browser_app import TIMEOUT_MS, artifacts, chromium_browser, sync_api  # noqa: F401 (artifacts: a fixture); skips this module where that one skips

ADMIN_TOKEN = "campaign-admin-token"


@pytest.fixture(scope="module")
def campaign_app(tmp_path_factory):
    from emoexplain.model import load_explainer
    from emoexplain.store import campaigns as C
    from emoexplain.store import open_store

    root = tmp_path_factory.mktemp("campaign")
    src = root / "src"
    src.mkdir()
    for i in range(3):
        t = np.arange(int((1.0 + 0.2 * i) * 16000)) / 16000
        sf.write(src / f"clip{i}.wav", 0.3 * np.sin(2 * np.pi * (150 + 60 * i) * t), 16000)
    with open_store(root / "data" / "emoexplain.db") as store:
        C.create_campaign(store, "pilot", src, per_clip=2, label_set="iemocap4", owner="lab",
                          gold={"clip0.wav": "sad"}, instructions="Listen once, then choose.")
        job = C.analyse_campaign(store, "pilot", explainer=load_explainer("assets/demo_checkpoint"), generate=False)
        assert job.wait(120)["error"] is None
    env = {**checkpoint_env(root / "checkpoint"), "EMOEXPLAIN_ADMIN_TOKEN": ADMIN_TOKEN}
    with AppProcess(root / "data", env=env) as server:
        yield server


def _status(page) -> str:
    return page.locator("#campaign-status").inner_text()


def _wait_for_offer(page, judged: int) -> str:
    """The status once it offers the annotator's next clip (``judged`` clips behind them) or says it is done."""
    sync_api.expect(page.locator("#campaign-status")).to_have_text(
        re.compile(rf"you have judged {judged};|Thank you"), timeout=TIMEOUT_MS)
    sync_api.expect(page.locator("#campaign-emotion .progress-text")).to_have_count(0, timeout=TIMEOUT_MS)
    return _status(page)


def test_two_browsers_work_through_a_campaign(campaign_app, artifacts):
    from emoexplain.store import campaigns as C
    from emoexplain.store import open_store

    with chromium_browser() as browser:
        pages = {}
        for who in ("ada", "bob"):
            page = browser.new_context().new_page()
            page.goto(campaign_app.url)
            page.get_by_role("tab", name="Campaigns").click()
            sync_api.expect(page.locator("#campaign-name input")).to_have_value("pilot", timeout=TIMEOUT_MS)
            page.locator("#campaign-annotator input, #campaign-annotator textarea").first.fill(who)
            page.locator("#campaign-next").click()
            shown = _wait_for_offer(page, 0)
            assert "Listen once" in shown
            pages[who] = (page, shown, 0)
        answers = {"ada": "sad", "bob": "happy"}
        done = set()
        while len(done) < 2:
            for who, (page, shown, judged) in list(pages.items()):
                if who in done:
                    continue
                if "Thank you" in shown:
                    done.add(who)
                    continue
                page.locator("#campaign-emotion").get_by_label(answers[who], exact=True).check()
                # the pitch row, as on the Analyse tab: the model gave no word here, so "add one" and pick it
                page.locator("#campaign-verdict-pitch").get_by_label("add one", exact=True).check()
                page.locator("#campaign-value-pitch input").click()
                page.get_by_role("option", name="high", exact=True).click()
                if who == "ada" and judged == 0:
                    page.screenshot(path=str(artifacts / "desktop-campaign.png"), full_page=True)
                page.locator("#campaign-save").click()
                pages[who] = (page, _wait_for_offer(page, judged + 1), judged + 1)
        admin = browser.new_context().new_page()
        admin.goto(campaign_app.url)
        admin.get_by_role("tab", name="Review").click()
        admin.get_by_label("Admin token").fill(ADMIN_TOKEN)
        admin.get_by_role("button", name="Unlock").click()
        admin.locator("#campaign-refresh").click()
        admin.locator("#campaign-admin-name input").click()
        admin.get_by_role("option", name="pilot").click()
        quality = admin.locator("#campaign-quality")
        quality.get_by_text("leave_one_out").first.wait_for(timeout=TIMEOUT_MS)
        text = quality.inner_text()
        assert "gold_accuracy" in text and "ada" in text and "bob" in text
    with open_store(campaign_app.data_dir / "emoexplain.db") as store:
        status = C.status(store, "pilot")
        quality = {q["annotator"]: q for q in C.quality(store, "pilot")}
    assert [clip["judgements"] for clip in status["clips"]] == [2, 2, 2]
    assert all(clip["consensus"]["emotion"]["majority"]["n_votes"] == 2 for clip in status["clips"])
    assert all(clip["consensus"]["descriptors"]["pitch"]["majority"]["value"] == "high" for clip in status["clips"])
    assert (quality["ada"]["gold"]["accuracy"], quality["bob"]["gold"]["accuracy"]) == (1.0, 0.0)
