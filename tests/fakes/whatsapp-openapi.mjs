// Validates the bodies the app POSTs to /{version}/{phone-number-id}/messages (operation
// sendMessage) and .../marketing_messages (sendMarketingMessage, Meta's Marketing Messages API),
// and the template definitions it POSTs to /{waba-id}/message_templates, against Meta's own
// OpenAPI file, so the Graph fake rejects what Meta's contract rejects. The file lags Meta's
// guides in a few documented places (tests/contracts/KNOWN-GAPS.md); those, and
// only those, are patched below, each in one named place.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const SPEC_URL = new URL('../contracts/whatsapp-business-messaging-openapi-v23.0.yaml', import.meta.url);
const SCHEMAS = '#/components/schemas/';

// Each patch first checks that the gap it fixes is still in the file, so a new version of Meta's
// file fails loudly here instead of being patched blindly.
function expectGap(actual, expected, where) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`Meta's OpenAPI file changed at ${where}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`);
  }
}

// The button fields are declared twice: on the TemplateComponent base and on ButtonComponent.
const buttonFieldOwners = (s) => [
  ['TemplateComponent', s.TemplateComponent.properties],
  ['ButtonComponent', s.ButtonComponent.allOf[1].properties],
];

// Known gaps that concern sent requests (webhook gaps are handled by the webhook tests).
const KNOWN_GAP_PATCHES = {
  // Coupon templates send sub_type "copy_code" (Meta's coupon-code template guide) and Meta also
  // accepts "COPY_CODE"; the other sub_types stay exactly as the file spells them.
  'copy_code button sub_type (case-insensitive)': (s) => {
    for (const [name, props] of buttonFieldOwners(s)) {
      expectGap(props.sub_type.enum, ['quick_reply', 'url', 'catalog'], `${name}.sub_type`);
      const { enum: subTypes, ...rest } = props.sub_type;
      props.sub_type = { ...rest, anyOf: [{ enum: subTypes }, { pattern: '^[Cc][Oo][Pp][Yy]_[Cc][Oo][Dd][Ee]$' }] };
    }
  },

  // {"type": "coupon_code", "coupon_code": "SAVE10"} with at most 15 characters (Meta's guide).
  'coupon_code button parameter (max 15 characters)': (s) => {
    const base = s.ButtonParameterObject;
    expectGap(base.properties.type.enum, ['payload', 'text'], 'ButtonParameterObject.type');
    base.properties.type.enum.push('coupon_code');
    base.discriminator.mapping.coupon_code = `${SCHEMAS}ButtonCouponCodeParameter`;
    s.ButtonCouponCodeParameter = {
      allOf: [
        { $ref: `${SCHEMAS}ButtonParameterObject` },
        {
          type: 'object',
          required: ['coupon_code'],
          properties: { type: { enum: ['coupon_code'] }, coupon_code: { type: 'string', maxLength: 15 } },
        },
      ],
    };
  },

  // The file's pattern ^[2-6, 11-14]$ is a malformed character class that rejects "0"; its own
  // description says "Position index of the button (0-9)". Meta's examples send strings and ints.
  'button index as a digit string or integer (0-9)': (s) => {
    for (const [name, props] of buttonFieldOwners(s)) {
      expectGap(props.index.pattern, '^[2-6, 11-14]$', `${name}.index`);
      const { type, pattern, ...rest } = props.index;
      props.index = {
        ...rest,
        anyOf: [{ type: 'string', pattern: '^[0-9]$' }, { type: 'integer', minimum: 0, maximum: 9 }],
      };
    }
  },

  // The Marketing Messages API takes the same body as a /messages template send (Meta's
  // Marketing Messages guide; 360dialog: "Payload Format: Identical"), but the file's closed
  // MarketingMessageRequestPayload leaves out biz_opaque_callback_data, which every /messages
  // body may carry (at most 512 characters) and which status webhooks echo.
  'biz_opaque_callback_data on marketing messages': (s) => {
    const payload = s.MarketingMessageRequestPayload;
    expectGap(payload.additionalProperties, false, 'MarketingMessageRequestPayload.additionalProperties');
    expectGap(payload.properties.biz_opaque_callback_data, undefined, 'MarketingMessageRequestPayload.biz_opaque_callback_data');
    payload.properties.biz_opaque_callback_data = { type: 'string', maxLength: 512 };
  },

  // additionalProperties: false inside one allOf branch rejects the other branch's fields
  // (messaging_product, to, ...), so even Meta's text example fails. Closing the composed schema
  // with unevaluatedProperties (JSON Schema 2020-12) keeps it closed without that bug.
  // Sticker counts as media: Meta's media messages are audio, document, image, sticker and video.
  'closed text, interactive and media messages via unevaluatedProperties': (s) => {
    for (const name of ['TextMessage', 'InteractiveMessage', 'AudioMessage', 'DocumentMessage', 'ImageMessage', 'VideoMessage', 'StickerMessage']) {
      const branch = s[name].allOf[1];
      expectGap(branch.additionalProperties, false, `${name}.allOf[1].additionalProperties`);
      delete branch.additionalProperties;
      s[name].unevaluatedProperties = false;
    }
  },
};

