// The ds3d dashboard: polls the control plane's read-only routes (/ui/live
// every second, /ui/logs, the preview PNG) one request at a time, so a
// slow page only polls less often and never queues work on the server.
// It sends no token and changes nothing.
"use strict";

const NS = "http://www.w3.org/2000/svg";
const W = 210, H = 86, GX = 24, GY = 34, PAD = 10;
let prev = null;       // the previous /ui/live answer, for rates
let layoutKey = "";    // components and links the SVG was drawn for
let previewName = "";
let logNext = 0;

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v, digits) {
  if (!isFinite(v)) return "–";
  return v.toFixed(digits);
}

function fmtMs(ms) {
  if (!ms) return "–";
  if (ms < 1) return (ms * 1000).toFixed(0) + " µs";
  if (ms < 1000) return ms.toFixed(ms < 10 ? 2 : 1) + " ms";
  return (ms / 1000).toFixed(2) + " s";
}

// counted is what a component's rate counts: datamaps in for sinks, out
// for the others.
function counted(c) { return c.kind === "ds3d::datarender" ? c.frames_in : c.frames_out; }

// layout places components in rows by their longest path from a source,
// top to bottom, so a long chain fits a narrow panel.
function layout(comps) {
  const depth = {};
  comps.forEach(c => { depth[c.name] = 0; });
  for (let i = 0; i < comps.length; i++) {
    let moved = false;
    comps.forEach(c => c.link_to.forEach(t => {
      if (depth[t] < depth[c.name] + 1 && depth[c.name] + 1 < comps.length) { depth[t] = depth[c.name] + 1; moved = true; }
    }));
    if (!moved) break;
  }
  const cols = {}, pos = {};
  comps.forEach(c => {
    const d = depth[c.name];
    cols[d] = (cols[d] || 0) + 1;
    pos[c.name] = { x: PAD + (cols[d] - 1) * (W + GX), y: PAD + d * (H + GY) };
  });
  const rows = Math.max(...Object.keys(cols).map(Number)) + 1;
  const maxCols = Math.max(...Object.values(cols));
  return { pos, width: 2 * PAD + maxCols * W + (maxCols - 1) * GX, height: 2 * PAD + rows * H + (rows - 1) * GY };
}

