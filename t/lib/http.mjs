// HTTP clients for the tests: node's http with every header set by hand (no
// connection reuse, no decompression), and a raw socket client for
// byte-for-byte comparisons.
import http from 'node:http';
import net from 'node:net';

// request({ port, method, path, headers, body }) -> { status, statusMessage,
// headers (lower-case names), rawHeaders, body (Buffer), text, json }.
// `headers` may be an object or an array of [name, value] pairs (kept in order).
// chunked: send the body in two chunks without a Content-Length.
export function request({ port, host = '127.0.0.1', method = 'GET', path = '/', headers = {}, body = null, timeoutMs = 20000, chunked = false }) {
  return new Promise((resolve, reject) => {
    const data = body == null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
    const hasLength = pairs.some(([k]) => k.toLowerCase() === 'content-length');
    const req = http.request({ host, port, method, path, agent: false, setHost: true });
    for (const [k, v] of pairs) req.setHeader(k, v);
    if (data && !hasLength && !chunked) req.setHeader('Content-Length', String(data.length));
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request ${method} ${path} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      // the client port names this request in Apache's logs ([client ip:port], %{remote}p)
      const localPort = res.socket && res.socket.localPort;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        resolve({
          status: res.statusCode,
          statusMessage: res.statusMessage,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          localPort,
          body: buf,
          text,
          json() { return JSON.parse(text); },
        });
      });
    });
    if (chunked && data) {
      const half = Math.floor(data.length / 2);
      req.write(data.subarray(0, half));
      req.end(data.subarray(half));
    } else {
      req.end(data || undefined);
    }
  });
}

// A token request: POST of a form body with the form content type unless
// given; `basic` = [id, secret] adds an RFC 6749 2.3.1 Basic header.
export function tokenRequest(port, path, body, { basic = null, headers = {}, contentType = 'application/x-www-form-urlencoded', chunked = false } = {}) {
  const h = { ...(contentType ? { 'Content-Type': contentType } : {}), ...headers };
  if (basic) h.Authorization = basicHeader(basic[0], basic[1]);
  return request({ port, method: 'POST', path, headers: h, body, chunked });
}

// RFC 6749 2.3.1: id and secret form-urlencoded, then Basic.
export function formEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}
export function basicHeader(id, secret) {
  return `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
}

// Builds a form body from pairs, in order, RFC 6749 encoding.
export function form(pairs) {
  return (Array.isArray(pairs) ? pairs : Object.entries(pairs)).map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
}

// Sends raw bytes, returns every byte the server sent until it closed.
export function rawRequest({ port, host = '127.0.0.1', data, timeoutMs = 20000 }) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect({ port, host });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('raw request timed out')); }, timeoutMs);
    s.on('connect', () => s.write(data));
    s.on('data', (c) => chunks.push(c));
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
  });
}

// Splits a raw HTTP/1.1 response into status line, header pairs, and body.
export function parseRaw(buf) {
  const end = buf.indexOf('\r\n\r\n');
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  return {
    statusLine: head[0],
    headers: head.slice(1).map((l) => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()]; }),
    body: buf.subarray(end + 4),
  };
}

export function headerValue(res, name) {
  return res.headers[name.toLowerCase()];
}

// A redirect's Location split into the URL, its query and its fragment
// (each parameters as an object).
export function params(location) {
  const u = new URL(location);
  return { url: u, query: Object.fromEntries(u.searchParams), fragment: Object.fromEntries(new URLSearchParams(u.hash.slice(1))) };
}
