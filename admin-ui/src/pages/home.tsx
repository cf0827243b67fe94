// Home: the setup checklist until the shop is ready, then the dashboard (DESIGN.md §8).
import { useEffect, useState } from "preact/hooks";
import { get, optional, type BreakdownRow, type Funnel, type Metrics, type Playbook, type WabaTemplate, type Whatsapp } from "../api";
import { DayChart } from "../chart";
import type { Fmt, Key } from "../i18n";
import { Loading, Select, TableWrap, TextField, useApp, useLoad } from "../ui";
import { failure, skip } from "../words";

const STAGES: (keyof Funnel)[] = ["abandoned", "eligible", "messaged", "delivered", "read", "replied", "clicked", "recovered"];
// Each stage's rate is against the stage it comes from: replies and clicks come from reads,
// recoveries from the messaged journeys.
const BASE: Partial<Record<keyof Funnel, keyof Funnel>> = {
  eligible: "abandoned",
  messaged: "eligible",
  delivered: "messaged",
  read: "delivered",
  replied: "read",
  clicked: "read",
  recovered: "messaged",
};

const RANGE_KEY = "cartback.range";
function remembered(): string | null {
  try {
    return localStorage.getItem(RANGE_KEY);
  } catch {
    return null;
  }
}
function remember(preset: string | null) {
  try {
    if (preset) localStorage.setItem(RANGE_KEY, preset);
  } catch {
    // Storage may be refused to a framed page; the default range is fine then.
  }
}

/** The dashboard's metrics calls for a range: the main one (by day) first. */
export const metricsPaths = (q: string) => ["day", "step", "template", "segment", "product"].map((by) => `/api/metrics?${q}&by=${by}`);

