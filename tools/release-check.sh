#!/usr/bin/env bash
# shellcheck disable=SC2016 # single quotes on purpose: $PATH in hints, JavaScript for node -e
# Release check: what `npm i boottorrent` gives a user, tried outside the repository.
#
#   1. npm pack every publishable workspace: each folder the root package.json's "workspaces" names
#      whose package.json is not "private": true (a new package is covered without editing this).
#   2. Check the tarballs (tools/release-check.mjs): files, exports, engines, dependencies, the agent
#      bundle, the JSON schemas, third-party license notices.
#   3. npm install the tarballs into an empty project in a temp dir, under `env -i` with its own HOME
#      and npmrc: none of this repository's config (overrides, allowScripts, npm_config_* of a
#      surrounding `npm run`) reaches it. Third-party packages come from the registry; @boottorrent/*
#      only from the tarballs (their scope points at a closed port, so a fetch fails loudly).
#   4. From there, as a user: boottorrent --help, --version, init, check, and build with the host parts
#      tools/setup.sh unpacked under .cache/deb (--host-root); then the libraries: a tracker, a seeder
#      and a download on loopback, byte-exact.
#
# Needs: the repository built (npm run build), Node >= 24 on PATH, the npm registry. Removes its temp
# dir on exit. Usage: bash tools/release-check.sh [--keep] (--keep leaves the temp dir for a look).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[[ "${1:-}" == --keep ]] && keep=1

say() { echo "release-check: $*"; }
fail() {
  echo "release-check: $1" >&2
  [[ -n "${2:-}" ]] && echo "hint: $2" >&2
  exit 1
}

