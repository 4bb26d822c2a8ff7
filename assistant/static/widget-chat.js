/* The widget's chat page (/widget): asks POST /api/ask and shows the answer with its sources.
 * Everything is inserted as text (textContent), never as HTML. */
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("question");
  var history = []; // [question, answer] pairs, oldest first
  var busy = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function add(node) {
    log.appendChild(node);
    node.scrollIntoView({ block: "end" });
    return node;
  }

  function sources(citations) {
    var details = el("details", "sources");
    details.appendChild(el("summary", "", "Sources (" + citations.length + ")"));
    var list = el("ol");
    citations.forEach(function (c) {
      var item = el("li");
      item.appendChild(el("strong", "section", c.section || c.source));
      item.appendChild(el("blockquote", "", c.text));
      if (c.references.length) {
        item.appendChild(el("p", "studies", "Studies: " + c.references.map(function (r) {
          return r.number + ". " + r.title;
        }).join("; ")));
      }
      list.appendChild(item);
    });
    details.appendChild(list);
    return details;
  }

  function show(reply) {
    var message = el("li", "msg bot" + (reply.abstained ? " abstained" : ""));
    message.appendChild(el("div", "answer", reply.answer));
    if (reply.citations.length) message.appendChild(sources(reply.citations));
    add(message);
  }

  function ask(question) {
    question = question.trim();
    if (!question || busy) return;
    busy = true;
    document.getElementById("examples").hidden = true;
    add(el("li", "msg user", question));
    var waiting = add(el("li", "msg bot waiting", "…"));
    fetch("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question: question, history: history.slice(-6) }),
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        waiting.remove();
        if (!result.ok) throw new Error(result.body.error || "Something went wrong; please try again.");
        show(result.body);
        history.push([question, result.body.answer]);
      })
      .catch(function (err) {
        waiting.remove();
        add(el("li", "msg bot error", err.message || "The assistant can't be reached; please try again."));
      })
      .finally(function () { busy = false; input.focus(); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var question = input.value;
    input.value = "";
    ask(question);
  });
  document.getElementById("examples").addEventListener("click", function (e) {
    if (e.target.tagName === "BUTTON") ask(e.target.textContent);
  });
})();
