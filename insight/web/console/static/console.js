// Agent console: live queue over a websocket, detail panel, claim / reply / resolve.
// Everything from the server is inserted with textContent, never parsed as HTML.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = document.body.dataset.agent;
  const PRIORITY = { 1: "low", 2: "normal", 3: "high", 4: "urgent" };
  // The conversation's language as its badge shows it (code, name in that language, lang tag).
  const LANGUAGES = {
    en: { code: "EN", name: "English", tag: "en" },
    zh: { code: "中文", name: "Chinese (中文)", tag: "zh-CN" },
  };
  let openId = document.body.dataset.openId ? Number(document.body.dataset.openId) : null;
  let queue = [];
  let lastQueueJson = "";

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function languageBadge(code) {
    const known = LANGUAGES[code] || LANGUAGES.en;
    const badge = el("span", known.code, "lang lang-" + (LANGUAGES[code] ? code : "en"));
    badge.title = "Shopper writes in " + known.name;
    badge.setAttribute("aria-label", "Language: " + known.name);
    return badge;
  }

  function waited(seconds) {
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }

  function renderQueue() {
    const body = document.querySelector("#queue tbody");
    body.replaceChildren();
    for (const item of queue) {
      const row = el("tr", null, "p" + item.priority + (item.id === openId ? " open" : ""));
      row.dataset.id = item.id;
      row.tabIndex = 0;
      row.append(
        el("td", PRIORITY[item.priority] || item.priority),
        el("td", item.customer_name || item.sender_id),
        el("td"),
        el("td", item.reason),
        el("td", item.churn_risk.toFixed(2)),
        el("td", waited(item.waiting_s), "waiting"),
        el("td", item.status + (item.claimed_by ? " by " + item.claimed_by : "")),
      );
      row.children[2].append(languageBadge(item.language));
      row.addEventListener("click", () => openEscalation(item.id));
      row.addEventListener("keydown", (e) => { if (e.key === "Enter") openEscalation(item.id); });
      body.append(row);
    }
    document.getElementById("queue-count").textContent = "(" + queue.length + ")";
    document.getElementById("queue-empty").hidden = queue.length > 0;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + location.host + "/console/ws");
    const live = document.getElementById("live");
    ws.onopen = () => { live.textContent = "live"; live.className = "status ok"; };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "assist") {
        document.dispatchEvent(new CustomEvent("console:assist", { detail: message }));
        return;
      }
      if (message.type !== "queue") return;
      queue = message.items;
      renderQueue();
      const json = event.data;
      if (openId !== null && json !== lastQueueJson) loadDetail(openId);
      lastQueueJson = json;
    };
    ws.onclose = () => {
      live.textContent = "reconnecting…"; live.className = "status down";
      setTimeout(connect, 2000);
    };
  }

  async function api(method, path, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = { error: await response.text() }; }
    return { ok: response.ok, status: response.status, data };
  }

  function openEscalation(id) {
    openId = id;
    history.replaceState(null, "", "/console/escalations/" + id);
    renderQueue();
    loadDetail(id);
  }

  async function loadDetail(id) {
    const result = await api("GET", "/console/api/escalations/" + id);
    if (!result.ok || id !== openId) return;
    renderDetail(result.data);
  }

  function sentimentText(entry) {
    if (!entry.sentiment) return "";
    const c = entry.sentiment_confidence == null ? "" : " " + entry.sentiment_confidence.toFixed(2);
    return entry.sentiment + c;
  }

  function renderDetail(data) {
    const e = data.escalation;
    document.dispatchEvent(new CustomEvent("console:detail", { detail: data }));
    document.getElementById("detail").hidden = false;
    const title = document.getElementById("detail-title");
    title.textContent =
      "#" + e.id + " · " + (e.customer_name || "guest") + " · " + e.status +
      (e.claimed_by ? " by " + e.claimed_by : "") + " ";
    title.append(languageBadge(e.language));
    // Shopper lines are in the conversation's language (fonts, line breaking, screen readers).
    const lang = (LANGUAGES[e.language] || LANGUAGES.en).tag;
    document.getElementById("detail-reason").textContent =
      e.reason + " (trigger: " + e.trigger + ", priority " + (PRIORITY[e.priority] || e.priority) + ")";
    document.getElementById("claim").disabled = e.status !== "open";
    const mine = e.status === "claimed" && e.claimed_by === me;
    document.getElementById("resolve").disabled = !mine;
    document.getElementById("reply").disabled = !mine;

    const list = document.getElementById("transcript");
    list.replaceChildren();
    for (const entry of data.transcript) {
      const item = el("li", null, entry.kind);
      item.append(el("span", entry.kind === "agent" ? (entry.author || "agent") : "shopper", "who"));
      const text = el("span", entry.text, "text");
      if (entry.kind === "user") text.lang = lang;
      item.append(text);
      if (entry.kind === "user") {
        const meta = [];
        if (entry.intent) meta.push("intent " + entry.intent);
        const s = sentimentText(entry);
        if (s) meta.push("sentiment " + s);
        if (entry.demands && entry.demands.length)
          meta.push("demands " + entry.demands.map((d) => d.aspect).join(", "));
        item.append(el("span", meta.join(" · "), "meta"));
      } else if (!entry.delivered) {
        item.append(el("span", "not delivered", "meta warn"));
      }
      list.append(item);
    }
    list.scrollTop = list.scrollHeight;

    const now = data.churn_now;
    document.getElementById("risk").textContent =
      "At hand-over " + data.handoff.churn_risk.toFixed(2) + " · now " + now.risk.toFixed(2);
    const reasons = document.getElementById("reasons");
    reasons.replaceChildren();
    for (const r of (data.handoff.reasons.length ? data.handoff.reasons : now.reasons)) {
      reasons.append(el("li", r.detail + " (+" + r.weight.toFixed(2) + ")"));
    }

    const profile = document.getElementById("profile");
    profile.replaceChildren();
    for (const id of ["orders", "demands", "past"]) document.getElementById(id).replaceChildren();
    const c = data.customer;
    if (!c) { profile.append(el("dt", "Guest"), el("dd", "not signed in")); return; }
    const facts = [["Name", c.name], ["Email", c.email], ["Orders", c.orders], ["Spend", c.spend],
      ["Open returns", c.open_returns], ["Conversations", c.conversations]];
    for (const [k, v] of facts) profile.append(el("dt", k), el("dd", v));
    for (const o of c.recent_orders)
      document.getElementById("orders").append(el("li", "#" + o.id + " " + o.status + " " + o.total));
    for (const d of c.top_demands)
      document.getElementById("demands").append(el("li", d.aspect + " ×" + d.count));
    for (const p of c.past_escalations)
      document.getElementById("past").append(el("li", p.created_at.slice(0, 10) + " " + p.reason + " (" + p.status + ")"));
  }

  function say(text) { document.getElementById("action-status").textContent = text; }

  async function act(path, body) {
    if (openId === null) return;
    const result = await api("POST", "/console/api/escalations/" + openId + path, body);
    if (result.status === 409) {
      say("Already taken" + (result.data.claimed_by ? " by " + result.data.claimed_by : "") + ".");
    } else if (!result.ok) {
      say("Failed: " + (result.data.error || result.status));
    } else {
      say(result.data.delivered === false ? "Saved, but the shopper could not be reached." : "");
    }
    loadDetail(openId);
    return result;
  }

  document.getElementById("claim").addEventListener("click", () => act("/claim"));
  document.getElementById("resolve").addEventListener("click", () => act("/resolve"));
  document.getElementById("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById("reply");
    const text = box.value.trim();
    if (!text) return;
    const result = await act("/reply", { text });
    if (result && result.ok) box.value = "";
  });

  connect();
  if (openId !== null) loadDetail(openId);
})();
