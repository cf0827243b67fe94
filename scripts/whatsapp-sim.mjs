#!/usr/bin/env node
// Local stand-in for graph.facebook.com during `make dev`: the Worker's Graph base URL points here,
// and every message it sends is printed as a "phone screen" instead of reaching a real phone.
// Requests Meta's contract would reject are printed loudly, so mistakes show up before production.
// Like Meta, it then calls the Worker back with signed `sent`/`delivered`/`read` statuses, and a
// line typed here (`+14165550142 Do you ship to Lisbon?`) arrives as that shopper's reply.
// `/phones` shows a phone screen per shopper in a browser: each message with its buttons, where
// one can tap a button, reply, say STOP, or follow the recovery link to the simulated checkout.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
// The store simulator, where the shop's own checkout links land locally.
const STORE_URL = process.env.STORE_URL || 'http://127.0.0.1:8798';

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

// What each shopper's phone shows: the business's messages and the shopper's own.
const phones = new Map(); // "+E164" -> { name, messages: [...] }
const phoneOf = (to) => {
  const key = to.startsWith('+') ? to : `+${to}`;
  if (!phones.has(key)) phones.set(key, { messages: [] });
  return phones.get(key);
};
const byWamid = new Map();

// The wording of the templates cartback installs, for the phone screen.
const TEMPLATES = {
  cart_reminder: {
    en: 'Hi {{1}}, you left {{2}} in your cart. Your total is {{3}} — tap below to finish your order.',
    pt: 'Oi {{1}}, você deixou {{2}} no carrinho. O total é {{3}} — toque abaixo para concluir o pedido.',
    es: 'Hola {{1}}, dejaste {{2}} en tu carrito. El total es {{3}}: toca abajo para terminar tu pedido.',
  },
  cart_offer: {
    en: '{{1}}, your cart is still waiting. Here is {{2}}% off with code {{3}}, for the next 48 hours.',
    pt: '{{1}}, seu carrinho ainda está esperando. Aqui vai {{2}}% de desconto com o código {{3}}, nas próximas 48 horas.',
    es: '{{1}}, tu carrito sigue esperando. Tienes un {{2}} % de descuento con el código {{3}} durante las próximas 48 horas.',
  },
};
const LINK_LABEL = { en: 'Complete my order', pt: 'Concluir meu pedido', es: 'Completar mi pedido' };
// The quick-reply buttons of those templates, by the payload cartback sets on them.
const REPLY_LABEL = { not_interested: { en: 'Not interested', pt: 'Não tenho interesse', es: 'No me interesa' } };
const plain = (p) => renderParameter(p).replace(/\x1b\[[0-9;]*m/g, '');

const replyLabel = (payload, lang) => REPLY_LABEL[payload]?.[lang] ?? REPLY_LABEL[payload]?.en ?? payload;

function screenMessage({ at, body, wamid }) {
  if (body.type === 'template') {
    const { name, language, components = [] } = body.template;
    const lang = language.code.slice(0, 2);
    const params = (components.find((c) => c.type === 'body')?.parameters ?? []).map(plain);
    const known = TEMPLATES[name]?.[lang] ?? TEMPLATES[name]?.en;
    const text = known
      ? known.replace(/\{\{(\d+)\}\}/g, (_, n) => params[Number(n) - 1] ?? '')
      : params.map((p, i) => `{{${i + 1}}} ${p}`).join('\n');
    const header = components.find((c) => c.type === 'header')?.parameters?.[0];
    const buttons = components
      .filter((c) => c.type === 'button')
      .map((c) => c.sub_type === 'url'
        ? { kind: 'url', label: LINK_LABEL[lang] ?? LINK_LABEL.en, token: c.parameters?.[0]?.text ?? '' }
        : { kind: 'quick_reply', label: replyLabel(c.parameters?.[0]?.payload ?? '', lang), payload: c.parameters?.[0]?.payload ?? '' });
    return { from: 'business', at, wamid, template: `${name} · ${language.code}`, image: header?.image?.link ?? null, text, buttons, status: 'sent' };
  }
  if (body.type === 'text') return { from: 'business', at, wamid, text: body.text.body ?? '', buttons: [], status: 'sent' };
  if (body.type === 'interactive') {
    const { header, body: text, footer, action } = body.interactive;
    const buttons = (action.buttons ?? []).map((b) => ({ kind: 'reply', label: b.reply.title, id: b.reply.id }));
    const rows = (action.sections ?? []).flatMap((s) => s.rows ?? []).map((r) => ({ kind: 'list', label: r.title, id: r.id }));
    return { from: 'business', at, wamid, text: [header?.text, text?.text, footer?.text].filter(Boolean).join('\n'), buttons: [...buttons, ...rows], status: 'sent' };
  }
  return { from: 'business', at, wamid, text: `${body.type} message`, buttons: [], status: 'sent' };
}

graph.onMessage((m) => {
  const message = screenMessage(m);
  phoneOf(m.to).messages.push(message);
  byWamid.set(m.wamid, message);
  ['sent', 'delivered', 'read'].forEach((s, i) => setTimeout(() => (message.status = s), 500 + i * 1500));
});

/** The shopper writes back: text, a template button, or an interactive reply. */
function shopperSends(to, content, label) {
  const wa_id = to.replace('+', '');
  const phone = phoneOf(to);
  phone.messages.push({ from: 'shopper', at: Date.now(), text: label, buttons: [] });
  return deliver('messages', {
    contacts: [{ profile: { name: phone.name ?? 'Demo Shopper' }, wa_id }],
    messages: [{ from: wa_id, id: `wamid.${randomBytes(18).toString('base64url')}`, timestamp: seconds(), ...content }],
  });
}

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
  const to = match[1].startsWith('+') ? match[1] : `+${match[1]}`;
  shopperSends(to, { type: 'text', text: { body: match[2] } }, match[2]);
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

const PHONE_PAGE = readFileSync(new URL('./whatsapp-phones.html', import.meta.url), 'utf8');

async function phonePages(req, res, url, body) {
  if (req.method === 'GET' && url.pathname === '/phones') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PHONE_PAGE);
  } else if (req.method === 'GET' && url.pathname === '/phones/state') {
    const list = [...phones.entries()].map(([phone, p]) => ({ phone, messages: p.messages }));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ phones: list }));
  } else if (req.method === 'POST' && url.pathname === '/phones/send') {
    const { to, text, payload, id, label } = JSON.parse(body.toString() || '{}');
    if (!/^\+\d{8,15}$/.test(to ?? '')) return res.writeHead(400).end('to must be +E164');
    if (payload !== undefined) await shopperSends(to, { type: 'button', button: { payload, text: label ?? payload } }, label ?? payload);
    else if (id !== undefined) await shopperSends(to, { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id, title: label ?? id } } }, label ?? id);
    else if (text?.trim()) await shopperSends(to, { type: 'text', text: { body: text } }, text);
    res.writeHead(204).end();
  } else if (req.method === 'GET' && url.pathname === '/phones/open') {
    // The shopper taps the link: the Worker records the click and sends them to the checkout,
    // on the shop's own host, which the store simulator stands in for here.
    const answer = await fetch(`${WORKER_URL}/r/${encodeURIComponent(url.searchParams.get('r') ?? '')}`, { redirect: 'manual' });
    const location = answer.headers.get('location');
    if (!location) return res.writeHead(answer.status, { 'Content-Type': 'text/plain' }).end(await answer.text());
    const target = new URL(location);
    const token = target.pathname.match(/\/checkouts\/([0-9a-f]+)\/recover/)?.[1];
    res.writeHead(302, { Location: token ? `${STORE_URL}/store/checkouts/${token}/recover${target.search}` : location }).end();
  } else {
    return false;
  }
  return true;
}

const server = createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const url = new URL(req.url, `http://${HOST}:${PORT}`);
    if (url.pathname === '/phones' || url.pathname.startsWith('/phones/')) {
      if (await phonePages(req, res, url, Buffer.concat(chunks))) return;
    }
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
  console.log(`WhatsApp simulator on http://${HOST}:${PORT} (Graph API), phone number id ${PHONE_NUMBER_ID}; phones at http://${HOST}:${PORT}/phones`);
});
