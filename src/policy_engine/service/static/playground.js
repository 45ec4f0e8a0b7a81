// The policy_engine playground: plain JavaScript, no build step, no third-party code.
// It edits a configuration (checked as you type against the served JSON Schema, then by the
// service), evaluates a demo store product on every account, draws the quantity curve of an
// inventory policy and previews what the edit changes. Nothing is stored on the server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { schema: null, demo: null, served: null, config: null, timer: null, seq: 0, curvePicked: false };

// ------------------------------------------------------------------------------ JSON Schema
// A small validator for the keywords the library's schemas use (draft 2020-12 subset).

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(value, type) {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

function childPath(path, key) {
  return typeof key === "number" ? `${path}[${key}]`
    : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function resolve(root, ref) {
  let node = root;
  for (const part of ref.replace(/^#\//, "").split("/")) node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return node;
}

const patterns = new Map();
function pattern(source) {
  if (!patterns.has(source)) {
    let compiled = null;
    try { compiled = new RegExp(source, "u"); } catch (error) { compiled = null; }
    patterns.set(source, compiled);
  }
  return patterns.get(source);
}

function shown(value) {
  const text = JSON.stringify(value);
  return text.length > 40 ? text.slice(0, 37) + "…" : text;
}

function validate(root, schema, value, path, errors) {
  if (schema === true || schema === undefined) return;
  if (schema === false) { errors.push([path, "no value is allowed here"]); return; }
  if (schema.$ref) validate(root, resolve(root, schema.$ref), value, path, errors);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((type) => typeMatches(value, type))) {
      errors.push([path, `expected ${types.join(" or ")}, got ${typeOf(value)} ${shown(value)}`]);
      return;
    }
  }
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    errors.push([path, `must be ${shown(schema.const)}`]);
  }
  if (schema.enum && !schema.enum.some((item) => JSON.stringify(item) === JSON.stringify(value))) {
    errors.push([path, `must be one of ${schema.enum.map(shown).join(", ")} (got ${shown(value)})`]);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push([path, `must be >= ${schema.minimum} (got ${value})`]);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push([path, `must be <= ${schema.maximum} (got ${value})`]);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) errors.push([path, `must be > ${schema.exclusiveMinimum} (got ${value})`]);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) errors.push([path, `must be < ${schema.exclusiveMaximum} (got ${value})`]);
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) errors.push([path, `must be at least ${schema.minLength} characters`]);
    if (schema.maxLength !== undefined && length > schema.maxLength) errors.push([path, `must be at most ${schema.maxLength} characters`]);
    const regex = schema.pattern ? pattern(schema.pattern) : null;
    if (regex && !regex.test(value)) errors.push([path, `${shown(value)} does not have the expected form`]);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push([path, `must have at least ${schema.minItems} items`]);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push([path, `must have at most ${schema.maxItems} items`]);
    if (schema.items !== undefined) value.forEach((item, index) => validate(root, schema.items, item, childPath(path, index), errors));
  }
  if (typeOf(value) === "object") {
    const keys = Object.keys(value);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) errors.push([path, `must have at least ${schema.minProperties} entries`]);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) errors.push([path, `must have at most ${schema.maxProperties} entries`]);
    for (const name of schema.required || []) {
      if (!(name in value)) errors.push([childPath(path, name), "required field missing"]);
    }
    const properties = schema.properties || {};
    for (const key of keys) {
      if (schema.propertyNames) validate(root, schema.propertyNames, key, childPath(path, key), errors);
      if (key in properties) validate(root, properties[key], value[key], childPath(path, key), errors);
      else if (schema.additionalProperties === false) errors.push([childPath(path, key), "unknown field"]);
      else if (schema.additionalProperties !== undefined) validate(root, schema.additionalProperties, value[key], childPath(path, key), errors);
    }
  }
  for (const part of schema.allOf || []) validate(root, part, value, path, errors);
  for (const [keyword, wanted] of [["anyOf", "any"], ["oneOf", "one"]]) {
    if (!schema[keyword]) continue;
    const results = schema[keyword].map((part) => { const found = []; validate(root, part, value, path, found); return found; });
    const passing = results.filter((found) => found.length === 0).length;
    if (passing === 0) errors.push(...closest(results, path));
    else if (wanted === "one" && passing > 1) errors.push([path, "matches more than one of the allowed forms"]);
  }
  if (schema.not) {
    const found = [];
    validate(root, schema.not, value, path, found);
    if (found.length === 0) errors.push([path, schema.not.description || "has a form that is not allowed"]);
  }
  if (schema.if) {
    const found = [];
    validate(root, schema.if, value, path, found);
    if (found.length === 0 && schema.then) validate(root, schema.then, value, path, errors);
    if (found.length > 0 && schema.else) validate(root, schema.else, value, path, errors);
  }
}

// Of the branches of an anyOf/oneOf that all failed, the one the value came closest to: the
// fewest problems at the value itself (a type mismatch), then the fewest problems in all.
function closest(results, path) {
  const score = (found) => [found.filter(([where]) => where === path).length, found.length];
  return results.reduce((best, found) => {
    const [a, b] = score(found), [c, d] = score(best);
    return a < c || (a === c && b < d) ? found : best;
  });
}

