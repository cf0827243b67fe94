// A fake of the Shopify Admin endpoints cartback calls, speaking Shopify's wire formats: the
// three token grants on /admin/oauth/access_token (token exchange, refresh, authorization code),
// the authorize page (it approves at once and redirects back with a signed query), and Admin
// GraphQL (`discountCodeBasicCreate`, `shop { name }`, `productVariant` with its images, `abandonedCheckouts` paged and priced from
// a leaky bucket of query points, `customers` by phone, `customerWhatsAppMarketingConsentUpdate`). It plugs into Miniflare's outboundService
// with the Worker's SHOPIFY_ADMIN_ORIGIN set to its origin: requests arrive as
// `{origin}/{shop}/admin/...`.
//
// Every GraphQL request is checked, variables included, against Shopify's schema for the
// version the fake serves (shopify-graphql.mjs); one that fails is answered as Shopify answers
// it (200 with `errors`) and recorded in `invalid`, which every test expects to stay empty.
//
// Tests read what happened from `grants`, `graphqlCalls`, `discounts`, `consentUpdates` and `invalid` (requests
// Shopify would reject as malformed), and script failures with `failNext` and `refuseRefresh`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SCHEMA_VERSION, checkRequest } from './shopify-graphql.mjs';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const OFFLINE_TOKEN = 'urn:shopify:params:oauth:token-type:offline-access-token';
const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An App Bridge session token (HS256 JWT) with these claims, signed with `secret`. */
export function signSessionToken(claims, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The claims of a session token Shopify would accept for `apiKey`, or null. */
export function verifySessionToken(token, { apiKey, secret, now = Date.now() }) {
  const parts = String(token ?? '').split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    if (header.alg !== 'HS256') return null;
    const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    const seconds = now / 1000;
    if (!(claims.exp > seconds - 10 && claims.nbf <= seconds + 10)) return null;
    return claims.aud === apiKey ? claims : null;
  } catch {
    return null;
  }
}

/**
 * Shopify's query HMAC (OAuth callbacks, admin entry): hex HMAC-SHA256 of every parameter but
 * `hmac` and `signature`, sorted, URL-encoded as URLSearchParams does with spaces as %20.
 */
export function signQuery(params, secret) {
  const entries = [...new URLSearchParams(params)]
    .filter(([key]) => key !== 'hmac' && key !== 'signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const message = new URLSearchParams(entries).toString().replace(/\+/g, '%20');
  return createHmac('sha256', secret).update(message).digest('hex');
}

// Shopify's answer to a request without a usable X-Shopify-Access-Token.
const INVALID_TOKEN = { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' };

const cost = (requested = 10, available = 1990) => ({
  cost: {
    requestedQueryCost: requested,
    actualQueryCost: available >= requested ? requested : null,
    throttleStatus: { maximumAvailable: 2000.0, currentlyAvailable: available, restoreRate: 100.0 },
  },
});

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });

/**
 * Problems Shopify would report as `userErrors` for this `DiscountCodeBasicInput`, which already
 * conforms to the schema: what the types cannot say.
 */
function discountInputProblems(input) {
  const problems = [];
  if (!input || typeof input !== 'object') return ['basicCodeDiscount is missing'];
  if (typeof input.title !== 'string' || !input.title) problems.push('title is required');
  if (typeof input.code !== 'string' || !input.code || input.code.length > 255) problems.push('code must be 1-255 characters');
  const hasContext = input.context !== undefined;
  const hasSelection = input.customerSelection !== undefined;
  if (hasContext === hasSelection) problems.push('exactly one of context and customerSelection is required');
  if (hasContext && JSON.stringify(input.context) !== JSON.stringify({ all: 'ALL' }) && !input.context?.customers && !input.context?.customerSegments) {
    problems.push('context must be { all: "ALL" }, customers or customerSegments');
  }
  const percentage = input.customerGets?.value?.percentage;
  if (typeof percentage !== 'number' || !(percentage > 0 && percentage <= 1)) {
    problems.push('customerGets.value.percentage must be a fraction in (0, 1]');
  }
  if (input.customerGets?.items?.all !== true) problems.push('customerGets.items must be { all: true }');
  const startsAt = Date.parse(input.startsAt);
  const endsAt = Date.parse(input.endsAt);
  if (Number.isNaN(startsAt)) problems.push('startsAt must be an ISO 8601 date-time');
  if (input.endsAt !== undefined && !(endsAt > startsAt)) problems.push('endsAt must be after startsAt');
  if (input.usageLimit !== undefined && !(Number.isInteger(input.usageLimit) && input.usageLimit > 0)) {
    problems.push('usageLimit must be a positive integer');
  }
  return problems;
}

