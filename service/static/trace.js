// The trace as tables: one section per stage, in pipeline order.
//
// Each candidate row shows its rank, its movement since the previous stage that had
// candidates (▲ up, ▼ down, "new" when it was not there), the chunk (click: its text),
// its score and the stage's own explanation: BM25 per-term contributions, hybrid fusion
// (each retriever's rank and share of the fused score), rerank (previous rank and score),
// dense cosine, injection flags. The generate stage adds the exact prompt, token counts
// and the sentences an extractive answer used. Nothing here is computed that the server
// did not send, except the rank movements (a join on chunk_id between two stages).

import {bar, el, fmt, ms, where} from "./dom.js";

const SHOWN = 10; // rows per table before "show all"

/** Stacked horizontal bar of the stages' latencies, with a legend. */
export function latencyBar(trace) {
  const total = trace.stages.reduce((sum, s) => sum + s.latency_ms, 0) || 1;
  const track = el("div", {class: "latency-track", role: "img",
    "aria-label": `latency ${ms(trace.total_ms)}`});
  const legend = el("ul", {class: "latency-legend"});
  for (const stage of trace.stages) {
    const kind = stageKind(stage.name);
    const seg = el("span", {class: `seg seg-${kind}`, title: `${stage.name} ${ms(stage.latency_ms)}`});
    seg.style.width = `${(stage.latency_ms / total) * 100}%`;
    track.append(seg);
    legend.append(el("li", {}, el("span", {class: `swatch seg-${kind}`}),
      `${stage.name} ${ms(stage.latency_ms)}`));
  }
  legend.append(el("li", {class: "total"}, `total ${ms(trace.total_ms)}`));
  return el("section", {class: "latency"}, el("h3", {}, "Latency"), track, legend);
}

function stageKind(name) {
  return ["rewrite", "retrieve", "guard", "rerank", "generate"].includes(name) ? name : "other";
}

/** Every stage of `trace`, each with its candidates table and details. */
export function traceSections(trace, showChunk) {
  const flags = injectionFlags(trace);
  let previous = null;
  const sections = [];
  for (const stage of trace.stages) {
    sections.push(stageSection(stage, previous, flags, showChunk));
    if (stage.candidates.length) previous = stage;
  }
  return sections;
}

function injectionFlags(trace) {
  const retrieve = trace.stages.find((s) => s.name === "retrieve");
  return (retrieve && retrieve.details.injection_flags) || {};
}

function stageSection(stage, previous, flags, showChunk) {
  const title = stage.name === "generate" ? "generate · contexts given to the generator" : stage.name;
  const section = el("details", {class: `stage stage-${stageKind(stage.name)}`, open: true,
    "data-stage": stage.name},
  el("summary", {}, el("span", {class: "stage-name"}, title),
    el("span", {class: "dim"}, ` ${ms(stage.latency_ms)} · ${stage.candidates.length} candidates`)));
  section.append(...facts(stage));
  if (stage.name === "guard") section.append(guardPanel(stage.details));
  // the guard's table repeats retrieve's unless it dropped something
  const table = stage.candidates.length && !(stage.name === "guard" && !droppedAny(stage));
  if (table) section.append(candidateTable(stage, previous, flags, showChunk));
  if (previous && stage.candidates.length) section.append(droppedNote(stage, previous));
  if (stage.name === "generate") section.append(...generatePanel(stage.details));
  section.append(el("details", {class: "raw"}, el("summary", {}, "details (JSON)"),
    el("pre", {}, JSON.stringify(withoutPrompt(stage.details), null, 2))));
  return section;
}

const FACT_KEYS = ["retriever", "reranker", "generator", "method", "prompt_style", "prompt_tokens",
  "completion_tokens", "ttft_ms", "llm_ms", "tokens_per_s", "best_coverage", "fallback_reason",
  "abstain", "policy"];

