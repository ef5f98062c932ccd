#!/usr/bin/env bash
# Proves that k8s/validate.sh catches what it should. Copies k8s/ and docs/operations.md to a
# temporary directory, breaks the copy in one way at a time, and expects validate.sh to fail
# naming the right rule; the unbroken copy must pass. Exits non-zero if any case goes wrong.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The real tree first: installs the tools and node_modules the copies then share.
if ! bash "$src/k8s/validate.sh" >"$work/log" 2>&1; then
  cat "$work/log"
  echo "selftest: k8s/validate.sh fails on the real tree" >&2
  exit 1
fi

t="$work/tree"
fresh() {
  rm -rf "$t"
  mkdir -p "$t/k8s" "$t/docs"
  tar -C "$src/k8s" --exclude=node_modules -cf - . | tar -C "$t/k8s" -xf -
  ln -s "$src/k8s/validate/node_modules" "$t/k8s/validate/node_modules"
  cp "$src/docs/operations.md" "$t/docs/"
}
# mutate FILE SELECTOR JS: edit one document of k8s/FILE (see validate/mutate.js).
mutate() { node "$src/k8s/validate/mutate.js" "$t/k8s/$1" "$2" "$3"; }

passed=0
failed=0
# expect_fail NAME PATTERN: validate.sh must fail and print PATTERN (an ERE).
expect_fail() {
  if bash "$t/k8s/validate.sh" >"$work/log" 2>&1; then
    echo "FAIL  $1: validation passed on a broken tree"
    failed=$((failed + 1))
  elif ! grep -Eq -- "$2" "$work/log"; then
    echo "FAIL  $1: validation failed, but not with /$2/:"
    sed 's/^/      /' "$work/log"
    failed=$((failed + 1))
  else
    echo "ok    $1: $(grep -E -m1 -- "$2" "$work/log")"
    passed=$((passed + 1))
  fi
}

fresh
if bash "$t/k8s/validate.sh" >"$work/log" 2>&1; then
  echo "ok    unbroken copy passes"
  passed=$((passed + 1))
else
  echo "FAIL  unbroken copy: validation failed"
  cat "$work/log"
  failed=$((failed + 1))
fi

fresh
mutate base/customers.yaml Deployment/loyalty-customers 'c.ports[0].containerPort = "50052"'
expect_fail "wrong type" '\[schema\].*containerPort must be integer'

fresh
mutate base/orders.yaml Deployment/loyalty-orders 'c.imagePullPolcy = "Always"'
expect_fail "unknown field" '\[unknown-field\].*/imagePullPolcy'

fresh
mutate base/points.yaml Deployment/loyalty-points 'delete c.readinessProbe; delete c.livenessProbe'
expect_fail "container without probes" '\[probes\].*missing readinessProbe'

fresh
mutate base/recommendations.yaml Deployment/loyalty-recommendations 'delete c.resources.limits'
expect_fail "container without limits" '\[resources\].*missing resources\.limits'

fresh
mutate base/kustomization.yaml - 'o.resources = o.resources.filter((r) => r !== "default-deny.yaml")'
expect_fail "default-deny policy removed" '\[default-deny\]'

fresh
mutate base/default-deny.yaml NetworkPolicy/default-deny 'o.spec.policyTypes = ["Ingress"]'
expect_fail "default-deny without Egress" '\[default-deny\]'

fresh
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\ndata:\n  token: c2VjcmV0\n' >"$t/k8s/base/leaked.yaml"
mutate base/kustomization.yaml - 'o.resources.push("leaked.yaml")'
expect_fail "Secret with data" '\[secret-data\] dev-0/Secret/leaked'

fresh
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: stray\nstringData:\n  token: secret\n' >"$t/k8s/overlays/dev/stray.yaml"
expect_fail "Secret with data in an unused file" '\[secret-data\].*stray\.yaml'

fresh
mutate base/gateway.yaml Deployment/loyalty-gateway \
  'c.env = c.env.map((e) => e.name === "LOYALTY_INTERNAL_TOKEN" ? {name: e.name, value: "0123456789abcdef"} : e)'
expect_fail "secret set by value" '\[secret-ref\].*LOYALTY_INTERNAL_TOKEN'

fresh
mutate base/orders.yaml Deployment/loyalty-orders 'c.securityContext.runAsNonRoot = false'
expect_fail "root allowed" '\[security\].*runAsNonRoot'

fresh
mutate base/customers.yaml Deployment/loyalty-customers 'o.spec.template.spec.automountServiceAccountToken = true'
expect_fail "service-account token mounted" '\[security\].*automountServiceAccountToken'

fresh
mutate base/points.yaml Deployment/loyalty-points 'o.spec.template.spec.terminationGracePeriodSeconds = 12'
expect_fail "grace period shorter than the drain" '\[grace\]'

fresh
mutate base/networkpolicy.yaml NetworkPolicy/loyalty-customers \
  'o.spec.egress = [{to: [{podSelector: {matchLabels: {"app.kubernetes.io/name": "loyalty-points"}}}], ports: [{protocol: "TCP", port: 50054}]}]'
mutate base/networkpolicy.yaml NetworkPolicy/loyalty-points \
  'o.spec.ingress[0].from.push({podSelector: {matchLabels: {"app.kubernetes.io/name": "loyalty-customers"}}})'
expect_fail "network path outside the call graph" '\[callgraph\].*customers -> points is open'

fresh
sed -i '/^points -> orders, customers$/d' "$t/docs/operations.md"
expect_fail "call graph edge removed from the docs" '\[callgraph\].*points -> orders is open'

fresh
mutate base/kustomization.yaml - \
  'o.configMapGenerator.find((g) => g.name === "loyalty-gateway").literals = o.configMapGenerator.find((g) => g.name === "loyalty-gateway").literals.filter((l) => !l.startsWith("LOYALTY_CHECKOUT_ADDR="))'
expect_fail "caller without the callee's address" '\[callgraph\].*gateway calls checkout: LOYALTY_CHECKOUT_ADDR'

fresh
mutate overlays/prod/replicas.yaml Deployment/loyalty-orders 'o.spec.replicas = 1'
expect_fail "prod with one replica" '\[replicas\].*prod-0/Deployment/loyalty-orders'

echo "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
