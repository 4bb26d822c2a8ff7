/* Staff view: GET /api/staff/search (the browser resends the staff password it was asked for). Text only, no HTML. */
(function () {
  "use strict";
  var form = document.getElementById("search");
  var status = document.getElementById("status");
  var result = document.getElementById("result");
  var answer = document.getElementById("answer");
  var rows = document.getElementById("passages");
  var copy = document.getElementById("copy");

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
  }

  function render(data) {
    answer.textContent = data.answer.answer;
    answer.className = "ready" + (data.answer.abstained ? " abstained" : "");
    rows.textContent = "";
    data.passages.forEach(function (p, i) {
      var row = document.createElement("tr");
      cell(row, String(i + 1), "num");
      cell(row, p.score.toFixed(3), "num");
      cell(row, p.dense.toFixed(3), "num");
      cell(row, p.keyword.toFixed(3), "num");
      cell(row, p.section || p.source);
      cell(row, p.quote);
      cell(row, p.references.map(function (r) { return r.number + ". " + r.title; }).join("; "));
      rows.appendChild(row);
    });
    result.hidden = false;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    status.textContent = "Searching…";
    fetch("/api/staff/search?" + new URLSearchParams({ q: document.getElementById("q").value, k: "5" }))
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || "Search failed");
          return body;
        });
      })
      .then(function (data) { render(data); status.textContent = ""; })
      .catch(function (err) { status.textContent = err.message; });
  });

  copy.addEventListener("click", function () {
    navigator.clipboard.writeText(answer.textContent).then(
      function () { status.textContent = "Answer copied."; },
      function () { status.textContent = "Copy failed: select the answer and copy it by hand."; }
    );
  });
})();
