// DOM and formatting helpers of the dashboard. Data only ever reaches the page as text:
// el() turns every string child into a text node and refuses any property that would parse HTML.

/** An element with properties (className, title, ...), data-* / aria-* attributes and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key.endsWith("HTML")) throw new Error(`el(): ${key} is not allowed (text only)`);
    if (key.startsWith("data-") || key.startsWith("aria-") || key === "role" || key === "scope") {
      node.setAttribute(key, String(value));
    } else if (key === "onclick") {
      node.addEventListener("click", value);
    } else {
      node[key] = value;
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Remove every child of ``node``. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Replace the children of ``node``. */
export function replace(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const money = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const fmt = {
  /** 1,234 or an en dash for null. */
  int: (v) => (v === null || v === undefined ? "–" : integer.format(v)),
  /** 0.123 -> 12.3% */
  pct: (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`),
  /** Signed sentiment in [-1, 1] with two decimals. */
  sentiment: (v) => (v === null || v === undefined ? "–" : (v > 0 ? "+" : "") + v.toFixed(2)),
  /** A confidence in [0, 1] with two decimals. */
  conf: (v) => (v === null || v === undefined ? "–" : v.toFixed(2)),
  /** Currency amount with two decimals. */
  money: (v) => (v === null || v === undefined ? "–" : money.format(v)),
  /** Seconds as "42 s", "3.5 min", "2.1 h". */
  seconds: (v) => {
    if (v === null || v === undefined) return "–";
    if (v < 90) return `${v.toFixed(v < 10 ? 1 : 0)} s`;
    if (v < 5400) return `${(v / 60).toFixed(1)} min`;
    return `${(v / 3600).toFixed(1)} h`;
  },
  /** ISO time "2026-11-29T04:00:00" as "2026-11-29 04:00". */
  time: (v) => (v ? String(v).replace("T", " ").slice(0, 16) : "–"),
  list: (v) => (Array.isArray(v) && v.length ? v.join(", ") : "–"),
};

/** CSS class of a signed sentiment value. */
export function sentimentClass(v) {
  if (v === null || v === undefined) return "muted";
  if (v <= -0.1) return "neg";
  if (v >= 0.1) return "pos";
  return "";
}

/**
 * A table of ``rows``. ``columns``: [{key, label, format?, num?, cls?}]. Rows with
 * conversation ids are clickable (and keyboard-focusable) when ``onRow`` is given. At most
 * ``limit`` rows show until "Show all" is pressed.
 */
export function table(columns, rows, { onRow = null, limit = 12, empty = "Nothing here." } = {}) {
  if (!rows.length) return el("p", { className: "muted empty" }, empty);
  const head = el("tr", {}, columns.map((c) => el("th", { scope: "col", className: c.num ? "num" : "" }, c.label)));
  const body = el("tbody");
  const wrap = el("div", {}, el("table", {}, el("thead", {}, head), body));
  const render = (count) => {
    clear(body);
    for (const row of rows.slice(0, count)) body.append(tableRow(columns, row, onRow));
  };
  render(limit);
  if (rows.length > limit) {
    const more = el("button", { type: "button", className: "more" }, `Show all ${rows.length} rows`);
    more.addEventListener("click", () => { render(rows.length); more.remove(); });
    wrap.append(more);
  }
  return wrap;
}

function tableRow(columns, row, onRow) {
  const cells = columns.map((c) => {
    const value = c.format ? c.format(row[c.key], row) : row[c.key];
    const cls = [c.num ? "num" : "", c.cls ? c.cls(row[c.key], row) : ""].join(" ").trim();
    return el("td", { className: cls }, value === null || value === undefined ? "–" : String(value));
  });
  const tr = el("tr", {}, cells);
  const ids = row.conversation_ids || [];
  if (onRow && ids.length) {
    tr.className = "drill";
    tr.tabIndex = 0;
    tr.title = `Show the ${ids.length} conversation(s) behind this row`;
    tr.addEventListener("click", () => onRow(row));
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onRow(row); }
    });
  }
  return tr;
}
