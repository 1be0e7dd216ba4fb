/**
 * Phase-1's second stage: the runtime (Node + the agent) that /init fetches over HTTP instead of
 * having the boot loader load it from the server. The script below is the one /init runs; the
 * storm benchmark and the tests run the same text (exported), not a copy.
 */

/** Where the runtime's facts and fetch script sit inside base (the part the boot loader loads). */
export const RUNTIME_PATHS = {
  /** `sha256=<hex>`, `name=<file>`, `parts=<compressed size of each archive>`: written at build time. */
  info: '/etc/boottorrent/runtime',
  /** The fetch-check-serve-unpack script ({@link RUNTIME_SCRIPT}). */
  script: '/etc/boottorrent/runtime.sh',
  /** tmpfs folder holding the compressed runtime (served from `www/`) until the OS loads. */
  dir: '/run/boottorrent/runtime',
} as const;

/** TCP port each client's busybox httpd serves the runtime on, to later clients. @default 8370 */
export const DEFAULT_RUNTIME_PORT = 8370;

/** Seconds without a new byte after which a source counts as dead or slow. @default 3 */
export const DEFAULT_RUNTIME_STALL = 3;

/**
 * The runtime fetch (busybox sh). Environment:
 * - `BT_RUNTIME_URL` (required): the server's runtime URL; the server answers it itself, redirects
 *   (302) to a peer holding the runtime, or says 503 (every source busy: try again in a second).
 * - `BT_MAC` (required): this machine's MAC, so the server can tell who asks and who holds.
 * - `BT_INFO` (`/etc/boottorrent/runtime`), `BT_DIR` (`/run/boottorrent/runtime`), `BT_ROOT` (`/`),
 *   `BT_PORT` (8370), `BT_STALL` (3 s), `BT_TRIES` (600 attempts).
 *
 * Trust: the SHA-256 comes from BT_INFO, which sits in base, which the boot loader fetched from the
 * server. Bytes that do not match are deleted before anything unpacks them, and the next request
 * tells the server why (`failed=hash`), so it stops sending anyone to that peer. A source that sends
 * no byte for BT_STALL seconds (dead, unreachable or slow) is abandoned (`failed=stall`), as is one
 * whose fetch fails (`failed=error`); busybox wget has no usable read timeout (`-T` crashes the
 * Debian build), hence the size watch.
 *
 * What a stalled or failed source sent is kept: the next source is asked for the rest (`wget -c`, an
 * HTTP Range request; a source that ignores Range sends the whole file again). The check is over the
 * whole file either way; when bytes from more than one source fail it, which source lied is unknown:
 * all of it is discarded, the last source is reported as `failed=error` (not banned), and the next
 * fetch starts from byte 0 from one source, so a peer that lies is caught alone (`failed=hash`).
 *
 * Once checked, the file is served by busybox httpd on BT_PORT (it keeps running until the OS is
 * loaded), the server is told (`POST …/have`), and the archives are unpacked into BT_ROOT. Exit 0
 * on success, 1 when no source delivered within BT_TRIES attempts.
 */