/** What the home page asks for, to start it at once. */
export function homePaths() {
  const n = Number(remembered()) || 30;
  return [
    "/api/whatsapp",
    "/api/playbook",
    "/api/templates",
    ...metricsPaths(`from=${daysAgo(n - 1)}&to=${daysAgo(0)}`),
  ];
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const daysAgo = (n: number) => isoDay(new Date(Date.now() - n * 86_400_000));

export function Home() {
  const { fmt, shop } = useApp();
  const setup = useLoad(
    () =>
      Promise.all([
        get<Whatsapp>("/api/whatsapp"),
        get<Playbook>("/api/playbook"),
        // Without templates (WhatsApp not connected, Meta unreachable) the page still works.
        optional<{ templates: WabaTemplate[] }>("/api/templates").catch(() => null),
      ]),
    [],
  );
  if (!setup.data)
    return (
      <s-page heading={fmt.t("home_title")}>
        <Loading error={setup.error} retry={setup.reload} minHeight={600} />
      </s-page>
    );
  const [wa, playbook, templates] = setup.data;
  const used = playbook.steps.flatMap((s) => s.template.languages.map((l) => `${s.template.name}/${l}`));
  const approved = templates
    ? used.every((u) => templates.templates.some((t) => `${t.name}/${t.language}` === u && t.status === "APPROVED"))
    : null;
  const items: { key: Key; done: boolean | null; href?: string; external?: boolean }[] = [
    { key: "setup_whatsapp", done: wa.connected, href: "/whatsapp" },
    { key: approved === null ? "setup_templates_unknown" : "setup_templates", done: approved, href: "/playbook" },
    { key: "setup_embed", done: shop.optin_embed_enabled ?? null, href: themeEditorUrl(shop.shop, shop.theme_editor_url), external: true },
    { key: "setup_consent", done: (shop as { consent_mode_chosen?: boolean }).consent_mode_chosen ?? null, href: "/consent" },
  ];
  // Unknown items (the Worker cannot tell) do not hold the dashboard back.
  const ready = items.every((i) => i.done !== false);
  return (
    <s-page heading={fmt.t("home_title")}>
      {!ready && <Checklist items={items} />}
      {ready && <Dashboard holdoutPercent={playbook.holdout_percent} />}
    </s-page>
  );
}

/** The theme editor with cartback's opt-in app embed opened, in the shop's admin. */
export function themeEditorUrl(shop: string, given?: string | null) {
  if (given) return given;
  const key = shopify.config?.apiKey ?? "";
  return `https://${shop}/admin/themes/current/editor?context=apps&template=cart&activateAppId=${encodeURIComponent(key)}/optin`;
}

function Checklist({ items }: { items: { key: Key; done: boolean | null; href?: string; external?: boolean }[] }) {
  const { fmt } = useApp();
  return (
    <s-section heading={fmt.t("setup_title")}>
      <p>{fmt.t("setup_intro")}</p>
      <ol class="checklist">
        {items.map((i) => (
          <li key={i.key} class={i.done ? "done" : ""}>
            <s-badge tone={i.done ? "success" : i.done === false ? "warning" : "info"}>
              {i.done ? fmt.t("setup_done") : i.done === false ? fmt.t("setup_todo") : fmt.t("setup_check")}
            </s-badge>
            <span class="checklist-text">{fmt.t(i.key)}</span>
            {!i.done && i.href && (
              <s-link
                href={i.href}
                target={i.external ? "_top" : undefined}
                accessibilityLabel={i.key === "setup_embed" ? undefined : `${fmt.t("setup_go")}: ${fmt.t(i.key)}`}
              >
                {i.key === "setup_embed" ? fmt.t("setup_embed_link") : fmt.t("setup_go")}
              </s-link>
            )}
          </li>
        ))}
      </ol>
    </s-section>
  );
}

function Dashboard({ holdoutPercent }: { holdoutPercent: number }) {
  const { fmt } = useApp();
  // The last range chosen (7, 30 or 90 days) is kept for the next visit.
  const [range, setRange] = useState(() => {
    const n = Number(remembered()) || 30;
    return { from: daysAgo(n - 1), to: daysAgo(0), preset: String(n) };
  });
  const q = `from=${range.from}&to=${range.to}`;
  const [main, ...rest] = metricsPaths(q);
  const data = useLoad(() => get<Metrics>(main), [q]);
  const more = useLoad(
    () => Promise.all([get<Metrics>(rest[0]), get<Metrics>(rest[1]), get<Metrics>(rest[2]), optional<Metrics>(rest[3])]),
    [q],
  );
  // The figures follow what happens while the page is open.
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState !== "visible") return;
      data.reload();
      more.reload();
    }, 10_000);
    return () => clearInterval(t);
  }, [q]);
  const preset = (p: string) => {
    const n = Number(p);
    remember(n ? p : null);
    setRange(n ? { from: daysAgo(n - 1), to: daysAgo(0), preset: p } : { ...range, preset: "custom" });
  };
  return (
    <>
      <s-section>
        <div class="range">
          <Select
            label={fmt.t("range")}
            value={range.preset}
            onInput={preset}
            options={[
              { value: "7", label: fmt.t("range_7") },
              { value: "30", label: fmt.t("range_30") },
              { value: "90", label: fmt.t("range_90") },
              { value: "custom", label: `${fmt.t("range_from")} / ${fmt.t("range_to")}` },
            ]}
          />
          <TextField label={fmt.t("range_from")} value={range.from} placeholder="YYYY-MM-DD" onInput={(v) => /^\d{4}-\d\d-\d\d$/.test(v) && setRange({ ...range, from: v, preset: "custom" })} />
          <TextField label={fmt.t("range_to")} value={range.to} placeholder="YYYY-MM-DD" onInput={(v) => /^\d{4}-\d\d-\d\d$/.test(v) && setRange({ ...range, to: v, preset: "custom" })} />
        </div>
      </s-section>
      {data.data ? <Figures m={data.data} more={more.data} holdoutPercent={holdoutPercent} /> : <Loading error={data.error} retry={data.reload} minHeight={900} />}
    </>
  );
}