// ----------------------------------------------------------------------------------- service

async function call(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  return { ok: response.ok, status: response.status, data };
}

function problems(data) {
  return (data.error && data.error.problems || []).map((problem) => [problem.path, problem.message]);
}

function showErrors(list, items) {
  list.replaceChildren(...items.map(([path, message]) => {
    const item = document.createElement("li");
    item.textContent = `${message} @ ${path}`;
    return item;
  }));
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

// ------------------------------------------------------------------------------ the editor

function setStatus(text, good) {
  const status = $("config-status");
  status.textContent = text;
  status.className = good ? "ok" : "bad";
}

function scheduleCheck() {
  clearTimeout(state.timer);
  state.timer = setTimeout(checkConfig, 250);
}

async function checkConfig() {
  const text = $("config").value;
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    setStatus("not JSON", false);
    showErrors($("config-errors"), [["$", `invalid JSON: ${error.message}`]]);
    return;
  }
  const errors = [];
  validate(state.schema, state.schema, data, "$", errors);
  if (errors.length) {
    setStatus(`${errors.length} problem${errors.length === 1 ? "" : "s"} (JSON Schema)`, false);
    showErrors($("config-errors"), errors);
    return;
  }
  // The schema cannot check references between sections: the service has the last word.
  const seq = ++state.seq;
  const answer = await call("/v1/lint", { config: data });
  if (seq !== state.seq) return;
  if (!answer.ok) {
    // The service names the request's field: $.config.x is the editor's $.x.
    const found = problems(answer.data).map(([path, message]) => [path.replace(/^\$\.config(?=[.[]|$)/, "$"), message]);
    setStatus(`${found.length} problem${found.length === 1 ? "" : "s"}`, false);
    showErrors($("config-errors"), found);
    return;
  }
  const warnings = answer.data.warnings.map((warning) => [warning.path, `warning: ${warning.message} [${warning.code}]`]);
  setStatus(`valid · ${warnings.length} warning${warnings.length === 1 ? "" : "s"}`, true);
  showErrors($("config-errors"), warnings);
  $("edited-revision").textContent = answer.data.revision;
  state.config = data;
  fillPolicies();
  await Promise.all([evaluate(), drawCurve(), preview()]);
}

// ----------------------------------------------------------------------------- evaluation

function chosenItem() {
  const text = $("product-json").value;
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    showErrors($("product-errors"), [["$", `invalid JSON: ${error.message}`]]);
    return null;
  }
  showErrors($("product-errors"), []);
  return "parent" in data ? { family: data } : { product: data };
}

function syncText(decision) {
  const fields = (decision.fields || []).slice().sort().join(", ") || "nothing";
  return `${decision.action}: ${fields}`;
}

async function evaluate() {
  if (!state.config) return;
  const item = chosenItem();
  if (!item) return;
  const request = { ...item, config: state.config };
  if ($("on").value) request.on = $("on").value;
  const answer = await call("/v1/explain", request);
  const body = $("results").querySelector("tbody");
  const explanations = $("explanations");
  if (!answer.ok) {
    showErrors($("product-errors"), problems(answer.data));
    body.replaceChildren();
    explanations.replaceChildren();
    return;
  }
  const rows = [], blocks = [];
  for (const entry of answer.data.accounts) {
    const outcome = entry.outcome;
    const row = document.createElement("tr");
    row.dataset.account = entry.account;
    cell(row, entry.account);
    cell(row, outcome.template ?? "—");
    const quantity = typeof outcome.quantity === "object" && outcome.quantity !== null
      ? `${outcome.quantity.quantity} (${outcome.quantity.rule})` : outcome.quantity ?? "—";
    cell(row, String(quantity), "quantity");
    cell(row, outcome.price ? `${outcome.price.amount} ${outcome.price.currency}` : "—", "price");
    cell(row, outcome.images ? outcome.images.images.join(", ") || "none" : "—", "images");
    cell(row, syncText(entry.sync), "sync");
    rows.push(row);
    const block = document.createElement("div");
    const title = document.createElement("h3");
    title.textContent = `Why, on ${entry.account}`;
    const list = document.createElement("ol");
    list.className = "steps";
    for (const step of entry.explanation) {
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = `${step.part} · ${step.code}`;
      item.append(code, ` ${step.message}`);
      list.appendChild(item);
    }
    block.append(title, list);
    blocks.push(block);
  }
  body.replaceChildren(...rows);
  explanations.replaceChildren(...blocks);
  // Until a policy is picked by hand, the curve follows the first account's template.
  const first = answer.data.accounts[0];
  const template = first && (state.config.templates || []).find((item) => item.id === first.outcome.template);
  if (!state.curvePicked && template && template.inventory_policy !== $("curve-policy").value) {
    $("curve-policy").value = template.inventory_policy;
    drawCurve();
  }
}

// ---------------------------------------------------------------------------------- curve

