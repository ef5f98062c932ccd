#!/usr/bin/env bash
# Renders k8s/overlays/dev and k8s/overlays/prod and validates the result offline, without a
# cluster: Kubernetes API schemas (npm kubernetes-models), unknown fields, and our own policy
# rules (validate/validate.js lists them). Exits non-zero on any problem.
#
# Renderers: the `kubectl` on PATH (or $KUBECTL), and also Debian 12's kubectl 1.20, whose
# kustomize v2.0.3 is the oldest we support; it is fetched once with `apt-get download` into
# ~/.cache/loyalty-k8s when the kubectl on PATH is another version.
# Installs what is missing with apt-get (kubernetes-client, nodejs, npm; run as root on
# Debian 12) and the validator's packages with `npm ci` from validate/package-lock.json.
set -euo pipefail

k8s="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$k8s")"
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/loyalty-k8s"

apt_updated=
apt_update() {
  [ -n "$apt_updated" ] && return
  apt-get update -qq
  apt_updated=1
}
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "validate.sh: needs $*; install it or run as root" >&2
    exit 1
  fi
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

kubectl="${KUBECTL:-kubectl}"
if ! command -v "$kubectl" >/dev/null; then
  apt_install kubernetes-client
  kubectl=kubectl
fi
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm

# Debian's kubectl 1.20, unpacked (not installed: another kubectl may own /usr/bin/kubectl).
renderers=("$kubectl")
if ! "$kubectl" version --client 2>/dev/null | grep -q 'v1\.20\.'; then
  old="$cache/kubectl-1.20/usr/bin/kubectl"
  if [ ! -x "$old" ]; then
    rm -rf "$cache/download"
    mkdir -p "$cache/download"
    fetch() { (cd "$cache/download" && apt-get download -qq kubernetes-client 2>/dev/null); }
    if ! fetch; then
      [ "$(id -u)" = 0 ] && apt_update
      fetch || { echo "validate.sh: cannot apt-get download kubernetes-client (kubectl 1.20)" >&2; exit 1; }
    fi
    deb="$(ls "$cache"/download/kubernetes-client_*.deb)"
    case "$deb" in *_1.20.*) ;; *) echo "validate.sh: expected kubectl 1.20, got $deb" >&2; exit 1 ;; esac
    dpkg-deb -x "$deb" "$cache/kubectl-1.20"
    rm -rf "$cache/download"
  fi
  renderers+=("$old")
fi

# The validator's npm packages, reinstalled whenever package-lock.json changes.
cd "$k8s/validate"
if ! cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json node_modules/.installed-lock
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
args=(--callgraph "$root/docs/operations.md" --tree "$k8s")
for i in "${!renderers[@]}"; do
  r="${renderers[$i]}"
  echo "renderer $i: $r ($("$r" version --client 2>/dev/null | head -n 1 | grep -o 'v1\.[0-9]*\.[0-9]*' | head -n 1))"
  for overlay in dev prod; do
    if ! "$r" kustomize "$k8s/overlays/$overlay" >"$out/$overlay-$i.yaml" 2>"$out/err"; then
      cat "$out/err" >&2
      echo "validate.sh: renderer $i could not render overlays/$overlay" >&2
      exit 1
    fi
    # kustomize v5 warns that bases/patchesStrategicMerge are deprecated: v2.0.3 needs them.
    grep -v "^# Warning: '[A-Za-z0-9]*' is deprecated" "$out/err" >&2 || true
    args+=(--render "$overlay-$i=$out/$overlay-$i.yaml")
  done
  args+=(--min-replicas "prod-$i=2")
done
node "$k8s/validate/validate.js" "${args[@]}"
