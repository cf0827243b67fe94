#!/usr/bin/env bash
# Prints a .dev.vars with fresh random secrets for local development.
set -euo pipefail
rand() { head -c "$1" /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_'; }
cat <<VARS
SHOPIFY_API_KEY=$(rand 16)
SHOPIFY_API_SECRET=$(rand 32)
META_APP_SECRET=$(rand 32)
WHATSAPP_VERIFY_TOKEN=$(rand 24)
DATA_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
VARS
