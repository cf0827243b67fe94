#!/usr/bin/env node
// Local stand-in for graph.facebook.com during `make dev`: the Worker's Graph base URL points here,
// and every message it sends is printed as a "phone screen" instead of reaching a real phone.
// Requests Meta's contract would reject are printed loudly, so mistakes show up before production.
import { createServer } from 'node:http';
import { createGraphFake } from '../tests/fakes/graph.mjs';

const HOST = '127.0.0.1';
// `||`: make passes unset variables as empty strings.
const PORT = Number(process.env.WHATSAPP_SIM_PORT || 8799);
const PHONE_NUMBER_ID = process.env.DEMO_PHONE_NUMBER_ID || '100000000000001';
const ACCESS_TOKEN = process.env.DEMO_WHATSAPP_TOKEN || 'demo-whatsapp-token';

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
