#!/bin/sh
# Ask a running `policy-engine serve examples/config.json` with curl (run from the repository's
# root). BASE_URL defaults to the server's default address.
set -eu
BASE_URL="${BASE_URL:-http://127.0.0.1:8080}"

# Is it up, and which configuration does it serve?
curl -sS --fail-with-body "$BASE_URL/healthz"
echo

# One product on one account: quantity, price and images, each with its steps.
printf '{"product": %s, "accounts": ["ali-us"], "on": "2026-11-23"}' \
  "$(head -n 1 examples/products.jsonl)" |
  curl -sS --fail-with-body -H 'Content-Type: application/json' --data-binary @- \
    "$BASE_URL/v1/evaluate" > /dev/null && echo "evaluate: ok"

# A whole catalog as NDJSON: one answer line per product, streamed, in order.
curl -sS --fail-with-body -H 'Content-Type: application/x-ndjson' \
  --data-binary @examples/products.jsonl \
  "$BASE_URL/v1/evaluate/batch?account=ali-us&on=2026-11-23" | head -n 2
