// The dissection page: the form (question, config A, optional config B with overrides),
// the answer with clickable citations, and the chunk viewer. trace.js draws the stages.
//
// Flow: GET /configs fills the config pickers; picking one asks GET /configs/{name} for
// the retrievers its index can serve (the `retriever` override). "Ask" sends POST /query
// once per column (two with "compare"), in parallel. A citation or chunk click asks
// GET /chunks/{id}?config=... and shows the chunk's text, heading path and span.
// ?q=...&config=...&compare=... in the URL fills the form and asks at once.

import {ApiError, api, el, ms, where} from "./dom.js";
import {latencyBar, traceSections} from "./trace.js";

const form = document.getElementById("ask");
const results = document.getElementById("results");
const status = document.getElementById("status");
const compare = document.getElementById("compare");
const setups = [...document.querySelectorAll("fieldset.setup")];

async function loadConfigs() {
  const list = await api("configs");
  const names = list.configs.filter((c) => !c.error).map((c) => c.name);
  setups.forEach((setup, i) => {
    const select = setup.querySelector("select[name=config]");
    select.replaceChildren(...list.configs.map((c) => el("option", {value: c.name,
      disabled: Boolean(c.error), title: c.description || c.error || ""},
    c.loaded ? c.name : `${c.name} (loads on first use)`)));
    const other = names.find((n) => n !== list.default) || list.default;
    select.value = i === 0 ? list.default : other;
    select.addEventListener("change", () => describe(setup, list));
    describe(setup, list);
  });
}

/** The picked config's description and the retrievers its index can answer with. */
async function describe(setup, list) {
  const name = setup.querySelector("select[name=config]").value;
  const row = list.configs.find((c) => c.name === name) || {};
  setup.querySelector(".config-description").textContent = [row.description,
    row.reranker ? `reranker: ${row.reranker}` : "no reranker", `generator: ${row.generator}`]
    .filter(Boolean).join(" · ");
  const retriever = setup.querySelector("select[name=retriever]");
  try {
    const detail = await api(`configs/${encodeURIComponent(name)}`);
    retriever.replaceChildren(el("option", {value: ""}, "config's own"),
      ...detail.retrievers.map((r) => el("option", {value: r}, r)));
  } catch (err) {
    setup.querySelector(".config-description").textContent = `config unavailable: ${err.message}`;
  }
}

/** The POST /query body for one column: only the overrides the user set. */
function requestBody(setup, question) {
  const value = (name) => setup.querySelector(`[name=${name}]`).value;
  const overrides = {};
  for (const key of ["top_k", "candidates"]) {
    if (value(key) !== "") overrides[key] = Number.parseInt(value(key), 10);
  }
  if (value("retriever")) overrides.retriever = value("retriever");
  if (value("reranker")) overrides.reranker = value("reranker") === "on";
  const body = {question, config: value("config")};
  if (Object.keys(overrides).length) body.overrides = overrides;
  return body;
}

async function ask(event) {
  if (event) event.preventDefault();
  const question = document.getElementById("question").value.trim();
  if (!question) return;
  const active = setups.filter((s) => !s.hidden);
  results.classList.toggle("compare", active.length > 1);
  const columns = active.map((s) => el("article", {class: "column", "aria-busy": "true"},
    el("p", {class: "dim"}, `asking ${s.querySelector("select[name=config]").value}…`)));
  results.replaceChildren(...columns);
  form.querySelector("button[type=submit]").disabled = true;
  status.textContent = "asking…";
  const started = performance.now();
  await Promise.all(active.map((setup, i) => answerInto(columns[i], requestBody(setup, question))));
  status.textContent = `done in ${ms(performance.now() - started)} (browser round trip)`;
  form.querySelector("button[type=submit]").disabled = false;
}

async function answerInto(column, body) {
  try {
    const data = await api("query", body);
    column.replaceChildren(...answerView(data));
  } catch (err) {
    column.replaceChildren(errorView(err));
  }
  column.setAttribute("aria-busy", "false");
}

