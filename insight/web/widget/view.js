/*
 * Shop chat widget: the panel in a shadow root and how entries are drawn. Every text goes in
 * with textContent (el(..., {text})) and only http(s) URLs reach src/href: no innerHTML, ever.
 * Loaded by widget.js, which installs these methods on its ShopChat class.
 */
(function (parts) {
  "use strict";

  var TYPING_TIMEOUT_MS = 30000;

  function install(ShopChat) {
    var asText = parts.messages.asText;
    var safeUrl = parts.messages.safeUrl;

    function el(tag, attrs, children) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) {
          return;
        }
        if (name === "text") {
          node.textContent = value;
        } else if (name === "className") {
          node.className = value;
        } else {
          node.setAttribute(name, value === true ? "" : String(value));
        }
      });
      (children || []).forEach(function (child) {
        if (child) {
          node.appendChild(child);
        }
      });
      return node;
    }

    var URL_PATTERN = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;

    function textWithLinks(text) {
      // Plain text, with http(s) URLs turned into links built as DOM nodes.
      var fragment = document.createDocumentFragment();
      var last = 0;
      text.replace(URL_PATTERN, function (match, offset) {
        fragment.appendChild(document.createTextNode(text.slice(last, offset)));
        var href = safeUrl(match);
        fragment.appendChild(
          href
            ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: match })
            : document.createTextNode(match)
        );
        last = offset + match.length;
        return match;
      });
      fragment.appendChild(document.createTextNode(text.slice(last)));
      return fragment;
    }

    ShopChat.prototype.build = function () {
      var self = this;
      var title = this.config.title || this.t("title");
      this.host = el("div", { id: "shopchat", "data-shopchat": "", hidden: true });
      var root = this.host.attachShadow({ mode: "open" });
      var style = el("link", { rel: "stylesheet", href: this.config.stylesheet });
      style.addEventListener("load", function () {
        self.host.hidden = false;
      });
      style.addEventListener("error", function () {
        self.host.hidden = false;
      });

      this.launcher = el("button", {
        type: "button",
        className: "launcher",
        "aria-label": this.t("open"),
        "aria-expanded": "false",
        "aria-controls": "shopchat-panel",
      });
      this.launcher.appendChild(el("span", { className: "launcher-icon", "aria-hidden": "true", text: "💬" }));
      this.badge = el("span", { className: "badge", hidden: true });
      this.launcher.appendChild(this.badge);

      this.titleNode = el("h2", { id: "shopchat-title", className: "title", text: title });
      this.statusNode = el("p", { className: "status", role: "status", text: this.t("connecting") });
      this.closeButton = el("button", {
        type: "button",
        className: "close",
        "aria-label": this.t("close"),
        text: "×",
      });
      this.agentBanner = el("p", { className: "agent-banner", hidden: true });
      this.log = el("div", {
        className: "log",
        role: "log",
        "aria-live": "polite",
        "aria-relevant": "additions",
        "aria-labelledby": "shopchat-title",
        tabindex: "0",
      });
      this.typing = el("div", { className: "typing", hidden: true }, [
        el("span", { className: "dot", "aria-hidden": "true" }),
        el("span", { className: "dot", "aria-hidden": "true" }),
        el("span", { className: "dot", "aria-hidden": "true" }),
        el("span", { className: "visually-hidden", text: this.t("typing") }),
      ]);
      this.input = el("textarea", {
        id: "shopchat-input",
        className: "input",
        rows: "1",
        placeholder: this.t("placeholder"),
        autocomplete: "off",
        maxlength: "1000",
      });
      this.sendButton = el("button", { type: "submit", className: "send", text: this.t("send") });
      this.form = el("form", { className: "composer" }, [
        el("label", { for: "shopchat-input", className: "visually-hidden", text: this.t("inputLabel") }),
        this.input,
        this.sendButton,
      ]);
      this.panel = el(
        "section",
        {
          id: "shopchat-panel",
          className: "panel",
          role: "dialog",
          "aria-labelledby": "shopchat-title",
          hidden: true,
        },
        [
          el("header", { className: "header" }, [
            el("div", { className: "heading" }, [this.titleNode, this.statusNode]),
            this.closeButton,
          ]),
          this.agentBanner,
          this.log,
          this.typing,
          this.form,
        ]
      );

      // History first, while the log is not in the document: it is shown, not announced.
      // The welcome line is the widget's own (not persisted, not sent by the bot): always first.
      this.log.appendChild(this.renderEntry({ from: "bot", text: this.config.welcome || this.t("welcome"), intro: true }));
      this.state.transcript.forEach(function (entry) {
        self.log.appendChild(self.renderEntry(entry));
      });
      this.disableOldButtons();
      this.showAgent(this.state.agent);

      root.appendChild(style);
      root.appendChild(this.launcher);
      root.appendChild(this.panel);

      this.launcher.addEventListener("click", function () {
        self.toggle(true);
      });
      this.closeButton.addEventListener("click", function () {
        self.toggle(false);
      });
      this.panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          event.preventDefault();
          self.toggle(false);
        }
      });
      this.form.addEventListener("submit", function (event) {
        event.preventDefault();
        self.submitInput();
      });
      this.input.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          self.submitInput();
        }
      });
      this.input.addEventListener("input", function () {
        self.remember("draft", self.input.value);
      });

      this.input.value = this.recall("draft") || "";
      document.body.appendChild(this.host);
      if (this.recall("open") === "1") {
        this.toggle(true, true);
      }
    };

    ShopChat.prototype.toggle = function (open, restoring) {
      this.panel.hidden = !open;
      this.launcher.hidden = open;
      this.launcher.setAttribute("aria-expanded", open ? "true" : "false");
      this.host.classList.toggle("is-open", open);
      this.remember("open", open ? "1" : "0");
      if (open) {
        this.unread = 0;
        this.updateBadge();
        this.scrollToEnd();
        if (!restoring) {
          this.input.focus();
        }
      } else {
        this.launcher.focus();
      }
    };

    ShopChat.prototype.updateBadge = function () {
      this.badge.hidden = this.unread === 0;
      this.badge.textContent = this.unread ? String(this.unread) : "";
      this.launcher.setAttribute(
        "aria-label",
        this.unread ? this.t("open") + ", " + this.t("newMessages", { n: this.unread }) : this.t("open")
      );
    };

    ShopChat.prototype.scrollToEnd = function () {
      this.log.scrollTop = this.log.scrollHeight;
    };

    ShopChat.prototype.renderEntry = function (entry) {
      var self = this;
      if (entry.from === "system") {
        var notice =
          entry.event === "agent_joined"
            ? this.t("agentJoined", { agent: entry.agent })
            : entry.event === "agent_left"
              ? this.t("agentLeft", { agent: entry.agent })
              : asText(entry.text);
        return el("p", { className: "notice notice--" + asText(entry.event), text: notice });
      }
      var who = entry.from === "user" ? "user" : entry.from === "agent" ? "agent" : "bot";
      var item = el("div", { className: "msg msg--" + who });
      if (entry.intro) {
        item.classList.add("msg--intro");
      }
      var speaker =
        who === "user"
          ? this.t("you")
          : who === "agent"
            ? (entry.agent || "Agent") + " (" + this.t("agentLabel") + ")"
            : this.t("assistant");
      // The speaker is always in the accessible text; shown for agents, hidden otherwise.
      item.appendChild(el("span", { className: who === "agent" ? "speaker" : "visually-hidden", text: speaker + ": " }));
      if (entry.text) {
        item.appendChild(el("p", { className: "bubble" }, [textWithLinks(asText(entry.text))]));
      }
      if (entry.image) {
        item.appendChild(
          el("img", { className: "image", src: safeUrl(entry.image), alt: entry.alt || this.t("image"), loading: "lazy" })
        );
      }
      if (entry.link) {
        item.appendChild(
          el("a", { className: "bubble link", href: safeUrl(entry.link), target: "_blank", rel: "noopener noreferrer", text: entry.text || entry.link })
        );
      }
      if (entry.cards && entry.cards.length) {
        item.appendChild(
          el("ul", { className: "cards" }, entry.cards.map(function (card) {
            return self.renderCard(card);
          }))
        );
      }
      if (entry.buttons && entry.buttons.length) {
        item.appendChild(entry.rating ? this.renderRating(entry.buttons) : this.renderButtons(entry.buttons));
      }
      if (entry.pending) {
        item.classList.add("is-pending");
        item.appendChild(el("span", { className: "pending-note", text: this.t("pending") }));
      }
      if (entry.id) {
        item.setAttribute("data-id", entry.id);
      }
      return item;
    };

    ShopChat.prototype.renderButtons = function (buttons) {
      var self = this;
      return el("div", { className: "buttons", role: "group" }, buttons.map(function (button) {
        var node = el("button", { type: "button", className: "quick-reply", text: button.title });
        node.addEventListener("click", function () {
          self.send(button.payload, button.title);
          self.input.focus();
        });
        return node;
      }));
    };

    ShopChat.prototype.renderRating = function (buttons) {
      var self = this;
      var group = el("div", { className: "buttons rating", role: "group", "aria-label": this.t("rateGroup") });
      buttons.forEach(function (button, index) {
        var n = index + 1;
        var node = el("button", {
          type: "button",
          className: "star",
          "aria-label": self.t("star", { n: n }),
          "data-stars": String(n),
          text: "★",
        });
        node.addEventListener("click", function () {
          self.send(button.payload, self.t("rated", { n: n }) + " " + "★".repeat(n));
          self.input.focus();
        });
        group.appendChild(node);
      });
      return group;
    };

    ShopChat.prototype.renderCard = function (card) {
      var self = this;
      var body = el("div", { className: "card-body" }, [
        card.url
          ? el("a", { className: "card-title", href: safeUrl(card.url), target: "_blank", rel: "noopener noreferrer", text: card.title })
          : el("p", { className: "card-title", text: card.title }),
        card.subtitle ? el("p", { className: "card-subtitle", text: card.subtitle }) : null,
        card.price ? el("p", { className: "card-price", text: card.price }) : null,
      ]);
      if (card.buttons && card.buttons.length) {
        body.appendChild(self.renderButtons(card.buttons));
      }
      return el("li", { className: "card" }, [
        card.image ? el("img", { className: "card-image", src: safeUrl(card.image), alt: card.title, loading: "lazy" }) : null,
        body,
      ]);
    };

    ShopChat.prototype.disableOldButtons = function () {
      // Only buttons after the shopper's last message (or an agent joining) can be clicked.
      var groups = this.log.querySelectorAll(".buttons");
      var boundary = null;
      var nodes = this.log.children;
      for (var i = nodes.length - 1; i >= 0; i -= 1) {
        if (nodes[i].classList.contains("msg--user") || nodes[i].classList.contains("notice--agent_joined")) {
          boundary = nodes[i];
          break;
        }
      }
      Array.prototype.forEach.call(groups, function (group) {
        var message = group.closest(".msg");
        var answered =
          boundary && message && boundary.compareDocumentPosition(message) & Node.DOCUMENT_POSITION_PRECEDING;
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (button) {
          button.disabled = Boolean(answered);
        });
      });
    };

    ShopChat.prototype.append = function (entry, persist) {
      var node = this.renderEntry(entry);
      this.log.appendChild(node);
      if (persist !== false) {
        this.state.transcript.push(entry);
        this.save();
      }
      this.disableOldButtons();
      this.scrollToEnd();
      if (this.panel.hidden && entry.from !== "user") {
        this.unread += 1;
        this.updateBadge();
      }
      return node;
    };

    ShopChat.prototype.showAgent = function (agent) {
      this.state.agent = agent || null;
      this.host.classList.toggle("with-agent", Boolean(agent));
      this.panel.classList.toggle("with-agent", Boolean(agent));
      this.agentBanner.hidden = !agent;
      this.agentBanner.textContent = agent ? this.t("talkingTo", { agent: agent }) : "";
    };

    ShopChat.prototype.setTyping = function (on) {
      var self = this;
      clearTimeout(this.typingTimer);
      this.typing.hidden = !on;
      if (on) {
        this.typingTimer = setTimeout(function () {
          self.setTyping(false);
        }, TYPING_TIMEOUT_MS);
        this.scrollToEnd();
      }
    };

    ShopChat.prototype.setStatus = function (key) {
      this.statusNode.textContent = this.t(key);
      this.panel.setAttribute("data-connection", key);
    };
  }

  parts.view = { install: install };
})((window.ShopChatParts = window.ShopChatParts || {}));
