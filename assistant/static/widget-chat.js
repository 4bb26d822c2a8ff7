/* The widget's chat page (/widget): asks POST /api/ask and shows the answer with its sources, and thumbs that
 * POST /api/feedback. Everything is inserted as text (textContent), never as HTML.
 * The only id sent is a random conversation id made here, per page load: no cookie, no storage. */
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("question");
  var history = []; // [question, answer] pairs, oldest first
  var busy = false;
  var conversation = randomId();
  var THUMBS = { // Material Design icon paths (Apache 2.0): drawn in SVG, so no emoji font is needed
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59" +
      "C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57" +
      "-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z",
  };

  function randomId() { // works on plain http too, where crypto.randomUUID is missing
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

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

  function thumb(kind, label) {
    var button = el("button", "thumb " + kind);
    button.type = "button";
    button.setAttribute("aria-label", label);
    button.title = label;
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", THUMBS[kind]);
    svg.appendChild(path);
    button.appendChild(svg);
    return button;
  }

  function sendRating(box, askId, rating, comment) {
    box.textContent = "Sending…";
    fetch("/api/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ask_id: askId, rating: rating, comment: comment || "" }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || "Your rating could not be sent.");
        });
      })
      .then(function () { box.textContent = "Thank you for the feedback."; })
      .catch(function (err) { box.textContent = err.message || "Your rating could not be sent."; });
  }

  // Thumbs under an answer: up is sent at once; down first asks, optionally, what was missing.
  function rating(askId) {
    var box = el("div", "rate");
    box.appendChild(el("span", "", "Helpful?"));
    var up = box.appendChild(thumb("up", "Helpful"));
    var down = box.appendChild(thumb("down", "Not helpful"));
    up.addEventListener("click", function () { sendRating(box, askId, 1, ""); });
    down.addEventListener("click", function () {
      box.textContent = "";
      var why = el("form", "why");
      var label = el("label", "hidden", "What was missing? (optional)");
      var comment = el("input");
      comment.id = "why-" + askId;
      label.htmlFor = comment.id;
      comment.type = "text";
      comment.maxLength = 500;
      comment.placeholder = "What was missing? (optional)";
      var send = el("button", "", "Send");
      send.type = "submit";
      why.appendChild(label);
      why.appendChild(comment);
      why.appendChild(send);
      why.addEventListener("submit", function (e) {
        e.preventDefault();
        sendRating(box, askId, -1, comment.value.trim());
      });
      box.appendChild(why);
      comment.focus();
    });
    return box;
  }

  function show(reply, askId) {
    var refused = reply.abstained && reply.kind !== "smalltalk"; // small talk is a reply, not a refusal
    var message = el("li", "msg bot" + (refused ? " abstained" : ""));
    message.appendChild(el("div", "answer", reply.answer));
    if (reply.citations.length) message.appendChild(sources(reply.citations));
    if (askId) message.appendChild(rating(askId)); // no id: the studio has turned the log off
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
      body: JSON.stringify({
        question: question, history: history.slice(-6), conversation: conversation, surface: "widget",
      }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body, askId: response.headers.get("X-Ask-Id") };
        });
      })
      .then(function (result) {
        waiting.remove();
        if (!result.ok) throw new Error(result.body.error || "Something went wrong; please try again.");
        show(result.body, result.askId);
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
  form.querySelector("button[type=submit]").disabled = false; // ready: until now Enter did nothing
})();
