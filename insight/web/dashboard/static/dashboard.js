// The supervisor dashboard: filters -> every measure of the analytics API -> charts, tables,
// headline figures, segments and recommendations; any chart element or table row drills down
// to its conversations (drilldown.js). Filters live in the page URL, so a view can be shared.

import { FILTER_KEYS, csvUrl, getJson } from "./api.js";
import { COLORS } from "./charts.js";
import { DrillDown } from "./drilldown.js";
import { el, replace } from "./dom.js";
import { kpis } from "./headline.js";
import { SECTIONS } from "./sections.js";

const $ = (id) => document.getElementById(id);
const form = $("filters");

function currentFilters() {
  const params = new URLSearchParams(window.location.search);
  const filters = {};
  for (const key of FILTER_KEYS) if (params.get(key)) filters[key] = params.get(key);
  return filters;
}

function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  replace(box, error.message || String(error));
}

async function loadFilterOptions(filters) {
  const options = await getJson("filters");
  const fill = (name, values) => {
    const select = form.elements[name];
    replace(select, el("option", { value: "" }, "all"),
      values.map(([value, label]) => el("option", { value }, label)));
  };
  fill("channel", options.channels.map((c) => [c, c]));
  fill("intent", options.intents.map((i) => [i, i]));
  fill("category", options.categories.map((c) => [c, c]));
  fill("segment", options.segments.map((s) => [String(s.segment), `${s.segment}: ${s.label}`]));
  // The language select keeps its fixed options (the languages the shop serves: English, 中文).
  form.elements.from.placeholder = options.first_day || "";
  form.elements.to.placeholder = options.last_day || "";
  for (const key of FILTER_KEYS) form.elements[key].value = filters[key] || "";
}

async function loadSection(section, filters, drill) {
  const node = $(section.id);
  const params = section.filters === false ? {} : filters;
  const link = node.querySelector("a.csv");
  link.href = csvUrl(section.measure, params);
  const data = await getJson(section.measure, params);
  section.render(node, data, (title, ids, from) => drill.open(title, ids, from));
  node.dataset.loaded = "true";
  return [section.measure, data];
}

/** Clear a section that could not load (no stale numbers under new filters). */
function markFailed(node, message) {
  const canvas = node.querySelector("canvas");
  const chart = canvas && window.Chart.getChart(canvas);
  if (chart) chart.destroy();
  const target = node.querySelector(".table") || node.querySelector(".recommendations");
  replace(target, el("p", { className: "error" }, message));
  const summary = node.querySelector(".summary");
  if (summary) replace(summary);
  node.dataset.loaded = "false";
}

async function loadAll(drill) {
  const filters = currentFilters();
  document.body.dataset.state = "loading";
  replace($("status"), "Loading…");
  showError(null);
  try {
    await loadFilterOptions(filters);
    const results = await Promise.allSettled(SECTIONS.map((s) => loadSection(s, filters, drill)));
    const data = {};
    const failed = [];
    results.forEach((result, i) => {
      if (result.status === "fulfilled") data[result.value[0]] = result.value[1];
      else {
        failed.push(result.reason.message);
        markFailed($(SECTIONS[i].id), result.reason.message);
      }
    });
    kpis($("kpis").querySelector("dl"), data, (title, ids, from) => drill.open(title, ids, from));
    // One line per distinct problem (a bad filter makes every measure answer the same 400).
    if (failed.length) showError(new Error([...new Set(failed)].join(" ")));
    const described = Object.entries(filters).map(([k, v]) => `${k} ${v}`).join(", ");
    const count = data.overview ? data.overview.summary.conversations : null;
    let status = described ? `Filtered by ${described}` : "All conversations";
    if (count === 0) {
      status = described
        ? "No conversation matches these filters."
        : "No conversations yet: `make demo` sends a few hundred simulated shoppers.";
    }
    replace($("status"), status);
    document.body.dataset.state = failed.length ? "error" : "ready";
  } catch (error) {
    showError(error);
    replace($("status"), "");
    document.body.dataset.state = "error";
  }
}

function applyFilters(event) {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = form.elements[key].value;
    if (value) params.set(key, value);
  }
  const search = params.toString();
  window.history.pushState(null, "", search ? `?${search}` : window.location.pathname);
  return true;
}

function start() {
  window.Chart.defaults.font.family = "system-ui, sans-serif";
  window.Chart.defaults.color = COLORS.ink;
  // Counts are whole numbers: no 0.5 ticks (axes of other quantities set their own precision).
  window.Chart.defaults.scales.linear.ticks.precision = 0;
  const drill = new DrillDown(showError);
  form.addEventListener("submit", (event) => applyFilters(event) && loadAll(drill));
  form.addEventListener("reset", () => {
    window.history.pushState(null, "", window.location.pathname);
    setTimeout(() => loadAll(drill));
  });
  window.addEventListener("popstate", () => loadAll(drill));
  loadAll(drill);
}

start();
