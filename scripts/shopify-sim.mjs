#!/usr/bin/env node
// Local stand-in for the Shopify Admin API during `make dev`: the Worker's SHOPIFY_ADMIN_ORIGIN
// points here. It grants tokens (token exchange and refresh) and creates discount codes, and
// prints each code it creates.
import { createServer } from "node:http";
import { createShopifyFake } from "../tests/fakes/shopify.mjs";
import { devVars } from "./dev-vars.mjs";

const HOST = "127.0.0.1";
const PORT = Number(process.env.SHOPIFY_SIM_PORT || 8798);
const vars = devVars();
const shopify = createShopifyFake({ apiKey: vars.SHOPIFY_API_KEY, apiSecret: vars.SHOPIFY_API_SECRET });
shopify.setShopName("cartback-demo.myshopify.com", "Maple & Finch (demo)");

let printed = 0;
const server = createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const request = new Request(`http://${HOST}:${PORT}${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
      body: ["GET", "HEAD"].includes(req.method) ? undefined : Buffer.concat(chunks),
    });
    const response = await shopify.handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
    for (const d of shopify.discounts.slice(printed)) {
      console.log(`Shopify: discount code ${d.code} created for ${d.shop}`);
    }
    printed = shopify.discounts.length;
  } catch (error) {
    console.error(`shopify-sim: ${error.stack ?? error}`);
    res.writeHead(500).end();
  }
});

server.listen(PORT, HOST, () => console.log(`Shopify store simulator on http://${HOST}:${PORT} (Admin API)`));
