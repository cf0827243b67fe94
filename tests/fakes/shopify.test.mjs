import { describe, expect, it } from 'vitest';
import { createShopifyFake, signSessionToken } from './shopify.mjs';

const API_KEY = 'key';
const SECRET = 'secret';
const SHOP = 'fake-test.myshopify.com';
const ORIGIN = 'http://shopify.test';

const MUTATION = `mutation CreateRecoveryCode($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id codeDiscount { ... on DiscountCodeBasic { codes(first: 1) { nodes { code } } } } }
    userErrors { field code message } } }`;

const input = (extra = {}) => ({
  title: 'cartback recovery CB10-K7Q2XMA',
  code: 'CB10-K7Q2XMA',
  startsAt: '2026-10-14T18:00:00.000Z',
  endsAt: '2026-10-16T18:00:00.000Z',
  context: { all: 'ALL' },
  customerGets: { value: { percentage: 0.1 }, items: { all: true } },
  usageLimit: 1,
  appliesOncePerCustomer: true,
  combinesWith: { orderDiscounts: false, productDiscounts: false, shippingDiscounts: true },
  ...extra,
});

/** A fake with an offline token for SHOP, and a function that POSTs GraphQL with it. */
async function connected() {
  const fake = createShopifyFake({ apiKey: API_KEY, apiSecret: SECRET });
  const now = Math.floor(Date.now() / 1000);
  const subject = signSessionToken({ dest: `https://${SHOP}`, aud: API_KEY, exp: now + 60, nbf: now }, SECRET);
  const grant = await fake.handle(new Request(`${ORIGIN}/${SHOP}/admin/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: API_KEY, client_secret: SECRET, subject_token: subject,
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      requested_token_type: 'urn:shopify:params:oauth:token-type:offline-access-token',
    }),
  }));
  const { access_token: token } = await grant.json();
  const graphql = async (body, version = '2026-10') => {
    const res = await fake.handle(new Request(`${ORIGIN}/${SHOP}/admin/api/${version}/graphql.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': token },
      body: JSON.stringify(body),
    }));
    return { status: res.status, body: await res.json() };
  };
  return { fake, graphql };
}

describe('the Shopify fake checks Admin GraphQL against the 2026-10 schema', () => {
  it('serves a valid discount mutation and the shop facts query, recording nothing', async () => {
    const { fake, graphql } = await connected();
    const created = await graphql({ query: MUTATION, variables: { basicCodeDiscount: input() } });
    expect(created.body.data.discountCodeBasicCreate.userErrors).toEqual([]);
    const facts = await graphql({ query: 'query ShopFacts { shop { name currencyCode ianaTimezone } }' });
    expect(facts.body.data.shop).toMatchObject({ currencyCode: 'USD', ianaTimezone: 'America/Toronto' });
    expect(fake.invalid).toEqual([]);
  });

  it.each([
    ['a field the type lacks', { query: 'query { shop { nam } }' }, /Cannot query field "nam" on type "Shop"/],
    ['a syntax error', { query: 'query { shop { name }' }, /Syntax Error/],
    ['an argument the field lacks', { query: 'query { shop(id: 1) { name } }' }, /Unknown argument "id"/],
    ['a variable of the wrong enum', { query: MUTATION, variables: { basicCodeDiscount: input({ context: { all: true } }) } }, /DiscountBuyerSelection/],
    ['two keys of a @oneOf input', { query: MUTATION, variables: { basicCodeDiscount: input({ context: { all: 'ALL', customers: { add: [] } } }) } }, /Exactly one key/],
    ['a field the input lacks', { query: MUTATION, variables: { basicCodeDiscount: input({ usageLimits: 1 }) } }, /"usageLimits" is not defined/],
    ['a missing required variable', { query: MUTATION, variables: {} }, /of required type "DiscountCodeBasicInput!" was not provided/],
    ['a string where a number goes', { query: MUTATION, variables: { basicCodeDiscount: input({ usageLimit: '1' }) } }, /Int cannot represent/],
  ])('answers 200 with errors, as Shopify does, and records %s', async (_, body, problem) => {
    const { fake, graphql } = await connected();
    const answer = await graphql(body);
    expect(answer.status).toBe(200);
    expect(answer.body.data).toBeUndefined();
    expect(answer.body.errors.length).toBeGreaterThan(0);
    expect(fake.invalid).toHaveLength(1);
    expect(fake.invalid[0].problems.join(' ')).toMatch(problem);
    expect(fake.discounts).toEqual([]);
  });

  it('records a call to another API version than the schema it holds', async () => {
    const { fake, graphql } = await connected();
    await graphql({ query: 'query { shop { name } }' }, '2025-10');
    expect(fake.invalid[0].problems).toEqual(['API version 2025-10: the fake serves 2026-10']);
  });
});
