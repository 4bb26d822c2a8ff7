/* Massage studio assistant: the snippet studios paste into their pages.
 *   <script src="http://YOUR-ASSISTANT:7860/widget.js" data-title="Ask our massage guide" defer></script>
 * Adds a chat bubble; clicking it opens the assistant's own chat page (/widget) in a panel.
 * Everything it needs comes from the app that serves this file: no CDN. The app must list the page's
 * origin in MASSAGE_ALLOWED_ORIGINS, or the browser refuses to show the panel. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__massageAssistantWidget) return;
  window.__massageAssistantWidget = true;
  var base = (script.getAttribute("data-server") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var title = script.getAttribute("data-title") || "Ask our massage guide";

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "/widget.css";
  document.head.appendChild(css);

  var bubble = document.createElement("button");
  bubble.type = "button";
  bubble.className = "massage-assistant-bubble";
  bubble.setAttribute("aria-label", title);
  bubble.setAttribute("aria-expanded", "false");
  bubble.appendChild(icon());
  var label = document.createElement("span");
  label.className = "massage-assistant-label";
  label.textContent = title;
  bubble.appendChild(label);

  var panel = document.createElement("div");
  panel.className = "massage-assistant-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  panel.hidden = true;
  var bar = document.createElement("div");
  bar.className = "massage-assistant-bar";
  var heading = document.createElement("span");
  heading.textContent = title;
  var close = document.createElement("button");
  close.type = "button";
  close.className = "massage-assistant-close";
  close.setAttribute("aria-label", "Close");
  close.textContent = "\u00D7";
  bar.appendChild(heading);
  bar.appendChild(close);
  panel.appendChild(bar);

  function icon() { // a speech balloon drawn in SVG: no emoji font needed
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  var frame = null;
  function toggle(open) {
    if (open && !frame) { // load the chat only when someone opens it
      frame = document.createElement("iframe");
      frame.className = "massage-assistant-frame";
      frame.title = title;
      frame.src = base + "/widget";
      panel.appendChild(frame);
    }
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
  }
  bubble.addEventListener("click", function () { toggle(panel.hidden); });
  close.addEventListener("click", function () { toggle(false); bubble.focus(); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) toggle(false); });

  function mount() { document.body.appendChild(panel); document.body.appendChild(bubble); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
