/*
 * Shop chat widget: a small UI of our own over socket.io-client, talking to Rasa's socket.io
 * channel (bot/credentials.yml: user_uttered / bot_uttered, session_persistence, customData).
 *
 * Embed with one script tag; its data-attributes are the settings:
 *
 *   <script src="/widget/widget.js" defer
 *           data-socket-url="http://localhost:5005"   Rasa server (required)
 *           data-customer-id="1"                      signed-in shopper (omit for a guest)
 *           data-customer-token="1.1767225600.sig"    the page's signed proof of that id
 *           data-title="Northwind help" data-lang="en"></script>
 *
 * Optional: data-socket-path ("/socket.io/"), data-transports ("websocket" or
 * "polling,websocket"), data-socketio-src (socket.io.min.js; default /vendor/ beside the
 * widget), data-welcome (first line shown before the shopper writes).
 *
 * This file loads the rest (strings.js, messages.js, view.js beside it, and socket.io-client
 * from /vendor/) and owns the connection, the session and the queue.
 *
 * Rules kept throughout: message data is only ever put in the page with textContent or
 * attributes checked here (never innerHTML); the conversation survives reloads (session id and
 * transcript in localStorage, Rasa keeps the tracker); messages typed while offline are queued
 * and sent once the server confirms the session again.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || "ShopChat" in window) {
    return; // not a classic script tag, or embedded twice: keep the first
  }
  window.ShopChat = null; // claimed; the instance replaces it once started

  var parts = (window.ShopChatParts = window.ShopChatParts || {});
  var STORAGE_VERSION = "v1";
  var MAX_TRANSCRIPT = 200;
  var RECONNECT_AFTER_KICK_MS = 1000;

  // ---------------------------------------------------------------- settings

  function readConfig(el) {
    var data = el.dataset;
    var lang = (data.lang || document.documentElement.lang || "en").toLowerCase().slice(0, 2);
    var customer = (data.customerId || "").trim();
    return {
      socketUrl: data.socketUrl || "",
      socketPath: data.socketPath || "/socket.io/",
      transports: (data.transports || "websocket")
        .split(",")
        .map(function (t) {
          return t.trim();
        })
        .filter(Boolean),
      stylesheet: new URL("widget.css", el.src).href,
      customerId: customer === "" ? null : /^\d+$/.test(customer) ? Number(customer) : customer,
      customerToken: (data.customerToken || "").trim() || null,
      lang: parts.strings.STRINGS[lang] ? lang : "en",
      title: data.title || "",
      welcome: data.welcome || "",
    };
  }

  // ---------------------------------------------------------------- storage

  function storageKey(config) {
    var who = config.customerId === null ? "guest" : String(config.customerId);
    return ["shopchat", STORAGE_VERSION, config.socketUrl, who].join(":");
  }

  function safeStorage(kind) {
    try {
      var storage = window[kind];
      var probe = "__shopchat_probe__";
      storage.setItem(probe, "1");
      storage.removeItem(probe);
      return storage;
    } catch (error) {
      return null; // private mode or blocked: the widget still works, without memory
    }
  }

  function loadState(storage, key) {
    var empty = { sessionId: null, transcript: [], agent: null, queue: [] };
    if (!storage) {
      return empty;
    }
    try {
      var saved = JSON.parse(storage.getItem(key) || "null");
      if (!saved || typeof saved !== "object") {
        return empty;
      }
      return {
        sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
        transcript: Array.isArray(saved.transcript) ? saved.transcript : [],
        agent: typeof saved.agent === "string" ? saved.agent : null,
        queue: Array.isArray(saved.queue) ? saved.queue : [],
      };
    } catch (error) {
      return empty;
    }
  }

  // ---------------------------------------------------------------- the widget

  function ShopChat(config) {
    this.config = config;
    this.storage = safeStorage("localStorage");
    this.session = safeStorage("sessionStorage");
    this.key = storageKey(config);
    this.state = loadState(this.storage, this.key);
    this.socket = null;
    this.ready = false; // connected and session confirmed
    this.unread = 0;
    this.typingTimer = null;
    this.build();
  }

  ShopChat.prototype.t = function (key, params) {
    return parts.strings.t(this.config, key, params);
  };

  ShopChat.prototype.save = function () {
    if (!this.storage) {
      return;
    }
    this.state.transcript = this.state.transcript.slice(-MAX_TRANSCRIPT);
    try {
      this.storage.setItem(this.key, JSON.stringify(this.state));
    } catch (error) {
      // quota exceeded: keep going without memory
    }
  };

  // Per-tab UI memory (open/closed, the unsent draft) lives in sessionStorage.
  ShopChat.prototype.remember = function (name, value) {
    if (this.session) {
      try {
        this.session.setItem(this.key + ":" + name, value);
      } catch (error) {
        // ignore
      }
    }
  };

  ShopChat.prototype.recall = function (name) {
    return this.session ? this.session.getItem(this.key + ":" + name) : null;
  };

  ShopChat.prototype.submitInput = function () {
    var text = this.input.value.trim();
    if (!text) {
      return;
    }
    this.input.value = "";
    this.remember("draft", "");
    this.send(text, text);
  };

  ShopChat.prototype.send = function (payload, display) {
    var id = "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 7);
    var entry = { id: id, from: "user", text: display, pending: !this.ready };
    this.append(entry);
    if (this.ready) {
      this.emit(payload);
    } else {
      this.state.queue.push({ id: id, payload: payload });
      this.save();
    }
  };

  ShopChat.prototype.metadata = function () {
    var data = { language: this.config.lang };
    // The bot believes only the signed token (an unsigned id would be refused as a forgery).
    if (this.config.customerId !== null && this.config.customerToken) {
      data.customer_id = this.config.customerToken;
    }
    return data;
  };

  ShopChat.prototype.emit = function (payload) {
    this.socket.emit("user_uttered", {
      message: payload,
      session_id: this.state.sessionId,
      customData: this.metadata(),
    });
    this.setTyping(!this.state.agent); // no dots while an agent has the chat: we cannot tell
  };

  ShopChat.prototype.flushQueue = function () {
    var self = this;
    var queue = this.state.queue;
    this.state.queue = [];
    queue.forEach(function (item) {
      self.emit(item.payload);
      self.state.transcript.forEach(function (entry) {
        if (entry.id === item.id) {
          delete entry.pending;
        }
      });
      var node = self.log.querySelector('[data-id="' + item.id + '"]');
      if (node) {
        node.classList.remove("is-pending");
        var note = node.querySelector(".pending-note");
        if (note) {
          note.remove();
        }
      }
    });
    this.save();
  };

  ShopChat.prototype.receive = function (msg) {
    var self = this;
    this.setTyping(false);
    parts.messages.normaliseBotMessage(msg).forEach(function (entry) {
      if (entry.event === "agent_joined") {
        self.showAgent(entry.agent);
      } else if (entry.event === "agent_left") {
        self.showAgent(null);
      } else if (entry.from === "agent" && !self.state.agent && entry.agent) {
        self.showAgent(entry.agent);
      }
      self.append(entry);
    });
  };

  ShopChat.prototype.connect = function () {
    var self = this;
    if (!this.config.socketUrl || typeof window.io !== "function") {
      this.setStatus("offline");
      return;
    }
    var socket = window.io(this.config.socketUrl, {
      path: this.config.socketPath,
      transports: this.config.transports,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.socket = socket;
    socket.on("connect", function () {
      // Rasa joins this socket to the room of our session id and echoes it back.
      socket.emit("session_request", { session_id: self.state.sessionId });
    });
    socket.on("session_confirm", function (sessionId) {
      var id = typeof sessionId === "string" ? sessionId : sessionId && sessionId.session_id;
      if (id && id !== self.state.sessionId) {
        self.state.sessionId = id;
        self.save();
      }
      self.ready = true;
      self.setStatus("online");
      self.flushQueue();
    });
    socket.on("bot_uttered", function (msg) {
      self.receive(msg);
    });
    socket.on("disconnect", function (reason) {
      self.ready = false;
      self.setTyping(false);
      self.setStatus("offline");
      if (reason === "io server disconnect") {
        // socket.io-client reconnects by itself except when the server hung up on purpose
        // (e.g. a graceful shutdown): then we ask again, once a second, until it is back.
        setTimeout(function () {
          socket.connect();
        }, RECONNECT_AFTER_KICK_MS);
      }
    });
    socket.on("connect_error", function () {
      self.ready = false;
      self.setStatus("offline");
    });
  };

  function loadScript(src, done) {
    var tag = document.createElement("script");
    tag.src = src;
    tag.async = true;
    tag.addEventListener("load", function () {
      done(true);
    });
    tag.addEventListener("error", function () {
      done(false);
    });
    document.head.appendChild(tag);
  }

  function start() {
    var base = script.src;
    var sources = ["strings.js", "messages.js", "view.js"].map(function (name) {
      return new URL(name, base).href;
    });
    var socketio = script.dataset.socketioSrc || new URL("../vendor/socket.io.min.js", base).href;
    var pending = sources.length + 1;
    var failed = [];
    function loaded(src) {
      return function (ok) {
        if (!ok) {
          failed.push(src);
        }
        pending -= 1;
        if (pending > 0) {
          return;
        }
        if (!parts.strings || !parts.messages || !parts.view) {
          window.console.error("shop chat widget: could not load " + failed.join(", "));
          return;
        }
        parts.view.install(ShopChat);
        var chat = new ShopChat(readConfig(script));
        window.ShopChat = chat;
        chat.connect(); // without socket.io-client it shows itself offline
      };
    }
    sources.forEach(function (src) {
      loadScript(src, loaded(src));
    });
    if (typeof window.io === "function") {
      loaded(socketio)(true);
    } else {
      loadScript(socketio, loaded(socketio));
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
