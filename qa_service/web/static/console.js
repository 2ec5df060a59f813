/* Staff and editor console: answer assist, review queue, knowledge base. Vanilla JS; every server
 * text goes in with textContent. The token lives in sessionStorage for this tab only. */
(function () {
  "use strict";
  var $ = function (sel) { return document.querySelector(sel); };
  var state = { token: sessionStorage.getItem("qa-token") || "", me: null, claimed: null };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function api(method, path, body, isForm) {
    var opts = { method: method, headers: { Authorization: "Bearer " + state.token } };
    if (body !== undefined) {
      if (isForm) { opts.body = body; } else { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    }
    return fetch("/api/v1" + path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.detail ? (typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail)) : r.statusText); e.status = r.status; throw e; }
        return j;
      });
    });
  }

  function showError(e) { $("#error").textContent = e ? String(e.message || e) : ""; }

  function tenant() { return state.me.tenant || state.tenantOverride || "city"; }

  function renderPassages(box, passages) {
    (passages || []).forEach(function (p) {
      var d = el("div", "passage" + (p.cited === false ? "" : " cited"));
      d.appendChild(el("div", "meta", "[" + p.n + "] " + (p.title || "") + (p.heading ? " — " + p.heading : "") + "  " + (p.chunk_id || "")));
      d.appendChild(el("div", null, p.text || p.snippet || ""));
      box.appendChild(d);
    });
  }

  function riskBadges(box, level, reasons) {
    box.appendChild(el("span", "badge " + level, "risk " + level));
    (reasons || []).forEach(function (r) { box.appendChild(el("span", "badge", r)); });
  }

  // --- assist -------------------------------------------------------------------------------
  $("#assist-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var out = $("#assist-out");
    out.textContent = "…";
    api("POST", "/ask", { question: $("#assist-q").value, tenant: tenant(), channel: "staff" }).then(function (a) {
      out.textContent = "";
      var card = el("div", "card");
      card.setAttribute("data-decision", a.decision);
      var head = el("div");
      head.appendChild(el("strong", null, a.decision + "  "));
      riskBadges(head, a.risk.level, a.risk.reasons);
      card.appendChild(head);
      if (a.warning) { card.appendChild(el("p", "hint", a.warning)); }
      if (a.ticket) { card.appendChild(el("p", null, "Ticket " + a.ticket + " (held for review — the citizen does not see this draft)")); }
      card.appendChild(el("p", "answer", a.answer));
      renderPassages(card, (a.citations || []).map(function (c) { return { n: c.n, title: c.title, heading: c.heading, chunk_id: c.chunk_id, snippet: c.snippet }; }));
      card.appendChild(el("p", "hint", "trace " + a.trace_id + " · KB v" + a.kb_version + " · " + (a.timings_ms.total || "?") + " ms"));
      out.appendChild(card);
      showError(null);
    }).catch(showError);
  });

  // --- review -------------------------------------------------------------------------------
  function loadQueue() {
    return api("GET", "/review/" + encodeURIComponent(tenant()) + "/items?state=pending,claimed,escalated").then(function (items) {
      var tb = $("#queue tbody");
      tb.textContent = "";
      items.forEach(function (i) {
        var tr = el("tr");
        [i.kind, i.state + (i.assignee ? " (" + i.assignee + ")" : ""), i.risk_level, i.sla_due.slice(0, 16) + (i.overdue ? " overdue" : ""), i.question]
          .forEach(function (v) { tr.appendChild(el("td", null, v)); });
        tb.appendChild(tr);
      });
      if (!items.length) { var tr = el("tr"); var td = el("td", null, "The queue is empty."); td.colSpan = 5; tr.appendChild(td); tb.appendChild(tr); }
    }).catch(showError);
  }

  function renderClaimed(item) {
    var box = $("#claimed");
    box.textContent = "";
    if (!item) { return; }
    var card = el("div", "card");
    card.setAttribute("data-item", item.id);
    card.appendChild(el("div", null, item.kind + " · due " + item.sla_due.slice(0, 16) + " · lease until " + (item.lease_until || "").slice(0, 19)));
    var r = el("div"); riskBadges(r, item.risk_level, item.risk_reasons); card.appendChild(r);
    card.appendChild(el("h3", null, item.question));
    var label = el("label", null, "Answer (edit to correct it)");
    var ta = el("textarea");
    ta.id = "review-answer";
    ta.rows = 5;
    ta.value = item.draft_answer || "";
    label.appendChild(ta);
    card.appendChild(label);
    var cur = el("label");
    var cb = el("input"); cb.type = "checkbox"; cb.id = "save-curated";
    cur.appendChild(cb); cur.appendChild(document.createTextNode(" save as a curated answer (editors)"));
    card.appendChild(cur);
    var actions = el("div", "actions");
    [["approve", "Approve"], ["edit", "Save edited"], ["reject", "Reject"], ["escalate", "Escalate"]].forEach(function (a) {
      var b = el("button", a[0], a[1]);
      b.type = "button";
      b.addEventListener("click", function () { resolve(item, a[0]); });
      actions.appendChild(b);
    });
    card.appendChild(actions);
    card.appendChild(el("h4", null, "Passages the draft was built from"));
    renderPassages(card, item.citations);
    box.appendChild(card);
  }

  function resolve(item, action) {
    var body = { action: action, save_curated: $("#save-curated").checked };
    if (action === "edit") { body.answer = $("#review-answer").value; }
    api("POST", "/review/" + encodeURIComponent(item.tenant) + "/items/" + encodeURIComponent(item.id), body).then(function (done) {
      $("#claimed").textContent = "";
      $("#claimed").appendChild(el("p", "card done", "Item " + done.id + ": " + done.state + (done.curated_id ? " · curated " + done.curated_id : "")));
      showError(null);
      return loadQueue();
    }).catch(showError);
  }

  $("#claim").addEventListener("click", function () {
    api("POST", "/review/" + encodeURIComponent(tenant()) + "/claim", {}).then(function (item) {
      renderClaimed(item); showError(null); return loadQueue();
    }).catch(function (e) { if (e.status === 404) { showError("Nothing to claim."); } else { showError(e); } });
  });
  $("#refresh").addEventListener("click", loadQueue);

  // --- knowledge base -----------------------------------------------------------------------
  function loadVersions() {
    return api("GET", "/kb/" + encodeURIComponent(tenant()) + "/versions").then(function (vs) {
      var tb = $("#versions tbody");
      tb.textContent = "";
      vs.slice().reverse().forEach(function (v) {
        var tr = el("tr");
        tr.setAttribute("data-version", v.version);
        [v.version, v.state, v.sources, v.chunks, String(v.created_at).slice(0, 19)].forEach(function (x) { tr.appendChild(el("td", null, x)); });
        var td = el("td");
        if (v.parent) {
          var d = el("button", null, "diff vs v" + v.parent);
          d.addEventListener("click", function () {
            api("GET", "/kb/" + encodeURIComponent(tenant()) + "/diff?v1=" + v.parent + "&v2=" + v.version).then(function (df) {
              $("#diff").textContent = JSON.stringify(df, null, 1);
            }).catch(showError);
          });
          td.appendChild(d);
        }
        if (v.state === "draft" || v.state === "previous") {
          var p = el("button", null, "publish");
          p.addEventListener("click", function () {
            api("POST", "/kb/" + encodeURIComponent(tenant()) + "/versions/" + v.version + "/publish").then(loadVersions).catch(showError);
          });
          td.appendChild(p);
        }
        tr.appendChild(td);
        tb.appendChild(tr);
      });
    }).catch(showError);
  }

  function loadJobs() {
    return api("GET", "/kb/" + encodeURIComponent(tenant()) + "/jobs").then(function (jobs) {
      var box = $("#jobs");
      box.textContent = "";
      jobs.slice(0, 3).forEach(function (j) {
        var c = el("div", "card job");
        c.setAttribute("data-state", j.state);
        c.appendChild(el("div", null, "job " + j.job_id + " · " + j.state + " · " + j.done + "/" + j.total + " sources" + (j.version ? " · v" + j.version : "")));
        var bar = el("div", "progress"); var fill = el("div");
        fill.style.width = (j.total ? Math.round(100 * j.done / j.total) : 0) + "%";
        bar.appendChild(fill); c.appendChild(bar);
        (j.errors || []).forEach(function (e) { c.appendChild(el("div", "error", (e.source || "") + ": " + (e.error || JSON.stringify(e)))); });
        box.appendChild(c);
      });
      return jobs;
    });
  }

  function pollJobs() {
    loadJobs().then(function (jobs) {
      if (jobs.length && (jobs[0].state === "running" || jobs[0].state === "queued")) { setTimeout(pollJobs, 1000); } else { loadVersions(); }
    }).catch(showError);
  }

  $("#upload-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var fd = new FormData();
    Array.prototype.forEach.call($("#files").files, function (f) { fd.append("files", f); });
    fd.append("publish", $("#publish").checked ? "true" : "false");
    api("POST", "/kb/" + encodeURIComponent(tenant()) + "/ingest", fd, true).then(function () {
      showError(null); setTimeout(pollJobs, 300);
    }).catch(showError);
  });
  $("#rollback").addEventListener("click", function () {
    api("POST", "/kb/" + encodeURIComponent(tenant()) + "/rollback").then(loadVersions).catch(showError);
  });

  // --- sign in, tabs --------------------------------------------------------------------------
  function showTab(name) {
    ["assist", "review", "kb"].forEach(function (t) {
      $("#" + t).hidden = t !== name;
      var b = document.querySelector('[data-tab="' + t + '"]');
      if (b) { b.classList.toggle("active", t === name); }
    });
    if (name === "review") { loadQueue(); }
    if (name === "kb") { loadVersions(); loadJobs().catch(showError); }
  }

  function signedIn(me) {
    state.me = me;
    $("#signin").hidden = true;
    $("#tabs").hidden = false;
    $("#signout").hidden = false;
    $("#who").textContent = me.name + " · " + me.role + " · " + (me.tenant || "all tenants");
    var can = function (p) { return me.permissions.indexOf(p) >= 0; };
    document.querySelector('[data-tab="assist"]').hidden = !can("ask_staff");
    document.querySelector('[data-tab="review"]').hidden = !can("review");
    document.querySelector('[data-tab="kb"]').hidden = !can("kb");
    showTab(can("ask_staff") ? "assist" : (can("kb") ? "kb" : "review"));
  }

  function signIn(token) {
    state.token = token;
    return api("GET", "/me").then(function (me) {
      sessionStorage.setItem("qa-token", token);
      $("#signin-error").textContent = "";
      signedIn(me);
    }).catch(function (e) {
      sessionStorage.removeItem("qa-token");
      $("#signin-error").textContent = e.status === 401 ? "That token is not valid." : String(e.message || e);
    });
  }

  $("#signin-form").addEventListener("submit", function (ev) { ev.preventDefault(); signIn($("#token").value.trim()); });
  $("#signout").addEventListener("click", function () { sessionStorage.removeItem("qa-token"); location.reload(); });
  Array.prototype.forEach.call(document.querySelectorAll("[data-tab]"), function (b) {
    b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
  });
  var t = new URLSearchParams(location.search).get("tenant");
  if (t) { state.tenantOverride = t; }
  if (state.token) { signIn(state.token); }
})();
