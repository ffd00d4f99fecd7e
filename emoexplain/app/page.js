// emoexplain's page script (passed to demo.launch as head; see emoexplain/app/style.py).
// 1. keyboard shortcuts; 2. WebM uploads accepted; 3. the plot linked to the analysed clip's player
// (a cursor that follows playback, a click that plays from there) and word labels that never overlap.
(() => {
  // --- 1. keyboard: Ctrl/Cmd+Enter analyse, Ctrl/Cmd+S save; outside text fields 1-9 the emotion with that
  // number (as the page numbers them), a the model's own, u unsure
  document.addEventListener("keydown", (e) => {
    const click = (sel) => { const el = document.querySelector(sel); if (el) { e.preventDefault(); el.click(); } };
    const typing = e.target.closest && e.target.closest("input[type=text], input[type=password], textarea, [contenteditable]");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") return click("#analyse-btn");
    if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) return click("#save-btn");
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const labels = [...document.querySelectorAll("#corrected-emotion label")];
    const pick = (label) => { if (label) { e.preventDefault(); label.click(); } };
    const emotions = labels.filter((l) => l.innerText.trim() !== "unsure");
    if (/^[1-9]$/.test(e.key)) return pick(emotions[Number(e.key) - 1]);
    if (e.key === "a") return pick(labels.find((l) => l.innerText.includes("· model")));
    if (e.key === "u") return pick(labels.find((l) => l.innerText.trim() === "unsure"));
  });

  // --- 2. WebM: browsers type .webm files as video/webm, which gr.Audio's upload refuses although the server
  // decodes it (FFmpeg). Re-type such files as audio before the component reads them.
  const AUDIO_EXT = /\.(webm|weba|mka|opus|m4a)$/i;
  const retyped = (files) => {
    const dt = new DataTransfer();
    let changed = false;
    for (const f of files) {
      if (AUDIO_EXT.test(f.name) && !f.type.startsWith("audio/")) {
        dt.items.add(new File([f], f.name, { type: "audio/" + f.name.split(".").pop().toLowerCase().replace("m4a", "mp4") }));
        changed = true;
      } else dt.items.add(f);
    }
    return changed ? dt.files : null;
  };
  document.addEventListener("change", (e) => {
    const input = e.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.closest("#audio-in")) return;
    const files = retyped(input.files || []);
    if (files) input.files = files;   // before the component's own listener on the input reads them
  }, true);
  document.addEventListener("drop", (e) => {
    const box = e.target.closest && e.target.closest("#audio-in");
    const files = box && e.dataTransfer && retyped(e.dataTransfer.files);
    const input = box && box.querySelector("input[type=file]");
    if (!files || !input) return;
    e.preventDefault();
    e.stopPropagation();
    input.files = files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }, true);

  // --- 3. the plot and the player
  const media = () => {   // the analysed clip's audio element (inside the waveform's shadow root)
    for (const el of document.querySelectorAll("#result-audio *")) {
      const m = el.shadowRoot && el.shadowRoot.querySelector("audio, video");
      if (m && m.src) return m;
    }
    const plain = document.querySelector("#result-audio audio");
    return plain && plain.src ? plain : null;
  };
  const graph = () => document.querySelector("#prosody-plot .js-plotly-plot");
  const timeAxis = (gd) => gd && gd._fullLayout && gd._fullLayout.xaxis;

  const drawCursor = (gd, t) => {
    const xa = timeAxis(gd), size = gd && gd._fullLayout && gd._fullLayout._size;
    if (!xa || !size) return;
    let line = gd.querySelector(".emo-cursor");
    if (!line) {
      line = document.createElement("div");
      line.className = "emo-cursor";
      line.setAttribute("aria-hidden", "true");
      gd.appendChild(line);
    }
    const [r0, r1] = xa.range;
    const inside = t >= r0 && t <= r1;
    line.style.display = inside && t > 0 ? "block" : "none";
    line.style.left = `${xa._offset + ((t - r0) / (r1 - r0)) * xa._length}px`;
    line.style.top = `${size.t}px`;
    line.style.height = `${size.h}px`;
    gd.dataset.cursor = t.toFixed(3);
  };

  const followed = new WeakSet();
  const follow = (m) => {   // the cursor follows the clip while it plays (every frame, not every timeupdate)
    if (!m || followed.has(m)) return;
    followed.add(m);
    let frame = null;
    const tick = () => { drawCursor(graph(), m.currentTime); frame = m.paused ? null : requestAnimationFrame(tick); };
    m.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(tick); });
    m.addEventListener("timeupdate", () => drawCursor(graph(), m.currentTime));
    m.addEventListener("seeked", () => drawCursor(graph(), m.currentTime));
  };

  const thinWords = (gd) => {   // word labels left to right; one that would touch the last kept one is hidden
    const traces = [...gd.querySelectorAll(".scatterlayer .trace")]
      .filter((g) => g.__data__ && g.__data__[0] && g.__data__[0].trace && g.__data__[0].trace.name === "words");
    for (const trace of traces) {
      const texts = [...trace.querySelectorAll(".textpoint text")];
      texts.forEach((t) => { t.style.display = ""; });
      const boxes = texts.map((t) => [t, t.getBoundingClientRect()]).sort((a, b) => a[1].left - b[1].left);
      let right = -Infinity;
      for (const [t, box] of boxes) {
        if (box.width === 0) continue;
        if (box.left < right + 4) t.style.display = "none";
        else right = box.right;
      }
    }
  };

  const wire = (gd) => {
    if (!gd || gd.__emoWired || typeof gd.on !== "function") return;
    gd.__emoWired = true;
    gd.on("plotly_afterplot", () => { thinWords(gd); const m = media(); drawCursor(gd, m ? m.currentTime : 0); });
    gd.addEventListener("click", (e) => {   // play from the clicked time, as Praat does
      const xa = timeAxis(gd), m = media();
      if (!xa || !m) return;
      const px = e.clientX - gd.getBoundingClientRect().left - xa._offset;
      if (px < 0 || px > xa._length) return;
      const t = xa.range[0] + (px / xa._length) * (xa.range[1] - xa.range[0]);
      follow(m);
      m.currentTime = Math.max(0, Math.min(t, m.duration || t));
      drawCursor(gd, m.currentTime);
      m.play().catch(() => {});
    });
    thinWords(gd);
  };

  let pending = false;   // the page changes often: look for a new plot or player once per frame at most
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; wire(graph()); follow(media()); });
  }).observe(document.documentElement, { childList: true, subtree: true });
  window.addEventListener("resize", () => { const gd = graph(); if (gd) thinWords(gd); });
})();
