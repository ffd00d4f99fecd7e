"""``python -m emoexplain analyze``: summary, --json, --plot, --max-seconds, errors and exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from emoexplain.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_is_the_profile_dict(speech_wav, capsys):
    from emoexplain.acoustics import analyze
    assert main(["analyze", str(speech_wav), "--json"]) == 0
    out = capsys.readouterr()
    [d] = _json_lines(out.out)
    assert d == json.loads(json.dumps(analyze(speech_wav).to_dict()))
    assert d["descriptors"] and all("evidence" in x for x in d["descriptors"])
    assert out.err == ""


def test_summary_names_the_numbers_and_words(speech_wav, capsys):
    assert main(["analyze", str(speech_wav)]) == 0
    text = capsys.readouterr().out
    for needle in ("pitch   median", "Hz", "dBFS", "syllables/s", "tone", "speed", "pitch_variation"):
        assert needle in text, needle


def test_errors_go_to_stderr_and_other_files_still_run(speech_wav, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    missing = tmp_path / "missing.wav"
    status = main(["analyze", str(missing), str(speech_wav), str(bad), "--json"])
    out = capsys.readouterr()
    assert status == 1
    assert len(_json_lines(out.out)) == 1
    errors = out.err.strip().splitlines()
    assert len(errors) == 2 and errors[0].startswith(f"error: {missing}") and str(bad) in errors[1]


def test_several_files_one_json_line_each(synth_speech, capsys):
    a, b = synth_speech(pitch=20), synth_speech(pitch=80)
    assert main(["analyze", str(a), str(b), "--json"]) == 0
    low, high = _json_lines(capsys.readouterr().out)
    assert low["pitch"]["median_hz"] < high["pitch"]["median_hz"]


def test_plot_png_and_html(speech_wav, synth_speech, tmp_path, capsys):
    png = tmp_path / "one.png"
    assert main(["analyze", str(speech_wav), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot: {png}" in capsys.readouterr().out
    other = synth_speech(rate=120)
    html = tmp_path / "many.html"
    assert main(["analyze", str(speech_wav), str(other), "--plot", str(html), "--json"]) == 0
    written = sorted(p.name for p in tmp_path.glob("many_*.html"))
    assert written == sorted([f"many_{Path(speech_wav).stem}.html", f"many_{Path(other).stem}.html"])
    assert len(_json_lines(capsys.readouterr().out)) == 2            # --json output stays pure JSON


def test_bad_plot_suffix_is_a_usage_error(speech_wav, tmp_path, capsys):
    assert main(["analyze", str(speech_wav), "--plot", str(tmp_path / "x.svg")]) == 2
    assert "png or .html" in capsys.readouterr().err
    assert main(["analyze", str(speech_wav), "--max-seconds", "0"]) == 2


def test_max_seconds_truncates_with_a_warning(tmp_path, sine, capsys):
    path = tmp_path / "long.wav"
    soundfile.write(path, np.tile(sine(180.0, seconds=1.0), 8), 16000)
    assert main(["analyze", str(path), "--json", "--max-seconds", "3"]) == 0
    [d] = _json_lines(capsys.readouterr().out)
    assert d["duration_s"] == pytest.approx(3.0) and d["audio"]["truncated"] is True
    assert any("truncated to first 3.0 s of 8.0 s" in w for w in d["warnings"])


def test_gender_option_changes_the_register(synth_speech, capsys):
    path = synth_speech(pitch=99)                     # ~160 Hz: high for a man, low for a woman
    words = {}
    for gender in ("male", "female"):
        assert main(["analyze", str(path), "--json", "--gender", gender]) == 0
        [d] = _json_lines(capsys.readouterr().out)
        words[gender] = next(x for x in d["descriptors"] if x["name"] == "pitch")["value"]
    assert words["male"] != words["female"]


def test_module_entry_point_and_exit_codes(speech_wav, tmp_path):
    run = [sys.executable, "-m", "emoexplain"]
    ok = subprocess.run([*run, "analyze", str(speech_wav), "--json"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["duration_s"] > 1
    missing = subprocess.run([*run, "analyze", str(tmp_path / "none.wav")], cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stdout == "" and "No audio file" in missing.stderr
    usage = subprocess.run(run, cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "analyze" in usage.stderr


def test_explain_subcommand_is_registered(capsys):
    with pytest.raises(SystemExit) as info:
        main(["explain", "--help"])
    assert info.value.code == 0
    assert "--checkpoint" in capsys.readouterr().out
