// The message templates of the Graph fake's WhatsApp Business Accounts: created with
// POST /{waba-id}/message_templates, listed page by page with GET, changed by tests (a template
// Meta pauses, rejects or moves to another category). A definition is checked against Meta's
// OpenAPI file and against the template rules Meta's guides state and the file cannot express.
import { randomBytes } from 'node:crypto';
import { validateTemplateCreation } from './whatsapp-openapi.mjs';

const CATEGORIES = ['MARKETING', 'UTILITY', 'AUTHENTICATION'];
const CTA = ['URL', 'PHONE_NUMBER', 'COPY_CODE', 'FLOW', 'MPM', 'CATALOG'];
// Meta's time-to-live bounds per category, in seconds (templates/time-to-live guide).
const TTL = { MARKETING: [43_200, 2_592_000], UTILITY: [30, 43_200], AUTHENTICATION: [30, 900] };

const variables = (text) => new Set([...String(text ?? '').matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((m) => m[1])).size;

/** What Meta would refuse in a template definition, as messages (empty when it is fine). */
export function templateProblems(body) {
  const problems = [...validateTemplateCreation(body).errors];
  if (!/^[a-z0-9_]{1,512}$/.test(body?.name ?? '')) problems.push('name must be lowercase letters, digits and underscores');
  if (typeof body?.language !== 'string' || !body.language) problems.push('language is required');
  if (!CATEGORIES.includes(body?.category)) problems.push(`category must be one of ${CATEGORIES.join(', ')}`);
  const components = Array.isArray(body?.components) ? body.components : [];
  const of = (type) => components.filter((c) => String(c?.type).toUpperCase() === type);
  const [bodyPart, ...moreBodies] = of('BODY');
  if (!bodyPart || moreBodies.length) problems.push('exactly one BODY component is required');
  else {
    if (typeof bodyPart.text !== 'string' || bodyPart.text.length > 1024) problems.push('BODY text is required, at most 1024 characters');
    const n = variables(bodyPart.text);
    if (n > 0 && bodyPart.example?.body_text?.[0]?.length !== n) problems.push(`BODY has ${n} variables: example.body_text must give ${n} sample values`);
  }
  for (const header of of('HEADER')) {
    const format = String(header.format ?? 'TEXT').toUpperCase();
    if (['IMAGE', 'VIDEO', 'DOCUMENT'].includes(format) && !(header.example?.header_handle?.length >= 1)) {
      problems.push(`a ${format} header needs example.header_handle`);
    }
  }
  for (const footer of of('FOOTER')) if (typeof footer.text !== 'string' || footer.text.length > 60) problems.push('FOOTER text is at most 60 characters');
  const buttons = of('BUTTONS').flatMap((c) => c.buttons ?? []);
  if (buttons.length > 10) problems.push('at most 10 buttons');
  const kinds = buttons.map((b) => String(b?.type).toUpperCase());
  // Quick replies and call-to-action buttons are grouped, never interleaved.
  const groups = kinds.map((k) => (CTA.includes(k) ? 'cta' : 'qr')).filter((g, i, all) => g !== all[i - 1]);
  if (groups.length > 2) problems.push('quick-reply and call-to-action buttons must be grouped');
  if (kinds.filter((k) => k === 'COPY_CODE').length > 1) problems.push('at most one COPY_CODE button');
  for (const b of buttons) {
    const kind = String(b?.type).toUpperCase();
    if (kind === 'COPY_CODE' && !(typeof b.example === 'string' && b.example.length >= 1 && b.example.length <= 15)) {
      problems.push('COPY_CODE example is a code of 1-15 characters');
    }
    if (kind !== 'COPY_CODE' && !(typeof b.text === 'string' && b.text.length >= 1 && b.text.length <= 25)) problems.push(`${kind} button text is 1-25 characters`);
    if (kind === 'URL') {
      if (!/^https?:\/\//.test(b.url ?? '')) problems.push('URL button needs an http(s) url');
      if (variables(b.url) > 0 && !(Array.isArray(b.example) && b.example.length === 1)) problems.push('a URL with a variable needs one example URL');
    }
  }
  const ttl = body?.message_send_ttl_seconds;
  const range = TTL[body?.category];
  if (ttl !== undefined && range && !(Number.isInteger(ttl) && ttl >= range[0] && ttl <= range[1])) {
    problems.push(`message_send_ttl_seconds for ${body.category} is ${range[0]}-${range[1]}`);
  }
  return problems;
}

/** The templates of every account: `review` is the status a new template gets. */
export function createTemplateStore() {
  const accounts = new Map(); // waba id -> templates, in creation order
  const list = (wabaId) => {
    if (!accounts.has(wabaId)) accounts.set(wabaId, []);
    return accounts.get(wabaId);
  };
  const find = (wabaId, name, language) => list(wabaId).find((t) => t.name === name && t.language === language);
  const store = {
    review: 'APPROVED',
    list,

    /** Adds a template as it stands (tests: one the merchant made in WhatsApp Manager). */
    add(wabaId, template) {
      const entry = { id: String(BigInt(`0x${randomBytes(6).toString('hex')}`)), status: 'APPROVED', category: 'MARKETING', components: [], ...template };
      list(wabaId).push(entry);
      return entry;
    },

    /** A creation request: `{ status, body }` of Meta's answer. */
    create(wabaId, body) {
      if (find(wabaId, body.name, body.language)) {
        return {
          status: 400,
          body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, error_subcode: 2388024, error_user_msg: `Content in ${body.language} already exists for ${body.name}.` } },
        };
      }
      const entry = store.add(wabaId, { ...body, status: store.review });
      return { status: 200, body: { id: entry.id, status: entry.status, category: entry.category } };
    },

    /** Pauses, rejects, re-categorizes...: `{ status?, category? }`. */
    change(wabaId, name, language, change) {
      Object.assign(find(wabaId, name, language), change);
    },

    /** A page of the list, as Graph pages it: `limit` entries from the `after` cursor. */
    page(wabaId, url) {
      const all = list(wabaId);
      const limit = Math.min(Number(url.searchParams.get('limit')) || 25, 100);
      const after = url.searchParams.get('after');
      const start = after ? Number(Buffer.from(after, 'base64').toString()) : 0;
      const data = all.slice(start, start + limit);
      const cursor = (i) => Buffer.from(String(i)).toString('base64');
      const paging = { cursors: { before: cursor(start), after: cursor(start + data.length) } };
      if (start + data.length < all.length) paging.next = `${url.origin}${url.pathname}?limit=${limit}&after=${cursor(start + data.length)}`;
      return { status: 200, body: { data, paging } };
    },
  };
  return store;
}
