"""The app's rendering of an /analyze result: safe text, evidence, emphasis, disagreements (no gradio needed)."""

import pytest

from emoexplain.app import judge, render
from emoexplain.app.auth import is_admin
from emoexplain.app.backend import Backend
from emoexplain.app.config import AppConfig
from emoexplain.errors import InvalidJudgement
from emoexplain.explanation import Explanation

RESULT = {
    "schema": 2,
    "emotion": {"label": "angry", "probabilities": {"neutral": 0.1, "happy": 0.1, "angry": 0.7, "sad": 0.1},
                "label_set": "iemocap4"},
    "transcript": "the way he talks about people",
    "caption": 'Emotion: angry. A man <script>alert(1)</script> says "[click](http://x)".',
    "descriptors": {
        "model": {"pitch": "low", "volume": "high", "speed": "slow"},
        "measured": [
            {"name": "pitch", "value": "high", "source": "measured",
             "evidence": {"value": 231.4, "unit": "Hz", "bin_low": 180.0, "bin_high": None, "start_s": 0.0,
                          "end_s": 2.0, "detail": ""}},
            {"name": "volume", "value": "high", "source": "measured",
             "evidence": {"value": -12.0, "unit": "dB", "bin_low": -20.0, "bin_high": None, "start_s": 0.0,
                          "end_s": 2.0, "detail": ""}},
        ],
        "disagreements": [{"name": "pitch", "model": "low", "measured": "high"}],
        "emphasis": [{"word": "people", "start_s": 1.5, "end_s": 1.75}],
    },
    "words": [{"word": w, "start_s": i * 0.3, "end_s": i * 0.3 + 0.25, "score": 1.0}
              for i, w in enumerate("the way he talks about people".split())],
    "acoustics": {"duration_s": 2.0, "emphasis": [{"start_s": 0.62, "end_s": 0.8, "strength": 1.0}],
                  "audio": {"sha256": "a" * 64, "sample_rate": 16000, "original_sample_rate": 22050,
                            "original_duration_s": 2.0, "truncated": False}},
    "model": {"name": "emoexplain-tiny", "version": "0.1"},
    "warnings": ["clipping: 2.1% of samples at full scale"],
    "latency_s": {"acoustics": 0.1, "model": 0.25, "total": 0.4},
}
EXPLANATION = Explanation.from_dict(RESULT)


def test_escape_md_neutralises_html_and_markdown():
    text = render.escape_md('<img src=x onerror=alert(1)> **bold** [a](http://b) | x\nline')
    assert "<" not in text and ">" not in text
    assert "\\*\\*bold\\*\\*" in text and "\\[a\\]\\(http://b\\)" in text.replace("\\:", ":")
    assert "\n" not in text and "\\|" in text


def test_escape_md_keeps_plain_text_readable():
    # apostrophes stay apostrophes (an escaped entity "&\\#x27;" would show literally), controls are dropped
    assert render.escape_md("the model's caption") == "the model's caption"
    assert render.escape_md("a\x7fb\x00c\td") == "abc d"
    assert render.escape_md("x > 3 & y") == "x &gt; 3 &amp; y"
    assert "\\:" in render.escape_md("see http://evil.example") and "\\@" in render.escape_md("me@x.org")


def test_caption_is_escaped():
    md = render.caption_markdown(EXPLANATION)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\[click\\]" in md


def test_emotion_label_is_the_probabilities():
    assert render.emotion_label(EXPLANATION)["angry"] == pytest.approx(0.7)


def test_transcript_highlights_tags_model_and_measured_emphasis():
    tags = dict((w, t) for w, t in render.transcript_highlights(EXPLANATION) if w.strip())
    assert tags["people"] == "emphasis (model)"
    assert tags["he"] == "emphasis (measured)"  # 0.60-0.85 s overlaps the measured segment 0.62-0.80 s
    assert tags["the"] is None and tags["about"] is None


def test_descriptors_show_both_sides_with_evidence_where_they_disagree():
    from emoexplain.app.evidence import descriptor_rows
    rows = {r.name: r for r in descriptor_rows(EXPLANATION)}
    assert rows["pitch"].agree is False and rows["volume"].agree is True
    assert "231 Hz" in rows["pitch"].sentence and "Measured: 231.4 Hz" in rows["pitch"].details
    md = render.descriptor_markdown(EXPLANATION)
    assert "differ" in md and "| pitch | low | high |" in md
    assert list(rows)[:3] == ["pitch", "volume", "speed"]


def test_summary_and_warnings():
    assert "analysis #7" in render.summary_markdown(EXPLANATION, analysis_id=7)
    assert "clipping" in render.warnings_markdown(EXPLANATION)


def test_value_markdown_renders_nested_stats_safely():
    md = render.value_markdown({"counts": {"judgements": 3}, "recent": [{"note": "<b>hi</b>", "id": 1}]})
    assert "**judgements**: 3" in md and "<b>" not in md and "| note | id |" in md


