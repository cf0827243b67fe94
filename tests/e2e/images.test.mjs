// Image headers end to end: a step with `"header": "top_item_image"` sends the image of the
// cart's top item, looked up through Admin GraphQL (validated against Shopify's schema by the
// fake) once per variant, and the playbook's fallback image when the product has none or
// Shopify cannot say; the Graph fake checks each send against Meta's OpenAPI description.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { SHOP, adminApi, installShop, sessionToken, shopifyWebhook, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, templatesTo } from "./meta.mjs";

const FALLBACK = "https://maple-and-finch.example/logo.png";
const variantGid = (id) => `gid://shopify/ProductVariant/${id}`;

let app;
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, {
    playbook: {
      fallback_image_url: FALLBACK,
      steps: [
        {
          id: "reminder",
          delay_seconds: 1,
          header: "top_item_image",
          template: { name: "cart_reminder", languages: ["en_US"] },
          body_params: ["first_name", "top_item_title", "cart_total"],
          button_url_param: "recovery_token",
        },
      ],
    },
  });
  // The first admin call installs the shop (token exchange): lookups need its Admin token.
  expect((await adminApi(app, "/api/shop", { token: sessionToken({ shop: SHOP }) })).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

/** A new numeric variant id, so no test sees another's cached image. */
const freshVariant = () => String(40_000_000_000_000 + randomBytes(4).readUInt32BE());

/** A cart whose top item (the fixture's first and dearest line) is `variantId`; its one template. */
async function sendCart(variantId) {
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  checkout.line_items[0].variant_id = Number(variantId);
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 15_000 }).toBe(1);
  return templatesTo(app.graph, phone)[0].body;
}

const headerOf = (message) => message.template.components.find((c) => c.type === "header");
const lookupsOf = (variantId) =>
  app.shopify.callsFor(SHOP).filter((c) => /productVariant\(/.test(c.query ?? "") && c.variables?.id === variantGid(variantId));

test("the variant's image is the header, and two carts of it ask Shopify once", async () => {
  const variant = freshVariant();
  const image = "https://cdn.shopify.com/s/files/1/0612/merino-heather-grey.jpg";
  app.shopify.addVariant(SHOP, variantGid(variant), { image, productImage: "https://cdn.shopify.com/s/files/1/0612/merino.jpg" });
  for (const _ of [1, 2]) {
    const message = await sendCart(variant);
    expect(message.template.components[0]).toEqual({ type: "header", parameters: [{ type: "image", image: { link: image } }] });
    expect(message.template.components[1].type).toBe("body");
  }
  expect(lookupsOf(variant)).toHaveLength(1);
});

test("a variant without an image shows its product's, and one with neither the fallback", async () => {
  const productOnly = freshVariant();
  const productImage = "https://cdn.shopify.com/s/files/1/0612/tote.jpg";
  app.shopify.addVariant(SHOP, variantGid(productOnly), { productImage });
  expect(headerOf(await sendCart(productOnly)).parameters[0].image.link).toBe(productImage);

  const bare = freshVariant();
  app.shopify.addVariant(SHOP, variantGid(bare), {});
  expect(headerOf(await sendCart(bare)).parameters[0].image.link).toBe(FALLBACK);
  // "None" is an answer, and kept like an image.
  expect(headerOf(await sendCart(bare)).parameters[0].image.link).toBe(FALLBACK);
  expect(lookupsOf(bare)).toHaveLength(1);
});

test("a failing lookup does not hold the send back, and is asked again next time", async () => {
  const variant = freshVariant();
  const image = "https://cdn.shopify.com/s/files/1/0612/scarf.jpg";
  app.shopify.addVariant(SHOP, variantGid(variant), { image });
  app.shopify.failNext(1, { status: 503 }, { shop: SHOP });
  expect(headerOf(await sendCart(variant)).parameters[0].image.link).toBe(FALLBACK);
  expect(headerOf(await sendCart(variant)).parameters[0].image.link).toBe(image);
  expect(lookupsOf(variant).map((c) => c.status)).toEqual([503, 200]);
});
