"""Campaigns in the app (issue 13): handlers without gradio, and two annotators through the running app's API."""

import pytest

from emoexplain.errors import AdminRequired, InvalidJudgement

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _tones(folder, n):
    import numpy as np
    import soundfile as sf
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        t = np.arange(int((1.0 + 0.2 * i) * 16000)) / 16000
        sf.write(folder / f"clip{i}.wav", 0.3 * np.sin(2 * np.pi * (150 + 60 * i) * t), 16000)


@pytest.fixture(scope="module")
def explainer():
    pytest.importorskip("emoexplain.acoustics")
    from emoexplain.model import load_explainer
    return load_explainer("assets/demo_checkpoint")


def _campaign(data, explainer, *, per_clip=2, n=3, gold=None):
    from emoexplain.store import campaigns as C
    from emoexplain.store import open_store
    _tones(data.parent / "src", n)
    store = open_store(data / "emoexplain.db")
    C.create_campaign(store, "pilot", data.parent / "src", per_clip=per_clip, label_set="iemocap4", owner="lab",
                      gold=gold)
    assert C.analyse_campaign(store, "pilot", explainer=explainer, generate=False).wait(120)["error"] is None
    return store


def test_annotator_and_admin_handlers(tmp_path, explainer):
    from emoexplain.app import campaign
    from emoexplain.app.backend import Backend
    from emoexplain.app.config import AppConfig

    store = _campaign(tmp_path / "data", explainer, gold={"clip0.wav": "sad"})
    backend = Backend(AppConfig(data_dir=str(tmp_path / "data")), explainer=explainer, store=store)
    assert campaign.on_campaign_list(backend).campaigns.choices == ["pilot"]
    with pytest.raises(InvalidJudgement, match="Type your name"):
        campaign.on_next(backend, campaign="pilot", annotator="  ")
    answers = {"ada": "sad", "bob": "angry"}
    for _ in range(3):
        for who, label in answers.items():
            view = campaign.on_next(backend, campaign="pilot", annotator="typed", username=who)  # login wins
            assert view.lease.annotator == who and view.choice.choices[-1] == "unsure"
            assert view.audio.endswith(".wav") and "owner, lab" in view.kept
            with pytest.raises(InvalidJudgement, match="Choose the emotion"):
                campaign.on_submit(backend, lease=view.lease, emotion=None, username=who)
            assert campaign.on_submit(backend, lease=view.lease, emotion=label, username=who).lease is None
    assert campaign.on_next(backend, campaign="pilot", annotator="ada").lease is None  # done
    with pytest.raises(AdminRequired):
        campaign.on_admin_status(backend, unlocked=False, name="pilot")
    admin = campaign.on_admin_status(backend, unlocked=True, name="pilot")
    quality = {row["annotator"]: row for row in admin.quality.rows}
    assert (quality["ada"]["gold_accuracy"], quality["bob"]["gold_accuracy"]) == (1.0, 0.0)
    assert quality["ada"]["leave_one_out"] == 0.0 and quality["ada"]["loo_n"] == 3
    assert [row["judgements"] for row in admin.clips.rows] == ["2/2"] * 3
    assert "3 complete" not in admin.progress and "2 complete" in admin.progress  # the gold clip has no target
    assert "| emotion | 3 | 2 |" in admin.agreement  # 3 clips, 2 raters
    excluded = campaign.on_exclude(backend, unlocked=True, name="pilot", annotator="bob", exclude=True)
    assert {row["annotator"]: row["excluded"] for row in excluded.quality.rows} == {"ada": False, "bob": True}
    assert [row["judgements"] for row in excluded.clips.rows] == ["1/2"] * 3
    mine = campaign.on_mine(backend, annotator="ada")
    assert len(mine.mine.rows) == 3
    gone = campaign.on_delete_mine(backend, annotator="ada", ids=str(mine.mine.rows[0]["judgement_id"]))
    assert len(gone.mine.rows) == 2 and "Deleted 1" in gone.status


def test_two_annotators_through_the_app_each_clip_ends_with_two_judgements_and_a_consensus(tmp_path, explainer):
    """Two gradio_client sessions against `python app.py`, overlap 2: /campaign_next and /campaign_submit."""
    from gradio_client import Client

    from emoexplain.store import campaigns as C
    from emoexplain.store import open_store
    from tests.helpers import AppProcess

    data = tmp_path / "data"
    _campaign(data, explainer, per_clip=2, n=3).close()
    app = AppProcess(data).start()
    try:
        clients = {who: Client(app.url, verbose=False) for who in ("ada", "bob")}
        served = {who: [] for who in clients}
        busy = set(clients)
        while busy:
            for who in sorted(busy):
                offer = clients[who].predict("pilot", who, api_name="/campaign_next")
                if offer["status"] != "clip":
                    assert offer["status"] == "done", offer
                    busy.discard(who)
                    continue
                assert "audio" not in offer["clip"]  # no server paths over the API
                served[who].append(offer["clip"]["name"])
                clients[who].predict("pilot", who, offer["analysis_id"], offer["analysis_token"],
                                     "sad" if who == "ada" or len(served[who]) > 1 else "happy",
                                     None, "", api_name="/campaign_submit")
        forged = clients["bob"].predict("pilot", "bob", api_name="/campaign_next")
        assert forged["status"] == "done"
    finally:
        app.stop()
    assert sorted(served["ada"]) == sorted(served["bob"]) == ["clip0.wav", "clip1.wav", "clip2.wav"]
    store = open_store(data / "emoexplain.db")
    status = C.status(store, "pilot")
    assert [clip["judgements"] for clip in status["clips"]] == [2, 2, 2]
    majorities = [clip["consensus"]["emotion"]["majority"] for clip in status["clips"]]
    assert sorted((m["value"] for m in majorities), key=str) == [None, "sad", "sad"]  # one 1:1 tie, two agree
    assert [clip["n_judgements"] for clip in C.consensus(store, "pilot").values()] == [2, 2, 2]


def test_descriptor_verdicts_given_in_the_campaign_rows_reach_the_consensus(tmp_path, explainer):
    from emoexplain.app import campaign
    from emoexplain.app.backend import Backend
    from emoexplain.app.config import AppConfig
    from emoexplain.descriptors import ORDER
    from emoexplain.store import campaigns as C

    store = _campaign(tmp_path / "data", explainer, n=1)
    backend = Backend(AppConfig(data_dir=str(tmp_path / "data")), explainer=explainer, store=store)
    pitch = ORDER.index("pitch")
    for who in ("ada", "bob"):
        view = campaign.on_next(backend, campaign="pilot", annotator=who)
        assert view.descriptors.visible and view.rows[pitch].visible and "Pitch" in view.cards[pitch]
        # the same rows as the Analyse tab: this campaign was analysed without captions, so the model gave no
        # pitch word and the row offers "add one"
        assert ("add one", "add") in view.verdicts[pitch].choices
        verdicts, values = [None] * len(ORDER), [None] * len(ORDER)
        verdicts[pitch], values[pitch] = "add", "high"
        campaign.on_submit(backend, lease=view.lease, emotion="sad", verdicts=verdicts, values=values)
    [clip] = C.consensus(store, "pilot").values()
    assert clip["n_judgements"] == 2 and set(clip["descriptors"]) == {"pitch"}   # unanswered rows are not verdicts
    assert clip["descriptors"]["pitch"]["majority"]["value"] == "high"
    assert campaign.on_next(backend, campaign="pilot", annotator="cy").descriptors.visible is False  # no clip left
