#!/usr/bin/env node
// Local stand-in for graph.facebook.com during `make dev`: the Worker's Graph base URL points here,
// and every message it sends is printed as a "phone screen" instead of reaching a real phone.
// Requests Meta's contract would reject are printed loudly, so mistakes show up before production.
// Like Meta, it then calls the Worker back with signed `sent`/`delivered`/`read` statuses, and a
// line typed here (`+14165550142 Do you ship to Lisbon?`) arrives as that shopper's reply.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { createGraphFake } from '../tests/fakes/graph.mjs';

const HOST = '127.0.0.1';
// `||`: make passes unset variables as empty strings.
const PORT = Number(process.env.WHATSAPP_SIM_PORT || 8799);
const PHONE_NUMBER_ID = process.env.DEMO_PHONE_NUMBER_ID || '100000000000001';
const ACCESS_TOKEN = process.env.DEMO_WHATSAPP_TOKEN || 'demo-whatsapp-token';
// Where Meta's webhooks go, and the app secret that signs them (from .dev.vars).
const WORKER_URL = process.env.WORKER_URL || '';
const APP_SECRET = process.env.META_APP_SECRET || '';

const color = process.stdout.isTTY;
const paint = (code) => (text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const [bold, dim, red, green] = [paint('1'), paint('2'), paint('1;31'), paint('32')];

const DISPLAY_NUMBER = '+1 555-555-0100';
const graph = createGraphFake();
graph.accounts.addNumber({ phoneNumberId: PHONE_NUMBER_ID, accessToken: ACCESS_TOKEN, displayPhoneNumber: DISPLAY_NUMBER });

const clock = (at) => new Date(at).toTimeString().slice(0, 8);

// How WhatsApp shows each template parameter: media as a placeholder, localised values by fallback.
function renderParameter(p) {
  switch (p.type) {
    case 'text': return p.text;
    case 'payload': return `payload ${p.payload}`;
    case 'coupon_code': return p.coupon_code;
    case 'currency': return p.currency.fallback_value;
    case 'date_time': return p.date_time.fallback_value;
    case 'image': case 'video': case 'document': return `[${p.type}] ${p[p.type].link ?? `media id ${p[p.type].id}`}`;
    default: return JSON.stringify(p);
  }
}

function renderContent(body) {
  if (body.type === 'template') {
    const { name, language, components = [] } = body.template;
    const lines = [`template ${bold(name)} (${language.code})`];
    for (const c of components) {
      const params = c.parameters ?? [];
      if (c.type === 'button') {
        lines.push(`  button ${c.index} ${c.sub_type}: ${params.map(renderParameter).join(', ')}`);
      } else {
        params.forEach((p, i) => lines.push(`  ${c.type} {{${i + 1}}} ${renderParameter(p)}`));
      }
    }
    return lines;
  }
  if (body.type === 'text') return (body.text.body ?? '').split('\n');
  if (body.type === 'interactive') {
    const { header, body: text, footer, action } = body.interactive;
    return [
      header?.text && bold(header.text),
      ...(text?.text ?? '').split('\n'),
      footer?.text && dim(footer.text),
      ...(action.buttons ?? []).map((b) => `  [ ${b.reply.title} ]  ${dim(b.reply.id)}`),
      action.button && `  [ ${action.button} ]`,
      ...(action.sections ?? []).flatMap((section) => section.rows ?? []).map((r) => `    • ${r.title}  ${dim(r.id)}`),
    ].filter(Boolean);
  }
  return [`${body.type}: ${JSON.stringify(body[body.type])}`];
}

graph.onMessage(({ at, phoneNumberId, to, body, wamid }) => {
  const rule = '─'.repeat(64);
  const lines = [
    `${green('┌─ WhatsApp')} ${clock(at)} ${green(rule.slice(0, 44))}`,
    `│ from ${DISPLAY_NUMBER} (phone number id ${phoneNumberId})`,
    `│ to   ${bold(to)}`,
    '│',
    ...renderContent(body).map((line) => `│ ${line}`),
    '│',
    `│ ${dim(wamid)}`,
    green(`└${rule}`),
  ];
  console.log(lines.join('\n'));
});

/** POSTs a webhook to the Worker, signed as Meta signs it (`X-Hub-Signature-256`). */
async function deliver(field, value) {
  if (!WORKER_URL || !APP_SECRET) return;
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '200000000000002', changes: [{ field, value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: DISPLAY_NUMBER.replace(/\D/g, ''), phone_number_id: PHONE_NUMBER_ID },
      ...value,
    } }] }],
  });
  const signature = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
  try {
    const res = await fetch(`${WORKER_URL}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature },
      body,
    });
    if (!res.ok) console.log(red(`✗ webhook answered ${res.status}: ${await res.text()}`));
  } catch (error) {
    console.log(red(`✗ webhook not delivered: ${error.message}`));
  }
}

const seconds = () => String(Math.floor(Date.now() / 1000));

// The phone receives and reads each message a moment later, as Meta then reports.
graph.onMessage(({ to, wamid, body }) => {
  const recipient_id = to.replace('+', '');
  const callback = body.biz_opaque_callback_data;
  ['sent', 'delivered', 'read'].forEach((status, i) => {
    setTimeout(() => deliver('messages', {
      statuses: [{ id: wamid, status, timestamp: seconds(), recipient_id, ...(callback ? { biz_opaque_callback_data: callback } : {}) }],
    }), 500 + i * 1500);
  });
});

// `+phone text`: the shopper writes back.
createInterface({ input: process.stdin }).on('line', (line) => {
  const match = line.trim().match(/^(\+?\d{8,15})\s+(.+)$/);
  if (!match) {
    if (line.trim()) console.log(dim('type: +<phone> <message>   e.g. +14165550142 STOP'));
    return;
  }
  const wa_id = match[1].replace('+', '');
  deliver('messages', {
    contacts: [{ profile: { name: 'Demo Shopper' }, wa_id }],
    messages: [{ from: wa_id, id: `wamid.${randomBytes(18).toString('base64url')}`, timestamp: seconds(), type: 'text', text: { body: match[2] } }],
  });
});

graph.onInvalid(({ at, phoneNumberId, body, errors }) => {
  console.log([
    red(`!!! ${clock(at)} INVALID WhatsApp request from phone number id ${phoneNumberId}: answered 400, Meta would reject it`),
    ...errors.map((e) => red(`!!!   ${e}`)),
    `!!! body: ${typeof body === 'string' ? body : JSON.stringify(body)}`,
  ].join('\n'));
});

graph.onRejected(({ at, phoneNumberId, to, code, httpStatus }) => {
  console.log(red(`✗ ${clock(at)} send to ${to ?? '?'} from phone number id ${phoneNumberId} refused: HTTP ${httpStatus}, code ${code}`));
});

const server = createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const request = new Request(`http://${req.headers.host ?? `${HOST}:${PORT}`}${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
      body: ['GET', 'HEAD'].includes(req.method) ? undefined : Buffer.concat(chunks),
    });
    const response = await graph.handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(red(`whatsapp-sim: ${error.stack ?? error}`));
    res.writeHead(500).end();
  }
});

server.listen(PORT, HOST, () => {
  console.log(`WhatsApp simulator on http://${HOST}:${PORT} (Graph API), phone number id ${PHONE_NUMBER_ID}`);
});
