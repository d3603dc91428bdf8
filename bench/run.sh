#!/usr/bin/env bash
# Measures, in one run, token exchanges through the same Apache and upstream:
#   none  - Apache without mod_alexalink loaded
#   off   - module loaded, location without AlexaLink (must cost nothing)
#   on    - AlexaLink token: body read and replayed, answer rewritten
# and prints requests per second and each ratio to "none".
# Usage: bash bench/run.sh [requests] [concurrency]   (needs ab, node, a build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
n=${1:-5000}
c=${2:-8}
module=${ALX_MODULE:-$root/build/.libs/mod_alexalink.so}
moddir=/usr/lib/apache2/modules
work=$(mktemp -d /tmp/alexalink-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
wait_port() { until (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; do sleep 0.05; done; }

up=$(free_port)
node demo/legacy-oauth-server.mjs "$up" > "$work/upstream.log" 2>&1 &
pids+=($!)
wait_port "$up"

start_apache() {   # name, with_module; sets $port
  local name=$1 with=$2 conf
  port=$(free_port)
  conf=$work/$name.conf
  {
    echo "ServerRoot $work"
    echo "ServerName localhost"
    echo "Listen 127.0.0.1:$port"
    echo "PidFile $work/$name.pid"
    echo "ErrorLog $work/$name-error.log"
    echo "LogLevel warn"
    for m in mpm_event authz_core proxy proxy_http; do
      echo "LoadModule ${m}_module $moddir/mod_$m.so"
    done
    [ "$with" = 1 ] && echo "LoadModule alexalink_module $module"
    [ "$(id -u)" = 0 ] && printf 'User nobody\nGroup nogroup\n'
    echo "ProxyPass /off/ http://127.0.0.1:$up/oauth/"
    echo "ProxyPass /on/ http://127.0.0.1:$up/oauth/"
    [ "$with" = 1 ] && printf '<Location /on/>\n  AlexaLink token\n</Location>\n'
  } > "$conf"
  /usr/sbin/apache2 -f "$conf" -DFOREGROUND > "$work/$name.out" 2>&1 &
  pids+=($!)
  wait_port "$port"
}

start_apache none 0; none=$port
start_apache with 1; with=$port
printf 'grant_type=authorization_code&code=demo-code&client_id=alexa-skill&client_secret=demo-secret' > "$work/body"

rps() {   # url
  ab -q -n "$n" -c "$c" -p "$work/body" -T application/x-www-form-urlencoded "$1" \
    | awk '/^Requests per second/ {print $4} /^Non-2xx responses/ {print "non-2xx:" $3 > "/dev/stderr"}'
}
urls=("http://127.0.0.1:$none/off/token" "http://127.0.0.1:$with/off/token" "http://127.0.0.1:$with/on/token")
# A warm-up so every child and the upstream are awake.
for u in "${urls[@]}"; do
  ab -q -n 500 -c "$c" -p "$work/body" -T application/x-www-form-urlencoded "$u" >/dev/null
done
# Three interleaved rounds; the median of each resists a noisy neighbour.
declare -a s0 s1 s2
for round in 1 2 3; do
  s0+=("$(rps "${urls[0]}")"); s1+=("$(rps "${urls[1]}")"); s2+=("$(rps "${urls[2]}")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
r_none=$(median "${s0[@]}"); r_off=$(median "${s1[@]}"); r_on=$(median "${s2[@]}")
echo "bench: $n POST token requests x 3 rounds, concurrency $c, event MPM, upstream demo/legacy-oauth-server.mjs (median)"
printf 'bench: %-6s %10s req/s\n' none "$r_none" off "$r_off" on "$r_on"
awk -v a="$r_none" -v b="$r_off" -v c="$r_on" \
  'BEGIN { printf "bench: ratio off/none %.3f   on/none %.3f   on/off %.3f\n", b/a, c/a, c/b }'
