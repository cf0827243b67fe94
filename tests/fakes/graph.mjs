// A fake of the two Graph API endpoints cartback calls, speaking Meta's wire format (status codes,
// error envelopes, response bodies) so the Worker cannot tell it from graph.facebook.com. It plugs
// into Miniflare's outboundService and into a node http server (scripts/whatsapp-sim.mjs).
//
// Every POST .../messages ends up in exactly one of three arrays, so tests can assert on what the
// app really sent: `messages` (accepted), `invalid` (Meta's contract would reject the body) and
// `rejected` (Graph said no: auth, unknown number, scripted failure, throughput limit).
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { validateSendMessage } from './whatsapp-openapi.mjs';

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
  const failures = []; // one scripted answer per upcoming send
  let perSecond = null;
  const recentSends = new Map(); // phoneNumberId -> timestamps of accepted sends

  const subscribe = (kind) => (callback) => {
    listeners[kind].add(callback);
    return () => listeners[kind].delete(callback);
  };

  function record(list, kind, entry) {
    list.push(entry);
    for (const callback of listeners[kind]) callback(entry);
  }

  function reply({ status, body }, version) {
    const headers = {
      'content-type': 'application/json; charset=UTF-8',
      'x-fb-trace-id': randomBytes(8).toString('base64url').slice(0, 11),
      'x-fb-request-id': randomBytes(18).toString('base64url').slice(0, 23),
    };
    if (version) headers['facebook-api-version'] = version;
    return new Response(JSON.stringify(body), { status, headers });
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

  async function send(request, phoneNumberId) {
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
        at, phoneNumberId, to: body?.to, type: body?.type, body, code: answer.body.error.code, httpStatus: answer.status,
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
        : validateSendMessage(body).errors;
    if (errors.length) {
      record(invalid, 'invalid', { at, phoneNumberId, body: body ?? text, errors });
      return { status: 400, body: whatsappError(100, errors.join('; ')) };
    }

    if (failures.length) return refuse(failures.shift());
    if (!takeRateSlot(phoneNumberId, at)) return refuse(scriptedError(130429));

    const waId = body.to.replace(/\D/g, '');
    const wamid = newWamid(waId);
    record(messages, 'message', { at, phoneNumberId, to: body.to, type: body.type, body, wamid });
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        contacts: [{ input: body.to, wa_id: waId }],
        messages: [{ id: wamid, message_status: 'accepted' }],
      },
    };
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

    accounts: {
      /** Registers a business phone number; registering the same id again replaces it (token rotation). */
      addNumber({ phoneNumberId, accessToken, displayPhoneNumber = '+1 555-555-0100', verifiedName = 'Cartback Demo Store' }) {
        numbers.set(String(phoneNumberId), { accessToken, displayPhoneNumber, verifiedName });
      },
    },

    /** @param {Request} request @returns {Promise<Response>} */
    async handle(request) {
      const { pathname } = new URL(request.url);
      const [first, nodeId, edge, ...rest] = pathname.split('/').filter(Boolean);
      const version = /^v\d+\.\d+$/.test(first ?? '') ? first : undefined;
      if (version && nodeId && rest.length === 0) {
        if (edge === 'messages' && request.method === 'POST') return reply(await send(request, nodeId), version);
        if (edge === undefined && request.method === 'GET') return reply(getNumber(request, nodeId), version);
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
    },
  };
}