def test_save_without_analysis_is_refused_before_touching_the_store():
    backend = Backend(AppConfig(), explainer=object(), store=object())  # a store object that cannot write
    with pytest.raises(InvalidJudgement, match="analyse a clip first"):
        judge.save(backend, None, emotion="agree")
    with pytest.raises(InvalidJudgement, match="Pick the emotion"):
        judge.save(backend, 3, emotion=None)
    with pytest.raises(InvalidJudgement, match="analyse a clip first"):
        judge.on_save(backend, session=None, emotion="agree", annotator="", verdicts=[], values=[], transcript="",
                      faithfulness=None, helpfulness=None, note="", consent=False, example_idx=0, examples=[])


def test_config_from_env_and_admin_rules(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    cfg = AppConfig.from_env({"EMOEXPLAIN_MAX_SECONDS": "12", "GRADIO_SERVER_PORT": "9999",
                              "EMOEXPLAIN_ADMIN_TOKEN": "s3cret", "EMOEXPLAIN_ADMIN_USERS": "ana, bo"})
    assert (cfg.max_seconds, cfg.port, cfg.admin_users) == (12.0, 9999, ("ana", "bo"))
    assert is_admin(cfg, "s3cret") and not is_admin(cfg, "wrong") and not is_admin(cfg, "")
    assert is_admin(cfg, None, username="bo") and not is_admin(cfg, None, username="eve")
    assert is_admin(AppConfig(host="127.0.0.1"), None) and not is_admin(AppConfig(host="0.0.0.0"), None)
    monkeypatch.setenv("SPACE_ID", "owner/space")   # a Space without a token is never open
    assert not is_admin(AppConfig(host="127.0.0.1"), None)


def test_import_app_is_cheap():
    import subprocess
    import sys
    code = "import sys, app; print(sorted(m for m in ('torch', 'gradio', 'plotly', 'librosa') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(render.__file__).rsplit("/emoexplain/", 1)[0])
    assert out.stdout.strip() == "[]"


def test_help_lists_every_setting():
    import subprocess
    import sys
    root = str(render.__file__).rsplit("/emoexplain/", 1)[0]
    out = subprocess.run([sys.executable, "app.py", "--help"], capture_output=True, text=True, check=True, cwd=root)
    for name in ("EMOEXPLAIN_CHECKPOINT", "EMOEXPLAIN_DATA_DIR", "EMOEXPLAIN_MAX_SECONDS", "EMOEXPLAIN_ADMIN_TOKEN",
                 "GRADIO_SERVER_PORT", "--host"):
        assert name in out.stdout


def test_model_call_is_wrapped_in_spaces_gpu_when_the_package_is_present(monkeypatch):
    import pickle
    import sys
    import types

    calls = []

    def gpu(duration=60):
        def wrap(fn):
            def run(*args):
                calls.append((duration, pickle.loads(pickle.dumps(args))))  # ZeroGPU may pickle the arguments
                return fn(*args)
            return run
        return wrap

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    monkeypatch.setattr("emoexplain.pipeline.explain", lambda path, explainer, max_seconds: (path, explainer,
                                                                                              max_seconds))
    model = object()
    backend = Backend(AppConfig(max_seconds=12), explainer=model, store=object())
    assert backend.explain("clip.wav", id(backend.model), 12.0) == ("clip.wav", model, 12.0)
    assert calls == [(60, ("clip.wav", id(backend.model), 12.0))]

    monkeypatch.setattr("emoexplain.probes.probe", lambda path, explainer, **options: (path, explainer, options))
    assert backend.probe("clip.wav", id(backend.model), {"max_seconds": 12.0}) == ("clip.wav", model,
                                                                                  {"max_seconds": 12.0})
    assert calls[-1] == (120, ("clip.wav", id(backend.model), {"max_seconds": 12.0}))  # the probes: their own allowance

    monkeypatch.delitem(sys.modules, "spaces")
    monkeypatch.setattr("builtins.__import__", _refuse("spaces"))
    plain = Backend(AppConfig(), explainer=model, store=object())
    assert plain.explain("b.wav", id(plain.model), 30.0) == ("b.wav", model, 30.0) and len(calls) == 2


def _refuse(name):
    import builtins
    real = builtins.__import__

    def guarded(module, *args, **kwargs):
        if module == name:
            raise ImportError(f"no {name}")
        return real(module, *args, **kwargs)
    return guarded


def test_example_clips_from_a_folder_json_or_files_and_none_when_empty(tmp_path):
    from emoexplain.app.examples import example_clips
    assert example_clips(tmp_path / "absent") == [] and example_clips(tmp_path) == []
    (tmp_path / "b.wav").write_bytes(b"RIFF")
    (tmp_path / "a.flac").write_bytes(b"fLaC")
    (tmp_path / "notes.txt").write_text("not audio")
    assert [e["file"] for e in example_clips(tmp_path)] == ["a.flac", "b.wav"]
    (tmp_path / "examples.json").write_text('[{"file": "b.wav", "title": "Bee", "emotion": "sad"}, '
                                            '{"file": "missing.wav"}]')
    [only] = example_clips(tmp_path)
    assert (only["title"], only["emotion"], only["path"]) == ("Bee", "sad", str((tmp_path / "b.wav").resolve()))