function facts(stage) {
  const d = stage.details;
  const items = FACT_KEYS.filter((k) => d[k] !== undefined && d[k] !== null)
    .map((k) => el("li", {}, el("span", {class: "key"}, k), " ", fmt(d[k])));
  for (const [k, v] of Object.entries(d.timing_ms || {})) {
    items.push(el("li", {}, el("span", {class: "key"}, k), " ", fmt(v, 2)));
  }
  return items.length ? [el("ul", {class: "facts"}, items)] : [];
}

function candidateTable(stage, previous, flags, showChunk) {
  const before = new Map((previous ? previous.candidates : []).map((c) => [c.chunk_id, c.rank]));
  const head = el("tr", {}, ["#", "move", "chunk", "score", "why"].map((h) => el("th", {}, h)));
  const body = el("tbody");
  stage.candidates.forEach((c, i) => {
    const row = el("tr", {class: i >= SHOWN ? "extra" : "", hidden: i >= SHOWN,
      "data-chunk-id": c.chunk_id},
    el("td", {class: "num"}, c.rank),
    el("td", {class: "move"}, movement(c, previous, before)),
    el("td", {class: "chunk"}, el("button", {type: "button", class: "chunk-link",
      title: c.chunk_id, on: {click: () => showChunk(c.chunk_id)}}, where(c, 1)),
    el("span", {class: "span dim"}, ` ${c.start}–${c.end}`)),
    el("td", {class: "num"}, fmt(c.score)),
    el("td", {class: "why"}, explain(c, flags[c.chunk_id])));
    body.append(row);
  });
  const table = el("table", {class: "candidates"}, el("thead", {}, head), body);
  if (stage.candidates.length <= SHOWN) return table;
  const label = `show all ${stage.candidates.length}`;
  const more = el("button", {type: "button", class: "more", on: {click: () => {
    body.querySelectorAll("tr.extra").forEach((r) => { r.hidden = !r.hidden; });
    more.textContent = more.textContent === label ? "show fewer" : label;
  }}}, label);
  return el("div", {}, table, more);
}

function movement(c, previous, before) {
  if (!previous) return "";
  const was = before.get(c.chunk_id);
  if (was === undefined) return el("span", {class: "new", title: `not in ${previous.name}`}, "new");
  const delta = was - c.rank;
  const title = `#${was} in ${previous.name}`;
  if (delta > 0) return el("span", {class: "up", title}, `▲${delta}`);
  if (delta < 0) return el("span", {class: "down", title}, `▼${-delta}`);
  return el("span", {class: "same", title}, "=");
}

function droppedAny(stage) {
  return (stage.details.dropped || []).length > 0;
}

function droppedNote(stage, previous) {
  const kept = new Set(stage.candidates.map((c) => c.chunk_id));
  const gone = previous.candidates.filter((c) => !kept.has(c.chunk_id)).length;
  return el("p", {class: "dim note"}, gone
    ? `${gone} of ${previous.candidates.length} ${previous.name} candidates did not make it here`
    : `all ${previous.name} candidates kept`);
}

/** The stage's explanation of one candidate's score. */
function explain(c, flags) {
  const e = c.explain || {};
  const parts = [];
  if (e.retrievers) parts.push(fusion(e));
  const terms = e.terms || (e.bm25 && e.bm25.terms);
  if (terms) parts.push(termBars(terms, e.terms ? c.score : termTotal(terms)));
  if (e.cosine !== undefined) parts.push(el("div", {class: "kv"}, `cosine ${fmt(e.cosine)}`));
  if (e.dense && e.dense.cosine !== undefined) {
    parts.push(el("div", {class: "kv"}, `dense cosine ${fmt(e.dense.cosine)}`));
  }
  if (e.previous_rank !== undefined) {
    parts.push(el("div", {class: "kv"},
      `was #${e.previous_rank} (score ${fmt(e.previous_score)}) → rerank ${fmt(e.rerank_score)}`));
  }
  parts.push(...flagBadges(flags || []));
  return parts;
}

function termTotal(terms) {
  return terms.reduce((sum, t) => sum + t.contribution, 0) || 1;
}

