// The admin API: every call carries a fresh session token from App Bridge.

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = await shopify.idToken();
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; fields?: FieldError[] } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? res.statusText, e?.fields ?? []);
  }
  return data as T;
}

// Answers asked for before the page that needs them has drawn, so that they load side by side.
const early = new Map<string, Promise<unknown>>();

/** Starts these GETs now; the next `get` of each path takes its answer. */
export function prefetch(paths: string[]) {
  for (const path of paths) {
    const p = call("GET", path);
    p.catch(() => undefined);
    early.set(path, p);
  }
}

export function get<T>(path: string): Promise<T> {
  const p = early.get(path);
  if (p) {
    early.delete(path);
    return p as Promise<T>;
  }
  return call<T>("GET", path);
}
export const put = <T>(path: string, body: unknown) => call<T>("PUT", path, body);
export const post = <T>(path: string, body: unknown) => call<T>("POST", path, body);

/** A GET that answers null when the Worker does not have the endpoint (yet). */
export async function optional<T>(path: string): Promise<T | null> {
  try {
    return await get<T>(path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || (e.status === 400 && e.code === "bad_request"))) return null;
    throw e;
  }
}

// Shapes of the answers the page reads.
export interface Shop {
  shop: string;
  name: string;
  installed: boolean;
  needs_reauth?: boolean;
  whatsapp_connected: boolean;
  currency?: string | null;
  timezone?: string | null;
  optin_embed_enabled?: boolean | null;
  theme_editor_url?: string | null;
}

export interface Funnel {
  abandoned: number;
  eligible: number;
  messaged: number;
  delivered: number;
  read: number;
  replied: number;
  clicked: number;
  recovered: number;
}

export interface Tally {
  key: string;
  n: number;
}

export interface Lift {
  messaged_rate: number;
  messaged_interval: [number, number];
  holdout_rate: number;
  holdout_interval: [number, number];
  difference: number;
  difference_interval: [number, number];
  relative: number | null;
  significant: boolean;
}

export type BreakdownRow = { key: string | null } & Partial<Funnel> & {
    failed?: number;
    skipped?: number;
    revenue?: string;
  };

export interface Metrics {
  funnel: Funnel;
  recovered_revenue: string;
  average_order_value: string | null;
  currency: string | null;
  opt_outs: number;
  opt_out_rate: number | null;
  skipped: Tally[];
  failures: Tally[];
  holdout: {
    messaged: { journeys: number; recovered: number };
    held_out: { journeys: number; recovered: number };
    lift: Lift | null;
  };
  breakdown: BreakdownRow[] | null;
  /** What the period's delivered billable messages cost, in the price table's currency. */
  cost?: { currency: string; total: string; per_recovered_order: string | null };
  health?: {
    overdue_steps?: number;
    swept?: number;
    web_vitals?: Record<string, { p75: number; n: number } | null>;
  };
  from: string;
  to: string;
}

export interface Template {
  name: string;
  languages: string[];
}

export interface Step {
  id: string;
  delay_seconds: number;
  template: Template;
  body_params: string[];
  button_url_param?: string | null;
  when?: { min_cart_value?: string | null; max_cart_value?: string | null } | null;
  discount?: { percent: number; expires_after_hours: number } | null;
  delay_options?: number[];
  discount_options?: ({ percent: number; expires_after_hours: number } | null)[];
  /** What fills the template's image header: the cart's top product's image. */
  header?: "top_item_image" | null;
  [extra: string]: unknown;
}

export interface Playbook {
  version: number;
  enabled: boolean;
  consent_mode: "whatsapp_opt_in" | "checkout_marketing_consent";
  default_language: string;
  steps: Step[];
  quiet_hours: { start: string; end: string } | null;
  caps: { max_messages_per_customer: number; window_days: number } | null;
  stop_on_reply: boolean;
  holdout_percent: number;
  journey_ttl_days: number;
  optimize?: { enabled: boolean; goal: "recoveries" | "recovered_revenue"; explore_percent: number };
  /** The image a product-image header shows when the product has none. */
  fallback_image_url?: string | null;
  [extra: string]: unknown;
}

export interface Whatsapp {
  phone_number_id: string | null;
  waba_id: string | null;
  connected: boolean;
  status: string;
  messages_per_second?: number;
}

export interface WabaTemplate {
  name: string;
  language: string;
  status: string;
  category?: string;
  body?: string;
  /** The header's format: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION; null without one. */
  header?: string | null;
  fits?: boolean;
  /** The steps that send it, and why it does not fit them. */
  used_by?: string[];
  problems?: string[];
  /** False when Meta paused or rejected it, or it is no longer a marketing template. */
  sendable?: boolean;
}

export interface JourneyStep {
  id: string;
  due_at: string;
  state: string;
  reason: string | null;
}

export interface Journey {
  checkout_token: string;
  status: "active" | "ended";
  end_reason?: string | null;
  holdout?: boolean;
  phone: string | null;
  cart_total: string | null;
  currency: string | null;
  started_at?: string;
  steps: JourneyStep[];
}

export interface ConsentRecord {
  kind: "opt_in" | "opt_out";
  source: string;
  wording: string | null;
  at: string;
}

export interface Conversation {
  phone: string;
  name: string | null;
  last_message: string;
  since: string;
  messages?: { from: "shopper" | "shop"; text: string; at: string }[];
  window_closes_at?: string | null;
}

export interface FaqEntry {
  question: string;
  answer: string;
  language: string | null;
  keywords: string[];
}
