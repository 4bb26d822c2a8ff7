/* Renders /api/openapi.json as a plain list of operations: no CDN, text only. */
(function () {
  "use strict";
  var root = document.getElementById("operations");
  function add(parent, tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    parent.appendChild(node);
    return node;
  }
  function resolve(spec, schema) {
    if (schema && schema.$ref) return spec.components.schemas[schema.$ref.split("/").pop()];
    return schema;
  }
  fetch("/api/openapi.json").then(function (r) { return r.json(); }).then(function (spec) {
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var section = add(root, "section");
        add(section, "h2", method.toUpperCase() + " " + path);
        if (op.description || op.summary) add(section, "p", op.description || op.summary);
        (op.parameters || []).forEach(function (p) {
          add(section, "p", "Query parameter " + p.name + (p.required ? " (required)" : "") +
            (p.description ? ": " + p.description : ""));
        });
        var body = op.requestBody && op.requestBody.content["application/json"];
        if (body) {
          add(section, "h3", "Request body");
          add(section, "pre", JSON.stringify(resolve(spec, body.schema), null, 2), "ready");
        }
        add(section, "h3", "Responses");
        var list = add(section, "ul");
        Object.keys(op.responses).forEach(function (code) {
          add(list, "li", code + " " + op.responses[code].description);
        });
      });
    });
  });
})();
