#!/usr/bin/env bash
# Creates the Secret loyalty-secrets for the dev overlay with random values, once: Postgres
# keeps the first password it was initialised with, so an existing Secret is left alone.
# Nothing is written to git or shown on a command line. Usage: ./create-secrets.sh [namespace]
set -euo pipefail
ns="${1:-loyalty-dev}"
if kubectl get secret loyalty-secrets -n "$ns" >/dev/null 2>&1; then
  echo "secret loyalty-secrets already exists in $ns; delete it and the postgres volume to start over"
  exit 0
fi
rand() { od -An -N20 -tx1 /dev/urandom | tr -d ' \n'; }  # 40 hex characters
umask 077
env_file="$(mktemp)"
trap 'rm -f "$env_file"' EXIT
pw="$(rand)"
cat >"$env_file" <<EOT
postgres-password=$pw
database-url=postgresql://loyalty:$pw@postgres:5432/loyalty
internal-token=$(rand)
operator-token=$(rand)
EOT
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
kubectl create secret generic loyalty-secrets -n "$ns" --from-env-file="$env_file"
echo "created secret loyalty-secrets in $ns"
