#!/usr/bin/env bash
# make-secrets.sh CC PKI_DIR: creates (or replaces) the Secrets of the CC
# node in namespace contigo-<cc>, from files that never enter the
# repository:
#   PKI_DIR        output of "contigo federation init PKI_DIR --countries CO,EC,PE
#                  --hosts peer.co.contigo.example,peer.ec.contigo.example,peer.pe.contigo.example"
#                  (run once for the region, on an offline machine; keep ca-key safe)
#   contigo-signing-key  a new random key unless the Secret exists (it keys the
#                        pseudonyms of nutrition alerts: never rotated casually)
#   contigo-token-keys   a first token key unless the Secret exists (rotation:
#                        docs/operations.md)
#   contigo-mongodb      keyfile and passwords, new unless the Secret exists
# The ingress certificate (contigo-tls) comes from your CA or cert-manager.
set -euo pipefail
cc=${1:?usage: make-secrets.sh CC PKI_DIR}
pki=${2:?usage: make-secrets.sh CC PKI_DIR}
cc=$(printf '%s' "$cc" | tr '[:upper:]' '[:lower:]')
ns=contigo-$cc
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
apply() { kubectl -n "$ns" create secret generic "$@" --dry-run=client -o yaml | kubectl apply -f -; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

apply contigo-federation \
  --from-file=peers.json="$pki/$cc-peers.json" --from-file=ca.pem="$pki/ca.pem" \
  --from-file="$cc-node.pem=$pki/$cc-node.pem" --from-file="$cc-node-key.pem=$pki/$cc-node-key.pem"

if ! kubectl -n "$ns" get secret contigo-signing-key >/dev/null 2>&1; then
  head -c 32 /dev/urandom | base64 > "$tmp/signing.key"
  apply contigo-signing-key --from-file=signing.key="$tmp/signing.key"
fi

# Token keys (serve --signing-keys-dir): the newest *.key signs, *.next are
# accepted only. The first key is made here; rotate with the steps of
# docs/operations.md ("Key and certificate rotation").
if ! kubectl -n "$ns" get secret contigo-token-keys >/dev/null 2>&1; then
  first="$(date -u +%Y-%m-%d).key"
  head -c 32 /dev/urandom | base64 > "$tmp/$first"
  apply contigo-token-keys --from-file="$first=$tmp/$first"
fi

if ! kubectl -n "$ns" get secret contigo-mongodb >/dev/null 2>&1; then
  openssl rand -base64 756 > "$tmp/keyfile"
  root=$(openssl rand -hex 24)
  app=$(openssl rand -hex 24)
  uri="mongodb://contigo:$app@mongodb-0.mongodb:27017,mongodb-1.mongodb:27017,mongodb-2.mongodb:27017/contigo_$cc?replicaSet=rs0&authSource=admin&w=majority"
  apply contigo-mongodb --from-file=keyfile="$tmp/keyfile" \
    --from-literal=root-password="$root" --from-literal=app-password="$app" --from-literal=uri="$uri"
fi
echo "secrets of $ns in place"
