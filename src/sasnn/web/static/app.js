// The sasnn page: upload → ranked candidates per entry → fit (background job, polled,
// cancellable) → p(r). Every number comes from the server's JSON (the CLI's own objects).
"use strict";

const {plotCurves, plotPr, fmt} = window.sasnnPlots;
const $ = (sel, root = document) => root.querySelector(sel);
let analysisId = null;
let limits = null; // from /api/info: refuse oversized uploads here too, before sending them

function message(text, kind = "error") {
  const p = document.createElement("p");
  p.className = kind;
  p.textContent = text;
  $("#messages").append(p);
}

async function api(url, options = {}) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new Error(`the server cannot be reached (${e.message})`);
  }
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new Error(body && body.error ? body.error : `HTTP ${response.status}`);
  return body;
}

const pairName = c => c.structure_factor ? `${c.model}@${c.structure_factor}` : c.model;

async function upload(files) {
  $("#messages").replaceChildren();
  if (!files.length) return;
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  if (limits && bytes > limits.max_upload_mb * 2 ** 20) {
    message(`the upload is ${(bytes / 2 ** 20).toFixed(1)} MB, over the ${limits.max_upload_mb} MB limit`);
    return;
  }
  if (limits && files.length > limits.max_files) {
    message(`too many files: at most ${limits.max_files} in one upload`);
    return;
  }
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  for (const key of ["top", "q_units", "also"]) form.append(key, $(`#${key}`).value);
  form.append("joint", $("#joint").checked ? "1" : "0");
  message(`reading ${files.length} file(s)…`, "info");
  try {
    const answer = await api("/api/predict", {method: "POST", body: form});
    $("#messages").replaceChildren();
    answer.errors.forEach(e => message(e, "error"));
    answer.warnings.forEach(w => message(w, "warning"));
    analysisId = answer.id;
    $("#report").href = `/api/analyses/${answer.id}/report`;
    $("#toolbar").hidden = false;
    $("#results").replaceChildren(...answer.items.map(renderItem));
    answer.items.forEach(item => drawItem(item));
  } catch (e) {
    $("#messages").replaceChildren();
    message(e.message);
  }
}

function renderItem(item) {
  const node = $("#item-template").content.firstElementChild.cloneNode(true);
  node.id = `item-${item.index}`;
  node.dataset.index = item.index;
  for (const button of node.querySelectorAll(".tabs button")) {
    button.onclick = () => {
      node.querySelectorAll(".tabs button").forEach(b => b.classList.toggle("active", b === button));
      node.querySelectorAll(".tab").forEach(t => { t.hidden = !t.classList.contains(button.dataset.tab); });
      if (button.dataset.tab === "fits") drawItem(node.item);
      if (button.dataset.tab === "pr" && !node.prDone) runPr(node);
    };
  }
  $(".fit", node).onclick = () => startFit(node);
  item.curves.forEach((c, k) => $(".pr-entry", node).append(new Option(c.label, k)));
  $(".pr-entry", node).hidden = item.curves.length < 2;
  $(".run-pr", node).onclick = () => runPr(node);
  fillItem(node, item);
  return node;
}

function fillItem(node, item) {
  node.item = item;
  const p = item.prediction;
  $(".label", node).textContent = item.label;
  $(".badge", node).hidden = !p.unsure;
  $(".reason", node).textContent = p.unsure ? `unsure: ${p.reason}` : "";
  $(".notes", node).replaceChildren(...item.notes.map(n => Object.assign(document.createElement("li"),
    {textContent: n})));
  const fitted = item.fits.length > 0;
  node.dataset.fitted = String(fitted);
  const head = ["#", "model", "p"].concat(fitted ? ["χ²ᵣ", "BIC", "weight"] : []);
  $(".ranked thead", node).replaceChildren(row(head, "th"));
  $(".ranked tbody", node).replaceChildren(...p.candidates.map((c, i) => {
    const cells = [i + 1, pairName(c), c.probability.toFixed(3)];
    if (fitted) {
      cells.push(c.chi2_red == null ? "—" : fmt(c.chi2_red), c.bic == null ? "—" : c.bic.toFixed(1),
        item.fits[i].weight.toFixed(3));
    }
    return row(cells);
  }));
  $(".parameters", node).replaceChildren(...(fitted ? p.candidates.map((c, i) => parameterTable(c, item.fits[i], i))
    : []));
}

function row(cells, tag = "td") {
  const tr = document.createElement("tr");
  for (const c of cells) tr.append(Object.assign(document.createElement(tag), {textContent: String(c)}));
  return tr;
}

function parameterTable(candidate, fit, rank) {
  const box = document.createElement("details");
  box.open = rank === 0;
  const title = `${rank + 1}. ${pairName(candidate)}` +
    (candidate.chi2_red == null ? ": not fitted" : `: χ²ᵣ ${fmt(candidate.chi2_red)}`);
  box.append(Object.assign(document.createElement("summary"), {textContent: title}));
  if (candidate.fit_message) box.append(Object.assign(document.createElement("p"),
    {className: "muted", textContent: candidate.fit_message}));
  const table = document.createElement("table");
  table.className = "params";
  table.append(row(["parameter", "value", "± 1σ", ""], "th"));
  for (const [name, [value, error]] of Object.entries(candidate.parameters || {})) {
    const tr = row([name, fmt(value), error == null ? "—" : fmt(error),
      fit.undetermined.includes(name) ? "undetermined" : ""]);
    if (fit.undetermined.includes(name)) tr.className = "undetermined";
    table.append(tr);
  }
  box.append(table);
  return box;
}

