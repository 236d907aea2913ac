// Chart.js (the global ``Chart`` from /dashboard/vendor/chart.umd.min.js) with the dashboard's
// defaults: no animation, the console's palette, click on an element -> drill-down.

export const COLORS = {
  ink: "#233044",
  blue: "#1e5bb8",
  lightBlue: "#8fb3e8",
  negative: "#c62828",
  neutral: "#9ea5b0",
  positive: "#2e7d32",
  orange: "#e65100",
  escalations: ["#e65100", "#8e24aa", "#00838f", "#c62828", "#6d4c41", "#546e7a"],
  series: ["#1e5bb8", "#e65100", "#2e7d32", "#8e24aa", "#00838f", "#c62828", "#6d4c41", "#546e7a"],
};

/** Colour of a signed sentiment value. */
export function sentimentColor(value) {
  if (value === null || value === undefined) return COLORS.neutral;
  if (value <= -0.1) return COLORS.negative;
  if (value >= 0.1) return COLORS.positive;
  return COLORS.neutral;
}

/**
 * Draw (or redraw) the chart of ``canvas``. ``spec`` = {type, labels, datasets, options};
 * ``onPick(index, datasetIndex)`` is called when an element is clicked.
 */
export function drawChart(canvas, spec, onPick) {
  const Chart = window.Chart;
  const existing = Chart.getChart(canvas);
  if (existing) existing.destroy();
  const extra = spec.options || {};
  const options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    onClick: (_event, elements) => {
      if (elements.length && onPick) onPick(elements[0].index, elements[0].datasetIndex);
    },
    onHover: (event, elements) => {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    },
    ...extra,
  };
  options.plugins = {
    legend: { display: spec.datasets.length > 1 || spec.type === "doughnut" },
    ...(extra.plugins || {}),
  };
  return new Chart(canvas, {
    type: spec.type,
    data: { labels: spec.labels, datasets: spec.datasets },
    options,
  });
}
