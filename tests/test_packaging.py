"""pyproject.toml: every package is in the wheel, the wheel carries the run-time data and runs from outside the
repository, pins live only in the requirements files, and nothing at run time needs a benchmark-only package."""

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from emoexplain.paths import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_repository_is_listed():
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".") for top in ("emoexplain", "train")
             for p in (ROOT / top).rglob("__init__.py")}
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"


def test_pins_live_in_the_requirements_files_and_are_exact():
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]
    files = dynamic["dependencies"]["file"] + [f for extra in dynamic["optional-dependencies"].values()
                                               for f in extra["file"]]
    for name in files:
        lines = [x.strip() for x in (ROOT / name).read_text().splitlines() if x.strip() and not x.startswith("#")]
        assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][\w.]*", x) for x in lines), name
    assert "dependencies" not in PYPROJECT["project"]   # no second copy of the pins


def test_no_runtime_module_imports_a_benchmark_only_package():
    runtime = [ROOT / "app.py", *(ROOT / "emoexplain").rglob("*.py")]
    for path in runtime:
        assert not re.search(r"^\s*(import|from) (librosa|parselmouth|playwright|pytest)\b", path.read_text(), re.M), path
    assert "librosa" not in (ROOT / "requirements.txt").read_text()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the tracked files (the working tree gets no build/ folder)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src),
                    "-w", str(out)], check=True, capture_output=True)
    [whl] = out.glob("emoexplain-*.whl")
    return whl


def test_the_wheel_carries_the_data_and_the_command(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for data in ("descriptor_bins.json", "label_sets.json", "demo_checkpoint/config.json",
                 "demo_checkpoint/lora/adapter_model.safetensors", "tiny_backbones/hubert/model.safetensors",
                 "tiny_backbones/llm/tokenizer.json"):
        assert f"emoexplain/assets/{data}" in names, data
    assert "train/configs/demo_tiny.json" in names and "emoexplain/app/edge.py" in names
    assert not any(n.startswith(("tests/", "bench/")) or n == "app.py" for n in names)
    assert "emoexplain = emoexplain.__main__:main" in entry_points


def test_the_unpacked_wheel_measures_a_clip_outside_the_repository(wheel, tmp_path, speech_wav):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    code = ("import sys, emoexplain.paths as p; from emoexplain.__main__ import main; "
            "assert p.ROOT == p.PACKAGE_DIR, p.ROOT; sys.exit(main(['analyze', '--json', sys.argv[1]]))")
    out = subprocess.run([sys.executable, "-c", code, str(speech_wav)], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert '"descriptors"' in out.stdout and '"pitch"' in out.stdout


def test_the_command_has_analyze_explain_store_and_app(capsys, tmp_path):
    from emoexplain.__main__ import main
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("analyze", "explain", "store", "app"))
    assert main(["store", "stats", str(tmp_path / "none.db")]) == 2 and "No store" in capsys.readouterr().err
    app_help = subprocess.run([sys.executable, "-m", "emoexplain", "app", "--help"], cwd=tmp_path, capture_output=True,
                              text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert app_help.returncode == 0 and "EMOEXPLAIN_CHECKPOINT" in app_help.stdout
