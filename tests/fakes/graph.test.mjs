import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { PATCHES, validateSendMessage } from './whatsapp-openapi.mjs';
import { createGraphFake } from './graph.mjs';

const fixture = (name) => JSON.parse(readFileSync(new URL(`../fixtures/whatsapp/${name}`, import.meta.url), 'utf8'));
const templateRequest = fixture('send-template-request.json');

// Meta's documented examples (whatsapp-cloud-api.md §3).
const textExample = {
  messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234',
  type: 'text', text: { preview_url: false, body: 'Your cart is still saved.' },
};
const replyButtonsExample = {
  messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234', type: 'interactive',
  interactive: {
    type: 'button',
    body: { text: 'Want us to hold your cart for 24h?' },
    action: {
      buttons: [
        { type: 'reply', reply: { id: 'hold_cart', title: 'Yes, hold it' } },
        { type: 'reply', reply: { id: 'stop_msgs', title: 'Stop messages' } },
      ],
    },
  },
};

// The fixture's buttons: 1 copy_code (coupon), 2 url, 3 quick_reply.
const withTemplate = (edit) => {
  const body = structuredClone(templateRequest);
  edit(body.template.components, body);
  return body;
};

describe('validateSendMessage (Meta OpenAPI + known-gap patches)', () => {
  it('names the five sent-request patches', () => {
    expect(PATCHES).toHaveLength(5);
  });

  it.each([
    ['the template request fixture', templateRequest],
    ["Meta's text example", textExample],
    ["Meta's interactive reply-button example", replyButtonsExample],
    ['COPY_CODE in upper case', withTemplate((c) => { c[1].sub_type = 'COPY_CODE'; })],
    ['an integer button index', withTemplate((c) => { c[1].index = 0; })],
  ])('accepts %s', (_, body) => {
    expect(validateSendMessage(body)).toEqual({ ok: true, errors: [] });
  });

  it.each([
    ['missing to', withTemplate((_, b) => { delete b.to; }), "/ must have required property 'to'"],
    ['an unknown top-level property', { ...textExample, priority: 'high' }, "/ must NOT have unevaluated properties: 'priority'"],
    ['a wrong template component type', withTemplate((c) => { c[0].type = 'footer'; }), '/template/components/0/type must be equal to one of the allowed values: header, body, button'],
    ['a coupon_code over 15 characters', withTemplate((c) => { c[1].parameters[0].coupon_code = 'CB10-K7Q2XM-LONG'; }), '/template/components/1/parameters/0/coupon_code must NOT have more than 15 characters'],
    ['sub_type "bogus"', withTemplate((c) => { c[1].sub_type = 'bogus'; }), '/template/components/1/sub_type must match a schema in anyOf'],
    // Nothing looser than the known gaps: only copy_code is case-insensitive, indexes stay 0-9.
    ['sub_type "QUICK_REPLY"', withTemplate((c) => { c[3].sub_type = 'QUICK_REPLY'; }), '/template/components/3/sub_type must match a schema in anyOf'],
    ['button index "10"', withTemplate((c) => { c[2].index = '10'; }), '/template/components/2/index must match a schema in anyOf'],
    ['a body parameter without its text', withTemplate((c) => { delete c[0].parameters[0].text; }), "/template/components/0/parameters/0 must have required property 'text'"],
    // Required by Meta's file and not a known gap, although Meta's guides leave it out.
    ['language without policy', withTemplate((_, b) => { delete b.template.language.policy; }), "/template/language must have required property 'policy'"],
  ])('rejects %s', (_, body, error) => {
    const result = validateSendMessage(body);
    expect(result.ok).toBe(false);
    expect(result.errors).toContain(error);
  });
});

const PHONE_NUMBER_ID = '318462950071245';
const TOKEN = 'test-access-token';
const BASE = 'https://graph.facebook.com/v23.0';