node=$(node -p process.execPath 2>/dev/null) || fail 'node is not on PATH' 'export PATH=$PWD/node_modules/.bin:$PATH'
major=$("$node" -p 'process.versions.node.split(".")[0]')
((major >= 24)) || fail "node $("$node" -v) is too old" 'use Node 24: export PATH=$PWD/node_modules/.bin:$PATH'
npm_cli=$(readlink -f "$(command -v npm)") || fail 'npm is not on PATH'
npm_cache=$(npm config get cache)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boottorrent-release.XXXXXX")
cleanup() {
  if ((keep)); then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp"/{tarballs,bin,home,prefix,tmp}
ln -s "$node" "$tmp/bin/node"
printf 'fund=false\naudit=false\nupdate-notifier=false\n' >"$tmp/home/.npmrc"

# The machine's TLS trust, as a user's shell and npm would have it: behind a proxy that re-signs
# TLS, npm's registry requests fail without it (SELF_SIGNED_CERT_IN_CHAIN). The npm found first on
# PATH may be one with another prefix (so another global npmrc) than the system's.
trust=()
[[ -n "${NODE_EXTRA_CA_CERTS:-}" ]] && trust+=("NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS")
cafile=$(npm config get cafile 2>/dev/null || true)
for rc in /usr/etc/npmrc /usr/local/etc/npmrc /etc/npmrc; do
  [[ "$cafile" == /* ]] && break
  [[ -r "$rc" ]] && cafile=$(sed -n 's/^[[:space:]]*cafile[[:space:]]*=[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$rc" | tail -n 1)
done
[[ "$cafile" == /* && -r "$cafile" ]] && trust+=("npm_config_cafile=$cafile")

# A clean environment: only what a user's shell would have, plus the npm cache (downloads only).
user() {
  env -i HOME="$tmp/home" PATH="$tmp/prefix/node_modules/.bin:$tmp/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    TMPDIR="$tmp/tmp" LANG=C.UTF-8 TERM=dumb npm_config_cache="$npm_cache" "${trust[@]}" "$@"
}

# 1. pack
cd "$repo"
mapfile -t workspaces < <("$node" -e '
  const { readFileSync, existsSync, globSync } = require("node:fs");
  for (const pattern of JSON.parse(readFileSync("package.json", "utf8")).workspaces)
    for (const dir of globSync(pattern).sort()) {
      const file = `${dir}/package.json`;
      if (existsSync(file) && !JSON.parse(readFileSync(file, "utf8")).private) console.log(dir);
    }')
((${#workspaces[@]})) || fail 'no publishable workspace found'
for dir in "${workspaces[@]}"; do
  [[ -d "$dir/dist" ]] || fail "$dir/dist is missing" 'run npm run build first'
done
say "packing ${#workspaces[@]} workspaces: ${workspaces[*]}"
"$node" "$npm_cli" pack --silent --pack-destination "$tmp/tarballs" "${workspaces[@]/#/--workspace=}" >/dev/null

# 2. tarballs
say 'tarballs:'
tarballs_ok=1
"$node" tools/release-check.mjs tarballs "$tmp/tarballs" || tarballs_ok=0 # reported at the end

# 3. install into an empty project
echo '{ "name": "release-check-user", "private": true }' >"$tmp/prefix/package.json"
say 'npm install of the tarballs into an empty project'
start=$(date +%s)
# npm asks the registry for a sibling before it sees the tarball that provides it; with the scope on a
# closed port that fails at once (--fetch-retries=0, not three tries over two minutes) and npm uses the
# tarball. The user's npm would find them published.
(cd "$tmp/prefix" && user "$node" "$npm_cli" install --no-audit --no-fund --prefer-offline --loglevel=error \
  --fetch-retries=0 --@boottorrent:registry=http://127.0.0.1:9/ "$tmp"/tarballs/*.tgz) ||
  fail 'npm install of the packed tarballs failed (above)'
say "installed in $(($(date +%s) - start)) s"
(cd "$tmp/prefix" && user "$node" "$npm_cli" ls --all >/dev/null) || fail 'npm ls: the installed tree is incomplete (above)'
"$node" tools/release-check.mjs installed "$tmp/prefix"

# 4. run as a user, from the empty project
cd "$tmp/prefix"
run() { # [limit=<seconds>] command...
  local limit=600 rc=0
  if [[ "$1" == limit=* ]]; then
    limit=${1#limit=}
    shift
  fi
  say "\$ $*"
  user timeout "$limit" "$@" >"$tmp/out" 2>&1 || rc=$?
  if ((rc)); then
    cat "$tmp/out"
    fail "\`$*\` exited $rc"
  fi
  sed 's/^/    /' "$tmp/out"
}
expect() { grep -q -- "$1" "$tmp/out" || fail "the output lacks \"$1\""; }

run boottorrent --help
expect 'Usage: boottorrent'
run boottorrent --version
expect "$("$node" -p 'require(process.argv[1]).version' "$repo/apps/cli/package.json")"
run boottorrent init "$tmp/project"
for f in config.yaml .schema/config.schema.json .schema/os.schema.json; do
  [[ -s "$tmp/project/$f" ]] || fail "init did not write $f"
done
run boottorrent check "$tmp/project"
# zstd -1 instead of the default xz -6: the same build path in seconds instead of minutes (phase-1 holds
# Node, ~100 MiB); the compressors themselves are tested in apps/cli and initrd-builder.
sed -i 's/^  compression: xz$/  compression: zstd/; s/^  level: null$/  level: 1/' "$tmp/project/config.yaml"
grep -q '^  compression: zstd$' "$tmp/project/config.yaml" || fail "init's config.yaml has no phase1.compression: xz line to change"
host_roots=()
for d in "$repo"/.cache/deb/*/; do host_roots+=(--host-root "${d%/}"); done
((${#host_roots[@]})) || fail "$repo/.cache/deb has no unpacked host parts" 'run bash tools/setup.sh'
start=$(date +%s)
run boottorrent build "$tmp/project" "${host_roots[@]}"
expect 'out: '
say "built in $(($(date +%s) - start)) s"

# The libraries as a user imports them: the READMEs' tracker + seeder + download on loopback, from the
# installed packages (the inlined webtorrent and bittorrent-tracker, without the repository).
mkdir -p "$tmp/swarm/os/demo"
head -c 3000000 /dev/urandom >"$tmp/swarm/os/demo/payload.bin"
cat >"$tmp/prefix/swarm.mjs" <<'EOF'
import { createTorrent, download, startSeeder } from '@boottorrent/seeder';
import { startTracker } from '@boottorrent/tracker';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const [src, dest] = process.argv.slice(2);
const os = await createTorrent(src);
await using tracker = await startTracker({ host: '127.0.0.1', port: 0, whitelist: [os.infoHash] });
const announce = tracker.announceUrls('127.0.0.1');
await using seeder = await startSeeder({ torrents: [{ torrent: os.torrent, dir: src }], host: '127.0.0.1', port: 0, announce });
const started = performance.now();
await using dl = await download({ torrent: os.torrent, dir: dest, announce, serverPeers: [`127.0.0.1:${seeder.port}`] });
const [a, b] = await Promise.all([readFile(join(src, 'payload.bin')), readFile(join(dest, os.name, 'payload.bin'))]);
if (!a.equals(b)) throw new Error('the downloaded payload.bin differs from the seeded one');
console.log(`${os.name}: ${os.size} bytes, ${os.pieceCount} pieces, downloaded byte-exact in ${Math.round(performance.now() - started)} ms`);
const uploaded = seeder.stats().reduce((sum, t) => sum + t.uploaded, 0);
if (uploaded < os.size) throw new Error(`the seeder uploaded ${uploaded} bytes, less than the torrent`);
console.log(`announce: ${announce.join(' ')}; the seeder uploaded ${uploaded} bytes`);
EOF
run limit=120 node swarm.mjs "$tmp/swarm/os/demo" "$tmp/swarm/dest"
expect 'byte-exact'
((tarballs_ok)) || fail 'the tarballs have the problems listed above'
say 'ok'
