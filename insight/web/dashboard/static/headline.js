// The top of the dashboard: data-backed recommendations and the headline figures, both drilling
// into the conversations behind them.

import { el, fmt, replace } from "./dom.js";

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 };
// Recommendations listed before "Show all" (the most severe first).
const RECOMMENDATIONS_SHOWN = 6;

/** The shop's currency symbol (from the page). */
export function currency() {
  return document.body.dataset.currency || "";
}

/** The conversations behind the summary of ``data`` (for the drill-down's CSV export). */
export function summarySource(data) {
  return data.measure ? { measure: data.measure, row: "summary", filters: data.filters || {} } : null;
}

/** The recommendations, most severe first; the rest behind "Show all". */
export function recommendations(node, data, drill) {
  const list = node.querySelector(".recommendations");
  const rows = [...data.rows].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const stale = node.querySelector(".more");
  if (stale) stale.remove();
  if (!rows.length) {
    replace(list, el("li", { className: "muted" }, "No recommendation: nothing stands out in this selection."));
    return;
  }
  const item = (r) => el("li", { "data-kind": r.kind },
    el("span", { className: `severity ${r.severity}` }, r.severity),
    el("span", { className: "text" }, r.text),
    r.conversation_ids.length
      ? el("button", {
        type: "button",
        className: "evidence",
        onclick: () => drill(r.text, r.conversation_ids),
      }, `Evidence (${r.conversation_ids.length})`)
      : null);
  replace(list, rows.slice(0, RECOMMENDATIONS_SHOWN).map(item));
  if (rows.length > RECOMMENDATIONS_SHOWN) {
    const button = el("button", { type: "button", className: "more" }, `Show all ${rows.length} recommendations`);
    button.addEventListener("click", () => { replace(list, rows.map(item)); button.remove(); });
    list.after(button);
  }
}

/** The headline figures from the measures' summaries (each drills into its conversations). */
export function kpis(target, data, drill) {
  const get = (measure) => (data[measure] ? data[measure].summary : null);
  const figures = [];
  const add = (key, label, measure, value, ids = null) => {
    const summary = get(measure);
    if (!summary) return;
    figures.push([key, label, value(summary), ids ? ids(summary) : summary.conversation_ids,
      summarySource(data[measure])]);
  };
  add("conversations", "Conversations", "overview", (s) => fmt.int(s.conversations));
  add("messages", "Shopper messages", "overview", (s) => fmt.int(s.messages));
  add("containment", "Containment rate", "containment", (s) => fmt.pct(s.containment_rate));
  add("escalation", "Escalation rate", "containment", (s) => fmt.pct(s.escalation_rate));
  add("sentiment", "Mean sentiment", "sentiment", (s) => fmt.sentiment(s.mean));
  add("faq", "FAQ answer rate", "faq", (s) => fmt.pct(s.answer_rate));
  add("csat", "CSAT", "csat", (s) => (s.mean === null ? "–" : `${s.mean.toFixed(2)} / 5`));
  add("first-response", "First response (median)", "agents", (s) => fmt.seconds(s.first_response.median_s));
  add("resolution", "Resolution (median)", "agents", (s) => fmt.seconds(s.resolution.median_s));
  add("at-risk", "Customers at risk", "churn", (s) => fmt.int(s.at_risk));
  add("value-at-risk", "Value at risk", "churn", (s) => currency() + fmt.money(s.value_at_risk));
  add("low-confidence", "Low-confidence messages", "low-confidence", (s) => fmt.pct(s.rate));
  replace(target, figures.map(([key, label, value, ids, from]) => {
    const dd = el("dd", {}, value);
    const box = el("div", { "data-kpi": key }, el("dt", {}, label), dd);
    if (ids && ids.length) {
      box.className = "drill";
      box.tabIndex = 0;
      box.title = `Show the ${ids.length} conversation(s)`;
      box.addEventListener("click", () => drill(label, ids, from));
      box.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); drill(label, ids, from); }
      });
    }
    return box;
  }));
}
