// One entry per dashboard section: which API measure it reads and how it draws its summary,
// chart and table. Every chart element and table row knows the conversations behind it.

import { COLORS, drawChart, sentimentColor } from "./charts.js";
import { fmt, replace, sentimentClass, table } from "./dom.js";
import { currency, recommendations, summarySource } from "./headline.js";

/** The parts of a section element. */
function parts(node) {
  return {
    summary: node.querySelector(".summary"),
    canvas: node.querySelector("canvas"),
    table: node.querySelector(".table"),
  };
}

/** Where a row of ``data`` comes from (for the drill-down's CSV export). */
function source(data, row) {
  if (!data.measure) return null; // segments and recommendations are not measures
  return { measure: data.measure, row: data.rows.indexOf(row), filters: data.filters || {} };
}

/** Table rows drill into their conversations, titled by ``label(row)``. */
function rowDrill(drill, label, data) {
  return (row) => drill(label(row), row.conversation_ids, source(data, row));
}

/** Drill into ``row`` of ``data`` (a chart element standing for that row). */
function pick(drill, data, title, row) {
  drill(title, row ? row.conversation_ids : [], row ? source(data, row) : null);
}

/** Ids in ``all`` that are in none of ``groups``. */
function without(all, groups) {
  const taken = new Set(groups.flat());
  return (all || []).filter((id) => !taken.has(id));
}

// Horizontal bars: every category label shown (Chart.js would skip some to save space).
const HORIZONTAL = { indexAxis: "y", scales: { y: { ticks: { autoSkip: false } } } };

const sentimentCell = { format: fmt.sentiment, cls: sentimentClass, num: true };

function overview(node, data, drill) {
  const { canvas, table: target } = parts(node);
  const rows = data.rows;
  drawChart(canvas, {
    type: "bar",
    labels: rows.map((r) => r.day),
    datasets: [
      { label: "Conversations", data: rows.map((r) => r.conversations), backgroundColor: COLORS.blue },
      { label: "Messages", data: rows.map((r) => r.messages), backgroundColor: COLORS.lightBlue },
    ],
  }, (i) => pick(drill, data, `Conversations on ${rows[i].day}`, rows[i]));
  replace(target, table([
    { key: "day", label: "Day" },
    { key: "conversations", label: "Conversations", num: true, format: fmt.int },
    { key: "messages", label: "Messages", num: true, format: fmt.int },
  ], rows, { onRow: rowDrill(drill, (r) => `Conversations on ${r.day}`, data) }));
}

// Bar colour per language (the order of the API's rows: English, Chinese, then any other).
const LANGUAGE_COLORS = { en: COLORS.blue, zh: COLORS.orange };

function languages(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const rows = data.rows;
  const title = (r) => `Conversations in ${r.label}`;
  replace(summary, rows.map((r) => `${r.label} ${fmt.int(r.conversations)} (${fmt.pct(r.share)})`)
    .join(" · ") + ` of ${fmt.int(data.summary.conversations)} conversations.`);
  drawChart(canvas, {
    type: "doughnut",
    labels: rows.map((r) => r.label),
    datasets: [{
      data: rows.map((r) => r.conversations),
      backgroundColor: rows.map((r, i) => LANGUAGE_COLORS[r.language] || COLORS.series[i + 2]),
    }],
    options: { plugins: { legend: { position: "bottom" } } },
  }, (i) => pick(drill, data, title(rows[i]), rows[i]));
  replace(target, table([
    { key: "label", label: "Language" },
    { key: "conversations", label: "Conversations", num: true, format: fmt.int },
    { key: "share", label: "Share", num: true, format: fmt.pct },
    { key: "messages", label: "Messages", num: true, format: fmt.int },
    { key: "escalation_rate", label: "Handed over", num: true, format: fmt.pct },
    { key: "mean_sentiment", label: "Sentiment", ...sentimentCell },
  ], rows, { onRow: rowDrill(drill, title, data) }));
}

