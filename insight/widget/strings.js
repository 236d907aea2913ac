/*
 * Shop chat widget: the words of its UI, per language (data-lang). Loaded by widget.js.
 */
(function (parts) {
  "use strict";

  var STRINGS = {
    en: {
      title: "Chat with us",
      open: "Open chat",
      close: "Close chat",
      inputLabel: "Your message",
      placeholder: "Type your message…",
      send: "Send",
      online: "Online",
      connecting: "Connecting…",
      offline: "Reconnecting… Your messages will be sent when the connection is back.",
      typing: "The assistant is typing…",
      pending: "Not sent yet: waiting for the connection",
      you: "You",
      assistant: "Assistant",
      agentLabel: "agent",
      agentJoined: "You are now talking to {agent}.",
      agentLeft: "{agent} has left. You are talking to the assistant again.",
      talkingTo: "You are talking to {agent}",
      rateGroup: "Rate this conversation from 1 to 5 stars",
      star: "{n} of 5 stars",
      rated: "Rated {n} of 5",
      newMessages: "{n} new messages",
      welcome: "Hi! Ask me about your orders, deliveries, returns or anything else.",
      image: "Image from the assistant",
    },
    de: {
      title: "Chatten Sie mit uns",
      open: "Chat öffnen",
      close: "Chat schließen",
      inputLabel: "Ihre Nachricht",
      placeholder: "Nachricht eingeben…",
      send: "Senden",
      online: "Online",
      connecting: "Verbinde…",
      offline: "Verbindung wird wiederhergestellt… Ihre Nachrichten werden danach gesendet.",
      typing: "Der Assistent schreibt…",
      pending: "Noch nicht gesendet: warte auf die Verbindung",
      you: "Sie",
      assistant: "Assistent",
      agentLabel: "Mitarbeiter",
      agentJoined: "Sie sprechen jetzt mit {agent}.",
      agentLeft: "{agent} hat das Gespräch verlassen. Sie sprechen wieder mit dem Assistenten.",
      talkingTo: "Sie sprechen mit {agent}",
      rateGroup: "Bewerten Sie dieses Gespräch mit 1 bis 5 Sternen",
      star: "{n} von 5 Sternen",
      rated: "Bewertet mit {n} von 5",
      newMessages: "{n} neue Nachrichten",
      welcome: "Hallo! Fragen Sie mich zu Bestellungen, Lieferungen, Rücksendungen und mehr.",
      image: "Bild vom Assistenten",
    },
  };


  // The text of ``key`` in the configured language (English when missing), {name} filled in.
  function t(config, key, params) {
    var text = (STRINGS[config.lang] || STRINGS.en)[key] || STRINGS.en[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }

  parts.strings = { STRINGS: STRINGS, t: t };
})((window.ShopChatParts = window.ShopChatParts || {}));
