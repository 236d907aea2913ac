// Drill-down: the conversations behind a number, then one transcript with the NLU outputs of
// every shopper message (intent, confidence, sentiment, demands).

import { csvUrl, getJson } from "./api.js";
import { el, fmt, replace, sentimentClass, table } from "./dom.js";

const PAGE_SIZE = 20;
// Sender ids per CSV link (keeps the URL well under the server's request-line limit) ...
const CSV_MAX_IDS = 200;
// ... and rows of a CSV export named by measure and row (the API's largest page).
const CSV_MAX_ROWS = 500;

const $ = (id) => document.getElementById(id);

const CONVERSATION_COLUMNS = [
  { key: "started_at", label: "Started", format: fmt.time },
  { key: "customer_id", label: "Customer", format: (v) => (v === null ? "guest" : `#${v}`) },
  { key: "channel", label: "Channel" },
  { key: "language", label: "Lang.", format: languageName },
  { key: "messages", label: "Msgs", num: true },
  {
    key: "escalated",
    label: "Hand-over",
    format: (v, row) => (v ? row.escalation_reason || "yes" : "no"),
  },
  { key: "csat", label: "CSAT", num: true },
  {
    key: "closing_sentiment",
    label: "Sentiment",
    format: (v, row) => `${fmt.sentiment(row.opening_sentiment)} → ${fmt.sentiment(v)}`,
  },
  { key: "intents", label: "Intents", format: fmt.list },
  { key: "first_text", label: "First message" },
];

export class DrillDown {
  constructor(onError) {
    this.onError = onError;
    this.ids = [];
    this.offset = 0;
    this.title = "";
    $("drill-close").addEventListener("click", () => this.close());
    $("drill-prev").addEventListener("click", () => this.page(this.offset - PAGE_SIZE));
    $("drill-next").addEventListener("click", () => this.page(this.offset + PAGE_SIZE));
    $("transcript-back").addEventListener("click", () => this.showList());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !$("drill").hidden) this.close();
    });
  }

  /**
   * List the conversations ``ids`` under ``title``. ``source`` ({measure, row, filters}), when
   * the ids are one row (or the summary) of a measure, lets the CSV export name that row
   * instead of listing the ids.
   */
  async open(title, ids, source = null) {
    this.ids = [...new Set(ids || [])];
    this.title = title;
    $("drill").hidden = false;
    replace($("drill-title"), `${title} — ${this.ids.length} conversation(s)`);
    const link = $("drill-csv");
    if (source && (source.row === "summary" || source.row >= 0)) {
      link.href = csvUrl("conversations", {
        ...source.filters, measure: source.measure, row: source.row, limit: CSV_MAX_ROWS,
      });
      replace(link, this.ids.length > CSV_MAX_ROWS ? `CSV (first ${CSV_MAX_ROWS})` : "CSV");
    } else {
      const csvIds = this.ids.slice(0, CSV_MAX_IDS);
      link.href = csvUrl("conversations", { ids: csvIds.join(","), limit: CSV_MAX_IDS });
      replace(link, this.ids.length > CSV_MAX_IDS ? `CSV (first ${CSV_MAX_IDS})` : "CSV");
    }
    this.showList();
    await this.page(0);
  }

  close() {
    $("drill").hidden = true;
  }

  showList() {
    $("drill-list").hidden = false;
    $("transcript-view").hidden = true;
  }

  /** Show the page of conversations starting at ``offset`` (newest first within the page). */
  async page(offset) {
    if (offset < 0 || (offset >= this.ids.length && this.ids.length)) return;
    this.offset = offset;
    const slice = this.ids.slice(offset, offset + PAGE_SIZE);
    const target = $("drill-list").querySelector(".table");
    replace($("drill-page"), this.ids.length
      ? `${offset + 1}–${offset + slice.length} of ${this.ids.length}`
      : "");
    $("drill-prev").disabled = offset === 0;
    $("drill-next").disabled = offset + PAGE_SIZE >= this.ids.length;
    if (!slice.length) {
      replace(target, el("p", { className: "muted" }, "No conversations."));
      return;
    }
    replace(target, el("p", { className: "muted" }, "Loading…"));
    try {
      const data = await getJson("conversations", { ids: slice.join(","), limit: PAGE_SIZE });
      replace(target, table(CONVERSATION_COLUMNS, data.rows, {
        onRow: (row) => this.transcript(row.conversation_id),
        limit: PAGE_SIZE,
      }));
    } catch (error) {
      replace(target, el("p", { className: "error" }, error.message));
      this.onError(error);
    }
  }

  /** Show the transcript of conversation ``id``. */
  async transcript(id) {
    $("drill-list").hidden = true;
    $("transcript-view").hidden = false;
    replace($("transcript-title"), `Conversation ${id}`);
    replace($("transcript-facts"));
    const list = replace($("transcript"), el("li", { className: "event" }, "Loading…"));
    try {
      const data = await getJson(`conversations/${encodeURIComponent(id)}`);
      renderFacts(data.conversation);
      replace(list, data.transcript.map(transcriptLine));
    } catch (error) {
      replace(list, el("li", { className: "event error" }, error.message));
      this.onError(error);
    }
  }
}