function fillPolicies() {
  const select = $("curve-policy");
  const chosen = select.value;
  const ids = Object.keys(state.config.inventory_policies || {});
  select.replaceChildren(...ids.map((id) => new Option(id, id)));
  if (ids.includes(chosen)) select.value = chosen;
}

async function drawCurve() {
  const policy = $("curve-policy").value;
  const target = $("curve");
  if (!policy || !state.config) { target.replaceChildren(); return; }
  const maximum = Math.max(1, Math.min(10000, Number($("curve-max").value) || 40));
  const answer = await call("/v1/quantity_curve", { policy, max: maximum, config: state.config });
  if (!answer.ok) { target.textContent = problems(answer.data).map(([p, m]) => `${m} @ ${p}`).join("; "); return; }
  target.replaceChildren(chart(answer.data.points));
}

function chart(points) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 520, height = 240, left = 40, bottom = 28, top = 10, right = 10;
  const maxX = Math.max(1, ...points.map((point) => point.store_quantity));
  const maxY = Math.max(1, ...points.map((point) => point.quantity));
  const x = (value) => left + (value / maxX) * (width - left - right);
  const y = (value) => height - bottom - (value / maxY) * (height - bottom - top);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "listed quantity by store quantity");
  const add = (name, attributes, text) => {
    const node = document.createElementNS(ns, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  };
  add("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom });
  add("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom });
  add("text", { x: left, y: height - 8 }, "0");
  add("text", { x: width - right - 30, y: height - 8 }, `store ${maxX}`);
  add("text", { x: 2, y: top + 8 }, String(maxY));
  // A step line: each store quantity lists one quantity until the next.
  let d = "";
  points.forEach((point, index) => {
    const next = index + 1 < points.length ? points[index + 1].store_quantity : point.store_quantity + 1;
    d += `${index ? "L" : "M"}${x(point.store_quantity).toFixed(1)},${y(point.quantity).toFixed(1)}`;
    d += `L${x(Math.min(next, maxX)).toFixed(1)},${y(point.quantity).toFixed(1)}`;
  });
  const path = add("path", { class: "line", d });
  path.dataset.points = String(points.length);
  return svg;
}

// -------------------------------------------------------------------------------- preview

function brief(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "object") return String(value);
  if ("quantity" in value && "rule" in value) return `${value.quantity} [${value.rule}]`;
  if ("amount" in value) return `${value.amount} ${value.currency}`;
  if ("error" in value) return `error ${value.error}`;
  return JSON.stringify(value);
}

async function preview() {
  if (!state.config || !state.demo) return;
  const request = { config: state.config, products: state.demo.products, families: state.demo.families };
  if ($("on").value) request.on = $("on").value;
  const answer = await call("/v1/preview", request);
  const body = $("preview").querySelector("tbody");
  if (!answer.ok) { $("preview-status").textContent = "—"; body.replaceChildren(); return; }
  const changes = answer.data.changes;
  $("preview-status").textContent = changes.length
    ? `${changes.length} change${changes.length === 1 ? "" : "s"} against the served configuration`
    : "no listing changes against the served configuration";
  body.replaceChildren(...changes.map((change) => {
    const row = document.createElement("tr");
    for (const text of [change.sku, change.account, change.what, brief(change.before), brief(change.after)]) cell(row, text);
    return row;
  }));
}

// ---------------------------------------------------------------------------------- start

function chooseProduct() {
  const [kind, sku] = $("product").value.split(":");
  const list = kind === "family" ? state.demo.families : state.demo.products;
  const found = list.find((item) => (kind === "family" ? item.parent.sku : item.sku) === sku);
  $("product-json").value = JSON.stringify(found, null, 2);
  evaluate();
}

function setConfig(config) {
  $("config").value = JSON.stringify(config, null, 2);
  checkConfig();
}

async function start() {
  const [schema, demo, served] = await Promise.all([call("/v1/schema"), call("/v1/demo"), call("/v1/config")]);
  state.schema = schema.data;
  state.demo = demo.data;
  state.served = served.data.config;
  $("served-revision").textContent = served.data.revision;
  $("on").value = demo.data.today;
  const options = demo.data.products.map((product) => new Option(`${product.sku} · ${product.name}`, `product:${product.sku}`));
  options.push(...demo.data.families.map((family) => new Option(`${family.parent.sku} · ${family.parent.name} (family)`, `family:${family.parent.sku}`)));
  $("product").replaceChildren(...options);
  $("product").addEventListener("change", chooseProduct);
  $("product-json").addEventListener("input", () => { clearTimeout(state.timer); state.timer = setTimeout(evaluate, 250); });
  $("on").addEventListener("change", () => { evaluate(); preview(); });
  $("config").addEventListener("input", scheduleCheck);
  $("curve-policy").addEventListener("change", () => { state.curvePicked = true; drawCurve(); });
  $("curve-max").addEventListener("change", drawCurve);
  $("reset-served").addEventListener("click", () => setConfig(state.served));
  $("reset-demo").addEventListener("click", () => setConfig(state.demo.config));
  const first = demo.data.products[0];
  $("product-json").value = JSON.stringify(first, null, 2);
  setConfig(state.served);
}

start();
