#!/usr/bin/env bash
# Sets everything up, installs the module into Debian's apache2 (make install,
# a2enmod), starts the bundled legacy OAuth server on 127.0.0.1:9000 and
# Apache on 127.0.0.1:8080, and shows one token exchange through each.
# Run as root.  Stop with: bash demo/run.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state=/run/alexalink-demo

if [ "${1:-}" = stop ]; then
  apache2ctl -k stop 2>/dev/null || true
  [ -f $state/upstream.pid ] && kill "$(cat $state/upstream.pid)" 2>/dev/null || true
  a2disconf -q alexalink-demo 2>/dev/null || true
  echo "demo stopped"
  exit 0
fi

bash scripts/setup.sh
make -C build install >/dev/null
a2enmod -q proxy_http alexalink >/dev/null
cp demo/alexalink-demo.conf /etc/apache2/conf-available/alexalink-demo.conf
a2enconf -q alexalink-demo >/dev/null
apache2ctl configtest

mkdir -p $state
if [ -f $state/upstream.pid ] && kill -0 "$(cat $state/upstream.pid)" 2>/dev/null; then
  kill "$(cat $state/upstream.pid)"; while kill -0 "$(cat $state/upstream.pid)" 2>/dev/null; do sleep 0.1; done
fi
node demo/legacy-oauth-server.mjs 9000 > $state/upstream.log 2>&1 &
echo $! > $state/upstream.pid
until grep -q LISTENING $state/upstream.log; do sleep 0.1; done

if apache2ctl -k status >/dev/null 2>&1 || [ -f /run/apache2/apache2.pid ] && kill -0 "$(cat /run/apache2/apache2.pid 2>/dev/null)" 2>/dev/null; then
  apache2ctl -k restart
else
  apache2ctl -k start
fi
until curl -s -o /dev/null http://127.0.0.1:8080/; do sleep 0.1; done

req=(-s -u alexa-skill:demo-secret
     -d 'grant_type=authorization_code&code=demo-code&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%2Fapi%2Fskill%2Flink%2FM2DEMO')
echo
echo "== what Alexa would get from the legacy server (through a plain ProxyPass):"
printf '$ curl -i'; printf ' %q' "${req[@]}"; echo " http://127.0.0.1:8080/plain/token"
curl -i "${req[@]}" http://127.0.0.1:8080/plain/token | tr -d '\r' | grep -vE '^(Date|Server):'
echo
echo
echo "== the same request through mod_alexalink:"
printf '$ curl -i'; printf ' %q' "${req[@]}"; echo " http://127.0.0.1:8080/oauth/token"
curl -i "${req[@]}" http://127.0.0.1:8080/oauth/token | tr -d '\r' | grep -vE '^(Date|Server):'
echo
echo
echo
rt=$(curl -s "${req[@]}" http://127.0.0.1:8080/oauth/token | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).refresh_token))')
refresh=(-s -u alexa-skill:demo-secret -d "grant_type=refresh_token&refresh_token=$rt")
echo "== refresh with that refresh token (the legacy server rotates it: a new one comes back):"
printf '$ curl'; printf ' %q' "${refresh[@]}"; echo " http://127.0.0.1:8080/oauth/token"
curl "${refresh[@]}" http://127.0.0.1:8080/oauth/token; echo
echo
echo "== Alexa lost that answer and retries with the same refresh token. The legacy"
echo "   server would revoke the grant (reuse detection); mod_alexalink answers the"
echo "   retry from its grace store, and the upstream never sees it:"
curl "${refresh[@]}" http://127.0.0.1:8080/oauth/token; echo
echo
echo "== what the module logged (/var/log/apache2/alexalink-demo-error.log):"
tail -n 6 /var/log/apache2/alexalink-demo-error.log | sed 's/^.*ALX/ALX/'
echo
authz='/authorize?response_type=code&client_id=alexa-skill&state=demo-state-42&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%2Fapi%2Fskill%2Flink%2FM2DEMO'
echo "== the authorization endpoint: the legacy server sends the customer back without state"
printf '$ curl -si %q | grep Location\n' "http://127.0.0.1:8080/plain$authz"
curl -si "http://127.0.0.1:8080/plain$authz" | tr -d '\r' | grep '^Location'
echo "== through mod_alexalink the state is back:"
printf '$ curl -si %q | grep Location\n' "http://127.0.0.1:8080/oauth$authz"
curl -si "http://127.0.0.1:8080/oauth$authz" | tr -d '\r' | grep '^Location'
echo "== and its login page:"
printf '$ curl -s %q\n' "http://127.0.0.1:8080/oauth$authz&login=1"
curl -s "http://127.0.0.1:8080/oauth$authz&login=1"
echo
echo "== what the module logged about the authorization flow:"
grep -E 'ALX03(02|04|05|10|11):' /var/log/apache2/alexalink-demo-error.log | tail -n 5 | sed 's/^.*ALX/ALX/'
echo
echo "== what the legacy server saw ($state/upstream.log):"
cat $state/upstream.log
echo
echo "Apache and the legacy server keep running; try the curl lines above."
echo "Stop them with: bash demo/run.sh stop"