/** How the dashboard names a conversation's language (as the language filter does). */
function languageName(code) {
  return { en: "English", zh: "中文" }[code] || code || "–";
}

function renderFacts(c) {
  const facts = [
    ["Customer", c.customer_id === null ? "guest" : `#${c.customer_id}`],
    ["Segment", c.segment === null ? "–" : String(c.segment)],
    ["Channel", c.channel || "–"],
    ["Language", languageName(c.language)],
    ["Time", `${fmt.time(c.started_at)} – ${fmt.time(c.ended_at)}`],
    ["Hand-over", c.escalated ? c.escalation_reason || "yes" : "no"],
    ["CSAT", c.csat === null ? "–" : `${c.csat} / 5`],
    ["Sentiment", `${fmt.sentiment(c.opening_sentiment)} → ${fmt.sentiment(c.closing_sentiment)}`],
    ["Categories", fmt.list(c.categories)],
  ];
  replace($("transcript-facts"), facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function transcriptLine(entry) {
  const who = {
    user: "Shopper",
    bot: "Bot",
    agent: `Agent${entry.agent ? ` ${entry.agent}` : ""}`,
    event: "",
  }[entry.kind] ?? entry.kind;
  const li = el("li", { className: entry.kind, "data-kind": entry.kind });
  if (entry.kind !== "event") li.append(el("span", { className: "who" }, `${who} · ${fmt.time(entry.at)}`));
  li.append(el("span", { className: "text" }, entry.text ?? ""));
  if (entry.kind === "bot" && entry.buttons && entry.buttons.length) {
    li.append(el("span", { className: "meta" }, `buttons: ${entry.buttons.join(" | ")}`));
  }
  if (entry.kind === "user") li.append(nluLine(entry));
  return li;
}

function nluLine(entry) {
  const tags = [
    el("span", { className: "tag intent", title: "intent" },
      `intent ${entry.intent ?? "–"} (${fmt.conf(entry.confidence)})`),
  ];
  if (entry.low_confidence) tags.push(el("span", { className: "tag warn" }, "low confidence"));
  if (entry.sentiment) {
    tags.push(el("span", {
      className: `tag sentiment ${sentimentClass(entry.sentiment.score)}`,
      title: "sentiment",
    }, `${entry.sentiment.label} ${fmt.sentiment(entry.sentiment.score)}`));
  }
  for (const demand of entry.demands || []) {
    const product = demand.product ? ` · ${demand.product}` : "";
    tags.push(el("span", { className: "tag demand", title: "demand" }, `${demand.aspect}${product}`));
  }
  if (entry.faq_outcome) tags.push(el("span", { className: "tag faq" }, `FAQ ${entry.faq_outcome}`));
  return el("span", { className: "meta" }, tags);
}