export const PATCHES = Object.keys(KNOWN_GAP_PATCHES);

// Not a patch: OpenAPI (unlike plain JSON Schema) gives `discriminator.mapping` meaning, and Meta's
// file depends on it. TemplateComponent, ParameterObject and ButtonParameterObject are
// allOf-inheritance bases: their subtypes (ButtonComponent, TextParameter, ...) are reachable only
// through the mapping, so a plain validator would never check template parameters. Each base
// becomes "base + the subtype its tag selects"; subtypes extend a copy of the base to avoid a
// cycle. For a oneOf union (Message) with one distinct tag per branch, dispatching on the tag is
// equivalent to oneOf and reports the errors of the selected branch instead of all eleven.
function honourDiscriminators(s) {
  for (const [name, schema] of Object.entries(s)) {
    const { discriminator, ...rest } = schema;
    if (!discriminator?.mapping) continue;
    const { propertyName, mapping } = discriminator;
    const dispatch = Object.entries(mapping).map(([tag, $ref]) => ({
      if: { required: [propertyName], properties: { [propertyName]: { const: tag } } },
      then: { $ref },
    }));
    if (rest.oneOf) {
      const branches = new Set(rest.oneOf.map((b) => b.$ref));
      const targets = new Set(Object.values(mapping));
      expectGap([...branches].sort(), [...targets].sort(), `${name}.oneOf vs discriminator.mapping`);
      delete rest.oneOf;
      s[name] = { ...rest, type: 'object', required: [propertyName], properties: { [propertyName]: { enum: Object.keys(mapping) } }, allOf: dispatch };
    } else {
      const base = `${name}Base`;
      s[base] = rest;
      for (const target of new Set(Object.values(mapping))) {
        for (const part of s[target.slice(SCHEMAS.length)].allOf) {
          if (part.$ref === `${SCHEMAS}${name}`) part.$ref = `${SCHEMAS}${base}`;
        }
      }
      s[name] = { $ref: `${SCHEMAS}${base}`, allOf: dispatch };
    }
  }
}

/** A validator of each operation's request body, by operationId. */
function loadRequestValidators(operationIds) {
  const doc = parse(readFileSync(SPEC_URL, 'utf8'));
  for (const patch of Object.values(KNOWN_GAP_PATCHES)) patch(doc.components.schemas);
  honourDiscriminators(doc.components.schemas);

  // strict: false because OpenAPI adds keywords JSON Schema does not know (example, x-*, ...).
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: SPEC_URL.href });
  const operations = Object.values(doc.paths).flatMap((item) => Object.values(item));
  return operationIds.map((id) => {
    const schema = operations.find((op) => op?.operationId === id).requestBody.content['application/json'].schema;
    // A named schema is compiled within the document; an inline one (templates) on its own.
    return schema.$ref ? ajv.getSchema(`${SPEC_URL.href}${schema.$ref}`) : ajv.compile(schema);
  });
}

// The file's one POST on /{WABA-ID}/message_templates carries an operationId of one of its
// examples (authentication templates); its body schema is the generic template definition.
const [validate, validateMarketing, validateTemplate] = loadRequestValidators([
  'sendMessage',
  'sendMarketingMessage',
  'createAuthenticationTemplateWOtpCopyCodeButton',
]);

function readable({ instancePath, message, params }) {
  const where = instancePath || '/';
  if (params.allowedValues) return `${where} ${message}: ${params.allowedValues.join(', ')}`;
  const extra = params.unevaluatedProperty ?? params.additionalProperty;
  return extra ? `${where} ${message}: '${extra}'` : `${where} ${message}`;
}

function check(validator, body) {
  if (validator(body)) return { ok: true, errors: [] };
  // "must match then schema" only repeats the errors of the selected subtype; the same base
  // error can arrive through the base and through the subtype, hence the Set.
  const errors = validator.errors.filter((e) => e.keyword !== 'if').map(readable);
  return { ok: false, errors: [...new Set(errors)] };
}

export const validateSendMessage = (body) => check(validate, body);
export const validateMarketingMessage = (body) => check(validateMarketing, body);
export const validateTemplateCreation = (body) => check(validateTemplate, body);
