/* Editor console: upload with per-file metadata, jobs, versions (documents, readable diff, try a draft,
 * publish / discard / roll back after a confirmation). Registers its tab on window.QA (console.js). */
(function () {
  "use strict";
  var QA = window.QA, $ = QA.$, el = QA.el, t = QA.t;
  var versionsSeen = [];

  function err() { return QA.errorIn($("#kb-error")); }

  // --- upload: one metadata row per file (catalog.yaml files are read by the pipeline themselves) ----------
  function drawFileMeta() {
    var box = $("#file-meta");
    box.textContent = "";
    var files = Array.prototype.filter.call($("#files").files, function (f) { return f.name !== "catalog.yaml"; });
    if (!files.length) { return; }
    box.appendChild(el("p", "hint", t("meta_h")));
    files.forEach(function (f) {
      var row = el("fieldset", "file-meta");
      row.setAttribute("data-file", f.name);
      row.appendChild(el("legend", null, f.name));
      [["title", "text", "m_title"], ["url", "url", "m_url"], ["effective_date", "date", "m_effective"], ["expiry_date", "date", "m_expiry"]].forEach(function (spec) {
        var l = el("label", null, t(spec[2]));
        var i = el("input"); i.type = spec[1]; i.name = spec[0];
        if (spec[0] === "url") { i.placeholder = "https://"; }
        l.appendChild(i); row.appendChild(l);
      });
      var vl = el("label", null, t("m_visibility"));
      var vs = el("select"); vs.name = "visibility";
      [["", "—"], ["public", t("public")], ["internal", t("internal")]].forEach(function (o) {
        var op = el("option", null, o[1]); op.value = o[0]; vs.appendChild(op);
      });
      vl.appendChild(vs); row.appendChild(vl);
      box.appendChild(row);
    });
  }

  function fileMeta() {
    var meta = {};
    Array.prototype.forEach.call(document.querySelectorAll("#file-meta .file-meta"), function (row) {
      var fields = {};
      Array.prototype.forEach.call(row.querySelectorAll("input, select"), function (i) { if (i.value) { fields[i.name] = i.value; } });
      if (Object.keys(fields).length) { meta[row.getAttribute("data-file")] = fields; }
    });
    return meta;
  }

  function upload(ev) {
    ev.preventDefault();
    var box = $("#upload-form .action-error");
    var fd = new FormData();
    Array.prototype.forEach.call($("#files").files, function (f) { fd.append("files", f); });
    fd.append("publish", $("#publish").checked ? "true" : "false");
    var meta = fileMeta();
    if (Object.keys(meta).length) { fd.append("meta", JSON.stringify(meta)); }
    QA.api("POST", QA.tpath("kb") + "/ingest", fd, true).then(function () {
      QA.clearError(box); setTimeout(pollJobs, 300);
    }).catch(QA.errorIn(box));
  }

  function loadJobs() {
    return QA.api("GET", QA.tpath("kb") + "/jobs").then(function (jobs) {
      var box = $("#jobs");
      box.textContent = "";
      jobs.slice(0, 3).forEach(function (j) {
        var c = el("div", "card job");
        c.setAttribute("data-state", j.state);
        c.appendChild(el("div", null, t("job", { id: j.job_id, state: QA.label("s", j.state), done: j.done, total: j.total }) + (j.version ? " · v" + j.version : "")));
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
    }).catch(err());
  }

  // --- versions ----------------------------------------------------------------------------------------------
  function live() { return versionsSeen.find(function (v) { return v.state === "live"; }); }

  function loadVersions() {
    return QA.api("GET", QA.tpath("kb") + "/versions").then(function (vs) {
      versionsSeen = vs;
      var tb = $("#versions tbody");
      tb.textContent = "";
      vs.slice().reverse().filter(function (v) { return v.state !== "deleted"; }).forEach(function (v) {
        var tr = el("tr");
        tr.setAttribute("data-version", v.version);
        [[t("col_version"), "v" + v.version], [t("col_state"), QA.label("s", v.state)], [t("col_sources"), v.sources],
         [t("col_chunks"), v.chunks], [t("col_created"), QA.time(v.created_at)]].forEach(function (c) {
          var td = el("td", null, c[1]); td.setAttribute("data-label", c[0]); tr.appendChild(td);
        });
        var td = el("td", "actions");
        var indexed = ["draft", "live", "previous"].indexOf(v.state) >= 0;
        if (indexed) { td.appendChild(QA.button(t("documents"), "docs", function () { showDocs(v.version); })); }
        if (v.parent && indexed) { td.appendChild(QA.button(t("diff", { v: v.parent }), "diff", function () { showDiff(v.parent, v.version); })); }
        if (indexed) { td.appendChild(QA.button(t("try_it"), "try", function () { showTry(v.version); })); }
        if (v.state === "draft" || v.state === "previous") {
          td.appendChild(QA.button(t("publish"), "publish", function () {
            var l = live();
            QA.confirm(t("confirm_publish", { v: v.version, live: l ? l.version : "—" })).then(function (ok) {
              if (!ok) { return; }
              QA.api("POST", QA.tpath("kb") + "/versions/" + v.version + "/publish").then(loadVersions).catch(err());
            });
          }));
        }
        if (v.state === "draft") {
          td.appendChild(QA.button(t("discard"), "discard reject", function () {
            QA.confirm(t("confirm_discard", { v: v.version })).then(function (ok) {
              if (!ok) { return; }
              QA.api("POST", QA.tpath("kb") + "/versions/" + v.version + "/discard").then(loadVersions).catch(err());
            });
          }));
        }
        tr.appendChild(td);
        tb.appendChild(tr);
      });
      QA.clearError($("#kb-error"));
    }).catch(err());
  }

  function rollback() {
    var l = live();
    var before = versionsSeen.filter(function (v) { return v.state === "previous" && v.published_at; })
      .sort(function (a, b) { return a.published_at < b.published_at ? 1 : -1; })[0];
    var text = l && before ? t("confirm_rollback", { live: l.version, to: before.version }) : t("confirm_rollback_none");
    QA.confirm(text).then(function (ok) {
      if (!ok) { return; }
      QA.api("POST", QA.tpath("kb") + "/rollback").then(loadVersions).catch(err());
    });
  }

  function view(title) {
    var box = $("#kb-view");
    box.textContent = "";
    var card = el("div", "card");
    card.appendChild(el("h3", null, title));
    box.appendChild(card);
    return card;
  }

  function cell(tr, label, value) { var td = el("td", null, value); td.setAttribute("data-label", label); tr.appendChild(td); return td; }

  function showDocs(version) {
    QA.api("GET", QA.tpath("kb") + "/versions/" + version + "/sources").then(function (docs) {
      var card = view(t("docs_h", { v: version }));
      card.id = "docs";
      var table = el("table", "cards");
      var head = el("tr");
      ["col_title", "col_type", "col_visibility", "col_effective", "col_expiry", "col_applies", "col_chunks"].forEach(function (k) { head.appendChild(el("th", null, t(k))); });
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var tb = el("tbody");
      docs.forEach(function (d) {
        var tr = el("tr");
        tr.setAttribute("data-source", d.source_id);
        var title = cell(tr, t("col_title"), "");
        if (d.url && /^https?:\/\//i.test(d.url)) {
          var a = el("a", null, d.title); a.href = d.url; a.target = "_blank"; a.rel = "noopener noreferrer"; title.appendChild(a);
        } else { title.textContent = d.title; }
        title.appendChild(el("div", "hint", d.source_id));
        cell(tr, t("col_type"), d.doc_type || "");
        cell(tr, t("col_visibility"), d.visibility ? t(d.visibility) : "");
        cell(tr, t("col_effective"), d.effective_date || "—");
        var exp = cell(tr, t("col_expiry"), d.expiry_date || "—");
        if (d.expired) { exp.appendChild(el("span", "badge high", t("expired"))); tr.classList.add("expired"); }
        if (d.not_yet_effective) { exp.appendChild(el("span", "badge medium", t("not_yet"))); }
        scopeCell(tr, d, version);
        cell(tr, t("col_chunks"), d.chunks === undefined ? "" : d.chunks);
        tb.appendChild(tr);
      });
      table.appendChild(tb);
      card.appendChild(table);
    }).catch(err());
  }

  // --- where a document applies (issue 22): shown, and corrected for the next version ----------------------
  var SCOPE_FIELDS = [["jurisdiction", "text", "sc_place"], ["office", "text", "sc_office"], ["issue_date", "date", "sc_issued"],
    ["effective_date", "date", "m_effective"], ["expiry_date", "date", "m_expiry"]];

  function scopeCell(tr, d, version) {
    var td = cell(tr, t("col_applies"), "");
    td.className = "scope";
    var sc = d.scope || {};
    var over = d.scope_override || {};
    var detected = sc.detected || [];
    [["jurisdiction", sc.jurisdiction === "national" ? t("sc_national") : sc.jurisdiction], ["office", sc.office], ["issue_date", sc.issue_date]].forEach(function (f) {
      var line = el("div", "scope-" + f[0], (f[1] || "—"));
      line.setAttribute("data-field", f[0]);
      if (detected.indexOf(f[0]) >= 0 || (f[0] === "jurisdiction" && detected.indexOf("jurisdiction") >= 0)) { line.appendChild(el("span", "hint", " " + t("sc_detected"))); }
      td.appendChild(line);
    });
    if (sc.effective_date || sc.expiry_date) {  // the period it is in force; a past expiry is marked
      var period = el("div", "scope-period", t("sc_period") + ": " + (sc.effective_date || "—") + " – " + (sc.expiry_date || "—"));
      period.setAttribute("data-field", "expiry_date");
      if (detected.indexOf("effective_date") >= 0 || detected.indexOf("expiry_date") >= 0) { period.appendChild(el("span", "hint", " " + t("sc_detected"))); }
      if (sc.expiry_date && sc.expiry_date < new Date().toISOString().slice(0, 10)) { period.appendChild(el("span", "badge medium scope-expired", t("sc_expired"))); }
      td.appendChild(period);
    }
    if (Object.keys(over).length) {
      td.appendChild(el("div", "badge medium", t("sc_pending", { fields: Object.keys(over).map(function (k) { return k + "=" + over[k]; }).join(", ") })));
    }
    if (QA.can("kb") && d.scope !== undefined) {
      td.appendChild(QA.button(t("sc_edit"), "scope-edit", function () { scopeForm(td, d, version); }));
    }
  }

  function scopeForm(td, d, version) {
    if (td.querySelector("form")) { return; }
    var sc = d.scope || {}, over = d.scope_override || {};
    var form = el("form", "scope-form");
    SCOPE_FIELDS.forEach(function (spec) {
      var l = el("label", null, t(spec[2]));
      var i = el("input"); i.type = spec[1]; i.name = spec[0];
      i.value = over[spec[0]] || sc[spec[0]] || "";
      l.appendChild(i); form.appendChild(l);
    });
    var box = el("div", "action-error");
    var save = el("button", null, t("sc_save")); save.type = "submit";
    form.appendChild(save); form.appendChild(box);
    form.appendChild(el("p", "hint", t("sc_note")));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {};
      Array.prototype.forEach.call(form.querySelectorAll("input"), function (i) {
        var was = over[i.name] || sc[i.name] || "";
        if (i.value !== was) { body[i.name] = i.value; }
      });
      QA.api("PUT", QA.tpath("kb") + "/sources/" + encodeURIComponent(d.source_id) + "/scope", body).then(function () {
        showDocs(version);
      }).catch(QA.errorIn(box));
    });
    td.appendChild(form);
  }

  function docList(card, heading, docs, cls) {
    var sec = el("section", "diff-" + cls);
    sec.appendChild(el("h4", null, heading + " (" + docs.length + ")"));
    if (!docs.length) { sec.appendChild(el("p", "hint", t("none"))); }
    docs.forEach(function (d) {
      var item = el("div", "diff-doc " + cls);
      item.setAttribute("data-source", d.source_id);
      item.appendChild(el("strong", null, d.title || d.source_id));
      item.appendChild(el("span", "hint", "  " + d.source_id));
      (d.passages || []).forEach(function (p) {
        var pb = el("div", "diff-passage " + p.change);
        pb.appendChild(el("div", "meta", t("passage_" + p.change) + (p.heading ? " — " + p.heading : "") + (p.section_type ? " [" + p.section_type + "]" : "") + "  " + p.chunk_id));
        if (p.old !== null && p.old !== undefined) { var o = el("del", null, p.old); o.setAttribute("title", t("before")); pb.appendChild(o); }
        if (p.new !== null && p.new !== undefined) { var n = el("ins", null, p.new); n.setAttribute("title", t("after")); pb.appendChild(n); }
        item.appendChild(pb);
      });
      if (d.passages_changed > (d.passages || []).length) { item.appendChild(el("p", "hint", t("passages_more", { n: d.passages_changed }))); }
      sec.appendChild(item);
    });
    card.appendChild(sec);
  }

  function showDiff(v1, v2) {
    QA.api("GET", QA.tpath("kb") + "/changes?v1=" + v1 + "&v2=" + v2).then(function (d) {
      var card = view(t("diff_h", { v1: v1, v2: v2 }));
      card.id = "diff";
      docList(card, t("added"), d.added, "added");
      docList(card, t("removed"), d.removed, "removed");
      docList(card, t("changed"), d.changed, "changed");
    }).catch(err());
  }

  function showTry(version) {
    var card = view(t("try_h", { v: version }));
    card.id = "try";
    card.setAttribute("data-version", version);
    var form = el("form", "try-form");
    var q = el("input"); q.type = "text"; q.id = "try-q"; q.placeholder = t("try_ph"); q.required = true;
    var ch = el("select"); ch.id = "try-channel";
    [["citizen", t("as_citizen")], ["staff", t("as_staff")]].forEach(function (o) { var op = el("option", null, o[1]); op.value = o[0]; ch.appendChild(op); });
    var b = el("button", null, t("ask")); b.type = "submit";
    form.appendChild(q); form.appendChild(ch); form.appendChild(b);
    var e = el("p", "error action-error");
    var out = el("div", "try-out");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      out.textContent = t("drafting");
      QA.api("POST", QA.tpath("kb") + "/versions/" + version + "/ask", { question: q.value, channel: ch.value }).then(function (a) {
        QA.clearError(e);
        out.textContent = "";
        out.appendChild(el("p", "hint", t("preview_note", { v: version })));
        out.appendChild(QA.answerCard(a));
      }).catch(function (x) { out.textContent = ""; QA.errorIn(e)(x); });
    });
    card.appendChild(form);
    card.appendChild(e);
    card.appendChild(out);
    q.focus();
  }

  var wired = false;
  QA.tabs.kb = {
    permission: "kb",
    init: function () {
      if (wired) { return; }
      wired = true;
      $("#upload-form").addEventListener("submit", upload);
      $("#files").addEventListener("change", drawFileMeta);
      $("#rollback").addEventListener("click", rollback);
    },
    show: function () { loadVersions(); loadJobs().catch(err()); drawFileMeta(); }
  };
})();
