// The review page: upload -> job -> result; pages with value boxes, the canonical tables, crops, downloads.
// Plain JS against the /v1 API; no build step. Boxes come from result.provenance in the units /pages announces
// (PDF points or image pixels) and are placed in percent of the page picture, so they follow its displayed size.
"use strict";

const SECTIONS = ["proactive_disclosure", "requests", "review_and_litigation"];
const $ = (sel) => document.querySelector(sel);
const view = { job: null, result: null, pages: [], labels: null, inFinding: new Map(), urls: [] };

// --- API ---------------------------------------------------------------------------------------------------------
function authHeaders() {
  const key = localStorage.getItem("nianbao.apikey");
  return key ? { "X-API-Key": key } : {};
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch (e) { /* not JSON */ }
    throw new Error(`${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return response;
}

async function blobUrl(path) {  // images and downloads go through fetch, so the API key travels in a header
  const url = URL.createObjectURL(await (await api(path)).blob());
  view.urls.push(url);
  return url;
}

function status(text, error = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

// --- flow --------------------------------------------------------------------------------------------------------
async function submit(event) {
  event.preventDefault();
  const file = $("#file").files[0];
  if (!file) { status("Choose a file first.", true); return; }
  view.urls.forEach(URL.revokeObjectURL);
  view.urls = [];
  $("#review").hidden = true;
  const form = new FormData();
  form.append("file", file);
  try {
    status(`Uploading ${file.name} …`);
    let job = await (await api("/v1/jobs", { method: "POST", body: form })).json();
    while (job.state === "queued" || job.state === "running") {
      status(`${file.name}: ${job.state}` + (job.pages > 1 ? `, page ${job.pages_done} of ${job.pages}` : "") +
             ` (${Math.round(job.progress * 100)}%)`);
      await new Promise((resolve) => setTimeout(resolve, 400));
      job = await (await api(`/v1/jobs/${job.id}`)).json();
    }
    if (job.state === "failed") { status(`${file.name}: ${job.error}`, true); return; }
    await show(job);
  } catch (error) {
    status(error.message, true);
  }
}

async function show(job) {
  const [result, pages, templates] = await Promise.all([
    api(`/v1/jobs/${job.id}/result`).then((r) => r.json()),
    api(`/v1/jobs/${job.id}/pages`).then((r) => r.json()),
    view.labels ? Promise.resolve(null) : api("/v1/templates").then((r) => r.json()),
  ]);
  if (templates) view.labels = Object.fromEntries(templates.map((t) => [t.id, t]));
  Object.assign(view, { job, result, pages: pages.pages });
  view.inFinding = findingIndex(result.findings);
  view.contradicted = new Set(result.findings.filter((f) => f.rule === "prose.mismatch").flatMap((f) => f.cells));
  renderSummary();
  renderFindings();
  renderProse();
  renderTables();
  $("#detail").hidden = true;
  $("#review").hidden = false;
  status(`${job.name}: done in ${job.seconds.toFixed(2)} s`);
  await renderPages();
  document.body.dataset.ready = "1";  // for tests: everything is drawn
}

// --- what each value is ------------------------------------------------------------------------------------------
function findingIndex(findings) {
  // A finding names cells (section.row.column) or whole rows (section.row).
  const index = new Map();
  findings.forEach((f, i) => f.cells.forEach((c) => {
    if (!index.has(c)) index.set(c, []);
    index.get(c).push(i);
  }));
  return index;
}

function findingsOf(key) {
  const row = key.split(".").slice(0, 2).join(".");
  return [...new Set([...(view.inFinding.get(key) || []), ...(view.inFinding.get(row) || [])])];
}

function confClass(key, value) {
  if (value === null || value === undefined) return "conf-none";
  const c = view.result.confidence[key] ?? 0;
  return c >= 0.9 ? "conf-high" : c >= 0.6 ? "conf-mid" : "conf-low";
}

function classes(key, value) {
  return [confClass(key, value), findingsOf(key).length ? "finding" : "",
          view.contradicted.has(key) ? "contradicted" : ""].filter(Boolean);
}

// A prose key is a cell, or a group of rows (requests.denied.total: every denied_* row's total).
function covers(proseKey, key) {
  const [s, r, c] = proseKey.split(".");
  const [s2, r2, c2] = key.split(".");
  return s === s2 && c === c2 && (r === r2 || (!(r in (view.result[s] || {})) && r2.startsWith(r + "_")));
}

function proseOf(key) {
  return Object.entries(view.result.prose || {}).filter(([k]) => covers(k, key));
}

function proseText(fig) {
  return `${fig.approximate ? "≈ " : ""}${fig.value} “${fig.text}”${fig.page ? ` (page ${fig.page})` : ""}`;
}

// --- drawing -----------------------------------------------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  children.forEach((c) => node.append(c));
  return node;
}

function renderSummary() {
  const r = view.result;
  const valid = r.valid ? el("span", { className: "valid", textContent: "valid" })
                        : el("span", { className: "invalid", textContent: `${r.findings.length} findings` });
  $("#summary").replaceChildren(el("strong", { textContent: r.agency || "(agency not found)" }),
    ` · ${r.year ?? "?"} · ${r.template ?? "no template"} · ${r.source.kind} via ${r.source.method} · ` +
    `confidence ${r.confidence.overall} · `, valid);
}

function renderFindings() {
  const list = el("ul");
  view.result.findings.forEach((f) => {
    const item = el("li", { className: `sev-${f.severity}`, textContent: `${f.rule}: ${f.message}` });
    item.addEventListener("click", () => f.cells.length && select(cellKeys(f.cells)[0]));
    list.append(item);
  });
  const warnings = el("ul", {}, ...view.result.warnings.map((w) => el("li", { className: "warning", textContent: w })));
  $("#findings").replaceChildren(...(view.result.findings.length ? [el("h2", { textContent: "Findings" }), list] : []),
    ...(view.result.warnings.length ? [el("h2", { textContent: "Warnings" }), warnings] : []));
}

function renderProse() {
  const figures = Object.entries(view.result.prose || {});
  if (!figures.length) { $("#prose").replaceChildren(); return; }
  const values = flatValues();
  const rows = figures.map(([key, fig]) => {
    const cells = Object.keys(values).filter((k) => covers(key, k));
    const table = cells.every((k) => values[k] !== null && values[k] !== undefined)
      ? cells.reduce((sum, k) => sum + values[k], 0) : null;
    const against = cells.some((k) => view.contradicted.has(k));
    const row = el("tr", { className: against ? "contradicted" : "" },
      el("td", { className: "label", textContent: key + (cells.length > 1 ? ` (${cells.length} rows)` : ""), title: key }),
      el("td", { className: "value", textContent: (fig.approximate ? "≈ " : "") + fig.value }),
      el("td", { className: "value", textContent: table ?? "—" }),
      el("td", { textContent: fig.text }), el("td", { textContent: fig.page ?? "" }));
    row.dataset.prose = key;
    if (cells.length) row.addEventListener("click", () => select(cells[0]));
    return row;
  });
  const head = el("tr", {}, ...["figure", "prose", "table", "as stated", "page"].map((t) => el("th", { textContent: t })));
  $("#prose").replaceChildren(el("h2", { textContent: "Figures in the prose" }),
    el("table", { className: "prose" }, head, ...rows));
}

function cellKeys(cells) {
  const all = Object.keys(flatValues());
  return cells.flatMap((c) => all.includes(c) ? [c] : all.filter((k) => k.startsWith(c + ".")));
}

function flatValues() {
  const out = {};
  SECTIONS.forEach((s) => Object.entries(view.result[s]).forEach(([r, cols]) =>
    Object.entries(cols).forEach(([c, v]) => { out[`${s}.${r}.${c}`] = v; })));
  return out;
}

function renderTables() {
  const template = view.labels && view.labels[view.result.template];
  const sections = template ? Object.fromEntries(template.sections.map((s) => [s.key, s])) : {};
  const blocks = [];
  for (const s of SECTIONS) {
    const rows = view.result[s];
    const labels = sections[s];
    const rowLabel = Object.fromEntries((labels?.rows || []).map((r) => [r.key, (r.parent ? r.parent + " · " : "") + r.label]));
    const colLabel = Object.fromEntries((labels?.columns || []).map((c) => [c.key, c.label]));
    const columns = [...new Set(Object.values(rows).flatMap((cols) => Object.keys(cols)))];
    const head = el("tr", {}, el("th", { textContent: "" }),
      ...columns.map((c) => el("th", { textContent: colLabel[c] || c, title: c })));
    const body = Object.entries(rows).map(([r, cols]) => el("tr", {},
      el("td", { className: "label", textContent: rowLabel[r] || r, title: r }),
      ...columns.map((c) => {
        if (!(c in cols)) return el("td", { className: "empty" });
        const key = `${s}.${r}.${c}`;
        const cell = el("td", { className: ["value", ...classes(key, cols[c])].join(" "),
                                textContent: cols[c] ?? "—", title: key });
        cell.dataset.key = key;
        cell.addEventListener("click", () => select(key));
        return cell;
      })));
    blocks.push(el("h2", { textContent: labels?.title || s }), el("table", { className: "canonical" }, head, ...body));
  }
  $("#tables").replaceChildren(...blocks);
}

async function renderPages() {
  $("#no-pages").hidden = view.pages.length > 0;
  const values = flatValues();
  const holders = view.pages.map((p) => {
    const holder = el("div", { className: "page", id: `page-${p.n}` }, el("span", { className: "label", textContent: `page ${p.n}` }));
    const img = el("img", { alt: `page ${p.n}`, width: p.width, height: p.height });
    holder.prepend(img);
    for (const [key, box] of Object.entries(view.result.provenance)) {
      if (box.page !== p.n || box.x === null || box.w === null) continue;
      const mark = el("div", { className: ["box", ...classes(key, values[key])].join(" "), title: `${key} = ${values[key]}` });
      Object.assign(mark.style, {   // percent of the picture: the boxes follow the displayed size
        left: `${(100 * box.x * p.scale) / p.width}%`, top: `${(100 * box.y * p.scale) / p.height}%`,
        width: `${(100 * box.w * p.scale) / p.width}%`, height: `${(100 * box.h * p.scale) / p.height}%`,
      });
      mark.dataset.key = key;
      mark.addEventListener("click", () => select(key));
      holder.append(mark);
    }
    return [holder, img, p];
  });
  $("#pages").replaceChildren(...holders.map(([holder]) => holder));
  await Promise.all(holders.map(async ([, img, p]) => {
    img.src = await blobUrl(`/v1/jobs/${view.job.id}/pages/${p.n}.png`);
    await img.decode().catch(() => {});
  }));
}

async function select(key) {
  document.querySelectorAll(".selected").forEach((n) => n.classList.remove("selected"));
  const marks = document.querySelectorAll(`[data-key="${key}"]`);
  marks.forEach((n) => n.classList.add("selected"));
  const box = document.querySelector(`.box[data-key="${key}"]`);
  if (box) box.scrollIntoView({ block: "center", behavior: "instant" });
  const cell = document.querySelector(`td[data-key="${key}"]`);
  if (cell) cell.scrollIntoView({ block: "nearest", behavior: "instant" });
  const value = flatValues()[key];
  const p = view.result.provenance[key] || {};
  const fields = {
    value: value ?? "not read", confidence: view.result.confidence[key] ?? "—", how: p.how ?? "—",
    "text read": p.text || "—", note: p.note || "—",
    where: p.page ? `page ${p.page}, x ${p.x}, y ${p.y}, w ${p.w}, h ${p.h}` : "—",
  };
  proseOf(key).forEach(([k, fig]) => { fields[k === key ? "prose says" : `prose says (${k})`] = proseText(fig); });
  $("#detail-key").textContent = key;
  $("#detail-fields").replaceChildren(...Object.entries(fields).flatMap(([k, v]) =>
    [el("dt", { textContent: k }), el("dd", { textContent: String(v) })]));
  $("#detail-findings").replaceChildren(...findingsOf(key).map((i) => {
    const f = view.result.findings[i];
    return el("li", { className: `sev-${f.severity}`, textContent: `${f.rule}: ${f.message}` });
  }));
  $("#detail").hidden = false;
  const crop = $("#detail-crop");
  crop.hidden = true;
  delete crop.dataset.loaded;
  if (p.page && p.w && view.pages.some((pg) => pg.n === p.page)) {
    const q = new URLSearchParams({ x: p.x, y: p.y, w: p.w, h: p.h });
    crop.src = await blobUrl(`/v1/jobs/${view.job.id}/pages/${p.page}/crop?${q}`);
    await crop.decode().catch(() => {});
    crop.hidden = false;
    crop.dataset.loaded = key;
  }
}

async function download(format) {
  try {
    const url = await blobUrl(`/v1/jobs/${view.job.id}/result?format=${format}`);
    const stem = view.job.name.replace(/\.[^.]*$/, "") || "report";
    el("a", { href: url, download: `${stem}.${format}` }).click();
  } catch (error) {
    status(error.message, true);
  }
}

// --- wiring ------------------------------------------------------------------------------------------------------
$("#upload").addEventListener("submit", submit);
$("#apikey").value = localStorage.getItem("nianbao.apikey") || "";
$("#apikey").addEventListener("change", (e) => localStorage.setItem("nianbao.apikey", e.target.value.trim()));
document.querySelectorAll("#downloads button").forEach((b) => b.addEventListener("click", () => download(b.dataset.format)));