function Figures({ m, more, holdoutPercent }: { m: Metrics; more: (Metrics | null)[] | null; holdoutPercent: number }) {
  const { fmt } = useApp();
  const [bySteps, byTemplates, bySegments, byProducts] = more ?? [null, null, null, null];
  const money = (v: string | null | undefined) => moneyIn(fmt, v, m.currency);
  return (
    <>
      <s-section heading={fmt.t("funnel_title")}>
        <ol class="funnel" data-testid="funnel">
          {STAGES.map((s) => {
            const base = BASE[s];
            return (
              <li key={s} data-stage={s}>
                <span class="stage-name">{fmt.t(`stage_${s}` as Key)}</span>
                <strong class="stage-value" data-value={m.funnel[s]}>
                  {fmt.num(m.funnel[s])}
                </strong>
                {base && (
                  <span class="stage-rate">
                    {fmt.t("of_previous", {
                      rate: fmt.pct(m.funnel[base] ? m.funnel[s] / m.funnel[base] : null),
                      stage: fmt.t(`stage_${base}` as Key).toLowerCase(),
                    })}
                  </span>
                )}
              </li>
            );
          })}
        </ol>
        <div class="kpis">
          <div>
            <span>{fmt.t("revenue_title")}</span>
            <strong data-testid="recovered-revenue">{money(m.recovered_revenue)}</strong>
          </div>
          <div>
            <span>{fmt.t("aov")}</span>
            <strong data-testid="aov">{money(m.average_order_value)}</strong>
          </div>
          <div>
            <span>{fmt.t("opt_out_rate")}</span>
            <strong data-testid="opt-out-rate">{fmt.pct(m.opt_out_rate)}</strong>
          </div>
          {m.cost && (
            <>
              <div>
                <span>{fmt.t("message_cost")}</span>
                <strong data-testid="message-cost">{moneyIn(fmt, m.cost.total, m.cost.currency, COST_DIGITS)}</strong>
              </div>
              <div>
                <span>{fmt.t("cost_per_order")}</span>
                <strong data-testid="cost-per-order">
                  {moneyIn(fmt, m.cost.per_recovered_order, m.cost.currency, COST_DIGITS)}
                </strong>
              </div>
            </>
          )}
        </div>
      </s-section>
      <Holdout m={m} holdoutPercent={holdoutPercent} />
      <s-section heading={fmt.t("chart_title")}>
        <DayChart rows={m.breakdown ?? []} from={m.from} to={m.to} fmt={fmt} />
      </s-section>
      <div class="grid2" style={{ minHeight: more ? undefined : 320 }}>
        <Breakdown heading={fmt.t("by_step")} rows={bySteps?.breakdown} cols={["messaged", "failed", "skipped"]} />
        <Breakdown heading={fmt.t("by_template")} rows={byTemplates?.breakdown} cols={["messaged", "failed", "skipped"]} />
        <Breakdown heading={fmt.t("by_segment")} rows={bySegments?.breakdown} cols={["abandoned", "messaged", "recovered"]} segment />
        {byProducts && <Breakdown heading={fmt.t("by_product")} rows={byProducts.breakdown} cols={["abandoned", "recovered", "revenue"]} currency={m.currency} />}
      </div>
      <s-section heading={fmt.t("failures_title")}>
        {m.failures.length === 0 ? (
          <p>{fmt.t("none_yet")}</p>
        ) : (
          <TableWrap label={fmt.t("failures_title")}>
            <table data-testid="failures">
              <thead>
                <tr>
                  <th scope="col">{fmt.t("col_key")}</th>
                  <th scope="col">{fmt.t("col_count")}</th>
                  <th scope="col">{fmt.t("col_what")}</th>
                  <th scope="col">{fmt.t("col_todo")}</th>
                </tr>
              </thead>
              <tbody>
                {m.failures.map((f) => {
                  const [what, todo] = failure(f.key, fmt.lang);
                  return (
                    <tr key={f.key}>
                      <th scope="row">{f.key}</th>
                      <td class="num">{fmt.num(f.n)}</td>
                      <td>{what}</td>
                      <td>{todo}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )}
      </s-section>
      <s-section heading={fmt.t("skips_title")}>
        {m.skipped.length === 0 ? (
          <p>{fmt.t("none_yet")}</p>
        ) : (
          <ul class="tallies" data-testid="skips">
            {m.skipped.map((s) => (
              <li key={s.key} data-key={s.key}>
                <span>{skip(s.key, fmt.lang)}</span>
                <strong>{fmt.num(s.n)}</strong>
              </li>
            ))}
          </ul>
        )}
      </s-section>
      <s-section heading={fmt.t("health_title")}>
        <ul class="tallies" data-testid="health">
          <li>
            <span>{fmt.t("health_overdue")}</span>
            <strong>{m.health?.overdue_steps === undefined ? fmt.t("health_unknown") : fmt.num(m.health.overdue_steps)}</strong>
          </li>
          <li>
            <span>{fmt.t("health_swept")}</span>
            <strong>{m.health?.swept === undefined ? fmt.t("health_unknown") : fmt.num(m.health.swept)}</strong>
          </li>
          <li>
            <span>
              {fmt.t("health_vitals", {
                values: m.health?.web_vitals
                  ? Object.entries(m.health.web_vitals)
                      .filter(([, v]) => v)
                      .map(([k, v]) => `${k} ${k === "CLS" ? v!.p75.toFixed(3) : `${Math.round(v!.p75)} ms`}`)
                      .join(", ") || fmt.t("health_unknown")
                  : fmt.t("health_unknown"),
              })}
            </span>
          </li>
        </ul>
      </s-section>
    </>
  );
}

/** Meta's rates are fractions of a cent: costs keep up to four decimals. */
const COST_DIGITS = 4;

function moneyIn(fmt: Fmt, amount: string | null | undefined, currency: string | null, maximumFractionDigits?: number) {
  if (amount === null || amount === undefined) return "—";
  if (!currency) return fmt.money(amount);
  try {
    return new Intl.NumberFormat(fmt.locale, { style: "currency", currency, maximumFractionDigits }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

function Holdout({ m, holdoutPercent }: { m: Metrics; holdoutPercent: number }) {
  const { fmt } = useApp();
  const { messaged, held_out, lift } = m.holdout;
  if (holdoutPercent === 0 && held_out.journeys === 0)
    return (
      <s-section heading={fmt.t("holdout_title")}>
        <p data-testid="holdout-none">{fmt.t("holdout_none")}</p>
      </s-section>
    );
  if (!lift)
    return (
      <s-section heading={fmt.t("holdout_title")}>
        <p>{fmt.t("holdout_empty")}</p>
      </s-section>
    );
  const aov = Number(m.average_order_value ?? 0);
  const n = lift.difference * messaged.journeys;
  const [low, high] = lift.difference_interval.map((d) => d * messaged.journeys);
  const round = (x: number) => fmt.num(Math.round(x * 10) / 10);
  const pp = (x: number) => fmt.pct(x);
  return (
    <s-section heading={fmt.t("holdout_title")}>
      <ul class="holdout" data-testid="holdout">
        <li>{fmt.t("holdout_messaged", { rate: pp(lift.messaged_rate), n: fmt.num(messaged.journeys) })}</li>
        <li>{fmt.t("holdout_held", { rate: pp(lift.holdout_rate), n: fmt.num(held_out.journeys) })}</li>
        <li>
          {fmt.t("holdout_difference", { diff: pp(lift.difference), low: pp(lift.difference_interval[0]), high: pp(lift.difference_interval[1]) })}
        </li>
        <li>
          {fmt.t("holdout_incremental", { n: round(n), low: round(low), high: round(high), revenue: moneyIn(fmt, String(Math.max(0, n) * aov), m.currency) })}
        </li>
      </ul>
      <p>{lift.significant ? fmt.t("holdout_significant") : fmt.t("holdout_not_significant")}</p>
    </s-section>
  );
}

type Col = "abandoned" | "messaged" | "failed" | "skipped" | "recovered" | "revenue";

function Breakdown({ heading, rows, cols, segment, currency }: { heading: string; rows: BreakdownRow[] | null | undefined; cols: Col[]; segment?: boolean; currency?: string | null }) {
  const { fmt } = useApp();
  const name = (k: string | null) => {
    if (k === null) return fmt.t("unnamed");
    if (segment && ["small", "medium", "large"].includes(k)) return fmt.t(`segment_${k}` as Key);
    return k;
  };
  return (
    <s-section heading={heading}>
      {rows === undefined ? (
        <p class="muted pending">{fmt.t("loading")}</p>
      ) : !rows || rows.length === 0 ? (
        <p>{fmt.t("none_yet")}</p>
      ) : (
        <TableWrap label={heading}>
          <table>
            <thead>
              <tr>
                <th scope="col">{fmt.t("col_key")}</th>
                {cols.map((c) => (
                  <th scope="col" key={c} class="num">
                    {fmt.t(`col_${c}` as Key)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={`${r.key}-${i}`}>
                  <th scope="row">{name(r.key)}</th>
                  {cols.map((c) => (
                    <td key={c} class="num">
                      {c === "revenue" ? moneyIn(fmt, r.revenue, currency ?? null) : fmt.num((r[c] as number | undefined) ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </s-section>
  );
}
