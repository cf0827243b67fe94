// Checks Admin GraphQL requests against Shopify's own schema for the API version the fake
// serves (tests/contracts/shopify-admin-graphql-2026-10.graphql, printed from Shopify's
// introspection result), the way Shopify's server does before it runs anything: the document
// must parse, validate against the schema, and its variables must coerce to the declared types.
import { readFileSync } from 'node:fs';
import { buildSchema, getOperationAST, getVariableValues, parse, validate } from 'graphql';

export const SCHEMA_VERSION = '2026-10';
const SCHEMA_URL = new URL(`../contracts/shopify-admin-graphql-${SCHEMA_VERSION}.graphql`, import.meta.url);

// Building the schema takes most of a second: once per process, and only when first needed.
let schema = null;
const adminSchema = () => (schema ??= buildSchema(readFileSync(SCHEMA_URL, 'utf8')));

// Shopify's error entries carry a code in `extensions`; graphql-js's own message is kept.
const entry = (error, code) => ({
  message: error.message,
  ...(error.locations ? { locations: error.locations } : {}),
  extensions: { code },
});

/**
 * What Shopify would answer instead of running this request: `{ errors }` (HTTP 200, as
 * Shopify answers a malformed GraphQL request), or `{ operation }` when it is valid, with the
 * names of the root fields it selects.
 */
export function checkRequest({ query, variables, operationName }) {
  if (typeof query !== 'string') return { errors: [{ message: 'No query string was present', extensions: { code: 'missingQuery' } }] };
  let document;
  try {
    document = parse(query);
  } catch (error) {
    return { errors: [entry(error, 'parseError')] };
  }
  const problems = validate(adminSchema(), document);
  if (problems.length) return { errors: problems.map((e) => entry(e, 'validationError')) };
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return { errors: [{ message: 'An operation name is required', extensions: { code: 'operationNotFound' } }] };
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return { errors: [{ message: 'Variables must be an object', extensions: { code: 'badVariables' } }] };
  }
  const coerced = getVariableValues(adminSchema(), operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return { errors: coerced.errors.map((e) => entry(e, 'variableMismatch')) };
  const fields = operation.selectionSet.selections.filter((s) => s.kind === 'Field').map((s) => s.name.value);
  return { operation: { kind: operation.operation, fields } };
}
