// Ask a running `policy-engine serve examples/config.json` from Node (18 or later: global fetch).
// Run from the repository's root: node examples/service/evaluate.mjs
import { readFile } from "node:fs/promises";

const base = process.env.BASE_URL ?? "http://127.0.0.1:8080";

async function evaluate(product) {
  const response = await fetch(`${base}/v1/evaluate`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ product, accounts: ["ali-us"], on: "2026-11-23" }),
  });
  return { response, answer: await response.json() };
}

const catalog = await readFile("examples/products.jsonl", "utf8");
const product = JSON.parse(catalog.split("\n")[0]);

const { response, answer } = await evaluate(product);
console.log(`revision ${response.headers.get("policy-engine-revision") === answer.revision}`);
for (const row of answer.accounts) {
  console.log(`${answer.sku} on ${row.account}: ${row.quantity} at ${row.price} ${row.currency}`);
}

// A bad request is a 4xx with every problem and its JSON path.
const bad = await evaluate({ ...product, stock: { qty: "lots" } });
console.log(`status ${bad.response.status}`);
for (const problem of bad.answer.error.problems) console.log(`${problem.message} @ ${problem.path}`);
