/* Staff view: the trend chart, drawn as inline SVG from the report's per-day counts (no library, no CDN).
 * Stacked bars per day: answered (green) under referred (amber); a red ▼ above a day with thumbs down. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 720, H = 200, LEFT = 34, BOTTOM = 22, TOP = 16;

  function node(tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function draw(box, days) {
    box.textContent = "";
    var svg = node("svg", { viewBox: "0 0 " + W + " " + H, role: "img", id: "trend-svg" });
    var total = days.reduce(function (a, d) { return a + d.answered + d.referred; }, 0);
    svg.appendChild(node("title", {}, "Questions per day: " + total + " in " + days.length + " days"));
    var max = Math.max(1, Math.max.apply(null, days.map(function (d) { return d.answered + d.referred; })));
    var plotH = H - TOP - BOTTOM, step = (W - LEFT - 4) / Math.max(1, days.length);
    var bar = Math.max(1, step * 0.7);
    var y = function (v) { return TOP + plotH - (v / max) * plotH; };
    svg.appendChild(node("line", { x1: LEFT, y1: y(0), x2: W - 2, y2: y(0), stroke: "#c9c3b8" }));
    svg.appendChild(node("text", { x: LEFT - 4, y: y(max) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6763" }, String(max)));
    svg.appendChild(node("text", { x: LEFT - 4, y: y(0), "text-anchor": "end", "font-size": 11, fill: "#5b6763" }, "0"));
    days.forEach(function (d, i) {
      var x = LEFT + i * step + (step - bar) / 2;
      var g = node("g", { "class": "day", "data-date": d.date });
      g.appendChild(node("title", {}, d.date + ": " + d.answered + " answered, " + d.referred + " referred, " +
        d.down + " thumbs down"));
      if (d.answered) {
        g.appendChild(node("rect", { "class": "answered", x: x, y: y(d.answered), width: bar, height: y(0) - y(d.answered), fill: "#2f6f62" }));
      }
      if (d.referred) {
        var top = d.answered + d.referred;
        g.appendChild(node("rect", { "class": "referred", x: x, y: y(top), width: bar, height: y(d.answered) - y(top), fill: "#e0a93b" }));
      }
      if (d.down) {
        g.appendChild(node("text", { "class": "down", x: x + bar / 2, y: y(d.answered + d.referred) - 3, "text-anchor": "middle", "font-size": 11, fill: "#b3261e" }, "▼" + (d.down > 1 ? d.down : "")));
      }
      svg.appendChild(g);
    });
    var label = function (i, anchor) {
      svg.appendChild(node("text", { x: LEFT + i * step + step / 2, y: H - 6, "text-anchor": anchor, "font-size": 11, fill: "#5b6763" }, days[i].date));
    };
    if (days.length) label(0, "start");
    if (days.length > 1) label(days.length - 1, "end");
    box.appendChild(svg);
  }

  window.StaffChart = { draw: draw };
})();
