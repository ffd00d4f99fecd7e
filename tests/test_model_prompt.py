"""The prompt does not change with the calendar: a Llama-3.x chat template with date lines renders with the
pinned date, whether it reads ``date_string`` or calls ``strftime_now`` itself."""

import datetime
import shutil

import pytest

from emoexplain.model.config import PROMPT_DATE, SYSTEM_PROMPT, TINY_BACKBONES
from emoexplain.paths import ROOT as REPO_ROOT
from emoexplain.model.llm import prompt_ids

# The system-turn part of Llama-3.2-Instruct's template (tools omitted), dates as Meta writes them.
LLAMA_31_STYLE = (
    "{{- bos_token }}"
    "{%- if not date_string is defined %}{%- if strftime_now is defined %}"
    "{%- set date_string = strftime_now(\"%d %b %Y\") %}{%- else %}{%- set date_string = \"26 Jul 2024\" %}"
    "{%- endif %}{%- endif %}"
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}"
    "{%- set messages = messages[1:] %}{%- else %}{%- set system_message = \"\" %}{%- endif %}"
    "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}"
    "{{- \"Cutting Knowledge Date: December 2023\\n\" }}{{- \"Today Date: \" + date_string + \"\\n\\n\" }}"
    "{{- system_message }}{{- \"<|eot_id|>\" }}"
    "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
# A template that reads the clock directly (no date_string variable to set).
CLOCK_ONLY = LLAMA_31_STYLE.replace("{%- if not date_string is defined %}", "{%- if true %}").replace(
    "{%- if strftime_now is defined %}", "{%- if true %}")


@pytest.fixture
def tokenizer_folder(tmp_path):
    folder = tmp_path / "llm"
    shutil.copytree(REPO_ROOT / TINY_BACKBONES / "llm", folder)
    return folder


@pytest.mark.parametrize("template", [LLAMA_31_STYLE, CLOCK_ONLY], ids=["date_string", "strftime_now"])
def test_date_lines_render_with_the_pinned_date(tokenizer_folder, template):
    from transformers import AutoTokenizer

    (tokenizer_folder / "chat_template.jinja").write_text(template)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    messages = [{"role": "system", "content": "x"}]
    today = datetime.date.today().strftime("%d %b %Y")
    unpinned = tokenizer.apply_chat_template(messages, tokenize=False)
    assert f"Today Date: {today}" in unpinned  # the template really writes today's date when left alone
    ids = prompt_ids(tokenizer, SYSTEM_PROMPT, "Please caption.")
    pre = tokenizer.decode(list(ids.pre))
    assert f"Cutting Knowledge Date: December 2023\nToday Date: {PROMPT_DATE}\n\n{SYSTEM_PROMPT}" in pre
    assert today not in pre or today == PROMPT_DATE
    assert prompt_ids(tokenizer, SYSTEM_PROMPT, "Please caption.", date="01 Jan 2025") != ids  # a config value


def test_templates_without_dates_are_unchanged():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(REPO_ROOT / TINY_BACKBONES / "llm")
    ids = prompt_ids(tokenizer, SYSTEM_PROMPT, "Please caption.")
    assert ids == prompt_ids(tokenizer, SYSTEM_PROMPT, "Please caption.", date="01 Jan 2025")
    assert "Today Date" not in tokenizer.decode(list(ids.pre))