const send = (fake, body, { token = TOKEN, phoneNumberId = PHONE_NUMBER_ID, edge = 'messages' } = {}) =>
  fake.handle(new Request(`${BASE}/${phoneNumberId}/${edge}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }));

describe('createGraphFake', () => {
  let clock;
  let fake;

  beforeEach(() => {
    clock = 1_792_000_000_000;
    fake = createGraphFake({ now: () => clock });
    fake.accounts.addNumber({ phoneNumberId: PHONE_NUMBER_ID, accessToken: TOKEN, verifiedName: 'Maple & Finch', displayPhoneNumber: '+1 628-555-0107' });
  });

  it('accepts a valid send like Meta and records it', async () => {
    const seen = [];
    fake.onMessage((m) => seen.push(m));
    const first = await send(fake, templateRequest);
    const second = await send(fake, textExample);

    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body).toMatchObject({
      messaging_product: 'whatsapp',
      contacts: [{ input: '+14165550142', wa_id: '14165550142' }],
      messages: [{ id: expect.stringMatching(/^wamid\./), message_status: 'accepted' }],
    });
    expect(Object.keys(body)).toEqual(Object.keys(fixture('send-success-response.json')));
    const secondId = (await second.json()).messages[0].id;
    expect(secondId).not.toBe(body.messages[0].id);

    expect(fake.messages).toEqual([
      { at: clock, phoneNumberId: PHONE_NUMBER_ID, to: '+14165550142', type: 'template', body: templateRequest, wamid: body.messages[0].id, endpoint: 'messages' },
      { at: clock, phoneNumberId: PHONE_NUMBER_ID, to: '16505551234', type: 'text', body: textExample, wamid: secondId, endpoint: 'messages' },
    ]);
    expect(seen).toEqual(fake.messages);
    expect(fake.invalid).toEqual([]);
    expect(fake.rejected).toEqual([]);
  });

  it('serves the Marketing Messages API: template bodies only, 131055 until the business is onboarded', async () => {
    const marketing = (body) => send(fake, body, { edge: 'marketing_messages' });
    const accepted = await marketing(templateRequest);
    expect(accepted.status).toBe(200);
    expect((await accepted.json()).messages[0].message_status).toBe('accepted');
    expect(fake.messages).toMatchObject([{ endpoint: 'marketing_messages', type: 'template', body: templateRequest }]);

    // Free-form messages never belong there: Meta's schema for the endpoint refuses them.
    expect((await marketing(textExample)).status).toBe(400);
    expect(fake.invalid).toMatchObject([{ endpoint: 'marketing_messages', body: textExample }]);

    fake.accounts.setMarketingMessages(PHONE_NUMBER_ID, false);
    const refused = await marketing(templateRequest);
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toMatchObject({ code: 131055, type: 'OAuthException' });
    expect(fake.rejected).toMatchObject([{ endpoint: 'marketing_messages', code: 131055 }]);
    expect((await send(fake, templateRequest)).status).toBe(200);
  });

  it('answers a wrong token with 401 / 190 and records the refusal', async () => {
    const response = await send(fake, templateRequest, { token: 'wrong' });
    expect(response.status).toBe(401);
    expect((await response.json()).error).toMatchObject({ type: 'OAuthException', code: 190 });
    expect(fake.messages).toEqual([]);
    expect(fake.rejected).toMatchObject([{ code: 190, httpStatus: 401, to: '+14165550142' }]);
  });

  it('answers an invalid body with 400 / 100 listing the schema errors, recorded in invalid', async () => {
    const { to, ...body } = templateRequest;
    const response = await send(fake, body);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({
      type: 'OAuthException',
      code: 100,
      error_data: { messaging_product: 'whatsapp', details: "/ must have required property 'to'" },
    });
    expect(fake.invalid).toMatchObject([{ phoneNumberId: PHONE_NUMBER_ID, body, errors: ["/ must have required property 'to'"] }]);
    expect(fake.messages).toEqual([]);
  });

  it.each([130429, 131049, 190])('failNext(%i) answers with the fixture body and status', async (code) => {
    const manifest = JSON.parse(readFileSync(new URL('../fixtures/manifest.json', import.meta.url), 'utf8'));
    const file = `whatsapp/send-error-${code}.json`;
    fake.failNext(2, code);

    for (let i = 0; i < 2; i += 1) {
      const response = await send(fake, templateRequest);
      expect(response.status).toBe(manifest.whatsapp[file].http_status);
      expect(await response.json()).toEqual(fixture(`send-error-${code}.json`));
    }
    expect((await send(fake, templateRequest)).status).toBe(200);
    expect(fake.rejected).toMatchObject([{ code, type: 'template' }, { code }]);
    expect(fake.messages).toHaveLength(1);
  });

  it('failNext builds the same envelope for other codes, and code 2 for a 5xx', async () => {
    fake.failNext(1, 131056);
    fake.failNext(1, { httpStatus: 503 });

    const pair = await send(fake, templateRequest);
    expect(pair.status).toBe(400);
    expect((await pair.json()).error).toMatchObject({
      message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
      type: 'OAuthException',
      code: 131056,
      error_data: { messaging_product: 'whatsapp', details: expect.any(String) },
      fbtrace_id: expect.any(String),
    });
    const outage = await send(fake, templateRequest);
    expect(outage.status).toBe(503);
    expect((await outage.json()).error).toMatchObject({ message: '(#2) Service temporarily unavailable', code: 2 });
  });

  it('rejects sends above the rate limit within a sliding second, per phone number id', async () => {
    fake.accounts.addNumber({ phoneNumberId: '2', accessToken: TOKEN });
    fake.setRateLimit(2);
    const statuses = async () => [
      (await send(fake, textExample)).status,
      (await send(fake, textExample, { phoneNumberId: '2' })).status,
    ];

    expect(await statuses()).toEqual([200, 200]);
    clock += 500;
    expect(await statuses()).toEqual([200, 200]);
    const limited = await send(fake, textExample);
    expect(limited.status).toBe(400);
    expect(await limited.json()).toEqual(fixture('send-error-130429.json'));

    clock += 501; // the first send left the window
    expect((await send(fake, textExample)).status).toBe(200);
    expect(fake.rejected).toMatchObject([{ code: 130429, phoneNumberId: PHONE_NUMBER_ID }]);
    expect(fake.messages).toHaveLength(5);

    fake.setRateLimit(null);
    for (let i = 0; i < 5; i += 1) expect((await send(fake, textExample)).status).toBe(200);
  });

  it('reports the phone number for the credentials check', async () => {
    const get = (id, token) => fake.handle(new Request(`${BASE}/${id}`, { headers: { authorization: `Bearer ${token}` } }));

    const ok = await get(PHONE_NUMBER_ID, TOKEN);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ verified_name: 'Maple & Finch', display_phone_number: '+1 628-555-0107', id: PHONE_NUMBER_ID, quality_rating: 'GREEN' });

    const wrongToken = await get(PHONE_NUMBER_ID, 'wrong');
    expect(wrongToken.status).toBe(401);
    expect((await wrongToken.json()).error.code).toBe(190);

    const unknown = await get('999', TOKEN);
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error).toMatchObject({ code: 100, message: expect.stringMatching(/^Unsupported get request\. Object with ID '999' does not exist/) });
  });

  it('answers anything else with 404 and a Graph error envelope', async () => {
    const response = await fake.handle(new Request(`${BASE}/${PHONE_NUMBER_ID}/subscribed_apps`));
    expect(response.status).toBe(404);
    expect((await response.json()).error).toMatchObject({ type: 'OAuthException', code: expect.any(Number) });
  });

  it('reset() clears records, scripted failures and limits but keeps accounts', async () => {
    await send(fake, { ...textExample, to: undefined });
    fake.failNext(3, 131049);
    fake.setRateLimit(0);
    fake.reset();

    expect([fake.messages, fake.invalid, fake.rejected]).toEqual([[], [], []]);
    expect((await send(fake, textExample)).status).toBe(200);
  });
});

describe('message templates of the Graph fake', () => {
  const WABA = '102290129340398';
  let fake;
  const call = (method, path, body) => fake.handle(new Request(`${BASE}/${WABA}/message_templates${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }));
  const definition = (extra = {}) => ({
    name: 'cart_reminder', language: 'en_US', category: 'MARKETING', message_send_ttl_seconds: 43200,
    components: [
      { type: 'BODY', text: 'Hi {{1}}, your {{2}} waits', example: { body_text: [['Ana', 'sweater']] } },
      { type: 'BUTTONS', buttons: [
        { type: 'COPY_CODE', example: 'CB10-K7Q2XMA' },
        { type: 'URL', text: 'Complete my order', url: 'https://cartback.test/r/{{1}}', example: ['https://cartback.test/r/x'] },
        { type: 'QUICK_REPLY', text: 'Not interested' }] },
    ],
    ...extra,
  });

  beforeEach(() => {
    fake = createGraphFake();
    fake.accounts.addNumber({ phoneNumberId: PHONE_NUMBER_ID, accessToken: TOKEN });
  });

  it('creates a valid definition once, and lists it page by page', async () => {
    const res = await call('POST', '', definition());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: expect.any(String), status: 'APPROVED', category: 'MARKETING' });
    expect((await call('POST', '', definition())).status).toBe(400); // the same name and language
    for (let i = 0; i < 4; i++) fake.templates.add(WABA, { name: `t${i}`, language: 'en_US' });
    const first = await (await call('GET', '?limit=2')).json();
    expect(first.data.map((t) => t.name)).toEqual(['cart_reminder', 't0']);
    const rest = await (await call('GET', `?limit=2&after=${first.paging.cursors.after}`)).json();
    const last = await (await call('GET', `?limit=2&after=${rest.paging.cursors.after}`)).json();
    expect(last.data.map((t) => t.name)).toEqual(['t3']);
    expect(last.paging.next).toBeUndefined();
    expect(fake.invalid).toEqual([]);
  });

  it.each([
    ['a TTL below 12 h for marketing', { message_send_ttl_seconds: 600 }, /message_send_ttl_seconds for MARKETING/],
    ['an unknown category', { category: 'PROMO' }, /category must be one of/],
    ['a capitalised name', { name: 'Cart Reminder' }, /lowercase/],
    ['body variables without samples', { components: [{ type: 'BODY', text: 'Hi {{1}}' }] }, /example.body_text/],
    ['interleaved buttons', { components: [{ type: 'BODY', text: 'Hi' }, { type: 'BUTTONS', buttons: [
      { type: 'QUICK_REPLY', text: 'A' }, { type: 'URL', text: 'B', url: 'https://x.test' }, { type: 'QUICK_REPLY', text: 'C' }] }] }, /grouped/],
    ['an image header without a sample', { components: [{ type: 'HEADER', format: 'IMAGE' }, { type: 'BODY', text: 'Hi' }] }, /header_handle/],
  ])('records %s as invalid', async (_, extra, problem) => {
    expect((await call('POST', '', definition(extra))).status).toBe(400);
    expect(fake.invalid[0].errors.join(' ')).toMatch(problem);
    expect(fake.templates.list(WABA)).toEqual([]);
  });
});