function containment(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  const rows = data.rows;
  replace(summary, `${fmt.pct(s.containment_rate)} of ${fmt.int(s.conversations)} conversations `
    + `resolved without a person; ${fmt.pct(s.escalation_rate)} handed over.`);
  const containedIds = without(s.conversation_ids, rows.map((r) => r.conversation_ids));
  drawChart(canvas, {
    type: "doughnut",
    labels: ["Contained (bot only)", ...rows.map((r) => `Handed over: ${r.label}`)],
    datasets: [{
      data: [s.contained, ...rows.map((r) => r.conversations)],
      backgroundColor: [COLORS.positive, ...COLORS.escalations],
    }],
    options: { plugins: { legend: { position: "bottom" } } },
  }, (i) => (i === 0
    ? drill("Contained conversations", containedIds)
    : pick(drill, data, `Handed over: ${rows[i - 1].label}`, rows[i - 1])));
  replace(target, table([
    { key: "label", label: "Escalation reason" },
    { key: "conversations", label: "Conversations", num: true, format: fmt.int },
    { key: "rate", label: "Share of all", num: true, format: fmt.pct },
  ], rows, { onRow: rowDrill(drill, (r) => `Handed over: ${r.label}`, data), empty: "No hand-overs." }));
}

function sentiment(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  const rows = data.rows;
  replace(summary, `Mean ${fmt.sentiment(s.mean)} over ${fmt.int(s.messages)} messages: `
    + `${fmt.int(s.negative)} negative, ${fmt.int(s.neutral)} neutral, ${fmt.int(s.positive)} positive.`);
  drawChart(canvas, {
    type: "bar",
    labels: rows.map((r) => r.day),
    datasets: [
      { type: "line", label: "Mean sentiment", data: rows.map((r) => r.mean), yAxisID: "mean",
        borderColor: COLORS.ink, backgroundColor: COLORS.ink },
      { label: "Negative", data: rows.map((r) => r.negative), backgroundColor: COLORS.negative, stack: "n" },
      { label: "Neutral", data: rows.map((r) => r.neutral), backgroundColor: COLORS.neutral, stack: "n" },
      { label: "Positive", data: rows.map((r) => r.positive), backgroundColor: COLORS.positive, stack: "n" },
    ],
    options: {
      scales: {
        y: { stacked: true, title: { display: true, text: "messages" } },
        x: { stacked: true },
        mean: { position: "right", min: -1, max: 1, grid: { drawOnChartArea: false },
          ticks: { precision: 1 }, title: { display: true, text: "mean" } },
      },
    },
  }, (i) => pick(drill, data, `Conversations on ${rows[i].day}`, rows[i]));
  replace(target, table([
    { key: "day", label: "Day" },
    { key: "messages", label: "Messages", num: true, format: fmt.int },
    { key: "mean", label: "Mean", ...sentimentCell },
    { key: "negative", label: "Neg.", num: true },
    { key: "neutral", label: "Neu.", num: true },
    { key: "positive", label: "Pos.", num: true },
  ], rows, { onRow: rowDrill(drill, (r) => `Conversations on ${r.day}`, data) }));
}

const SHIFT_THRESHOLD = 0.1;

function sentimentShift(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  const rows = [...data.rows].sort((a, b) => a.delta - b.delta);
  replace(summary, `Opening ${fmt.sentiment(s.opening_mean)} → closing ${fmt.sentiment(s.closing_mean)} `
    + `over ${fmt.int(s.conversations)} conversations.`);
  const groups = [
    ["Improved", rows.filter((r) => r.delta >= SHIFT_THRESHOLD), s.improved, COLORS.positive],
    ["Unchanged", rows.filter((r) => Math.abs(r.delta) < SHIFT_THRESHOLD), s.unchanged, COLORS.neutral],
    ["Worsened", rows.filter((r) => r.delta <= -SHIFT_THRESHOLD), s.worsened, COLORS.negative],
  ];
  drawChart(canvas, {
    type: "bar",
    labels: groups.map((g) => g[0]),
    datasets: [{ label: "Conversations", data: groups.map((g) => g[2]), backgroundColor: groups.map((g) => g[3]) }],
  }, (i) => drill(`Sentiment ${groups[i][0].toLowerCase()}`, groups[i][1].map((r) => r.conversation_id)));
  replace(target, table([
    { key: "conversation_id", label: "Conversation" },
    { key: "started_at", label: "Started", format: fmt.time },
    { key: "opening", label: "Opening", ...sentimentCell },
    { key: "closing", label: "Closing", ...sentimentCell },
    { key: "delta", label: "Change", ...sentimentCell },
  ], rows, { onRow: rowDrill(drill, (r) => `Conversation ${r.conversation_id}`, data), limit: 8 }));
}