export const RUNTIME_SCRIPT = `#!/bin/sh
: "\${BT_RUNTIME_URL:?} \${BT_MAC:?}"
info=\${BT_INFO:-${RUNTIME_PATHS.info}}
dir=\${BT_DIR:-${RUNTIME_PATHS.dir}}
root=\${BT_ROOT:-/}
port=\${BT_PORT:-${DEFAULT_RUNTIME_PORT}}
stall=\${BT_STALL:-${DEFAULT_RUNTIME_STALL}}
tries=\${BT_TRIES:-600}
sha=$(sed -n 's/^sha256=//p' "$info")
name=$(sed -n 's/^name=//p' "$info")
parts=$(sed -n 's/^parts=//p' "$info")
say() { echo "boottorrent runtime: $*"; }
[ -n "$sha" ] && [ -n "$name" ] || { say "no runtime facts in $info"; exit 1; }
total=0
for n in $parts; do total=$((total + n)); done
mkdir -p "$dir/www"
file=$dir/www/$name
part=$dir/$name.part
hdr=$dir/headers
api=\${BT_RUNTIME_URL%/runtime/*}/api/v1/runtime/$BT_MAC
failed=""
try=0
done=""
rm -f "$part"
# Sources the bytes in $part came from (more than one: it was resumed).
sources=""
while [ $try -lt $tries ]; do
  try=$((try + 1))
  q="$BT_RUNTIME_URL?mac=$BT_MAC"
  [ -n "$failed" ] && q="$q&failed=$failed"
  rm -f "$hdr"
  have=$(stat -c %s "$part" 2>/dev/null || echo 0)
  [ "$have" -gt "$total" ] && { rm -f "$part"; have=0; sources=""; }
  if [ "$have" -gt 0 ] && [ "$have" -eq "$total" ]; then
    rc=0 # every byte already here (the last source's end raced the stall watch): check it
  else
    wget -c -q -S -O "$part" "$q" 2>"$hdr" &
    pid=$!
    last=-1
    still=0
    stalled=""
    while kill -0 $pid 2>/dev/null; do
      sleep 0.25
      size=$(stat -c %s "$part" 2>/dev/null || echo 0)
      if [ "$size" = "$last" ]; then
        still=$((still + 1))
        if [ $still -ge $((stall * 4)) ]; then stalled=1; kill $pid 2>/dev/null; break; fi
      else
        still=0
        last=$size
      fi
    done
    wait $pid
    rc=$?
    from=$(sed -n 's|^ *[Ll]ocation: *http://\\([^/]*\\)/.*|\\1|p' "$hdr" | tail -n 1)
    [ -n "$from" ] || from=server
    code=$(sed -n 's|^ *HTTP/[0-9.]* \\([0-9]*\\).*|\\1|p' "$hdr" | tail -n 1)
    now=$(stat -c %s "$part" 2>/dev/null || echo 0)
    if [ "$code" = 206 ] && [ "$now" -gt "$have" ]; then
      case "$sources " in *" $from "*) ;; *) sources="$sources $from" ;; esac
      say "resumed at byte $have from $from"
    elif [ "$code" = 200 ] && [ "$now" -gt 0 ]; then
      sources=" $from" # a whole answer (busybox wget starts the file over on 200)
    fi
    if [ -n "$stalled" ]; then
      say "no byte from $from for \${stall}s; next source (kept $now of $total bytes)"
      failed=stall
      continue
    fi
  fi
  if [ $rc -ne 0 ]; then
    if grep -q ' 503 ' "$hdr"; then
      failed=""
      sleep 1
    else
      say "fetch from $from failed; next source (kept $now of $total bytes)"
      failed=error
      sleep 0.5
    fi
    continue
  fi
  if echo "$sha  $part" | sha256sum -c -s; then
    mv "$part" "$file"
    done=1
    break
  fi
  rm -f "$part"
  set -- $sources
  if [ $# -gt 1 ]; then
    say "bytes from$sources do not match the runtime's SHA-256; discarded, next source from byte 0"
    failed=error
  else
    say "bytes from $from do not match the runtime's SHA-256; discarded, next source"
    failed=hash
  fi
  sources=""
done
rm -f "$hdr"
[ -n "$done" ] || { say "no source delivered the runtime"; exit 1; }
set -- $sources
if [ $# -gt 1 ]; then say "fetched from$sources (resumed), SHA-256 checked"
else say "fetched from $from, SHA-256 checked"; fi
httpd -f -p "$port" -h "$dir/www" </dev/null >/dev/null 2>&1 &
echo $! > "$dir/httpd.pid"
wget -q -O /dev/null --post-data "port=$port" "$api/have" 2>/dev/null || true
case "$name" in *.xz) unz="xz -dc" ;; *.gz) unz="gzip -dc" ;; *) unz=cat ;; esac
off=0
for n in $parts; do
  tail -c +$((off + 1)) "$file" | head -c "$n" | $unz | (cd "$root" && cpio -idmu 2>/dev/null) || { say "unpacking failed"; exit 1; }
  off=$((off + n))
done
exit 0
`;