function drawItem(item) {
  const node = $(`#item-${item.index}`);
  if (!node || $(".tab.fits", node).hidden) return;
  plotCurves($(".plot-iq", node), $(".plot-res", node), item);
}

async function startFit(node) {
  const index = node.dataset.index;
  const query = new URLSearchParams({fit_top: $(".fit-top", node).value});
  const limit = $(".fit-time", node).value;  // empty: no time limit, the CLI's default
  if (limit) query.set("fit_time", limit);
  const state = $(".fit-state", node);
  state.className = "fit-state muted";
  try {
    const job = await api(`/api/analyses/${analysisId}/items/${index}/fit?${query}`, {method: "POST"});
    node.dataset.fitState = "running";
    $(".fit", node).disabled = true;
    $(".cancel", node).hidden = false;
    $(".progress", node).hidden = false;
    $(".cancel", node).onclick = () => api(`/api/jobs/${job.id}/cancel`, {method: "POST"}).catch(e => {
      state.textContent = e.message;
    });
    pollFit(node, job.id, index);
  } catch (e) {
    state.textContent = e.message;
    state.className = "fit-state error";
  }
}

async function pollFit(node, jobId, index) {
  const state = $(".fit-state", node);
  let job;
  try {
    job = await api(`/api/jobs/${jobId}?analysis=${analysisId}&index=${index}`);
  } catch (e) {
    job = {state: "failed", error: e.message, done: 0, total: 1};
  }
  $(".bar", node).style.width = `${100 * job.done / Math.max(job.total, 1)}%`;
  if (job.state === "queued") state.textContent = "waiting for a free fit worker…";
  if (job.state === "running") {
    state.textContent = `fitting: ${job.done} of ${job.total} candidates done` +
      (job.current ? ` (last: ${job.current})` : "") + `, ${job.seconds} s`;
  }
  if (job.state === "queued" || job.state === "running") {
    setTimeout(() => pollFit(node, jobId, index), 1000);
    return;
  }
  node.dataset.fitState = job.state;
  $(".fit", node).disabled = false;
  $(".cancel", node).hidden = true;
  $(".progress", node).hidden = true;
  if (job.state === "done") {
    state.textContent = `fitted in ${job.seconds} s` + (job.note ? `; ${job.note}` : "");
    fillItem(node, job.item);
    drawItem(job.item);
  } else if (job.state === "cancelled") {
    state.textContent = "fit cancelled";
  } else {
    state.textContent = `fit failed: ${job.error}`;
    state.className = "fit-state error";
  }
}

async function runPr(node) {
  const index = node.dataset.index;
  const query = new URLSearchParams({dmax: $(".dmax", node).value.trim() || "auto",
    q_min: $(".qmin", node).value.trim() || "auto", entry: $(".pr-entry", node).value || "0"});
  const state = $(".pr-state", node);
  state.className = "pr-state muted";
  state.textContent = "inverting…";
  try {
    const answer = await api(`/api/analyses/${analysisId}/items/${index}/pr?${query}`);
    node.prDone = true;
    const r = answer.record, g = r.guinier;
    state.textContent = `q ${fmt(r.q_min)}–${fmt(r.q_max)} Å⁻¹, ${r.n_points} points, χ²ᵣ ${fmt(r.chi2)}` +
      (r.smeared ? ", resolution-smeared" : "");
    $(".pr-numbers", node).replaceChildren(row(["", "Rg (Å)", "I(0) (cm⁻¹)", "Dmax (Å)"], "th"),
      row(["p(r)", `${fmt(r.rg)} ± ${fmt(r.rg_err)}`, `${fmt(r.i0)} ± ${fmt(r.i0_err)}`,
        `${fmt(r.dmax)} ± ${fmt(r.dmax_err)}`]),
      row(["Guinier", g ? `${fmt(g.rg)} ± ${fmt(g.rg_err)}` : "—", g ? `${fmt(g.i0)} ± ${fmt(g.i0_err)}` : "—",
        g ? `q ${fmt(g.q_min)}–${fmt(g.q_max)} Å⁻¹` : ""]));
    $(".pr-warnings", node).replaceChildren(...r.warnings.map(w => Object.assign(document.createElement("li"),
      {textContent: w})));
    plotPr($(".plot-pr", node), $(".plot-guinier", node), answer);
  } catch (e) {
    state.textContent = e.message;
    state.className = "pr-state error";
  }
}

function setup() {
  const drop = $("#drop");
  $("#files").onchange = e => upload([...e.target.files]);
  drop.ondragover = e => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = e => {
    e.preventDefault();
    drop.classList.remove("over");
    upload([...e.dataTransfer.files]);
  };
  api("/api/info").then(info => {
    limits = info;
    $("#model").textContent = `model: ${info.model} · uploads up to ${info.max_upload_mb} MB, ` +
      `${info.max_entries} entries`;
  }).catch(e => message(e.message));
  window.addEventListener("resize", () => document.querySelectorAll(".item").forEach(n => drawItem(n.item)));
}

setup();