/**
 * @param {{ apiKey: string, apiSecret: string, now?: () => number,
 *           accessTokenTtl?: number, refreshTokenTtl?: number }} options
 *   lifetimes in seconds, as Shopify's `expires_in` / `refresh_token_expires_in`.
 */
export function createShopifyFake({ apiKey, apiSecret, now = Date.now, accessTokenTtl = 3600, refreshTokenTtl = 7_776_000 }) {
  const accessTokens = new Map(); // token -> { shop, expiresAt: ms | null }
  const refreshTokens = new Map(); // token -> { shop, expiresAt: ms, spent: boolean }
  const codes = new Map(); // authorization code -> { shop, used: boolean }
  const names = new Map(); // shop -> name
  const grants = [];
  const graphqlCalls = [];
  const discounts = [];
  const invalid = [];
  const failures = []; // { shop?, answer } consumed by GraphQL calls in order
  const refusedRefresh = new Set();
  const abandoned = new Map(); // shop -> AbandonedCheckout nodes, as the Admin API returns them
  const customers = new Map(); // shop -> [{ id, phone, whatsApp: { state, updatedAt } }]
  const consentUpdates = []; // { at, shop, input } of every customerWhatsAppMarketingConsentUpdate
  const buckets = new Map(); // shop -> { maximum, available, restoreRate, at }
  const variants = new Map(); // `${shop} ${variant gid}` -> { image, productImage } (URLs or null)
  let serial = 0;
  let refreshDelayMs = 0;
  let refreshing = 0; // refresh grants being answered right now
  let mostRefreshing = 0;

  function issue(shop, expiring) {
    const accessToken = `shpat_${randomBytes(16).toString('hex')}`;
    const at = now();
    accessTokens.set(accessToken, { shop, expiresAt: expiring ? at + accessTokenTtl * 1000 : null });
    const scope = 'read_orders,read_products,write_discounts,write_app_proxy,write_customers';
    if (!expiring) return { access_token: accessToken, scope };
    const refreshToken = `shprt_${randomBytes(16).toString('hex')}`;
    refreshTokens.set(refreshToken, { shop, expiresAt: at + refreshTokenTtl * 1000, spent: false });
    return {
      access_token: accessToken,
      scope,
      expires_in: accessTokenTtl,
      refresh_token: refreshToken,
      refresh_token_expires_in: refreshTokenTtl,
    };
  }

  function tokenGrant(shop, body) {
    const record = (grantType, ok, detail = {}) => grants.push({ at: now(), shop, grantType, ok, body, ...detail });
    if (body?.client_id !== apiKey || body?.client_secret !== apiSecret) {
      record(body?.grant_type ?? 'authorization_code', false, { error: 'invalid_client' });
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (body.grant_type === TOKEN_EXCHANGE) {
      const claims = verifySessionToken(body.subject_token, { apiKey, secret: apiSecret, now: now() });
      const valid = claims && claims.dest === `https://${shop}` && body.subject_token_type === ID_TOKEN
        && body.requested_token_type === OFFLINE_TOKEN;
      if (!valid) {
        record('token_exchange', false, { error: 'invalid_subject_token' });
        return json(400, { error: 'invalid_subject_token', error_description: 'Subject token is invalid' });
      }
      const answer = issue(shop, body.expiring === '1');
      record('token_exchange', true, { answer });
      return json(200, answer);
    }
    if (body.grant_type === 'refresh_token') {
      const held = refreshTokens.get(body.refresh_token);
      const usable = held && held.shop === shop && !held.spent && held.expiresAt > now() && !refusedRefresh.has(shop);
      if (!usable) {
        record('refresh_token', false, { error: 'invalid_grant' });
        return json(400, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or already used' });
      }
      held.spent = true; // rotated: the old refresh token no longer works
      const answer = issue(shop, true);
      record('refresh_token', true, { answer });
      return json(200, answer);
    }
    if (body.grant_type === undefined && typeof body.code === 'string') {
      const held = codes.get(body.code);
      if (!held || held.shop !== shop || held.used) {
        record('authorization_code', false, { error: 'invalid_request' });
        return json(400, { error: 'invalid_request', error_description: 'The authorization code was not found or was already used' });
      }
      held.used = true;
      const answer = issue(shop, body.expiring === '1');
      record('authorization_code', true, { answer });
      return json(200, answer);
    }
    record(String(body.grant_type), false, { error: 'unsupported_grant_type' });
    return json(400, { error: 'unsupported_grant_type' });
  }

  // The merchant approves at once: back to redirect_uri with a code and Shopify's signed query.
  function authorize(shop, url) {
    const params = url.searchParams;
    if (params.get('client_id') !== apiKey || !params.get('redirect_uri') || !params.get('state')) {
      return new Response('Oauth error invalid_request: The redirect_uri and client_id are required', { status: 400 });
    }
    const code = randomBytes(16).toString('hex');
    codes.set(code, { shop, used: false });
    const back = {
      code,
      host: Buffer.from(`admin.shopify.com/store/${shop.replace('.myshopify.com', '')}`).toString('base64url'),
      shop,
      state: params.get('state'),
      timestamp: String(Math.floor(now() / 1000)),
    };
    const target = new URL(params.get('redirect_uri'));
    for (const [k, v] of Object.entries(back)) target.searchParams.set(k, v);
    target.searchParams.set('hmac', signQuery(back, apiSecret));
    return new Response(null, { status: 302, headers: { location: target.toString() } });
  }

  function createDiscount(shop, variables) {
    const input = variables?.basicCodeDiscount;
    const problems = discountInputProblems(input);
    if (problems.length) {
      invalid.push({ shop, input, problems });
      return {
        codeDiscountNode: null,
        userErrors: problems.map((message) => ({ field: ['basicCodeDiscount'], code: 'INVALID', message })),
      };
    }
    if (discounts.some((d) => d.shop === shop && d.code.toUpperCase() === input.code.toUpperCase())) {
      return {
        codeDiscountNode: null,
        userErrors: [{ field: ['basicCodeDiscount', 'code'], code: 'TAKEN', message: 'Code must be unique. Please try a different code.' }],
      };
    }
    serial += 1;
    const id = `gid://shopify/DiscountCodeNode/${1_000_000 + serial}`;
    discounts.push({ at: now(), shop, id, code: input.code, input });
    return {
      codeDiscountNode: {
        id,
        codeDiscount: { title: input.title, startsAt: input.startsAt, endsAt: input.endsAt ?? null, codes: { nodes: [{ code: input.code }] } },
      },
      userErrors: [],
    };
  }

  /** The shop's leaky bucket of query points, refilled at its restore rate since last asked. */
  function bucket(shop) {
    const b = buckets.get(shop) ?? { maximum: 2000, available: 2000, restoreRate: 100, at: now() };
    b.available = Math.min(b.maximum, b.available + ((now() - b.at) / 1000) * b.restoreRate);
    b.at = now();
    buckets.set(shop, b);
    return b;
  }

  /** Spends `requested` points, or answers as Shopify does when the bucket holds too few. */
  function spend(shop, requested) {
    const b = bucket(shop);
    const status = () => ({ maximumAvailable: b.maximum, currentlyAvailable: Math.floor(b.available), restoreRate: b.restoreRate });
    if (b.available < requested) {
      return { throttled: { errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }], extensions: { cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: status() } } } };
    }
    b.available -= requested;
    return { extensions: { cost: { requestedQueryCost: requested, actualQueryCost: requested, throttleStatus: status() } } };
  }

  /** `abandonedCheckouts(first:, after:, query:)`: the updated_at range and status:open filters, by id. */
  function abandonedCheckouts(shop, query, variables) {
    const first = Number(/abandonedCheckouts\(first:\s*(\d+)/.exec(query)?.[1] ?? 50);
    const q = String(variables?.q ?? '');
    const from = /updated_at:>='([^']+)'/.exec(q)?.[1];
    const to = /updated_at:<'([^']+)'/.exec(q)?.[1];
    const all = (abandoned.get(shop) ?? [])
      .filter((n) => !from || Date.parse(n.updatedAt) >= Date.parse(from))
      .filter((n) => !to || Date.parse(n.updatedAt) < Date.parse(to))
      .filter((n) => !/status:open/.test(q) || n.completedAt === null)
      .sort((a, b) => Number(a.id.split('/').pop()) - Number(b.id.split('/').pop()));
    const start = variables?.after ? Number(Buffer.from(variables.after, 'base64url').toString()) : 0;
    const nodes = all.slice(start, start + first);
    const end = start + nodes.length;
    return {
      abandonedCheckouts: {
        nodes,
        pageInfo: { hasNextPage: end < all.length, endCursor: nodes.length ? Buffer.from(String(end)).toString('base64url') : null },
      },
    };
  }

  function customerByPhone(shop, variables) {
    const phone = /phone:'?([^' ]+)'?/.exec(String(variables?.q ?? ''))?.[1];
    const found = (customers.get(shop) ?? []).filter((c) => c.phone === phone).slice(0, 1);
    return { customers: { nodes: found.map((c) => ({ id: c.id })) } };
  }

  function updateWhatsAppConsent(shop, input) {
    consentUpdates.push({ at: now(), shop, input });
    const customer = (customers.get(shop) ?? []).find((c) => c.id === input.customerId);
    if (!customer) {
      return { customerPhoneNumber: null, userErrors: [{ field: ['input', 'customerId'], code: 'INVALID', message: 'Customer does not exist' }] };
    }
    const consent = input.whatsAppMarketingConsent;
    customer.whatsApp = { state: consent.state, updatedAt: consent.updatedAt ?? new Date(now()).toISOString() };
    return { customerPhoneNumber: { phoneNumber: customer.phone, whatsAppMarketingConsent: { state: consent.state } }, userErrors: [] };
  }

  function scripted(answer) {
    if (answer === 'throttled') {
      return json(200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
        extensions: cost(10, 2),
      });
    }
    if (answer === 'unauthorized') return json(401, INVALID_TOKEN);
    if (answer.status) return json(answer.status, { errors: 'Internal Server Error' }, answer.headers);
    return json(200, { data: { discountCodeBasicCreate: { codeDiscountNode: null, userErrors: answer.userErrors } }, extensions: cost() });
  }

  /** `productVariant(id:)` with its `image { url }` and its product's `featuredMedia`; null for a variant the shop lacks. */
  function variantImages(shop, id) {
    const variant = variants.get(`${shop} ${id}`);
    if (!variant) return null;
    const image = (url) => (url ? { url } : null);
    const featuredMedia = variant.productImage ? { preview: { image: image(variant.productImage) } } : null;
    return { image: image(variant.image), product: { featuredMedia } };
  }

  async function graphql(shop, version, request) {
    const token = request.headers.get('x-shopify-access-token');
    const text = await request.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // stays null
    }
    const call = { at: now(), shop, accessToken: token, query: body?.query, variables: body?.variables, status: 200 };
    graphqlCalls.push(call);
    const answer = (response) => {
      call.status = response.status;
      return response;
    };

    const held = accessTokens.get(token);
    if (!held || held.shop !== shop || (held.expiresAt !== null && held.expiresAt <= now())) {
      return answer(json(401, INVALID_TOKEN));
    }
    if (!(request.headers.get('content-type') ?? '').includes('application/json') || typeof body?.query !== 'string') {
      invalid.push({ shop, body: text, problems: ['not a JSON GraphQL request'] });
      return answer(json(400, { errors: [{ message: 'Bad Request' }] }));
    }
    if (version !== SCHEMA_VERSION) {
      invalid.push({ shop, query: body.query, problems: [`API version ${version}: the fake serves ${SCHEMA_VERSION}`] });
      return answer(json(404, { errors: 'Not Found' }));
    }
    const checked = checkRequest(body);
    if (checked.errors) {
      invalid.push({ shop, query: body.query, variables: body.variables, problems: checked.errors.map((e) => e.message) });
      return answer(json(200, { errors: checked.errors }));
    }
    const failure = failures.findIndex((f) => !f.shop || f.shop === shop);
    if (failure >= 0) return answer(scripted(failures.splice(failure, 1)[0].answer));
    const [field, ...others] = checked.operation.fields;
    if (others.length === 0 && field === 'discountCodeBasicCreate') {
      return answer(json(200, { data: { discountCodeBasicCreate: createDiscount(shop, body.variables) }, extensions: cost() }));
    }
    if (others.length === 0 && field === 'shop' && checked.operation.kind === 'query') {
      const name = names.get(shop) ?? `Store ${shop.replace('.myshopify.com', '')}`;
      const facts = { name };
      if (/\bcurrencyCode\b/.test(body.query)) facts.currencyCode = 'USD';
      if (/\bianaTimezone\b/.test(body.query)) facts.ianaTimezone = 'America/Toronto';
      return answer(json(200, { data: { shop: facts }, extensions: cost(1) }));
    }
    // Valid for Shopify, but nothing the fake can answer: a test would learn nothing from it.
    if (others.length === 0 && field === 'abandonedCheckouts') {
      // About what Shopify computes: 2 for the connection, ~26 per checkout asked for.
      const first = Number(/abandonedCheckouts\(first:\s*(\d+)/.exec(body.query)?.[1] ?? 50);
      const spent = spend(shop, 2 + first * 26);
      if (spent.throttled) return answer(json(200, spent.throttled));
      return answer(json(200, { data: abandonedCheckouts(shop, body.query, body.variables), extensions: spent.extensions }));
    }
    if (others.length === 0 && field === 'productVariant' && checked.operation.kind === 'query') {
      return answer(json(200, { data: { productVariant: variantImages(shop, body.variables?.id) }, extensions: cost(2) }));
    }
    if (others.length === 0 && field === 'customers' && checked.operation.kind === 'query') {
      return answer(json(200, { data: customerByPhone(shop, body.variables), extensions: cost(3) }));
    }
    if (others.length === 0 && field === 'customerWhatsAppMarketingConsentUpdate') {
      const payload = updateWhatsAppConsent(shop, body.variables?.input ?? {});
      return answer(json(200, { data: { customerWhatsAppMarketingConsentUpdate: payload }, extensions: cost() }));
    }
    invalid.push({ shop, query: body.query, problems: [`the fake does not serve ${checked.operation.fields.join(', ')}`] });
    return answer(json(200, { errors: [{ message: 'Field is not supported by the fake', extensions: { code: 'undefinedField' } }] }));
  }

  return {
    grants,
    graphqlCalls,
    discounts,
    invalid,

    /** @param {Request} request @returns {Promise<Response>} */
    async handle(request) {
      const url = new URL(request.url);
      const segments = url.pathname.split('/').filter(Boolean);
      // `{origin}/{shop}/admin/...`, or a request to the shop's own host.
      const shop = SHOP_DOMAIN.test(segments[0] ?? '') ? segments.shift() : url.hostname;
      if (!SHOP_DOMAIN.test(shop) || segments[0] !== 'admin') return new Response('Not Found', { status: 404 });
      const path = `/${segments.join('/')}`;
      if (path === '/admin/oauth/access_token' && request.method === 'POST') {
        let body = null;
        try {
          body = await request.json();
        } catch {
          return json(400, { error: 'invalid_request', error_description: 'The request body is not JSON' });
        }
        if (body?.grant_type !== 'refresh_token') return tokenGrant(shop, body);
        refreshing += 1;
        mostRefreshing = Math.max(mostRefreshing, refreshing);
        try {
          if (refreshDelayMs > 0) await new Promise((r) => setTimeout(r, refreshDelayMs));
          return tokenGrant(shop, body);
        } finally {
          refreshing -= 1;
        }
      }
      if (path === '/admin/oauth/authorize' && request.method === 'GET') return authorize(shop, url);
      const api = /^\/admin\/api\/(\d{4}-\d{2})\/graphql\.json$/.exec(path);
      if (api && request.method === 'POST') return graphql(shop, api[1], request);
      return json(404, { errors: 'Not Found' });
    },

    /**
     * The next n GraphQL calls (of `shop`, or any shop) get `answer`: 'throttled', 'unauthorized'
     * (HTTP 401), `{ status: 5xx, headers? }`, or `{ userErrors: [...] }`. Token checks come first.
     */
    failNext(n, answer, { shop } = {}) {
      for (let i = 0; i < n; i++) failures.push({ shop, answer });
    },

    /** While on, every refresh grant for `shop` is refused with invalid_grant. */
    refuseRefresh(shop, on = true) {
      if (on) refusedRefresh.add(shop);
      else refusedRefresh.delete(shop);
    },

    /** Refresh grants are answered after `ms`, as a slow Shopify would. */
    slowRefresh(ms) {
      refreshDelayMs = ms;
    },

    /** The most refresh grants that were ever being answered at once. */
    get mostConcurrentRefreshes() {
      return mostRefreshing;
    },

    /** Lifetime in seconds of access tokens issued from now on. */
    setAccessTokenTtl(seconds) {
      accessTokenTtl = seconds;
    },

    setShopName(shop, name) {
      names.set(shop, name);
    },

    isAccessTokenValid(token) {
      const held = accessTokens.get(token);
      return Boolean(held && (held.expiresAt === null || held.expiresAt > now()));
    },

    isRefreshTokenValid(token) {
      const held = refreshTokens.get(token);
      return Boolean(held && !held.spent && held.expiresAt > now());
    },

    consentUpdates,

    /** An abandoned checkout `abandonedCheckouts` lists for `shop` (an AbandonedCheckout node). */
    addAbandonedCheckout(shop, node) {
      if (!abandoned.has(shop)) abandoned.set(shop, []);
      abandoned.get(shop).push(node);
    },

    /** A customer of `shop`: `{ id: 'gid://shopify/Customer/…', phone: '+E164', whatsApp?: { state, updatedAt } }`. */
    addCustomer(shop, customer) {
      if (!customers.has(shop)) customers.set(shop, []);
      customers.get(shop).push(customer);
    },

    customer: (shop, id) => (customers.get(shop) ?? []).find((c) => c.id === id),

    /** A variant of `shop` (`gid://shopify/ProductVariant/…`): its own image and its product's featured one, URLs or null. */
    addVariant(shop, id, { image = null, productImage = null } = {}) {
      variants.set(`${shop} ${id}`, { image, productImage });
    },

    /** The query-point bucket of `shop`: its size and restore rate per second. */
    setBucket(shop, { maximum, restoreRate }) {
      buckets.set(shop, { maximum, available: maximum, restoreRate, at: now() });
    },

    grantsFor: (shop) => grants.filter((g) => g.shop === shop),
    callsFor: (shop) => graphqlCalls.filter((c) => c.shop === shop),
  };
}
