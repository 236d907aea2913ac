// Agent assist: summary, suggested replies (one click puts one into the reply box), the shopper's
// orders with quick actions. Fed by GET .../assist and live "assist" pushes over the console's
// websocket. Everything from the server is inserted with textContent, never parsed as HTML.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = document.body.dataset.agent;
  let current = null; // escalation shown: {id, status, claimed_by, lines}
  let lastKey = "";

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function mine() {
    return current && current.status === "claimed" && current.claimed_by === me;
  }

  function say(text) { document.getElementById("assist-status").textContent = text; }

  function useSuggestion(text) {
    const box = document.getElementById("reply");
    box.value = text;
    box.focus();
  }

  async function quickAction(path, body) {
    const options = {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    };
    const response = await fetch("/console/api/escalations/" + current.id + path, options);
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: "HTTP " + response.status }; }
    say(response.ok ? data.message : (data.error || "HTTP " + response.status));
    load(current.id);
  }

  function render(data) {
    if (!current || data.escalation_id !== current.id) return;
    const panel = document.getElementById("assist");
    panel.hidden = false;
    document.getElementById("assist-took").textContent =
      data.took_ms === undefined ? "" : "(" + data.took_ms + " ms)";
    const summary = document.getElementById("assist-summary");
    summary.replaceChildren(
      el("li", data.summary.wants), el("li", data.summary.feels), el("li", data.summary.tried));
    const lang = data.language === "zh" ? "zh-CN" : "en";
    const list = document.getElementById("suggestions");
    list.replaceChildren();
    for (const s of data.suggestions) {
      const item = el("li", null, "suggestion " + s.kind);
      const text = el("span", s.text, "text");
      text.lang = lang;
      const use = el("button", "Use", "use");
      use.type = "button";
      use.disabled = !mine();
      use.title = "Put this reply into the reply box to edit and send";
      use.addEventListener("click", () => useSuggestion(s.text));
      item.append(el("span", s.title, "title"), text, use);
      list.append(item);
    }
    if (!data.suggestions.length) list.append(el("li", "No suggestion for the latest message.", "meta"));
    const orders = document.getElementById("assist-orders");
    orders.replaceChildren();
    if (data.guest) orders.append(el("li", "Guest: not signed in, no orders known.", "meta"));
    for (const o of data.orders) {
      const item = el("li", null, "order");
      item.dataset.order = o.id;
      item.append(el("span", "#" + o.id + " " + o.status + " " + o.total + " · " + o.items.join(", ")));
      if (o.can_cancel) {
        const cancel = el("button", "Cancel order", "cancel");
        cancel.type = "button";
        cancel.disabled = !mine();
        cancel.addEventListener("click", () => quickAction("/orders/" + o.id + "/cancel"));
        item.append(cancel);
      }
      if (o.can_return) {
        for (const name of o.items) {
          const ret = el("button", "Return " + name, "return");
          ret.type = "button";
          ret.disabled = !mine();
          ret.addEventListener("click", () => quickAction("/orders/" + o.id + "/return", { product: name }));
          item.append(ret);
        }
      }
      orders.append(item);
    }
  }

  async function load(id) {
    const response = await fetch("/console/api/escalations/" + id + "/assist", { credentials: "same-origin" });
    if (!response.ok) return;
    render(await response.json());
  }

  document.addEventListener("console:detail", (event) => {
    const e = event.detail.escalation;
    current = { id: e.id, status: e.status, claimed_by: e.claimed_by };
    if (e.status === "resolved") { document.getElementById("assist").hidden = true; return; }
    const key = [e.id, e.status, e.claimed_by, event.detail.transcript.length].join("|");
    if (key === lastKey) return;
    if (lastKey.split("|")[0] !== String(e.id)) say("");
    lastKey = key;
    load(e.id);
  });

  document.addEventListener("console:assist", (event) => render(event.detail));
})();
