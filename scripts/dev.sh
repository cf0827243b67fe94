#!/usr/bin/env bash
# Runs the Worker under `wrangler dev` (local Durable Objects and KV in .wrangler/state) beside
# the WhatsApp and Shopify simulators, with a demo shop installed, and prints the one link to
# open: a local stand-in for Shopify admin framing the admin page. Ctrl-C stops everything.
set -euo pipefail
dev_port=${1:-8787}
sim_port=${2:-8799}
store_port=${3:-8798}
app_port=${4:-$((store_port - 1))}
state=.wrangler/state
worker="http://127.0.0.1:$dev_port"
meta_secret=$(sed -n 's/^META_APP_SECRET=//p' .dev.vars)

SHOPIFY_SIM_PORT=$store_port APP_PORT=$app_port WORKER_URL=$worker PHONES_URL="http://127.0.0.1:$sim_port/phones" \
  node scripts/shopify-sim.mjs &
children=$!
trap 'kill $children 2>/dev/null || true' EXIT

demo_kv=$(mktemp --suffix=.json)
node scripts/demo-shop.mjs > "$demo_kv"
wrangler kv bulk put "$demo_kv" --binding APP_KV --local --persist-to "$state" >/dev/null
rm -f "$demo_kv"

wrangler dev --ip 127.0.0.1 --port "$dev_port" --persist-to "$state" \
  --var "GRAPH_API_ORIGIN:http://127.0.0.1:$sim_port" \
  --var "SHOPIFY_ADMIN_ORIGIN:http://127.0.0.1:$store_port" \
  --var "APP_URL:$worker" </dev/null &
children="$children $!"

# Once the Worker answers, the demo shop goes through Shopify's managed installation.
(
  until node -e "fetch('$worker/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; do
    sleep 1
  done
  node scripts/demo-install.mjs "$worker"
  echo
  echo "ready: open http://127.0.0.1:$store_port/admin"
  echo "  (the admin page inside a local Shopify admin; from there open the store and the shoppers' phones)"
  echo "  or run 'make demo' in another terminal, and type '+14165550142 <message>' here to reply as the shopper"
) &
children="$children $!"

# The WhatsApp simulator keeps the terminal: what is typed here is the shopper's reply.
WHATSAPP_SIM_PORT=$sim_port WORKER_URL=$worker STORE_URL="http://127.0.0.1:$store_port" META_APP_SECRET=$meta_secret \
  node scripts/whatsapp-sim.mjs
