/* Staff and editor console, core: sign-in, tabs, language (zh/en), API calls, shared rendering. The staff
 * panel (console-staff.js) and the editor console (console-kb.js) register their tabs on window.QA.
 * Vanilla JS; every server text goes in with textContent. The token lives in sessionStorage for this tab. */
(function () {
  "use strict";
  var I18N = window.QA_I18N;
  var params = new URLSearchParams(location.search);
  var QA = window.QA = {
    state: { token: sessionStorage.getItem("qa-token") || "", me: null, tab: null },
    tabs: {},
    $: function (sel, root) { return (root || document).querySelector(sel); }
  };
  var $ = QA.$;

  function pickLang() {
    var asked = params.get("lang") || localStorage.getItem("qa-console-lang");
    if (asked === "zh" || asked === "en") { return asked; }
    return (navigator.language || "").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  }
  QA.lang = pickLang();

  QA.t = function (key, vars) {
    var s = (I18N[QA.lang] && I18N[QA.lang][key]) || I18N.en[key] || key;
    return s.replace(/\{(\w+)\}/g, function (_, k) { return vars && vars[k] !== undefined ? String(vars[k]) : ""; });
  };
  QA.label = function (prefix, value) {  // a closed value (state, kind, decision, risk) in the console's language
    var key = prefix + "_" + value;
    return (I18N[QA.lang][key] || I18N.en[key]) ? QA.t(key) : String(value);
  };

  QA.el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  };
  var el = QA.el;

  QA.button = function (text, cls, onClick) {
    var b = el("button", cls || null, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  };

  QA.api = function (method, path, body, isForm) {
    var opts = { method: method, headers: { Authorization: "Bearer " + QA.state.token } };
    if (body !== undefined) {
      if (isForm) { opts.body = body; } else { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    }
    return fetch("/api/v1" + path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var msg = j.detail ? (typeof j.detail === "string" ? j.detail : (j.detail[0] && j.detail[0].msg) || JSON.stringify(j.detail)) : r.statusText;
          var e = new Error(msg); e.status = r.status; throw e;
        }
        return j;
      });
    });
  };

  /* Errors appear where the action was: ``box`` is the action's own .action-error element. */
  QA.errorIn = function (box) {
    return function (e) {
      var target = box || $("#error");
      target.textContent = e ? QA.t("error", { msg: e.message || e }) : "";
      if (e && target.scrollIntoView) { target.scrollIntoView({ block: "nearest" }); }
    };
  };
  QA.clearError = function (box) { (box || $("#error")).textContent = ""; };

  QA.tenant = function () { return QA.state.me.tenant || params.get("tenant") || "city"; };
  QA.tpath = function (prefix) { return "/" + prefix + "/" + encodeURIComponent(QA.tenant()); };
  QA.can = function (p) { return !!QA.state.me && QA.state.me.permissions.indexOf(p) >= 0; };

  /* Times: the server speaks UTC; shown in the browser's zone, with the zone named. */
  function asDate(iso) {
    if (!iso) { return null; }
    var s = String(iso);
    if (!/[zZ]|[+-]\d\d:?\d\d$/.test(s)) { s += "Z"; }
    var d = new Date(s);
    return isNaN(d.getTime()) ? null : d;
  }
  QA.time = function (iso) {
    var d = asDate(iso);
    if (!d) { return ""; }
    return new Intl.DateTimeFormat(QA.lang === "zh" ? "zh-CN" : "en-GB", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    }).format(d);
  };
  QA.age = function (iso) {
    var d = asDate(iso);
    if (!d) { return ""; }
    var min = Math.max(0, Math.round((Date.now() - d.getTime()) / 60000));
    if (min < 60) { return QA.t("minutes", { n: min }); }
    if (min < 48 * 60) { return QA.t("hours", { n: Math.round(min / 60) }); }
    return QA.t("days", { n: Math.round(min / 1440) });
  };

  /* A risk reason code in words ("sensitive_topic:money" → "sensitive topic: money"); unknown codes as they are. */
  QA.reason = function (code) {
    var table = I18N[QA.lang].reasons || {}, topics = I18N[QA.lang].topics || {};
    var parts = String(code).split(":");
    if (parts[0] === "sensitive_topic" && parts[1]) { return table.sensitive_topic + (QA.lang === "zh" ? "：" : ": ") + (topics[parts[1]] || parts[1]); }
    return table[code] || String(code);
  };

  QA.riskBadges = function (box, level, reasons) {
    box.appendChild(el("span", "badge " + level, QA.t("risk", { level: QA.label("r", level) })));
    (reasons || []).forEach(function (r) {
      var b = el("span", "badge reason", QA.reason(r));
      b.title = r;  // the code, as in the API and docs/staff.md
      b.setAttribute("data-reason", r);
      box.appendChild(b);
    });
  };

  QA.renderPassages = function (box, passages) {
    (passages || []).forEach(function (p) {
      var d = el("div", "passage" + (p.cited === false ? "" : " cited"));
      var meta = el("div", "meta");
      meta.appendChild(document.createTextNode("[" + p.n + "] "));
      if (p.url && /^https?:\/\//i.test(p.url)) {
        var a = el("a", null, p.title || p.url); a.href = p.url; a.target = "_blank"; a.rel = "noopener noreferrer";
        meta.appendChild(a);
      } else {
        meta.appendChild(document.createTextNode(p.title || ""));
      }
      meta.appendChild(document.createTextNode((p.heading ? " — " + p.heading : "") + "  " + (p.chunk_id || "")));
      if (p.visibility === "internal") { meta.appendChild(el("span", "badge internal", QA.t("internal"))); }
      d.appendChild(meta);
      d.appendChild(el("div", null, p.text || p.snippet || ""));
      box.appendChild(d);
    });
  };

  /* One answer as a card (assist, draft preview). */
  QA.answerCard = function (a) {
    var card = el("div", "card");
    card.setAttribute("data-decision", a.decision);
    var head = el("div");
    head.appendChild(el("strong", null, QA.label("d", a.decision) + "  "));
    head.appendChild(el("span", "badge ai", QA.t("ai")));
    QA.riskBadges(head, a.risk.level, a.risk.reasons);
    card.appendChild(head);
    if (a.warning) { card.appendChild(el("p", "hint", a.warning)); }
    if (a.ticket) { card.appendChild(el("p", null, QA.t("held_ticket", { ticket: a.ticket }))); }
    card.appendChild(el("p", "answer", a.answer));
    QA.renderPassages(card, (a.citations || []).map(function (c) {
      return { n: c.n, title: c.title, url: c.url, heading: c.heading, chunk_id: c.chunk_id, snippet: c.snippet };
    }));
    card.appendChild(el("p", "hint", QA.t("trace", { trace: a.trace_id, version: a.kb_version, ms: (a.timings_ms || {}).total || "?" })));
    return card;
  };

  /* A confirmation in the page (a <dialog>): resolves true when confirmed. */
  QA.confirm = function (text) {
    var dlg = $("#confirm");
    $("#confirm-text").textContent = text;
    return new Promise(function (resolve) {
      dlg.addEventListener("close", function done() {
        dlg.removeEventListener("close", done);
        resolve(dlg.returnValue === "ok");
      });
      dlg.returnValue = "";
      dlg.showModal();
    });
  };

  function applyStatic() {
    document.documentElement.lang = QA.lang === "zh" ? "zh-CN" : "en";
    document.title = QA.t("title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (n) { n.textContent = QA.t(n.getAttribute("data-i18n")); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-ph]"), function (n) { n.placeholder = QA.t(n.getAttribute("data-i18n-ph")); });
    var other = QA.lang === "zh" ? "en" : "zh";
    $("#lang").textContent = other === "zh" ? "中文" : "English";
    $("#lang").setAttribute("lang", other);
    $("#lang").setAttribute("data-to", other);
    if (QA.state.me) { showWho(); }
  }

  function showWho() {
    var me = QA.state.me;
    $("#who").textContent = me.name + " · " + me.role + " · " + (me.tenant || QA.t("all_tenants"));
  }

  QA.showTab = function (name) {
    QA.state.tab = name;
    Object.keys(QA.tabs).forEach(function (t) {
      $("#" + t).hidden = t !== name;
      var b = document.querySelector('[data-tab="' + t + '"]');
      if (b) { b.classList.toggle("active", t === name); }
    });
    if (QA.tabs[name] && QA.tabs[name].show) { QA.tabs[name].show(); }
  };

  function signedIn(me) {
    QA.state.me = me;
    $("#signin").hidden = true;
    $("#tabs").hidden = false;
    $("#signout").hidden = false;
    showWho();
    var first = null;
    Object.keys(QA.tabs).forEach(function (t) {
      var allowed = QA.can(QA.tabs[t].permission);
      document.querySelector('[data-tab="' + t + '"]').hidden = !allowed;
      if (allowed && !first) { first = t; }
      if (allowed && QA.tabs[t].init) { QA.tabs[t].init(); }
    });
    if (!first) { $("#error").textContent = QA.t("no_tabs", { role: me.role }); return; }
    var asked = params.get("tab");
    QA.showTab(asked && QA.tabs[asked] && QA.can(QA.tabs[asked].permission) ? asked : first);
  }

  function signIn(token) {
    QA.state.token = token;
    return QA.api("GET", "/me").then(function (me) {
      sessionStorage.setItem("qa-token", token);
      $("#signin-error").textContent = "";
      signedIn(me);
    }).catch(function (e) {
      sessionStorage.removeItem("qa-token");
      $("#signin-error").textContent = e.status === 401 ? QA.t("token_bad") : String(e.message || e);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    applyStatic();
    $("#signin-form").addEventListener("submit", function (ev) { ev.preventDefault(); signIn($("#token").value.trim()); });
    $("#signout").addEventListener("click", function () { sessionStorage.removeItem("qa-token"); location.reload(); });
    $("#lang").addEventListener("click", function () {
      QA.lang = $("#lang").getAttribute("data-to");
      localStorage.setItem("qa-console-lang", QA.lang);
      applyStatic();
      if (QA.state.tab) { QA.showTab(QA.state.tab); }  // re-render the open tab in the new language
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-tab]"), function (b) {
      b.addEventListener("click", function () { QA.showTab(b.getAttribute("data-tab")); });
    });
    if (QA.state.token) { signIn(QA.state.token); }
  });
})();
