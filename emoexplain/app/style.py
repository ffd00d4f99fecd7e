"""The page's look and keyboard: CSS and the shortcut script (passed to ``demo.launch``, as Gradio 6 wants)."""

# Keyboard shortcuts (documented in docs/app.md and under the Save button).
SHORTCUTS_JS = """
<script>
document.addEventListener("keydown", (e) => {
  const click = (sel) => { const el = document.querySelector(sel); if (el) { e.preventDefault(); el.click(); } };
  const typing = e.target.closest && e.target.closest("input[type=text], input[type=password], textarea, [contenteditable]");
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") return click("#analyse-btn");
  if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) return click("#save-btn");
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const radios = document.querySelectorAll("#corrected-emotion input[type=radio]");
  if (e.key === "a" || e.key === "0") { if (radios[0]) { e.preventDefault(); radios[0].click(); } return; }
  if (/^[1-9]$/.test(e.key) && radios[Number(e.key)]) { e.preventDefault(); radios[Number(e.key)].click(); }
});
</script>
"""
CSS = """
#demo-notice { background: #fff7ed; border: 1px solid #fdba74; border-radius: 8px; padding: 6px 14px; }
#demo-notice p { color: #7c2d12; margin: 4px 0; }
#save-status p { font-size: 1.05em; }
.small-note p { font-size: 0.85em; opacity: 0.8; }
#descriptors th, #descriptors td:not(:nth-child(4)) { white-space: nowrap; }  /* only the evidence wraps */
@media (max-width: 640px) {
  #descriptors table { display: block; overflow-x: auto; }
  #descriptors td, #descriptors th { white-space: nowrap; }
}
"""
