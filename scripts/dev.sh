#!/usr/bin/env bash
# Runs the Worker under `wrangler dev` (local Durable Objects and KV in .wrangler/state) beside
# the WhatsApp simulator, with a demo shop installed. Ctrl-C stops both.
set -euo pipefail
dev_port=${1:-8787}
sim_port=${2:-8799}
state=.wrangler/state
demo_shop=cartback-demo.myshopify.com

WHATSAPP_SIM_PORT=$sim_port node scripts/whatsapp-sim.mjs &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT

kv_put() { wrangler kv key put --binding APP_KV --local --persist-to "$state" "$1" "$2" >/dev/null; }
kv_put "shop:$demo_shop" "$(node scripts/demo-shop.mjs record)"
kv_put "playbook:$demo_shop" "$(node scripts/demo-shop.mjs playbook)"
echo "demo shop $demo_shop installed; run 'make demo' in another terminal to abandon a checkout"

wrangler dev --ip 127.0.0.1 --port "$dev_port" --persist-to "$state" \
  --var "GRAPH_API_ORIGIN:http://127.0.0.1:$sim_port" \
  --var "APP_URL:http://127.0.0.1:$dev_port"