function drawGraph(comps) {
  const svg = document.getElementById("graph");
  svg.replaceChildren();
  const L = layout(comps);
  // Natural size, shrunk to the panel when wider.
  svg.style.width = "100%";
  svg.style.maxWidth = L.width + "px";
  svg.setAttribute("viewBox", `0 0 ${L.width} ${L.height}`);
  const defs = el("defs", {});
  const m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  m.appendChild(el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#5b6577" }));
  defs.appendChild(m);
  svg.appendChild(defs);
  comps.forEach(c => c.link_to.forEach(t => {
    const a = L.pos[c.name], b = L.pos[t];
    if (!b) return;
    const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y, my = (y1 + y2) / 2;
    svg.appendChild(el("path", { class: "edge", d: `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}` }));
  }));
  comps.forEach(c => {
    const p = L.pos[c.name];
    const g = el("g", { class: "comp", "data-name": c.name, transform: `translate(${p.x},${p.y})` });
    g.appendChild(el("rect", { class: "node " + c.kind.replace("ds3d::", ""), width: W, height: H }));
    g.appendChild(el("text", { x: 10, y: 18, "font-weight": 600 }, c.name));
    g.appendChild(el("text", { x: 10, y: 33, class: "impl" }, c.impl));
    g.appendChild(el("text", { x: 10, y: 52, class: "fps" }, ""));
    g.appendChild(el("text", { x: 10, y: 67, class: "sub lat" }, ""));
    g.appendChild(el("text", { x: 10, y: 80, class: "sub q" }, ""));
    svg.appendChild(g);
  });
}

function update(doc) {
  document.getElementById("name").textContent = doc.name;
  document.title = doc.name + " · ds3d";
  const st = document.getElementById("state");
  st.textContent = doc.state;
  st.className = "state " + doc.state;
  document.getElementById("summary").textContent =
    `${doc.sink_frames} arrivals at the sinks · ${doc.sources_started}/${doc.sources} sources started · up ${fmt(doc.uptime_s, 0)} s`;
  const err = document.getElementById("error");
  err.hidden = !doc.error;
  err.textContent = doc.error || "";

  const key = JSON.stringify(doc.components.map(c => [c.name, c.link_to]));
  if (key !== layoutKey) { drawGraph(doc.components); layoutKey = key; }
  const dt = prev ? (doc.time_ms - prev.time_ms) / 1000 : 0;
  const before = {};
  if (prev) prev.components.forEach(c => { before[c.name] = c; });
  doc.components.forEach(c => {
    const g = document.querySelector(`g.comp[data-name="${CSS.escape(c.name)}"]`);
    if (!g) return;
    // Live rate between two polls; the average over the active time on
    // the first one.
    let fps = c.fps_avg;
    if (dt > 0 && before[c.name]) fps = (counted(c) - counted(before[c.name])) / dt;
    g.dataset.fps = fmt(fps, 1);
    const f = g.querySelector(".fps");
    f.textContent = `${fmt(fps, 1)} fps`;
    f.classList.toggle("zero", !(fps > 0));
    g.querySelector(".lat").textContent = `p50 ${fmtMs(c.p50_ms)} · p99 ${fmtMs(c.p99_ms)}`;
    let q = c.queue_capacity ? `queue ${c.queued}/${c.queue_capacity}` : `out ${c.frames_out}`;
    if (c.drops) q += ` · drops ${c.drops}`;
    (c.pools || []).forEach(p => { q += ` · pool ${p.in_use}/${p.size}`; });
    g.querySelector(".q").textContent = q;
  });

  const tb = document.querySelector("#sources tbody");
  tb.replaceChildren();
  const beforeSrc = {};
  if (prev) prev.per_source.forEach(s => { beforeSrc[s.component + "/" + s.source] = s.datamaps; });
  doc.per_source.forEach(s => {
    const tr = document.createElement("tr");
    const b = beforeSrc[s.component + "/" + s.source];
    const rate = dt > 0 && b !== undefined ? fmt((s.datamaps - b) / dt, 1) : "–";
    [s.component, s.source, s.datamaps, rate].forEach(v => { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
    tb.appendChild(tr);
  });
  document.getElementById("sources").hidden = doc.per_source.length === 0;

  const pick = document.getElementById("preview-pick");
  document.getElementById("preview-none").hidden = doc.previews.length > 0;
  if (doc.previews.length > 0 && pick.options.length !== doc.previews.length) {
    pick.replaceChildren(...doc.previews.map(n => new Option(n, n)));
    pick.hidden = doc.previews.length < 2;
    if (!previewName) { previewName = doc.previews[0]; loadPreview(); }
  }
  document.getElementById("log-box").hidden = !doc.logs;
  prev = doc;
  document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
}

async function poll() {
  try {
    const r = await fetch("ui/live", { cache: "no-store" });
    if (r.ok) update(await r.json());
  } catch (e) {
    document.getElementById("state").textContent = "unreachable";
  }
  setTimeout(poll, 1000);
}

// loadPreview asks for the next picture only once the last one loaded.
function loadPreview() {
  const img = document.getElementById("preview");
  fetch(`ui/preview/${encodeURIComponent(previewName)}`, { cache: "no-store" })
    .then(r => (r.status === 200 ? r.blob() : null))
    .then(b => {
      if (!b) { setTimeout(loadPreview, 1000); return; }
      const url = URL.createObjectURL(b);
      img.onload = () => {
        if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
        img.dataset.url = url;
        img.dataset.loaded = String(Number(img.dataset.loaded || 0) + 1);
        setTimeout(loadPreview, 500);
      };
      img.onerror = () => { URL.revokeObjectURL(url); setTimeout(loadPreview, 1000); };
      img.src = url;
    })
    .catch(() => setTimeout(loadPreview, 2000));
}

async function pollLogs() {
  try {
    const r = await fetch(`ui/logs?after=${logNext}`, { cache: "no-store" });
    if (r.ok) {
      const d = await r.json();
      const pre = document.getElementById("log");
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      d.lines.forEach(l => {
        const s = document.createElement("span");
        const m = / level=(\w+)/.exec(l.text);
        if (m) s.className = m[1];
        s.textContent = l.text + "\n";
        pre.appendChild(s);
      });
      while (pre.childNodes.length > 500) pre.removeChild(pre.firstChild);
      if (atEnd) pre.scrollTop = pre.scrollHeight;
      logNext = d.next;
    }
  } catch (e) { /* the next poll retries */ }
  setTimeout(pollLogs, 1000);
}

document.getElementById("preview-pick").addEventListener("change", e => { previewName = e.target.value; });
poll();
pollLogs();
