/* Staff panel: answer assist (streamed), the review queue (filters, groups, open any item, conversation,
 * chosen citations), curated answers. Registers its tabs on window.QA (console.js). */
(function () {
  "use strict";
  var QA = window.QA, $ = QA.$, el = QA.el, t = QA.t;

  // --- assist: Server-Sent Events, "draft" events while the model writes, then the final answer ----------
  function readSse(response, onEvent) {
    var reader = response.body.getReader(), decoder = new TextDecoder(), buf = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) { return; }
        buf += decoder.decode(chunk.value, { stream: true });
        var parts = buf.split("\n\n");
        buf = parts.pop();
        parts.forEach(function (block) {
          var ev = "message", data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) { ev = line.slice(6).trim(); }
            if (line.indexOf("data:") === 0) { data += line.slice(5).trim(); }
          });
          if (data) { onEvent(ev, JSON.parse(data)); }
        });
        return pump();
      });
    }
    return pump();
  }

  function assist(ev) {
    ev.preventDefault();
    var out = $("#assist-out"), err = $("#assist-form .action-error");
    QA.clearError(err);
    out.textContent = "";
    var wait = el("p", "hint", t("drafting"));
    out.appendChild(wait);
    var draft = null;
    fetch("/api/v1/ask", {
      method: "POST",
      headers: { Authorization: "Bearer " + QA.state.token, "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question: $("#assist-q").value, tenant: QA.tenant(), channel: "staff", stream: true })
    }).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (!r.ok || type.indexOf("text/event-stream") !== 0) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          throw new Error(typeof j.detail === "string" ? j.detail : r.statusText);
        });
      }
      return readSse(r, function (kind, obj) {
        if (kind === "draft") {
          if (!draft) {
            out.textContent = "";
            var box = el("div", "card streaming");
            box.appendChild(el("span", "badge ai", t("ai")));
            box.appendChild(el("span", "hint", " " + t("draft_label")));
            draft = el("p", "answer draft");
            draft.setAttribute("data-streaming", "true");
            box.appendChild(draft);
            out.appendChild(box);
          }
          draft.textContent += (draft.textContent ? " " : "") + obj.text;
        } else if (kind === "done") {
          out.textContent = "";
          out.appendChild(QA.answerCard(obj));
        }
      });
    }).catch(function (e) { out.textContent = ""; QA.errorIn(err)(e); });
  }

  // --- review queue ----------------------------------------------------------------------------------------
  var queueState = { items: [], groups: {} };

  function filterQuery() {
    var q = [];
    [["kind", "#f-kind"], ["risk", "#f-risk"], ["min_age_hours", "#f-age"], ["sla", "#f-sla"]].forEach(function (f) {
      var v = $(f[1]).value;
      if (v) { q.push(f[0] + "=" + encodeURIComponent(v)); }
    });
    return q.length ? "?" + q.join("&") : "";
  }

  function loadQueue() {
    var err = $("#queue-error");
    return QA.api("GET", QA.tpath("review") + "/queue" + filterQuery()).then(function (res) {
      QA.clearError(err);
      queueState = res;
      renderQueue();
    }).catch(QA.errorIn(err));
  }

  function renderQueue() {
    var tb = $("#queue tbody"), grouped = $("#f-group").checked, seen = {};
    tb.textContent = "";
    var rows = 0;
    queueState.items.forEach(function (i) {
      var members = queueState.groups[i.group] || [i.id];
      if (grouped && members.length > 1) {
        if (seen[i.group]) { return; }
        seen[i.group] = true;
      }
      rows += 1;
      var tr = el("tr");
      tr.setAttribute("data-item", i.id);
      var cells = [
        [t("col_kind"), QA.label("k", i.kind)],
        [t("col_state"), QA.label("s", i.state) + (i.assignee ? " (" + i.assignee + ")" : "")],
        [t("col_risk"), QA.label("r", i.risk_level)],
        [t("col_due"), QA.time(i.sla_due) + (i.overdue ? " · " + t("overdue") : "")],
        [t("col_age"), QA.age(i.created_at)]
      ];
      cells.forEach(function (c) { var td = el("td", null, c[1]); td.setAttribute("data-label", c[0]); tr.appendChild(td); });
      var q = el("td", "question");
      q.setAttribute("data-label", t("col_question"));
      q.appendChild(document.createTextNode(i.question));
      if (grouped && members.length > 1) {
        var g = el("span", "badge group", t("times", { n: members.length }));
        g.setAttribute("data-count", members.length);
        q.appendChild(document.createTextNode(" "));
        q.appendChild(g);
      }
      tr.appendChild(q);
      var act = el("td");
      act.appendChild(QA.button(t("open"), "open", function () { openItem(i.id); }));
      tr.appendChild(act);
      if (i.overdue) { tr.classList.add("overdue"); }
      tb.appendChild(tr);
    });
    if (!rows) { var tr = el("tr"); var td = el("td", null, t("queue_empty")); td.colSpan = 7; tr.appendChild(td); tb.appendChild(tr); }
    $("#queue-count").textContent = t("shown", { n: queueState.total });
  }

  function openItem(id) {
    var err = $("#queue-error");
    return QA.api("GET", QA.tpath("review") + "/items/" + encodeURIComponent(id)).then(function (item) {
      QA.clearError(err);
      renderItem(item);
    }).catch(QA.errorIn(err));
  }

  function renderConversation(card, turns) {
    var box = el("div", "conversation");
    box.appendChild(el("h4", null, t("conversation")));
    if (!turns.length) { box.appendChild(el("p", "hint", t("no_conversation"))); }
    turns.forEach(function (turn) {
      var d = el("div", "turn");
      d.appendChild(el("div", "meta", QA.time(turn.at) + " · " + QA.label("d", turn.decision)));
      d.appendChild(el("div", "q", t("citizen_asked") + ": " + turn.question));
      d.appendChild(el("div", "a", t("answer_shown") + ": " + turn.answer));
      box.appendChild(d);
    });
    card.appendChild(box);
  }

  function renderItem(item) {
    var box = $("#claimed");
    box.textContent = "";
    var mine = item.state === "claimed" && item.assignee === QA.state.me.name;
    var card = el("div", "card item");
    card.setAttribute("data-item", item.id);
    card.setAttribute("data-state", item.state);
    card.appendChild(el("div", "meta", QA.label("k", item.kind) + " · " + QA.label("s", item.state) + " · " +
      t("due", { time: QA.time(item.sla_due) }) + (item.lease_until ? " · " + t("lease", { who: item.assignee, time: QA.time(item.lease_until) }) : "")));
    var r = el("div"); QA.riskBadges(r, item.risk_level, item.risk_reasons); card.appendChild(r);
    if (item.conversation) { renderConversation(card, item.conversation); }
    card.appendChild(el("h3", null, item.question));
    var err = el("p", "error action-error");
    err.setAttribute("role", "alert");
    if (!mine) {
      if (item.state === "claimed") { card.appendChild(el("p", "hint", t("not_yours", { who: item.assignee }))); }
      card.appendChild(el("p", "answer", item.draft_answer || ""));
      if (["pending", "claimed", "escalated"].indexOf(item.state) >= 0) {
        card.appendChild(QA.button(t("claim"), "claim-item", function () {
          QA.api("POST", QA.tpath("review") + "/claim", { item_id: item.id }).then(function () {
            return openItem(item.id).then(loadQueue);
          }).catch(function (e) { QA.errorIn(err)(e.status === 404 ? new Error(t("nothing_to_claim")) : e); });
        }));
      }
      card.appendChild(err);
      card.appendChild(el("h4", null, t("passages_draft")));
      QA.renderPassages(card, item.citations);
      box.appendChild(card);
      return;
    }
    var label = el("label", null, t("answer_label"));
    var ta = el("textarea");
    ta.id = "review-answer";
    ta.rows = 5;
    ta.value = item.draft_answer || "";
    label.appendChild(ta);
    card.appendChild(label);
    var cites = citationPicker(item, ta);
    card.appendChild(cites.node);
    if (QA.can("curated")) {  // only editors may save curated answers: staff never see the box
      var cur = el("label", "check");
      var cb = el("input"); cb.type = "checkbox"; cb.id = "save-curated";
      cur.appendChild(cb); cur.appendChild(document.createTextNode(" " + t("save_curated")));
      card.appendChild(cur);
      var vl = el("label", null, t("variants"));
      var vs = el("textarea"); vs.id = "variants"; vs.rows = 2;
      vl.appendChild(vs);
      vl.hidden = true;
      cb.addEventListener("change", function () { vl.hidden = !cb.checked; });
      card.appendChild(vl);
    }
    var same = item.same_question || [];
    if (same.length) {
      var sl = el("label", "check");
      var sc = el("input"); sc.type = "checkbox"; sc.id = "same-for"; sc.checked = true;
      sl.appendChild(sc); sl.appendChild(document.createTextNode(" " + t("same_for", { n: same.length })));
      card.appendChild(sl);
    }
    var actions = el("div", "actions");
    [["approve", t("approve")], ["edit", t("save_edit")], ["reject", t("reject")], ["escalate", t("escalate")]].forEach(function (a) {
      actions.appendChild(QA.button(a[1], a[0], function () { resolve(item, a[0], ta, cites, err); }));
    });
    card.appendChild(actions);
    card.appendChild(err);
    box.appendChild(card);
    box.scrollIntoView({ block: "start" });
  }

  /* The passages the answer cites: starts as the draft's cited ones, renumbered [1].. in order (the draft text in
   * the box is renumbered with them); staff remove them, cite the draft's other passages or search for more. */
  function citationPicker(item, ta) {
    var all = (item.citations || []).slice().sort(function (a, b) { return a.n - b.n; });
    var chosen = all.filter(function (p) { return p.cited !== false; });
    var renumber = {};
    chosen.forEach(function (p, i) { renumber[p.n] = i + 1; });
    var draftText = (item.draft_answer || "").replace(/\[(\d{1,3})\]/g, function (m, n) { return renumber[n] ? "[" + renumber[n] + "]" : m; });
    ta.value = draftText;
    var picker = { changed: chosen.some(function (p, i) { return p.n !== i + 1; }), node: el("div", "citations"), draftText: draftText };
    var list = el("div", "chosen");
    var others = el("div", "others");
    var warn = el("p", "error marker-warning");
    function missing() {
      var bad = [], seen = {};
      (ta.value.match(/\[(\d{1,3})\]/g) || []).forEach(function (m) {
        var n = parseInt(m.slice(1, -1), 10);
        if ((n < 1 || n > chosen.length) && !seen[n]) { seen[n] = true; bad.push("[" + n + "]"); }
      });
      return bad;
    }
    function citeButton(row, p) {
      var at = chosen.findIndex(function (c) { return c.chunk_id === p.chunk_id; });
      if (at >= 0) { row.appendChild(el("span", "hint", t("cited_already", { n: at + 1 }))); return; }
      row.appendChild(QA.button(t("cite"), "cite", function () {
        chosen.push(p); picker.changed = true; draw(); results.textContent = "";
      }));
    }
    function draw() {
      list.textContent = "";
      if (!chosen.length) { list.appendChild(el("p", "hint", t("cites_none"))); }
      chosen.forEach(function (p, i) {
        var row = el("div", "chosen-passage");
        row.setAttribute("data-chunk", p.chunk_id);
        QA.renderPassages(row, [{ n: i + 1, title: p.title, url: p.url, heading: p.heading, chunk_id: p.chunk_id, text: p.text, visibility: p.visibility }]);
        row.appendChild(QA.button(t("remove"), "secondary remove", function () { chosen.splice(i, 1); picker.changed = true; draw(); }));
        list.appendChild(row);
      });
      others.textContent = "";
      var rest = all.filter(function (p) { return !chosen.some(function (c) { return c.chunk_id === p.chunk_id; }); });
      if (rest.length) { others.appendChild(el("h4", null, t("passages_draft"))); }
      rest.forEach(function (p) {
        var row = el("div", "hit");
        row.setAttribute("data-chunk", p.chunk_id);
        QA.renderPassages(row, [{ n: "+", title: p.title, url: p.url, heading: p.heading, chunk_id: p.chunk_id, text: p.text, visibility: p.visibility }]);
        citeButton(row, p);
        others.appendChild(row);
      });
      var bad = missing();
      warn.textContent = bad.length ? t("marker_missing", { markers: bad.join(", ") }) : "";
    }
    ta.addEventListener("input", draw);
    picker.node.appendChild(el("h4", null, t("cites_h")));
    picker.node.appendChild(list);
    picker.node.appendChild(warn);
    var form = el("form", "search-kb");
    var inp = el("input"); inp.type = "search"; inp.id = "kb-search"; inp.placeholder = t("search_kb"); inp.setAttribute("aria-label", t("search_kb"));
    var go = el("button", null, t("search")); go.type = "submit";
    form.appendChild(inp); form.appendChild(go);
    var results = el("div", "results");
    var serr = el("p", "error action-error");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      QA.api("GET", QA.tpath("review") + "/passages?q=" + encodeURIComponent(inp.value)).then(function (res) {
        QA.clearError(serr);
        results.textContent = "";
        res.hits.forEach(function (h) {
          var row = el("div", "hit");
          row.setAttribute("data-chunk", h.chunk_id);
          QA.renderPassages(row, [{ n: "+", title: h.title, url: h.url, heading: h.heading, chunk_id: h.chunk_id, text: h.text, visibility: h.visibility }]);
          citeButton(row, h);
          results.appendChild(row);
        });
      }).catch(QA.errorIn(serr));
    });
    picker.node.appendChild(form);
    picker.node.appendChild(serr);
    picker.node.appendChild(results);
    picker.node.appendChild(others);
    picker.ids = function () { return chosen.map(function (c) { return c.chunk_id; }); };
    draw();
    return picker;
  }

  function resolve(item, action, ta, cites, err) {
    var body = { action: action };
    if (action === "edit") { body.answer = ta.value; }
    if (action === "edit" || (action === "approve" && cites.changed)) { body.citations = cites.ids(); }
    if (action === "approve" && cites.changed) { body.answer = cites.draftText; }  // the draft, renumbered
    var cb = $("#save-curated");
    if (cb && cb.checked) {
      body.save_curated = true;
      body.question_variants = ($("#variants").value || "").split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
    }
    var same = $("#same-for");
    if (same && same.checked) { body.same_for = item.same_question; }
    QA.api("POST", "/review/" + encodeURIComponent(item.tenant) + "/items/" + encodeURIComponent(item.id), body).then(function (done) {
      var box = $("#claimed");
      box.textContent = "";
      var more = (done.also_resolved || []).length;
      box.appendChild(el("p", "card done", t("done", { id: done.id, state: QA.label("s", done.state) }) +
        (more ? t("done_more", { n: more }) : "") + (done.curated_id ? t("done_curated", { id: done.curated_id }) : "")));
      return loadQueue();
    }).catch(QA.errorIn(err));
  }

  function claimNext() {
    var err = $("#queue-error");
    QA.api("POST", QA.tpath("review") + "/claim", {}).then(function (item) {
      QA.clearError(err);
      return openItem(item.id).then(loadQueue);
    }).catch(function (e) { QA.errorIn(err)(e.status === 404 ? new Error(t("nothing_to_claim")) : e); });
  }

  // --- curated answers -------------------------------------------------------------------------------------
  function loadCurated() {
    var editor = QA.can("curated");
    $("#curated-form").hidden = !editor;
    $("#curated-readonly").hidden = editor;
    return QA.api("GET", QA.tpath("curated")).then(function (rows) {
      var box = $("#curated-list");
      box.textContent = "";
      if (!rows.length) { box.appendChild(el("p", "hint", t("curated_empty"))); }
      rows.slice().reverse().forEach(function (row) { box.appendChild(curatedCard(row, editor)); });
    }).catch(QA.errorIn($("#curated-form .action-error")));
  }

  function curatedCard(row, editor) {
    var card = el("div", "card curated");
    card.setAttribute("data-curated", row.id);
    card.setAttribute("data-state", row.state);
    var head = el("div", "meta");
    head.appendChild(el("span", "badge " + (row.state === "active" ? "low" : "high"), QA.label("s", row.state)));
    head.appendChild(el("span", "badge", t(row.visibility === "public" ? "public" : "internal")));
    head.appendChild(document.createTextNode(row.lang + " · " + t("created", { who: row.created_by, time: QA.time(row.created_at) })));
    card.appendChild(head);
    if (row.suspended_reason) { card.appendChild(el("p", "hint", t("suspended_because", { why: row.suspended_reason }))); }
    var qs = el("ul", "questions");
    row.questions.forEach(function (q) { qs.appendChild(el("li", null, q)); });
    card.appendChild(qs);
    card.appendChild(el("p", "answer", row.answer));
    if (!editor) { return card; }
    var err = el("p", "error action-error");
    err.setAttribute("role", "alert");
    function patch(body) {
      return QA.api("PATCH", QA.tpath("curated") + "/" + encodeURIComponent(row.id), body).then(loadCurated).catch(QA.errorIn(err));
    }
    var add = el("form", "add-variant");
    var vi = el("input"); vi.type = "text"; vi.placeholder = t("variant_ph"); vi.setAttribute("aria-label", t("add_variant"));
    var vb = el("button", null, t("add_variant")); vb.type = "submit";
    add.appendChild(vi); add.appendChild(vb);
    add.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (vi.value.trim()) { patch({ questions: row.questions.concat([vi.value.trim()]) }); }
    });
    card.appendChild(add);
    var actions = el("div", "actions");
    actions.appendChild(QA.button(t("edit"), "edit", function () {
      var f = el("form", "edit-curated");
      var ql = el("label", null, t("questions_label")); var qa = el("textarea"); qa.rows = 3; qa.value = row.questions.join("\n"); ql.appendChild(qa);
      var al = el("label", null, t("answer_plain")); var aa = el("textarea"); aa.rows = 4; aa.value = row.answer; al.appendChild(aa);
      f.appendChild(ql); f.appendChild(al);
      var sb = el("button", null, t("save")); sb.type = "submit";
      f.appendChild(sb);
      f.appendChild(QA.button(t("cancel"), "secondary", loadCurated));
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        patch({ answer: aa.value, questions: qa.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean) });
      });
      actions.replaceWith(f);
    }));
    if (row.state === "active") {
      actions.appendChild(QA.button(t("suspend"), "reject suspend", function () {
        QA.api("POST", QA.tpath("curated") + "/" + encodeURIComponent(row.id) + "/suspend").then(loadCurated).catch(QA.errorIn(err));
      }));
    } else {
      actions.appendChild(QA.button(t("reinstate"), "reinstate", function () { patch({ activate: true }); }));
    }
    card.appendChild(actions);
    card.appendChild(err);
    return card;
  }

  function addCurated(ev) {
    ev.preventDefault();
    var err = $("#curated-form .action-error");
    QA.api("POST", QA.tpath("curated"), {
      questions: $("#cur-questions").value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean),
      answer: $("#cur-answer").value, lang: $("#cur-lang").value
    }).then(function () {
      QA.clearError(err); $("#cur-questions").value = ""; $("#cur-answer").value = ""; return loadCurated();
    }).catch(QA.errorIn(err));
  }

  var wired = false;
  function wire() {
    if (wired) { return; }
    wired = true;
    $("#assist-form").addEventListener("submit", assist);
    $("#claim").addEventListener("click", claimNext);
    $("#refresh").addEventListener("click", loadQueue);
    Array.prototype.forEach.call(document.querySelectorAll("#filters select"), function (s) { s.addEventListener("change", loadQueue); });
    $("#f-group").addEventListener("change", renderQueue);
    $("#curated-form").addEventListener("submit", addCurated);
  }

  QA.tabs.assist = { permission: "ask_staff", init: wire };
  QA.tabs.review = { permission: "review", init: wire, show: loadQueue };
  QA.tabs.curated = { permission: "review", init: wire, show: loadCurated };
})();
