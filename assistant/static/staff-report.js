/* Staff view, report half: GET /api/staff/report and POST /api/staff/publish (the browser resends the staff
 * password it was asked for). Text only, no HTML. */
(function () {
  "use strict";
  var days = document.getElementById("days");
  var csv = document.getElementById("csv");
  var publish = document.getElementById("publish");
  var question = document.getElementById("faq-question");
  var answer = document.getElementById("faq-answer");
  var also = document.getElementById("faq-also");
  var status = document.getElementById("publish-status");

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function json(response) {
    return response.json().then(function (body) {
      if (!response.ok) throw new Error(body.error || "The request failed (" + response.status + ")");
      return body;
    });
  }

  function showProblems(problems) {
    var list = $("problem-list");
    list.textContent = "";
    problems.forEach(function (p) { list.appendChild(el("li", p)); });
    $("problems").hidden = problems.length === 0;
  }

  function showChecks(list, checks) {
    list.textContent = "";
    checks.forEach(function (c) {
      var item = el("li", undefined, c.cited ? "cited" : "missed");
      item.appendChild(el("strong", (c.cited ? "✓ " : "✗ not found: ") + c.phrasing));
      item.appendChild(el("div", c.answer, "ready" + (c.abstained ? " abstained" : "")));
      list.appendChild(item);
    });
  }
  window.StaffChecks = showChecks;

  function answerGroup(group) {
    question.value = group.example;
    also.value = group.questions.filter(function (q) { return q !== group.example; }).join("\n");
    $("published").hidden = true;
    status.textContent = "";
    answer.focus();
  }

  function groupRow(name, group) {
    var row = el("tr");
    row.appendChild(el("td", String(group.count), "num"));
    var wording = el("td");
    wording.appendChild(el("span", group.example, "example"));
    var others = group.questions.filter(function (q) { return q !== group.example; });
    if (others.length) {
      var list = el("ul", undefined, "wordings");
      others.slice(0, 5).forEach(function (q) { list.appendChild(el("li", q)); });
      if (others.length > 5) list.appendChild(el("li", "and " + (others.length - 5) + " more"));
      wording.appendChild(list);
    }
    if (group.passage) wording.appendChild(el("div", "Answered from: " + group.passage, "passage"));
    row.appendChild(wording);
    row.appendChild(el("td", String(group.down_votes), "num"));
    var cell = el("td");
    var write = el("button", name === "most_asked" ? "Publish a better answer" : "Answer this group", "group-answer");
    write.type = "button";
    write.addEventListener("click", function () { answerGroup(group); });
    cell.appendChild(write);
    row.appendChild(cell);
    return row;
  }

  function renderSection(box, name, section) {
    Array.prototype.slice.call(box.querySelectorAll("table, p.empty, p.more")).forEach(function (n) { n.remove(); });
    if (!section.groups.length) {
      box.appendChild(el("p", "Nothing in this period.", "empty"));
      return;
    }
    var table = el("table");
    var head = el("tr");
    ["Asked", "Wordings", "Thumbs down", ""].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    section.groups.forEach(function (g) { body.appendChild(groupRow(name, g)); });
    table.appendChild(body);
    box.appendChild(table);
    var more = section.more_groups + section.left_out;
    if (more) {
      box.appendChild(el("p", section.more_groups + " smaller groups and " + section.left_out +
        " rarely asked questions are in the CSV.", "more"));
    }
  }

  function render(report) {
    $("logging-off").hidden = report.logging;
    var c = report.counts;
    $("c-questions").textContent = String(c.questions);
    $("c-abstentions").textContent = String(c.abstentions);
    $("c-up").textContent = String(c.thumbs_up);
    $("c-down").textContent = String(c.thumbs_down);
    $("c-latency").textContent = c.p50_latency_ms === null ? "–" : Math.round(c.p50_latency_ms) + " ms";
    Array.prototype.forEach.call(document.querySelectorAll(".report-section"), function (box) {
      var name = box.getAttribute("data-section");
      renderSection(box, name, report[name]);
    });
    window.StaffChart.draw($("trend-chart"), report.trend);
    showProblems(report.problems);
  }

  function load() {
    csv.href = "/api/staff/questions.csv?days=" + encodeURIComponent(days.value);
    return fetch("/api/staff/report?days=" + encodeURIComponent(days.value))
      .then(json)
      .then(render)
      .catch(function (err) { showProblems([err.message]); });
  }

  days.addEventListener("change", load);
  $("period").addEventListener("submit", function (e) { e.preventDefault(); load(); });

  publish.addEventListener("submit", function (e) {
    e.preventDefault();
    status.textContent = "Publishing…";
    status.className = "";
    $("published").hidden = true;
    var phrasings = also.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
    fetch("/api/staff/publish", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question: question.value, answer: answer.value, also: phrasings }),
    })
      .then(json)
      .then(function (result) {
        status.textContent = result.cited
          ? "Published to " + result.source + " under “" + result.question + "”."
          : "Published to " + result.source + ", but a wording marked ✗ doesn't find it yet: " +
            "reword it, or repeat its key words in the answer.";
        status.className = result.cited ? "" : "warning";
        showChecks($("published-checks"), result.checks);
        $("published").hidden = false;
        answer.value = "";
        also.value = "";
        showProblems(result.problems);
        if (window.StaffFaq) window.StaffFaq.load();
        load();  // the answered group now finds its answer
      })
      .catch(function (err) { status.textContent = err.message; status.className = "warning"; });
  });

  load();
})();
