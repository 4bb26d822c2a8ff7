/* Staff view, report half: GET /api/staff/report and POST /api/staff/publish (the browser resends the staff
 * password it was asked for). Text only, no HTML. */
(function () {
  "use strict";
  var days = document.getElementById("days");
  var csv = document.getElementById("csv");
  var groups = document.getElementById("groups");
  var publish = document.getElementById("publish");
  var question = document.getElementById("faq-question");
  var answer = document.getElementById("faq-answer");
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

  function groupRow(group) {
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
    row.appendChild(wording);
    row.appendChild(el("td", String(group.down_votes), "num"));
    var cell = el("td");
    var write = el("button", "Write an answer", "group-answer");
    write.type = "button";
    write.addEventListener("click", function () {
      question.value = group.example;
      $("published").hidden = true;
      status.textContent = "";
      answer.focus();
    });
    cell.appendChild(write);
    row.appendChild(cell);
    return row;
  }

  function render(report) {
    $("logging-off").hidden = report.logging;
    var c = report.counts;
    $("c-questions").textContent = String(c.questions);
    $("c-abstentions").textContent = String(c.abstentions);
    $("c-up").textContent = String(c.thumbs_up);
    $("c-down").textContent = String(c.thumbs_down);
    $("c-latency").textContent = c.p50_latency_ms === null ? "–" : Math.round(c.p50_latency_ms) + " ms";
    groups.textContent = "";
    report.groups.forEach(function (g) { groups.appendChild(groupRow(g)); });
    $("groups-table").hidden = report.groups.length === 0;
    $("no-groups").hidden = report.groups.length !== 0;
    $("more-groups").hidden = !report.more_groups;
    $("more-groups").textContent = report.more_groups ? report.more_groups + " smaller groups are in the CSV." : "";
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
    $("published").hidden = true;
    fetch("/api/staff/publish", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question: question.value, answer: answer.value }),
    })
      .then(json)
      .then(function (result) {
        status.textContent = result.cited
          ? "Published to " + result.source + " under “" + result.question + "”."
          : "Published to " + result.source + ", but this wording still doesn't find it: " +
            "repeat the question's key words in the answer, or edit the file.";
        status.className = result.cited ? "" : "warning";
        var shown = $("published-answer");
        shown.textContent = result.reply.answer;
        shown.className = "ready" + (result.reply.abstained ? " abstained" : "");
        $("published").hidden = false;
        answer.value = "";
        showProblems(result.problems);
      })
      .catch(function (err) { status.textContent = err.message; status.className = "warning"; });
  });

  load();
})();