function intents(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  const rows = data.rows;
  const top = rows.slice(0, 15);
  replace(summary, `${fmt.int(s.messages)} messages ${period(s.from, s.to)}; previous period `
    + `${period(s.previous_from, s.previous_to)}: ${fmt.int(s.previous_messages)} messages.`);
  drawChart(canvas, {
    type: "bar",
    labels: top.map((r) => r.intent),
    datasets: [
      { label: "This period", data: top.map((r) => r.count), backgroundColor: COLORS.blue },
      { label: "Previous period", data: top.map((r) => r.previous_count), backgroundColor: COLORS.neutral },
    ],
    options: HORIZONTAL,
  }, (i) => pick(drill, data, `Intent ${top[i].intent}`, top[i]));
  replace(target, table([
    { key: "intent", label: "Intent" },
    { key: "count", label: "Messages", num: true, format: fmt.int },
    { key: "share", label: "Share", num: true, format: fmt.pct },
    { key: "previous_count", label: "Previous", num: true, format: fmt.int },
    { key: "change", label: "Change", num: true, format: (v) => (v > 0 ? `+${v}` : String(v)) },
    { key: "change_pct", label: "Change %", num: true, format: (v) => (v === null ? "new" : fmt.pct(v)) },
  ], rows, { onRow: rowDrill(drill, (r) => `Intent ${r.intent}`, data) }));
}

function period(from, to) {
  if (!from && !to) return "(no data)";
  return from === to ? `on ${from}` : `from ${from} to ${to}`;
}

function demands(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const rows = data.rows;
  replace(summary, `${fmt.int(data.summary.mentions)} demand mentions over `
    + `${fmt.int(data.summary.aspects)} aspects.`);
  drawChart(canvas, {
    type: "bar",
    labels: rows.map((r) => r.aspect),
    datasets: [
      { label: "Negative", data: rows.map((r) => r.negative), backgroundColor: COLORS.negative },
      { label: "Neutral", data: rows.map((r) => r.neutral), backgroundColor: COLORS.neutral },
      { label: "Positive", data: rows.map((r) => r.positive), backgroundColor: COLORS.positive },
    ],
    options: { ...HORIZONTAL, scales: { x: { stacked: true }, y: { stacked: true, ticks: { autoSkip: false } } } },
  }, (i) => pick(drill, data, `Demand: ${rows[i].aspect}`, rows[i]));
  replace(target, table([
    { key: "aspect", label: "Aspect" },
    { key: "mentions", label: "Mentions", num: true, format: fmt.int },
    { key: "conversations", label: "Conversations", num: true, format: fmt.int },
    { key: "mean_sentiment", label: "Sentiment", ...sentimentCell },
    { key: "negative", label: "Neg.", num: true },
    { key: "neutral", label: "Neu.", num: true },
    { key: "positive", label: "Pos.", num: true },
  ], rows, { onRow: rowDrill(drill, (r) => `Demand: ${r.aspect}`, data) }));
}

function demandProducts(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const rows = data.rows;
  const top = [...rows].sort((a, b) => b.mentions - a.mentions).slice(0, 12);
  const label = (r) => `${r.product} · ${r.aspect}`;
  replace(summary, `${fmt.int(data.summary.mentions)} mentions of `
    + `${fmt.int(data.summary.products)} products; bar colour = mean sentiment.`);
  drawChart(canvas, {
    type: "bar",
    labels: top.map(label),
    datasets: [{
      label: "Mentions",
      data: top.map((r) => r.mentions),
      backgroundColor: top.map((r) => sentimentColor(r.mean_sentiment)),
    }],
    options: HORIZONTAL,
  }, (i) => pick(drill, data, label(top[i]), top[i]));
  replace(target, table([
    { key: "product", label: "Product" },
    { key: "category", label: "Category" },
    { key: "aspect", label: "Aspect" },
    { key: "mentions", label: "Mentions", num: true, format: fmt.int },
    { key: "mean_sentiment", label: "Sentiment", ...sentimentCell },
    { key: "negative", label: "Neg.", num: true },
    { key: "positive", label: "Pos.", num: true },
  ], rows, { onRow: rowDrill(drill, label, data), empty: "No product named in a demand." }));
}