function answerView(data) {
  const showChunk = (id) => openChunk(id, data.config);
  const badges = [];
  if (data.abstained) badges.push(el("span", {class: "badge abstained"}, "abstained"));
  if (data.fallback_used) badges.push(el("span", {class: "badge fallback"}, "fallback used"));
  if (data.trace.stages.some((s) => s.name === "guard")) {
    badges.push(el("span", {class: "badge guard"}, "injection guard flagged something"));
  }
  return [
    el("h2", {class: "column-title"}, data.config, " ", badges),
    el("section", {class: "answer"}, el("h3", {}, "Answer"),
      answerText(data.answer, data.citations, showChunk), citationList(data.citations, showChunk)),
    latencyBar(data.trace),
    el("section", {class: "trace"}, el("h3", {}, "Trace"), traceSections(data.trace, showChunk)),
  ];
}

/** The answer with each [n] a button that opens the cited chunk. */
function answerText(text, citations, showChunk) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  const p = el("p", {class: "answer-text"});
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    p.append(text.slice(last, match.index));
    const cited = byN.get(Number(match[1]));
    p.append(cited ? citeButton(cited, showChunk) : match[0]);
    last = match.index + match[0].length;
  }
  p.append(text.slice(last));
  return p;
}

function citeButton(c, showChunk) {
  return el("button", {type: "button", class: "cite", title: where(c),
    "data-n": c.n, on: {click: () => showChunk(c.chunk_id)}}, `[${c.n}]`);
}

function citationList(citations, showChunk) {
  if (!citations.length) return el("p", {class: "dim"}, "No citations.");
  return el("ol", {class: "citations"}, citations.map((c) => el("li", {},
    citeButton(c, showChunk), " ", el("span", {class: "where"}, where(c, 3)),
    el("span", {class: "dim"}, ` · chars ${c.start}–${c.end}`))));
}

function errorView(err) {
  const code = err instanceof ApiError ? `${err.status}: ` : "";
  return el("div", {class: "error", role: "alert"}, el("strong", {}, `${code}${err.message}`),
    err.field ? el("p", {}, `field: ${err.field}`) : null,
    err.fix ? el("p", {}, `fix: ${err.fix}`) : null);
}

async function openChunk(id, config) {
  const dialog = document.getElementById("chunk-dialog");
  const set = (elementId, text) => { document.getElementById(elementId).textContent = text; };
  set("chunk-title", id);
  set("chunk-where", "loading…");
  set("chunk-meta", "");
  set("chunk-text", "");
  if (!dialog.open) dialog.showModal();
  try {
    const chunk = await api(`chunks/${encodeURIComponent(id)}?config=${encodeURIComponent(config)}`);
    set("chunk-title", chunk.source);
    set("chunk-where", chunk.heading_path.join(" › ") || "(no heading)");
    set("chunk-meta", `chunk ${chunk.chunk_id} · characters ${chunk.start}–${chunk.end} of ` +
      `${chunk.source} · ${chunk.text.length} characters · config ${chunk.config}`);
    set("chunk-text", chunk.text);
  } catch (err) {
    set("chunk-where", `could not load the chunk: ${err.message}`);
  }
}

function fromUrl() {
  const params = new URLSearchParams(window.location.search);
  if (params.get("compare") === "1") toggleCompare(true);
  for (const [i, key] of [[0, "config"], [1, "config_b"]]) {
    const select = setups[i].querySelector("select[name=config]");
    if (params.get(key) && [...select.options].some((o) => o.value === params.get(key))) {
      select.value = params.get(key);
      select.dispatchEvent(new Event("change"));
    }
  }
  if (params.get("q")) {
    document.getElementById("question").value = params.get("q");
    ask();
  }
}

function toggleCompare(on) {
  compare.checked = on;
  setups[1].hidden = !on;
}

compare.addEventListener("change", () => toggleCompare(compare.checked));
form.addEventListener("submit", ask);
loadConfigs().then(fromUrl, (err) => results.replaceChildren(errorView(err)));
