"""The page's look and behaviour: page.css and page.js (passed to ``demo.launch``, as Gradio 6 wants), and the
small scripts that events run in the browser after they finish."""

from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent

# after Analyse: bring the result (or the error beside the button) into view, as a phone would not show it; after
# Save: the confirmation. The page renders the event's outputs a moment after it ends, so wait for them (<= 3 s).
_SCROLL_WHEN_SHOWN = """() => {{ const until = Date.now() + 3000;
  const go = () => {{ const el = [{targets}].map((s) => document.querySelector(s)).find((e) => e && e.offsetParent !== null);
    if (el) el.scrollIntoView({{behavior: 'smooth', block: '{block}'}}); else if (Date.now() < until) setTimeout(go, 100); }};
  setTimeout(go, 100); }}"""
SCROLL_TO_RESULT_JS = _SCROLL_WHEN_SHOWN.format(targets="'#result', '#analyse-status .inline-error'", block="start")
SCROLL_TO_SAVED_JS = _SCROLL_WHEN_SHOWN.format(targets="'#save-status .prose p', '#save-status'", block="center")


@lru_cache(maxsize=1)
def css() -> str:
    return (_HERE / "page.css").read_text()


@lru_cache(maxsize=1)
def head() -> str:
    return f"<script>\n{(_HERE / 'page.js').read_text()}\n</script>"
