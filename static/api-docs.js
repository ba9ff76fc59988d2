// Renders /api/openapi.json as a reference: operations grouped by tag, with their parameters,
// request body and answers. No network beyond the daemon, no framework: it works offline.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function schemaName(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.type === "array" && schema.items) return schemaName(schema.items) + "[]";
  return Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type || "object");
}

function operation(method, path, op) {
  const box = el("section", { class: "op", id: (op.operationId || method + path) });
  box.append(el("h3", {}, el("span", { class: "method" }, method), " ", el("span", { class: "path" }, path)));
  if (op.summary) box.append(el("p", {}, op.summary));
  if (op.description) box.append(el("p", { class: "muted" }, op.description));
  if (op.parameters && op.parameters.length) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "")));
    for (const p of op.parameters) {
      t.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
        el("td", {}, schemaName(p.schema) + (p.required ? "" : " (optional)")), el("td", {}, p.description || "")));
    }
    box.append(t);
  }
  const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  if (body) box.append(el("p", {}, "Body: ", el("code", {}, schemaName(body.schema))));
  const answers = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "answer"), el("th", {}, "body")));
  for (const [status, r] of Object.entries(op.responses || {}).sort()) {
    const content = r.content && Object.values(r.content)[0];
    answers.append(el("tr", {}, el("td", {}, status), el("td", {}, r.description || ""),
      el("td", {}, el("code", {}, content ? schemaName(content.schema) : ""))));
  }
  box.append(answers);
  if (op.security) box.append(el("p", { class: "muted" }, "Needs a bearer token."));
  return box;
}

function schemas(doc) {
  const section = el("section", {}, el("h2", { id: "schemas" }, "Schemas"));
  for (const [name, s] of Object.entries((doc.components && doc.components.schemas) || {})) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "")));
    for (const [field, f] of Object.entries(s.properties || {})) {
      const required = (s.required || []).includes(field);
      t.append(el("tr", {}, el("td", {}, el("code", {}, field)),
        el("td", {}, schemaName(f) + (required ? "" : " (optional)")), el("td", {}, f.description || "")));
    }
    const values = s.enum ? el("p", {}, "One of: ", s.enum.join(", ")) : "";
    section.append(el("div", { class: "op", id: "schema-" + name }, el("h3", {}, name), values, t));
  }
  return section;
}

async function render() {
  const main = document.getElementById("reference");
  try {
    const answer = await fetch("/api/openapi.json");
    const doc = await answer.json();
    main.replaceChildren();
    const byTag = new Map();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push(operation(method, path, op));
      }
    }
    for (const [tag, ops] of byTag) main.append(el("h2", { id: "tag-" + tag }, tag), ...ops);
    main.append(schemas(doc));
  } catch (e) {
    main.replaceChildren(el("p", {}, "Could not load /api/openapi.json: " + e));
  }
}

render();
