/*
 * Shop chat widget: the words of its UI, per language (data-lang: en, de, zh; every language
 * has every key of en). Loaded by widget.js.
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
    zh: {
      title: "在线客服",
      open: "打开客服聊天",
      close: "关闭客服聊天",
      inputLabel: "您的消息",
      placeholder: "请输入您的问题…",
      send: "发送",
      online: "在线",
      connecting: "正在连接…",
      offline: "网络连接中断，正在重连…恢复后会自动发送您的消息。",
      typing: "客服助手正在输入…",
      pending: "尚未发送：等待网络恢复",
      you: "我",
      assistant: "智能客服",
      agentLabel: "人工客服",
      agentJoined: "人工客服 {agent} 已接入，将为您服务。",
      agentLeft: "{agent} 已离开对话，接下来由智能客服继续为您服务。",
      talkingTo: "人工客服 {agent} 正在为您服务",
      rateGroup: "请为本次服务评分（1 到 5 星）",
      star: "{n} 星（满分 5 星）",
      rated: "评分 {n} 星（满分 5 星）",
      newMessages: "{n} 条新消息",
      welcome: "亲，您好！订单、物流、退换货等问题都可以问我哦～",
      image: "客服发送的图片",
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
