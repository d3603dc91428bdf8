// A deliberately Alexa-unfriendly "legacy" OAuth token endpoint, for the demo
// and the benchmark: it wants client credentials in the body, answers
// form-encoded with 201, a string TTL of 60 s and no token_type, and rotates
// refresh tokens with reuse detection: a used refresh token presented again
// revokes the whole grant. Its authorization endpoint drops state: an
// already signed-in customer is sent straight back with a code and no state;
// ?login=1 shows its login page, which pulls a font from a CDN and opens its
// terms in a popup. Usage: node legacy-oauth-server.mjs [port]
import http from 'node:http';
import crypto from 'node:crypto';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = 'demo-secret';
const port = Number(process.argv[2] || 9000);
const refreshTokens = new Map();   // refresh token -> { grant, used }
const revoked = new Set();         // revoked grants

function answer(res, status, fields) {
  const body = new URLSearchParams(fields).toString();
  res.writeHead(status, { 'Content-Type': 'application/x-www-form-urlencoded' });
  res.end(body);
}

http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    if (req.method === 'GET' && req.url.startsWith('/oauth/authorize')) {
      const q = new URL(req.url, 'http://legacy').searchParams;
      if (q.get('login')) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        return res.end('<!DOCTYPE html><html><head><title>Sign in</title>'
          + '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto"></head>'
          + '<body><form method="post"><input name="user"><input name="password" type="password">'
          + '<button>Sign in</button></form><a href="/terms" target="_blank">Terms</a></body></html>\n');
      }
      const back = q.get('redirect_uri') || '';
      res.writeHead(302, { Location: `${back}${back.includes('?') ? '&' : '?'}code=demo-code` });
      return res.end();
    }
    if (req.method !== 'POST' || !req.url.startsWith('/oauth/token')) {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      return res.end('<html><body><h1>Not Found</h1></body></html>');
    }
    const form = new URLSearchParams(body);
    if (form.get('client_id') !== CLIENT_ID || form.get('client_secret') !== CLIENT_SECRET)
      return answer(res, 200, { error: 'incorrect_client_credentials',
        error_description: 'The client_id and/or client_secret passed are incorrect.' });
    const token = crypto.randomBytes(20).toString('hex');
    const issue = (grant) => {
      const refresh = crypto.randomBytes(20).toString('hex');
      refreshTokens.set(refresh, { grant, used: false });
      return answer(res, 201, { access_token: token, expires_in: '60', scope: 'profile',
        refresh_token: refresh });
    };
    if (form.get('grant_type') === 'authorization_code') {
      if (form.get('code') !== 'demo-code')
        return answer(res, 200, { error: 'bad_verification_code',
          error_description: 'The code passed is incorrect or expired.' });
      return issue(crypto.randomUUID());
    }
    if (form.get('grant_type') === 'refresh_token') {
      const rt = refreshTokens.get(form.get('refresh_token') || '');
      if (!rt || revoked.has(rt.grant))
        return answer(res, 200, { error: 'invalid_grant', error_description: 'unknown or revoked refresh token' });
      if (rt.used) {
        revoked.add(rt.grant);
        console.log('refresh token reused: grant revoked');
        return answer(res, 200, { error: 'invalid_grant', error_description: 'refresh token reused: grant revoked' });
      }
      rt.used = true;
      console.log('refresh: rotated');
      return issue(rt.grant);
    }
    return answer(res, 200, { error: 'unsupported_grant_type' });
  });
}).listen(port, '127.0.0.1', () => console.log(`LISTENING ${port}`));
