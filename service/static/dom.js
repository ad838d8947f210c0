// Safe element building and the API calls, shared by app.js and trace.js.
//
// Everything on this page that came from the server (answers, chunk text, headings,
// prompts, flags) is retrieved content an attacker may have written, so it only ever
// becomes text nodes (`textContent`, `append(string)`): this file never touches
// innerHTML, and `el` refuses attribute names that could run code or load a URL.

const UNSAFE_ATTRIBUTE = /^(on|href$|src$|srcdoc$|style$|formaction$|action$)/i;

/** el("td", {class: "num", title: "..."}, child, "text", ...): a DOM element.
 *  Children are nodes or strings (strings become text nodes, never HTML). Event
 *  handlers go in `on: {click: fn}`; data attributes as plain names ("data-n"). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (UNSAFE_ATTRIBUTE.test(name)) {
      throw new Error(`el(): attribute ${name} is not allowed; use on: {...} or CSS classes`);
    } else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** A horizontal bar `share` (0..1) wide, for term contributions and fusion shares. */
export function bar(share, kind = "") {
  const fill = el("span", {class: `bar-fill ${kind}`});
  fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`; // CSSOM: allowed by CSP
  return el("span", {class: "bar", title: `${(share * 100).toFixed(1)}%`}, fill);
}

export function fmt(value, digits = 4) {
  if (typeof value !== "number") return value === undefined || value === null ? "" : String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function ms(value) {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

/** "rag-systems.md › Hybrid search › RRF" for a chunk, candidate or citation. */
export function where(row, depth = 2) {
  const path = (row.heading_path || []).slice(-depth);
  return [row.source, ...path].filter(Boolean).join(" › ");
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.fix = (body && body.fix) || "";
    this.field = (body && body.field) || "";
  }
}

/** JSON from the API (paths are relative, so the page works behind a path prefix). */
export async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = {error: text.slice(0, 300)};
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