function churn(node, data, drill) {
  const { summary, table: target } = parts(node);
  const s = data.summary;
  replace(summary, `${fmt.int(s.at_risk)} of ${fmt.int(s.customers)} customers at risk ≥ `
    + `${fmt.pct(s.min_risk)}; value at risk ${currency()}${fmt.money(s.value_at_risk)}.`);
  replace(target, table([
    { key: "name", label: "Customer", format: (v, r) => `${v} (#${r.customer_id})` },
    { key: "segment", label: "Segment", num: true },
    { key: "risk", label: "Risk", num: true, format: fmt.pct },
    { key: "spend", label: "Spend", num: true, format: (v) => currency() + fmt.money(v) },
    { key: "value_at_risk", label: "Value at risk", num: true, format: (v) => currency() + fmt.money(v) },
    { key: "reasons_text", label: "Reasons" },
  ], data.rows, { onRow: rowDrill(drill, (r) => `Customer ${r.name} (#${r.customer_id})`, data),
    empty: "No customer at risk." }));
}

function faq(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  replace(summary, `${fmt.pct(s.answer_rate)} of ${fmt.int(s.questions)} FAQ questions answered; `
    + `${fmt.int(s.unanswered)} found no good answer (content gaps below).`);
  const gapIds = data.rows.map((r) => r.conversation_id);
  drawChart(canvas, {
    type: "doughnut",
    labels: ["Answered", "Offered a choice", "No good answer"],
    datasets: [{
      data: [s.answered, s.choice, s.unanswered],
      backgroundColor: [COLORS.positive, COLORS.orange, COLORS.negative],
    }],
    options: { plugins: { legend: { position: "bottom" } } },
  }, (i) => (i === 2
    ? drill("FAQ questions without a good answer", gapIds)
    : drill("Conversations with FAQ questions", s.conversation_ids, summarySource(data))));
  replace(target, table([
    { key: "sent_at", label: "Sent", format: fmt.time },
    { key: "text", label: "Question" },
    { key: "intent", label: "Intent" },
    { key: "confidence", label: "Conf.", num: true, format: fmt.conf },
  ], data.rows, { onRow: rowDrill(drill, (r) => `Conversation ${r.conversation_id}`, data),
    empty: "Every FAQ question found an answer." }));
}

function lowConfidence(node, data, drill) {
  const { summary, table: target } = parts(node);
  const s = data.summary;
  replace(summary, `${fmt.int(s.low_confidence)} of ${fmt.int(s.messages)} messages (${fmt.pct(s.rate)}) `
    + `below confidence ${fmt.conf(s.threshold)}.`);
  replace(target, table([
    { key: "sent_at", label: "Sent", format: fmt.time },
    { key: "text", label: "Message" },
    { key: "intent", label: "Intent" },
    { key: "confidence", label: "Conf.", num: true, format: fmt.conf },
    { key: "best_guess", label: "Best guess",
      format: (v, r) => (v ? `${v} (${fmt.conf(r.best_guess_confidence)})` : "–") },
  ], data.rows, { onRow: rowDrill(drill, (r) => `Conversation ${r.conversation_id}`, data),
    empty: "No low-confidence messages." }));
}

function csat(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  const rows = [...data.rows].sort((a, b) => a.rating - b.rating);
  replace(summary, `Mean ${s.mean === null ? "–" : s.mean.toFixed(2)} / 5 from ${fmt.int(s.ratings)} ratings.`);
  drawChart(canvas, {
    type: "bar",
    labels: [1, 2, 3, 4, 5].map((n) => `${n} ★`),
    datasets: [{
      label: "Ratings",
      data: [1, 2, 3, 4, 5].map((n) => s.distribution[String(n)] ?? 0),
      backgroundColor: [COLORS.negative, COLORS.orange, COLORS.neutral, COLORS.lightBlue, COLORS.positive],
    }],
  }, (i) => {
    pick(drill, data, `Rated ${i + 1} / 5`, rows.find((r) => r.rating === i + 1));
  });
  replace(target, table([
    { key: "rating", label: "Rating", format: (v) => `${v} / 5` },
    { key: "count", label: "Conversations", num: true, format: fmt.int },
  ], data.rows, { onRow: rowDrill(drill, (r) => `Rated ${r.rating} / 5`, data), empty: "No ratings yet." }));
}

