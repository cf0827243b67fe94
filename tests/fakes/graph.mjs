// A fake of the Graph API endpoints cartback calls, speaking Meta's wire format (status codes,
// error envelopes, response bodies) so the Worker cannot tell it from graph.facebook.com. It plugs
// into Miniflare's outboundService and into a node http server (scripts/whatsapp-sim.mjs).
//
// Every POST .../messages and .../marketing_messages (Meta's Marketing Messages API) ends up in
// exactly one of three arrays, each entry naming its `endpoint`, so tests can assert on what the
// app really sent: `messages` (accepted), `invalid` (Meta's contract would reject the body) and
// `rejected` (Graph said no: auth, unknown number, not onboarded to the Marketing Messages API,
// scripted failure, throughput limit). The WhatsApp Business Account's templates
// (GET/POST /{waba-id}/message_templates) live in `templates` (whatsapp-templates.mjs); a
// definition Meta would refuse is recorded in `invalid` too.
//
// `setFaults` turns on a seeded fault mode: server errors, 130429, slow answers and answers that
// never come. Each send's fate is drawn from the seed and the send's identity (its callback data
// or recipient, and how many times that was sent before), not from arrival order, so the same
// seed gives the same faults however the Worker's requests interleave. `faults.log` has one
// entry per send it decided.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { validateMarketingMessage, validateSendMessage } from './whatsapp-openapi.mjs';
import { createTemplateStore, templateProblems } from './whatsapp-templates.mjs';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const readJson = (path) => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'));
const manifest = readJson('manifest.json');

// Real response bodies, with the HTTP status each came with (manifest.json).
const FIXTURE_ERRORS = Object.fromEntries(
  [130429, 131049, 190].map((code) => {
    const file = `whatsapp/send-error-${code}.json`;
    return [code, { status: manifest.whatsapp[file].http_status, body: readJson(file) }];
  }),
);

