#!/bin/sh
# Generates Python stubs for every proto of the platform into $1 (default: ./gen), with the
# system protoc and Debian's grpc_python_plugin (python3-grpc-tools is too old for proto3
# `optional`).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
protos="$here/../../protos"
out=${1:-"$here/gen"}
mkdir -p "$out"
cd "$protos"
protoc --proto_path=. --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  $(find loyalty google/api -name '*.proto' | sort)
