/* Curated answers: every one of the tenant's, read by staff; editors edit the answer and variants, add a
 * variant, suspend, reinstate, add new ones. Registers its tab on window.QA (console.js). */
(function () {
  "use strict";
  var QA = window.QA, $ = QA.$, el = QA.el, t = QA.t;

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
  QA.tabs.curated = {
    permission: "review",
    init: function () {
      if (wired) { return; }
      wired = true;
      $("#curated-form").addEventListener("submit", addCurated);
    },
    show: loadCurated
  };
})();