function agents(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  const fr = s.first_response;
  const res = s.resolution;
  replace(summary, `${fmt.int(s.escalations)} hand-overs. First response median ${fmt.seconds(fr.median_s)} `
    + `(${fmt.int(fr.count)}), resolution median ${fmt.seconds(res.median_s)} (${fmt.int(res.count)}).`);
  const answered = data.rows.filter((r) => r.first_response_s !== null).map((r) => r.conversation_id);
  const resolved = data.rows.filter((r) => r.resolution_s !== null).map((r) => r.conversation_id);
  drawChart(canvas, {
    type: "bar",
    labels: ["First response", "Resolution"],
    datasets: [
      { label: "Median (s)", data: [fr.median_s, res.median_s], backgroundColor: COLORS.blue },
      { label: "Mean (s)", data: [fr.mean_s, res.mean_s], backgroundColor: COLORS.lightBlue },
      { label: "90th percentile (s)", data: [fr.p90_s, res.p90_s], backgroundColor: COLORS.neutral },
    ],
  }, (i) => (i === 0
    ? drill("Hand-overs with an agent's reply", answered)
    : drill("Resolved hand-overs", resolved)));
  replace(target, table([
    { key: "escalated_at", label: "Handed over", format: fmt.time },
    { key: "reason", label: "Reason" },
    { key: "agent", label: "Agent" },
    { key: "first_response_s", label: "First response", num: true, format: fmt.seconds },
    { key: "resolution_s", label: "Resolution", num: true, format: fmt.seconds },
    { key: "csat", label: "CSAT", num: true },
  ], data.rows, { onRow: rowDrill(drill, (r) => `Conversation ${r.conversation_id}`, data),
    empty: "No hand-overs." }));
}

function segments(node, data, drill) {
  const { summary, canvas, table: target } = parts(node);
  const s = data.summary;
  const rows = data.rows;
  const silhouette = s.silhouette === null || s.silhouette === undefined ? "–" : s.silhouette.toFixed(2);
  replace(summary, `${fmt.int(s.k)} segments of ${fmt.int(s.customers)} customers `
    + `(silhouette ${silhouette}; computed ${fmt.time(s.computed_at)}).`);
  drawChart(canvas, {
    type: "bar",
    labels: rows.map((r) => `${r.segment}: ${r.label}`),
    datasets: [{ label: "Customers", data: rows.map((r) => r.size), backgroundColor: COLORS.series }],
    options: HORIZONTAL,
  }, (i) => drill(`Segment ${rows[i].segment}: ${rows[i].label}`, rows[i].conversation_ids));
  replace(target, table([
    { key: "segment", label: "#", num: true },
    { key: "label", label: "Segment" },
    { key: "size", label: "Customers", num: true, format: fmt.int },
    { key: "description", label: "What sets it apart" },
  ], rows, { onRow: rowDrill(drill, (r) => `Segment ${r.segment}: ${r.label}`, data), empty: "No segments yet." }));
}

/** Every section: element id, API measure, renderer; ``filters: false`` = not filterable. */
export const SECTIONS = [
  { id: "m-recommendations", measure: "recommendations", render: recommendations },
  { id: "m-overview", measure: "overview", render: overview },
  { id: "m-languages", measure: "languages", render: languages },
  { id: "m-containment", measure: "containment", render: containment },
  { id: "m-sentiment", measure: "sentiment", render: sentiment },
  { id: "m-sentiment-shift", measure: "sentiment-shift", render: sentimentShift },
  { id: "m-intents", measure: "intents", render: intents },
  { id: "m-demands", measure: "demands", render: demands },
  { id: "m-demand-products", measure: "demand-products", render: demandProducts },
  { id: "m-churn", measure: "churn", render: churn },
  { id: "m-faq", measure: "faq", render: faq },
  { id: "m-low-confidence", measure: "low-confidence", render: lowConfidence },
  { id: "m-csat", measure: "csat", render: csat },
  { id: "m-agents", measure: "agents", render: agents },
  { id: "m-segments", measure: "segments", render: segments, filters: false },
];
