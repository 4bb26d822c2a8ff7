/* Staff view, published answers: GET /api/staff/faq, PATCH /api/staff/faq (answer, add, remove) and
 * DELETE /api/staff/faq (unpublish). Every change carries the file version this page loaded, so a hand edit made
 * meanwhile is refused (409) instead of overwritten. Text only, no HTML. */
(function () {
  "use strict";
  var entries = document.getElementById("entries");
  var status = document.getElementById("faq-status");
  var version = null;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function button(text, className, onClick) {
    var b = el("button", text, className);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function json(response) {
    return response.json().then(function (body) {
      if (!response.ok) throw new Error(body.error || "The request failed (" + response.status + ")");
      return body;
    });
  }

  function change(method, body, box) {
    body.version = version;
    status.textContent = "Saving…";
    status.className = "";
    return fetch("/api/staff/faq", {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })
      .then(json)
      .then(function (result) {
        status.textContent = (method === "DELETE" ? "Unpublished “" : "Saved “") + result.question + "”.";
        version = result.version;
        return load().then(function () {
          var shown = box && box.isConnected ? box : entries;
          var list = el("ul", undefined, "checks");
          window.StaffChecks(list, result.checks);
          Array.prototype.forEach.call(document.querySelectorAll(".change-note"), function (n) { n.remove(); });
          var note = el("div", undefined, "change-note");
          note.appendChild(el("p", "A client asking now gets:"));
          note.appendChild(list);
          (method === "DELETE" ? status : shown).after(note);
        });
      })
      .catch(function (err) { status.textContent = err.message; status.className = "warning"; });
  }

  function entryBox(entry) {
    var box = el("div", undefined, "entry");
    box.setAttribute("data-question", entry.question);
    box.appendChild(el("h3", entry.question));
    var text = el("textarea");
    text.rows = 3;
    text.value = entry.answer;
    text.setAttribute("aria-label", "Answer to " + entry.question);
    box.appendChild(text);
    box.appendChild(button("Save answer", "save", function () {
      change("PATCH", { question: entry.question, answer: text.value }, box);
    }));
    var list = el("ul", undefined, "wordings");
    entry.also.forEach(function (p) {
      var item = el("li", undefined, "row");
      item.appendChild(el("span", p));
      item.appendChild(button("Remove", "remove", function () {
        change("PATCH", { question: entry.question, remove: [p] }, box);
      }));
      list.appendChild(item);
    });
    box.appendChild(el("p", entry.also.length ? "Also found by:" : "Found only by its question.", "hint"));
    box.appendChild(list);
    var row = el("div", undefined, "row");
    var add = el("input");
    add.type = "text";
    add.placeholder = "Add a wording clients use";
    add.setAttribute("aria-label", "Another wording for " + entry.question);
    row.appendChild(add);
    row.appendChild(button("Add wording", "add", function () {
      if (add.value.trim()) change("PATCH", { question: entry.question, add: [add.value] }, box);
    }));
    box.appendChild(row);
    box.appendChild(button("Unpublish", "unpublish", function () {
      if (window.confirm("Unpublish “" + entry.question + "”? Clients will no longer get this answer.")) {
        change("DELETE", { question: entry.question }, null);
      }
    }));
    return box;
  }

  function load() {
    return fetch("/api/staff/faq")
      .then(json)
      .then(function (faq) {
        version = faq.version;
        entries.textContent = "";
        faq.entries.forEach(function (e) { entries.appendChild(entryBox(e)); });
        document.getElementById("no-entries").hidden = faq.entries.length !== 0;
      })
      .catch(function (err) { status.textContent = err.message; status.className = "warning"; });
  }

  window.StaffFaq = { load: load };
  load();
})();