// Meta's titles and details (error-codes page) for codes a test may script without a fixture.
const ERROR_TEXTS = {
  0: ['AuthException', 'We were unable to authenticate the app user.'],
  1: ['An unknown error occurred', 'Invalid request or possible server error.'],
  2: ['Service temporarily unavailable', 'Temporary due to downtime or due to being overloaded.'],
  4: ['Application request limit reached', 'The app has reached its API call rate limit.'],
  10: ['Application does not have permission for this action', 'Permission is either not granted or has been removed.'],
  100: ['Invalid parameter', 'The request included one or more unsupported or misspelled parameters.'],
  368: ['Temporarily blocked for policies violations', 'The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.'],
  80007: ['Rate limit issues', 'The WhatsApp Business Account has reached its rate limit.'],
  130472: ["User's number is part of an experiment", "Failed to send message because this user's phone number is part of an experiment."],
  131000: ['Something went wrong', 'Message failed to send due to an unknown error.'],
  131008: ['Required parameter is missing', 'The request is missing a required parameter.'],
  131009: ['Parameter value is not valid', 'One or more parameter values are invalid.'],
  131016: ['Service unavailable', 'A service is temporarily unavailable.'],
  131026: ['Message undeliverable', 'Message Undeliverable.'],
  131030: ['Recipient phone number not in allowed list', 'Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again.'],
  131031: ['Business Account locked', 'The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.'],
  131042: ['Business eligibility payment issue', 'Message failed to send because there were one or more errors related to your payment method.'],
  131047: ['Re-engagement message', 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.'],
  131048: ['Spam rate limit hit', 'Message failed to send because there are restrictions on how many messages can be sent from this phone number.'],
  131050: ['Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.', 'The recipient has stopped marketing messages from this business.'],
  131056: ['(Business Account, Consumer Account) pair rate limit hit', 'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.'],
  131063: ['Marketing templates are disabled on Cloud API', 'Send marketing templates through the Marketing Messages API.'],
  132000: ['Number of parameters does not match the expected number of params', 'The number of variable parameter values included in the request did not match the number of variable parameters defined in the template.'],
  132001: ['Template name does not exist in the translation', 'The template does not exist in the specified language or the template has not been approved.'],
  132012: ['Parameter format does not match format in the created template', 'Variable parameter values formatted incorrectly.'],
  132015: ['Template is Paused', 'Template is paused due to low quality so it cannot be sent in a template message.'],
  132016: ['Template is Disabled', 'Template has been paused too many times due to low quality and is now permanently disabled.'],
};

const fbtraceId = () => `A${randomBytes(16).toString('base64url').slice(0, 22)}`;

/** mulberry32: a tiny seeded PRNG; returns floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over a string: a 32-bit seed for mulberry32 derived from a key. */
export function hashSeed(key) {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// The server failures a send may meet: Meta's own transient errors (code 1 or 2, flagged
// is_transient, as graph.facebook.com answers them) and a proxy in front of Graph answering
// with HTML and no error code at all.
const SERVER_ERRORS = [
  () => ({
    status: 500,
    body: { error: { message: 'An unknown error has occurred.', type: 'OAuthException', is_transient: true, code: 1, fbtrace_id: fbtraceId() } },
  }),
  () => ({
    status: 500,
    body: { error: { message: 'An unexpected error has occurred. Please retry your request later.', type: 'OAuthException', is_transient: true, code: 2, error_subcode: 2018218, fbtrace_id: fbtraceId() } },
  }),
  () => ({
    status: 503,
    body: { error: { message: '(#2) Service temporarily unavailable', type: 'OAuthException', is_transient: true, code: 2, fbtrace_id: fbtraceId() } },
  }),
  () => ({
    status: 502,
    contentType: 'text/html; charset=utf-8',
    text: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>proxygen</center></body></html>',
  }),
];

function whatsappError(code, details) {
  const [title, defaultDetails] = ERROR_TEXTS[code] ?? ['Request failed', `The request failed with error code ${code}.`];
  return {
    error: {
      message: `(#${code}) ${title}`,
      type: 'OAuthException',
      code,
      error_data: { messaging_product: 'whatsapp', details: details ?? defaultDetails },
      fbtrace_id: fbtraceId(),
    },
  };
}

const scriptedError = (code) =>
  FIXTURE_ERRORS[code] ?? { status: code === 190 ? 401 : 400, body: whatsappError(code) };

const serviceUnavailable = (status) => ({
  status,
  body: { error: { message: '(#2) Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: fbtraceId() } },
});

// A token that does not belong to the number: Graph's wording for an unusable token.
const invalidToken = () => ({
  status: 401,
  body: { error: { message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190, fbtrace_id: fbtraceId() } },
});

const unsupportedRequest = (method, id) => ({
  status: 400,
  body: {
    error: {
      message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
      type: 'GraphMethodException',
      code: 100,
      error_subcode: 33,
      fbtrace_id: fbtraceId(),
    },
  },
});

// The Marketing Messages API's answer while the business has not accepted its terms (as
// 360dialog documents Meta's answer; the code is Meta's).
const notOnboarded = () => ({
  status: 400,
  body: {
    error: {
      message: '(#200) You must accept the Marketing Messages Lite API terms to use the API.',
      type: 'OAuthException',
      code: 131055,
      fbtrace_id: fbtraceId(),
    },
  },
});

const unknownPath = (path) => ({
  status: 404,
  body: { error: { message: `Unknown path components: ${path}`, type: 'OAuthException', code: 2500, fbtrace_id: fbtraceId() } },
});

let wamidSerial = 0;

// Same layout as Meta's outbound wamids (base64 of the recipient's wa_id and an 18-character hex
// serial), so code that logs or parses them sees realistic values; the counter keeps them unique.
function newWamid(waId) {
  wamidSerial += 1;
  const serial = (wamidSerial.toString(16).padStart(6, '0') + randomBytes(6).toString('hex')).toUpperCase();
  const bytes = Buffer.concat([
    Buffer.from([0x1c, 0x18, waId.length]),
    Buffer.from(waId),
    Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, serial.length]),
    Buffer.from(serial),
    Buffer.from([0x00]),
  ]);
  return `wamid.${bytes.toString('base64')}`;
}

/**
 * @param {{ now?: () => number }} [options] `now` drives timestamps and the rate-limit window.
 */
export function createGraphFake({ now = Date.now } = {}) {
  const numbers = new Map();
  const messages = [];
  const invalid = [];
  const rejected = [];
  const listeners = { message: new Set(), invalid: new Set(), rejected: new Set() };
  const templates = createTemplateStore();
  const created = [];
  const failures = []; // one scripted answer per upcoming send
  let perSecond = null;
  const recentSends = new Map(); // phoneNumberId -> timestamps of accepted sends
  let faultMode = null; // setFaults()
  const faultLog = [];
  const faultAttempts = new Map(); // send identity -> sends seen
  const held = new Set(); // answers being held back: { timer, release }

  const subscribe = (kind) => (callback) => {
    listeners[kind].add(callback);
    return () => listeners[kind].delete(callback);
  };

  function record(list, kind, entry) {
    list.push(entry);
    for (const callback of listeners[kind]) callback(entry);
  }

  function reply({ status, body, text, contentType }, version) {
    const headers = {
      'content-type': contentType ?? 'application/json; charset=UTF-8',
      'x-fb-trace-id': randomBytes(8).toString('base64url').slice(0, 11),
      'x-fb-request-id': randomBytes(18).toString('base64url').slice(0, 23),
    };
    if (version) headers['facebook-api-version'] = version;
    return new Response(text ?? JSON.stringify(body), { status, headers });
  }

  // Holds an answer back for `ms`; reset() and releaseHeld() let every held answer go at once.
  function hold(ms) {
    if (!(ms > 0)) return undefined;
    return new Promise((resolve) => {
      const entry = { release: () => { clearTimeout(entry.timer); held.delete(entry); resolve(); } };
      entry.timer = setTimeout(entry.release, ms);
      held.add(entry);
    });
  }

  // One send's fate under the fault mode, from the seed and the send's identity.
  function decideFault(body, phoneNumberId) {
    const id = `${phoneNumberId}|${body.to}|${body.biz_opaque_callback_data ?? body.type}`;
    const attempt = (faultAttempts.get(id) ?? 0) + 1;
    faultAttempts.set(id, attempt);
    const f = faultMode;
    const random = mulberry32(hashSeed(`${f.seed}|${id}|${attempt}`));
    const [fate, delayDraw, delayAmount, variant] = [random(), random(), random(), random()];
    const kind =
      fate < f.blackhole ? 'blackhole'
        : fate < f.blackhole + f.serverError ? 'server_error'
          : fate < f.blackhole + f.serverError + f.throttled ? 'throttled'
            : 'ok';
    const delayMs = delayDraw < f.delayShare ? Math.floor(delayAmount * f.delayMaxMs) : 0;
    return { id, attempt, kind, delayMs, variant };
  }

  const bearer = (request) => /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];

  // Sliding window: a send is allowed if fewer than perSecond sends were accepted in the last 1000 ms.
  function takeRateSlot(phoneNumberId, at) {
    if (perSecond === null) return true;
    const window = (recentSends.get(phoneNumberId) ?? []).filter((t) => t > at - 1000);
    recentSends.set(phoneNumberId, window);
    if (window.length >= perSecond) return false;
    window.push(at);
    return true;
  }

  async function send(request, phoneNumberId, endpoint) {
    const at = now();
    const text = await request.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // stays null; reported below unless the request is refused before the body matters
    }
    const refuse = (answer) => {
      record(rejected, 'rejected', {
        at, phoneNumberId, endpoint, to: body?.to, type: body?.type, body, code: answer.body?.error?.code ?? null, httpStatus: answer.status,
      });
      return answer;
    };

    const account = numbers.get(phoneNumberId);
    if (!account) return refuse(unsupportedRequest('post', phoneNumberId));
    // Graph checks the token before it looks at the body.
    if (bearer(request) !== account.accessToken) return refuse(invalidToken());

    const errors = !(request.headers.get('content-type') ?? '').includes('application/json')
      ? [`Content-Type must be application/json, got ${request.headers.get('content-type') ?? 'none'}`]
      : body === null
        ? ['body is not valid JSON']
        : (endpoint === 'marketing_messages' ? validateMarketingMessage : validateSendMessage)(body).errors;
    if (errors.length) {
      record(invalid, 'invalid', { at, phoneNumberId, endpoint, body: body ?? text, errors });
      return { status: 400, body: whatsappError(100, errors.join('; ')) };
    }
    if (endpoint === 'marketing_messages' && !account.marketingMessages) return refuse(notOnboarded());

    if (failures.length) return refuse(failures.shift());

    const fault = faultMode ? decideFault(body, phoneNumberId) : null;
    if (fault) {
      const entry = { at, phoneNumberId, endpoint, to: body.to, type: body.type, callback: body.biz_opaque_callback_data, ...fault };
      delete entry.variant;
      if (fault.kind === 'blackhole') entry.holdMs = faultMode.blackholeMs;
      else entry.holdMs = fault.delayMs;
      faultLog.push(entry);
      const answer =
        fault.kind === 'server_error' ? SERVER_ERRORS[Math.floor(fault.variant * SERVER_ERRORS.length)]()
          : fault.kind === 'throttled' ? scriptedError(130429)
            : null;
      if (answer) {
        entry.httpStatus = answer.status;
        entry.code = answer.body?.error?.code ?? null;
        return { ...refuse(answer), holdMs: entry.holdMs };
      }
      entry.httpStatus = 200;
      const accepted = accept(body, phoneNumberId, at, { endpoint, blackholed: fault.kind === 'blackhole', holdMs: entry.holdMs });
      entry.wamid = accepted.body.messages[0].id;
      return { ...accepted, holdMs: entry.holdMs };
    }

    if (!takeRateSlot(phoneNumberId, at)) return refuse(scriptedError(130429));
    return accept(body, phoneNumberId, at, { endpoint });
  }

  // Meta took the message: it may reach the shopper whether or not its answer gets back.
  function accept(body, phoneNumberId, at, extra = {}) {
    const waId = body.to.replace(/\D/g, '');
    const wamid = newWamid(waId);
    record(messages, 'message', { at, phoneNumberId, to: body.to, type: body.type, body, wamid, ...extra });
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        contacts: [{ input: body.to, wa_id: waId }],
        messages: [{ id: wamid, message_status: 'accepted' }],
      },
    };
  }

  // GET and POST /{waba-id}/message_templates, with a token of one of the account's numbers.
  async function messageTemplates(request, wabaId) {
    const at = now();
    if (![...numbers.values()].some((a) => a.accessToken === bearer(request))) return invalidToken();
    if (request.method === 'GET') return templates.page(wabaId, new URL(request.url));
    const text = await request.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // stays null
    }
    const errors = body === null ? ['body is not valid JSON'] : templateProblems(body);
    if (errors.length) {
      record(invalid, 'invalid', { at, wabaId, endpoint: 'message_templates', body: body ?? text, errors });
      return { status: 400, body: whatsappError(100, errors.join('; ')) };
    }
    const answer = templates.create(wabaId, body);
    if (answer.status === 200) created.push({ at, wabaId, body, id: answer.body.id });
    return answer;
  }

  function getNumber(request, phoneNumberId) {
    const account = numbers.get(phoneNumberId);
    if (!account) return unsupportedRequest('get', phoneNumberId);
    if (bearer(request) !== account.accessToken) return invalidToken();
    return {
      status: 200,
      body: {
        verified_name: account.verifiedName,
        display_phone_number: account.displayPhoneNumber,
        id: phoneNumberId,
        quality_rating: 'GREEN',
      },
    };
  }

  return {
    messages,
    invalid,
    rejected,
    /** The templates of every account; `created` lists each one the app created. */
    templates,
    created,

    accounts: {
      /**
       * Registers a business phone number; registering the same id again replaces it (token
       * rotation). `marketingMessages`: its business accepted the Marketing Messages API terms.
       */
      addNumber({ phoneNumberId, accessToken, displayPhoneNumber = '+1 555-555-0100', verifiedName = 'Cartback Demo Store', marketingMessages = true }) {
        numbers.set(String(phoneNumberId), { accessToken, displayPhoneNumber, verifiedName, marketingMessages });
      },

      /** Whether the number's business has accepted the Marketing Messages API terms. */
      setMarketingMessages(phoneNumberId, onboarded) {
        numbers.get(String(phoneNumberId)).marketingMessages = onboarded;
      },
    },

    /** @param {Request} request @returns {Promise<Response>} */
    async handle(request) {
      const { pathname } = new URL(request.url);
      const [first, nodeId, edge, ...rest] = pathname.split('/').filter(Boolean);
      const version = /^v\d+\.\d+$/.test(first ?? '') ? first : undefined;
      if (version && nodeId && rest.length === 0) {
        if ((edge === 'messages' || edge === 'marketing_messages') && request.method === 'POST') {
          const answer = await send(request, nodeId, edge);
          await hold(answer.holdMs);
          return reply(answer, version);
        }
        if (edge === undefined && request.method === 'GET') return reply(getNumber(request, nodeId), version);
        if (edge === 'message_templates' && ['GET', 'POST'].includes(request.method)) {
          return reply(await messageTemplates(request, nodeId), version);
        }
      }
      return reply(unknownPath(pathname), version);
    },

    /**
     * The next n sends fail. `code`: a WhatsApp/Graph error code (fixture bodies for 130429,
     * 131049 and 190; HTTP 400, or 401 for 190), or `{ httpStatus: 5xx }` for a server failure.
     */
    failNext(n, code) {
      const serverFailure = typeof code === 'object' && code !== null;
      if (serverFailure ? !(code.httpStatus >= 500 && code.httpStatus <= 599) : !Number.isInteger(code)) {
        throw new Error(`failNext: expected an error code or { httpStatus: 5xx }, got ${JSON.stringify(code)}`);
      }
      const answer = () => (serverFailure ? serviceUnavailable(code.httpStatus) : scriptedError(code));
      failures.push(...Array.from({ length: n }, answer));
    },

    /** At most `limit` accepted sends per phone number id in any 1-second window; null = unlimited. */
    setRateLimit(limit) {
      perSecond = limit;
    },

    /**
     * Seeded faults on every send from now on (null turns them off). Shares of sends:
     * `serverError` (5xx: Meta's code 1 or 2, or a proxy's HTML page), `throttled` (130429 with
     * HTTP 400, Meta's fixture body), `blackhole` (accepted and recorded in `messages`, so it may
     * reach the shopper, but the answer is held `blackholeMs`, past the Worker's send timeout).
     * Independently, `delayShare` of the answers are held up to `delayMaxMs`. Scripted
     * `failNext` answers still come first; the rate limit does not apply under faults.
     */
    setFaults(options) {
      if (options === null) {
        faultMode = null;
        return;
      }
      const f = { serverError: 0, throttled: 0, blackhole: 0, delayShare: 0, delayMaxMs: 0, blackholeMs: 31_000, ...options };
      if (!Number.isInteger(f.seed)) throw new Error('setFaults: seed must be an integer');
      for (const share of ['serverError', 'throttled', 'blackhole', 'delayShare']) {
        if (!(f[share] >= 0 && f[share] <= 1)) throw new Error(`setFaults: ${share} must be a share in [0, 1]`);
      }
      if (f.serverError + f.throttled + f.blackhole > 1) throw new Error('setFaults: the failure shares add up to more than 1');
      faultMode = f;
    },

    /** What the fault mode decided, one entry per send: kind, attempt, holdMs, httpStatus, code, wamid. */
    faults: { log: faultLog },

    /** Lets every held answer go now (before disposing of the Worker). */
    releaseHeld() {
      for (const entry of [...held]) entry.release();
    },

    onMessage: subscribe('message'),
    onInvalid: subscribe('invalid'),
    onRejected: subscribe('rejected'),

    reset() {
      messages.length = 0;
      invalid.length = 0;
      rejected.length = 0;
      failures.length = 0;
      perSecond = null;
      recentSends.clear();
      faultMode = null;
      faultLog.length = 0;
      faultAttempts.clear();
      for (const entry of [...held]) entry.release();
    },
  };
}
