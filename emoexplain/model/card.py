"""The model card (README.md) written into every checkpoint folder."""

from __future__ import annotations


def model_card(info: dict, metrics: dict | None) -> str:
    cfg = info["model"]
    untrained = info["version"] == "untrained"
    status = ("**UNTRAINED.** Random branches, adapters and LoRA on the backbones below: its labels, captions and "
              "probabilities are meaningless. It exists so that the app and training can integrate early; the "
              "training pipeline replaces it with a trained checkpoint." if untrained else
              f"Trained checkpoint, version `{info['version']}`.")
    lines = [
        "---", "library_name: emoexplain", "tags: [speech-emotion-recognition, explainable-ai, hubert, llama, lora]",
        "---", f"# {info['name']} ({info['version']})", "", status, "",
        "Explainable speech emotion recognition after Chen et al., Interspeech 2025: frozen HuBERT -> content and "
        "speech-descriptor information-bottleneck branches -> adapters -> LLaMA-style LLM with LoRA, which writes "
        "a caption (emotion, pitch/volume/speed/tone words, transcript, emphasis). Emotion probabilities come from "
        "scoring each label in the caption's `Emotion:` slot.", "",
        "| | |", "|---|---|",
        f"| preset | `{cfg['name']}` |", f"| speech encoder | `{cfg['encoder']}` |", f"| LLM | `{cfg['llm']}` |",
        f"| label set | `{info['label_set']}`: {', '.join(info['labels'])} |",
        f"| bottleneck | latent {cfg['latent_dim']}, beta {cfg['beta']}, prosody input {cfg['use_prosody']} |",
        f"| adapters | k = {cfg['adapter_k']}, hidden {cfg['adapter_hidden']} |",
        f"| LoRA | r = {cfg['lora_r']}, alpha = {cfg['lora_alpha']}, targets {', '.join(cfg['lora_targets'])} |",
        f"| descriptor bins | {info.get('descriptor_bins_version')} |",
        f"| git revision | `{info.get('git_revision')}` |", "",
    ]
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(metrics.items()) if not isinstance(v, (dict, list))]
        lines.append("")
    lines += ["## Use", "", "```python", "from emoexplain import explain, load_explainer",
              "explainer = load_explainer(\"path/to/this/folder\")  # or a hub id",
              "print(explain(\"clip.wav\", explainer).to_dict()[\"emotion\"])", "```", "",
              "## Limitations", "",
              "Descriptor words come from automatic labels (SpeechCraft-style bins), not human judgement; the app "
              "shows them beside the measured pitch and energy so disagreements are visible.", ""]
    return "\n".join(lines)
