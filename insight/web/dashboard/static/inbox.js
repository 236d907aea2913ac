// NLU inbox: messages to confirm or correct, grouped by likely intent (insight/analytics/inbox.py).
// Every text reaches the page through el() (text nodes only); verdicts POST with the CSRF token.
import { ApiError, getJson } from "./api.js";
import { clear, el, fmt, replace } from "./dom.js";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const REASONS = {
  fallback: "not understood",
  low_confidence: "low confidence",
  handed_over: "handed over",
  guess_rejected: "guess not followed",
};
const state = { options: { intents: [], sentiments: [], demands: [] }, rows: new Map() };

function showError(message) {
  const box = document.getElementById("error");
  box.hidden = !message;
  replace(box, message || "");
}

function setStatus(text) {
  replace(document.getElementById("status"), text);
}

function select(name, values, chosen, { empty = null, label = "" } = {}) {
  const node = el("select", { name, "aria-label": label });
  // A value the list does not offer (e.g. an intent no longer in the domain) must be chosen.
  if (empty === null && !values.includes(chosen)) empty = "choose…";
  if (empty !== null) node.append(el("option", { value: "" }, empty));
  for (const value of values) node.append(el("option", { value, selected: value === chosen }, value));
  return node;
}

/** What the row's controls say now: one verdict item. */
function itemOf(key) {
  const row = state.rows.get(key);
  const demands = [...row.node.querySelectorAll('input[name="demand"]:checked')].map((i) => i.value);
  return {
    key,
    intent: row.node.querySelector('select[name="intent"]').value,
    sentiment: row.node.querySelector('select[name="sentiment"]').value || null,
    demands,
  };
}

async function post(items) {
  const response = await fetch("/dashboard/api/inbox/corrections", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": CSRF },
    body: JSON.stringify({ items }),
  });
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) {
    throw new ApiError(response.status, (body && body.error) || `The server answered ${response.status}.`);
  }
  return body.saved;
}

async function save(items) {
  if (!items.length) { setStatus("Select messages first."); return; }
  try {
    const saved = await post(items);
    for (const verdict of saved) markSaved(verdict);
    setStatus(`Saved ${saved.length} verdict(s).`);
    showError("");
  } catch (error) {
    showError(error.message);
  }
}

function markSaved(verdict) {
  const row = state.rows.get(verdict.key);
  if (!row) return;
  row.node.classList.add("saved");
  row.node.querySelector('select[name="intent"]').value = verdict.intent;
  row.node.querySelector('select[name="sentiment"]').value = verdict.sentiment || "";
  replace(row.node.querySelector(".verdict"), `${verdict.verdict} as ${verdict.intent} by ${verdict.by}`);
}

function itemRow(item) {
  const chosen = item.correction ? item.correction : item;
  const intent = item.correction ? item.correction.intent : item.likely_intent;
  const demands = el("div", { className: "demands" }, state.options.demands.map((d) =>
    el("label", {}, el("input", { type: "checkbox", name: "demand", value: d,
      checked: (chosen.demands || []).includes(d) }), d)));
  const node = el("tr", { className: "inbox-item", "data-key": item.key },
    el("td", {}, el("input", { type: "checkbox", name: "pick", "aria-label": "Select message" })),
    el("td", { className: "text", lang: item.language === "zh" ? "zh-CN" : "en" }, item.text),
    el("td", {}, item.reasons.map((r) => el("span", { className: "reason" }, REASONS[r] || r)),
      item.followed ? el("div", { className: "muted" }, `then: ${item.followed}`) : null),
    el("td", {}, `${item.intent || "–"} ${fmt.conf(item.confidence)}`,
      item.best_guess && item.best_guess !== item.intent
        ? el("div", { className: "muted" }, `guess ${item.best_guess} ${fmt.conf(item.best_guess_confidence)}`) : null),
    el("td", {}, select("intent", state.options.intents, intent, { label: "Intent" })),
    el("td", {}, select("sentiment", state.options.sentiments, chosen.sentiment, { empty: "–", label: "Sentiment" })),
    el("td", {}, demands),
    el("td", {}, el("button", { type: "button", className: "save" }, "Save"), el("div", { className: "verdict" },
      item.correction ? `${item.correction.verdict} as ${item.correction.intent} by ${item.correction.by}` : "")),
  );
  if (item.correction) node.classList.add("saved");
  node.querySelector("button.save").addEventListener("click", () => save([itemOf(item.key)]));
  state.rows.set(item.key, { item, node });
  return node;
}

function groupCard(group) {
  const all = el("input", { type: "checkbox", "aria-label": `Select every ${group.intent} message` });
  const body = el("tbody", {}, group.items.map(itemRow));
  all.addEventListener("change", () => {
    for (const box of body.querySelectorAll('input[name="pick"]')) box.checked = all.checked;
  });
  const head = el("tr", {}, el("th", {}, all),
    ["Message", "Why", "Bot said", "Intent", "Sentiment", "Demands", ""].map((t) => el("th", { scope: "col" }, t)));
  return el("section", { className: "card wide group", "data-intent": group.intent },
    el("header", {}, el("h2", {}, `${group.intent} (${group.count})`)),
    el("div", { className: "table" }, el("table", {}, el("thead", {}, head), body)));
}

function selectedKeys() {
  return [...document.querySelectorAll('tr.inbox-item input[name="pick"]:checked')]
    .map((box) => box.closest("tr").dataset.key);
}

async function load() {
  const status = document.querySelector('#inbox-filters select[name="status"]').value;
  setStatus("Loading…");
  try {
    const body = await getJson("inbox/messages", { status });
    state.options = body.options;
    state.rows.clear();
    const bulk = document.getElementById("bulk-intent");
    replace(bulk, body.options.intents.map((i) => el("option", { value: i }, i)));
    const groups = clear(document.getElementById("groups"));
    if (!body.groups.length) groups.append(el("p", { className: "muted empty" }, "Nothing to review."));
    for (const group of body.groups) groups.append(groupCard(group));
    setStatus(`${body.summary.open} to review, ${body.summary.done} reviewed`);
    showError("");
  } catch (error) {
    showError(error.message);
    setStatus("");
  }
}

document.querySelector('#inbox-filters select[name="status"]').addEventListener("change", load);
document.getElementById("bulk-confirm").addEventListener("click", () => save(selectedKeys().map(itemOf)));
document.getElementById("bulk-correct").addEventListener("click", () => {
  const intent = document.getElementById("bulk-intent").value;
  save(selectedKeys().map((key) => ({ ...itemOf(key), intent })));
});
load();
