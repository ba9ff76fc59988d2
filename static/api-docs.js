// Renders /api/openapi.json as a reference: a contents list, operations grouped by tag with
// their parameters, the fields of their request body and their answers, then every schema.
// Composed schemas (allOf) show the fields of all their parts. No network beyond the daemon,
// no framework: it works offline.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// Descriptions come from the code's comments: `text` in backticks is code, and the code's
// "no value" (None) is JSON's null.
function prose(text) {
  const p = document.createDocumentFragment();
  String(text || "").split("`").forEach((part, i) => {
    if (i % 2 === 0) p.append(part.replace(/\bNone\b/g, "null"));
    else p.append(el("code", {}, part === "None" ? "null" : part));
  });
  return p;
}

let doc = { components: { schemas: {} } };

function refName(ref) {
  return ref.split("/").pop();
}

function resolve(schema) {
  return schema && schema.$ref ? (doc.components.schemas[refName(schema.$ref)] || {}) : (schema || {});
}

// A type for people, with a link to a named schema.
function typeOf(schema) {
  if (!schema) return "";
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return el("a", { href: "#schema-" + name }, name);
  }
  const parts = schema.oneOf || schema.anyOf;
  if (parts) {
    const out = document.createDocumentFragment();
    parts.forEach((s, i) => { if (i) out.append(" | "); out.append(typeOf(s)); });
    return out;
  }
  if (schema.allOf && schema.allOf.length === 1) return typeOf(schema.allOf[0]);
  if (schema.type === "array" && schema.items) {
    const out = document.createDocumentFragment();
    out.append(typeOf(schema.items), "[]");
    return out;
  }
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type || "object");
  return schema.enum ? `${type}: ${schema.enum.join(", ")}` : type;
}

// Every field of a schema, its allOf parts' included: [name, schema, required].
function fields(schema, seen = new Set()) {
  const s = resolve(schema);
  if (schema && schema.$ref) {
    if (seen.has(schema.$ref)) return [];
    seen.add(schema.$ref);
  }
  const out = [];
  for (const part of s.allOf || []) out.push(...fields(part, seen));
  for (const [name, f] of Object.entries(s.properties || {})) {
    out.push([name, f, (s.required || []).includes(name)]);
  }
  return out;
}

function fieldTable(schema) {
  const list = fields(schema);
  if (!list.length) return null;
  const t = el("table", { class: "fields" }, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "")));
  for (const [name, f, required] of list) {
    const type = el("td", {}, typeOf(f));
    if (!required) type.append(" (optional)");
    t.append(el("tr", {}, el("td", {}, el("code", {}, name)), type, el("td", {}, prose(f.description))));
  }
  return t;
}

function operation(method, path, op) {
  const id = op.operationId || (method + path).replace(/[^a-z0-9]+/gi, "-");
  const box = el("section", { class: "op", id });
  box.append(el("h3", {}, el("span", { class: "method" }, method), " ", el("span", { class: "path" }, path)));
  if (op.summary) box.append(el("p", {}, prose(op.summary)));
  if (op.description) box.append(el("p", { class: "muted" }, prose(op.description)));
  if (op.parameters && op.parameters.length) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "")));
    for (const p of op.parameters) {
      const type = el("td", {}, typeOf(p.schema));
      if (!p.required) type.append(" (optional)");
      t.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), type, el("td", {}, prose(p.description))));
    }
    box.append(t);
  }
  const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  if (body) {
    box.append(el("p", {}, "Body: ", typeOf(body.schema)));
    const t = fieldTable(body.schema);
    if (t) box.append(t);
  }
  const answers = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "answer"), el("th", {}, "body")));
  for (const [status, r] of Object.entries(op.responses || {}).sort()) {
    const content = r.content && Object.values(r.content)[0];
    answers.append(el("tr", {}, el("td", {}, status), el("td", {}, prose(r.description)),
      el("td", {}, content ? typeOf(content.schema) : "")));
  }
  box.append(answers);
  if (op.security) box.append(el("p", { class: "muted" }, "Needs a bearer token."));
  return box;
}

function schemas() {
  const section = el("section", {}, el("h2", { id: "schemas" }, "Schemas"));
  for (const [name, s] of Object.entries(doc.components.schemas || {})) {
    const box = el("div", { class: "op", id: "schema-" + name }, el("h3", {}, name));
    if (s.description) box.append(el("p", { class: "muted" }, prose(s.description)));
    if (s.enum) box.append(el("p", {}, "One of: ", s.enum.join(", ")));
    const variants = s.oneOf || s.anyOf;
    if (variants && !s.properties) {
      box.append(el("p", {}, "One of: ", typeOf(s)));
    }
    const t = fieldTable({ $ref: "#/components/schemas/" + name });
    if (t) box.append(t);
    section.append(box);
  }
  return section;
}

async function render() {
  const main = document.getElementById("reference");
  try {
    const answer = await fetch("/api/openapi.json");
    doc = await answer.json();
    doc.components = doc.components || { schemas: {} };
    main.replaceChildren();
    const byTag = new Map();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([method, path, op]);
      }
    }
    // Contents: each group and its operations, then the schemas.
    const contents = el("nav", { class: "contents", id: "contents", "aria-label": "Contents" }, el("h2", {}, "Contents"));
    const list = el("ul", {});
    for (const [tag, ops] of byTag) {
      const inner = el("ul", {});
      for (const [method, path, op] of ops) {
        const id = op.operationId || (method + path).replace(/[^a-z0-9]+/gi, "-");
        inner.append(el("li", {}, el("a", { href: "#" + id }, method.toUpperCase() + " " + path)));
      }
      list.append(el("li", {}, el("a", { href: "#tag-" + tag }, tag), inner));
    }
    list.append(el("li", {}, el("a", { href: "#schemas" }, "Schemas")));
    contents.append(list);
    main.append(contents);
    for (const [tag, ops] of byTag) {
      main.append(el("h2", { id: "tag-" + tag }, tag), ...ops.map(([m, p, op]) => operation(m, p, op)));
    }
    main.append(schemas());
  } catch (e) {
    main.replaceChildren(el("p", {}, "Could not load /api/openapi.json: " + e));
  }
}

render();
