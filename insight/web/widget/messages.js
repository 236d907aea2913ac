/*
 * Shop chat widget: what Rasa's socket.io channel sends (bot_uttered) turned into transcript
 * entries. Pure functions, no DOM. Loaded by widget.js.
 *
 * An entry is {from: "bot"|"agent"|"system", text?, buttons?, rating?, image?, alt?, cards?,
 * link?, agent?, event?}; only http(s) URLs are kept for images, cards and links.
 */
(function (parts) {
  "use strict";

  function asText(value) {
    return value === undefined || value === null ? "" : String(value);
  }

  function safeUrl(value) {
    // Only http(s) URLs (absolute or relative to the page) reach src/href attributes.
    var text = asText(value).trim();
    if (!text) {
      return null;
    }
    try {
      var url = new URL(text, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function normaliseButtons(list) {
    if (!Array.isArray(list)) {
      return [];
    }
    return list
      .map(function (button) {
        var title = asText(button && button.title);
        var payload = asText(button && (button.payload !== undefined ? button.payload : title));
        return { title: title || payload, payload: payload };
      })
      .filter(function (button) {
        return button.payload !== "";
      });
  }

  function isRatingScale(buttons) {
    // Five buttons that read 1..5 (digits or stars) become a star rating.
    if (buttons.length !== 5) {
      return false;
    }
    return buttons.every(function (button, index) {
      var n = String(index + 1);
      var title = button.title.trim();
      var stars = new RegExp("^★{" + n + "}$");
      var titled = title === n || stars.test(title) || new RegExp("^" + n + "\\s*(★|stars?)$", "i").test(title);
      var payloaded = new RegExp("(^|\\D)" + n + "(\\D|$)").test(button.payload);
      return titled && payloaded;
    });
  }

  function cardFromElement(element) {
    var card = element || {};
    var image = card.image_url || card.image;
    var link = card.url || (card.default_action && card.default_action.url);
    return {
      title: asText(card.title || card.name),
      subtitle: asText(card.subtitle || card.description),
      price: asText(card.price),
      image: safeUrl(image) ? asText(image) : "",
      url: safeUrl(link) ? asText(link) : "",
      buttons: normaliseButtons(card.buttons),
    };
  }

  // Rasa's socket.io output emits one of: {text}, {text, quick_replies}, {attachment: image},
  // {attachment: template/generic}, or whatever a custom response put under "data". Custom
  // payloads are read from msg.custom, or from the message itself when it carries a "type".
  function normaliseBotMessage(msg) {
    var entries = [];
    if (!msg || typeof msg !== "object") {
      if (typeof msg === "string" && msg) {
        entries.push({ from: "bot", text: msg });
      }
      return entries;
    }
    var custom = msg.custom && typeof msg.custom === "object" ? msg.custom : msg.type ? msg : null;
    if (custom) {
      return normaliseCustom(custom);
    }
    var buttons = normaliseButtons(msg.quick_replies || msg.buttons);
    if (msg.text !== undefined || buttons.length) {
      var entry = { from: "bot", text: asText(msg.text) };
      if (buttons.length) {
        entry.buttons = buttons;
        entry.rating = isRatingScale(buttons);
      }
      entries.push(entry);
    }
    var attachment = msg.attachment;
    if (attachment && typeof attachment === "object") {
      var payload = attachment.payload || {};
      if (attachment.type === "image" && safeUrl(payload.src)) {
        entries.push({ from: "bot", image: asText(payload.src), alt: asText(payload.alt) });
      } else if (attachment.type === "template") {
        var elements = Array.isArray(payload.elements) ? payload.elements : [payload.elements];
        entries.push({ from: "bot", cards: elements.filter(Boolean).map(cardFromElement) });
      } else if (safeUrl(payload.src || payload.url)) {
        entries.push({ from: "bot", link: asText(payload.src || payload.url), text: asText(payload.title) });
      }
    }
    if (msg.image && safeUrl(msg.image)) {
      entries.push({ from: "bot", image: asText(msg.image), alt: "" });
    }
    return entries;
  }

  function normaliseCustom(custom) {
    var type = asText(custom.type);
    var agent = asText(custom.agent || custom.agent_name || "");
    if (type === "agent_joined") {
      return [{ from: "system", event: "agent_joined", agent: agent || "an agent" }];
    }
    if (type === "agent_left") {
      return [{ from: "system", event: "agent_left", agent: agent || "The agent" }];
    }
    if (type === "agent_message") {
      return [{ from: "agent", agent: agent, text: asText(custom.text) }];
    }
    if (type === "rating") {
      var template = asText(custom.payload || "{n}");
      var scale = [1, 2, 3, 4, 5].map(function (n) {
        return { title: String(n), payload: template.split("{n}").join(String(n)) };
      });
      return [{ from: "bot", text: asText(custom.text), buttons: scale, rating: true }];
    }
    if (type === "product" || type === "products" || type === "product_cards") {
      var products = Array.isArray(custom.products) ? custom.products : [custom.product || custom];
      return [{ from: "bot", text: asText(custom.text), cards: products.map(cardFromElement) }];
    }
    if (type === "image" && safeUrl(custom.src)) {
      return [{ from: "bot", image: asText(custom.src), alt: asText(custom.alt) }];
    }
    return custom.text ? [{ from: "bot", text: asText(custom.text) }] : [];
  }

  parts.messages = {
    asText: asText,
    safeUrl: safeUrl,
    normaliseBotMessage: normaliseBotMessage,
  };
})((window.ShopChatParts = window.ShopChatParts || {}));