/** BM25: each matched term's contribution (idf x saturated tf) as a share of the score. */
function termBars(terms, score) {
  const sorted = [...terms].sort((a, b) => b.contribution - a.contribution);
  return el("div", {class: "terms"}, sorted.map((t) => el("div", {class: "term",
    title: `idf ${fmt(t.idf)} · tf ${fmt(t.tf)} · contribution ${fmt(t.contribution)}`},
  el("span", {class: "term-name"}, t.term), bar(t.contribution / (score || 1), "bm25"),
  el("span", {class: "num dim"}, fmt(t.contribution, 2)))));
}

/** Hybrid: each retriever's rank and its share of the fused score. */
function fusion(e) {
  const label = e.fusion === "rrf" ? `RRF k=${fmt(e.k, 0)}` : `weighted (${e.normalization})`;
  return el("div", {class: "fusion"}, el("div", {class: "dim"}, label), e.retrievers.map((r) =>
    el("div", {class: "share"}, el("span", {class: "term-name"}, r.name),
      el("span", {class: "rank"}, r.rank === null || r.rank === undefined ? "—" : `#${r.rank}`),
      bar(r.share || 0, `share-${r.name === "bm25" ? "bm25" : "dense"}`),
      el("span", {class: "num dim"}, `${((r.share || 0) * 100).toFixed(0)}%`))));
}

/** One badge per (rule, severity): "⚠ override ×3 (low)", the matched texts as its title. */
function flagBadges(flags) {
  const groups = new Map();
  for (const f of flags) {
    const key = `${f.rule} ${f.severity}`;
    groups.set(key, [...(groups.get(key) || []), f]);
  }
  return [...groups.values()].map((group) => {
    const {rule, severity} = group[0];
    const times = group.length > 1 ? ` ×${group.length}` : "";
    return el("span", {class: `flag flag-${severity === "high" ? "high" : "low"}`,
      title: group.map((f) => f.text).join(" · ")}, `⚠ ${rule}${times} (${severity})`);
  });
}

function guardPanel(d) {
  const rows = [];
  for (const f of d.question_flags || []) rows.push(["question", f]);
  for (const [cid, list] of Object.entries(d.flagged || {})) list.forEach((f) => rows.push([cid, f]));
  const table = el("table", {class: "flags"},
    el("thead", {}, el("tr", {}, ["where", "rule", "severity", "matched text"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map(([at, f]) => el("tr", {class: `sev-${f.severity}`},
      el("td", {}, at), el("td", {}, f.rule), el("td", {}, f.severity), el("td", {}, f.text)))));
  const notes = [];
  if ((d.question_removed || []).length) notes.push(el("p", {}, "cut from the question: ",
    el("q", {}, d.question_removed.join(" ")), " · asked instead: ", el("q", {}, d.question_used)));
  if (d.answered_extractively) notes.push(el("p", {}, "flagged question: answered extractively (no LLM)"));
  if ((d.dropped || []).length) notes.push(el("p", {}, `dropped before generation: ${d.dropped.join(", ")}`));
  return el("div", {class: "guard"}, table, notes);
}

function generatePanel(d) {
  const out = [];
  if (d.prompt) {
    out.push(el("h4", {}, "The prompt, exactly as sent"), el("pre", {class: "prompt"}, d.prompt));
  } else {
    out.push(el("p", {class: "dim"}, "No prompt: the extractive generator picks sentences."));
  }
  if (d.reply) out.push(el("h4", {}, "The model's reply"), el("pre", {class: "prompt"}, d.reply));
  if ((d.selected || []).length) {
    out.push(el("table", {class: "selected"},
      el("thead", {}, el("tr", {}, ["[n]", "coverage", "sentence"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.selected.map((s) => el("tr", {}, el("td", {class: "num"}, `[${s.n}]`),
        el("td", {class: "num"}, fmt(s.score)), el("td", {}, s.sentence))))));
  }
  return out;
}

function withoutPrompt(details) {
  const {prompt, ...rest} = details; // the prompt has its own block above
  return prompt === undefined ? details : {...rest, prompt: `(${prompt.length} characters, above)`};
}
