// Optimizer: what cartback has learned about each step's options, in plain words with the
// numbers beside; turning it on, offering it options and starting it over.
import { useState } from "preact/hooks";
import { get, post, put, type Playbook } from "../api";
import type { Fmt } from "../i18n";
import { Button, Checkbox, Loading, TextField, toast, useApp, useLoad } from "../ui";
import { SECONDS, parseDelays, shortDelay, unitOf } from "../duration";

interface OptionReport {
  option: string;
  journeys: number;
  recoveries: number;
  revenue: number;
  pending?: number;
  mean: number;
  interval: [number, number];
  /** Null while the shop holds out no journeys: no measured "no message" to compare with. */
  lift: number | null;
  lift_interval: [number, number] | null;
  probability_best: number;
  probability_beats_none?: number;
}

interface Decision {
  step: string;
  dimension: "delay" | "discount" | "template";
  segment: "small" | "medium" | "large" | "unknown";
  options: OptionReport[];
  would_choose: string;
}

export interface Optimization {
  enabled: boolean;
  goal: "recoveries" | "recovered_revenue";
  decisions: Decision[];
  holdout: { segment: string; journeys: number }[];
}

const SEGMENTS = { small: "opt_small", medium: "opt_medium", large: "opt_large", unknown: "opt_unknown" } as const;

/** An option as a merchant says it: "reminders after 3 hours", "the 10 % offer". */
function optionWords(fmt: Fmt, d: Decision, option: string): string {
  if (d.dimension === "delay") {
    const seconds = Number.parseInt(option, 10);
    const unit = unitOf(seconds);
    const n = seconds / SECONDS[unit];
    return fmt.t("opt_delay", { n: fmt.num(n), unit: fmt.t(n === 1 ? `unit_one_${unit}` : `unit_${unit}`) });
  }
  if (d.dimension === "discount") {
    return option === "none" ? fmt.t("opt_no_offer") : fmt.t("opt_offer", { percent: option.split("%")[0] });
  }
  return fmt.t("opt_template", { name: option });
}

/** Minor units of the shop currency as money. */
function minor(fmt: Fmt, currency: string | null | undefined, amount: number): string {
  const digits = currency ? new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2 : 2;
  return fmt.money(amount / 10 ** digits);
}

function Sentence({ d }: { d: Decision }) {
  const { fmt } = useApp();
  const best = d.options.find((o) => o.option === d.would_choose);
  const noOffer = d.options.find((o) => o.option === "none");
  // The model's verdict, like the sentence's (an offer's own mean also holds whatever else its
  // journeys ran with): more likely than not to bring less than no offer.
  const unpaid = d.dimension === "discount" && noOffer ? d.options.filter((o) => o.probability_beats_none != null && o.probability_beats_none < 0.5) : [];
  const settled = d.options.reduce((n, o) => n + o.journeys, 0);
  return (
    <p class="opt-sentence">
      <strong>{fmt.t(SEGMENTS[d.segment])}:</strong>{" "}
      {best && best.probability_best >= 0.5
        ? fmt.t(d.dimension === "delay" ? "opt_best" : "opt_best_with", {
            option: optionWords(fmt, d, best.option),
            p: fmt.pct(best.probability_best, 0),
          })
        : fmt.t("opt_unsure", { n: fmt.num(settled) })}
      {unpaid.map((o) => (
        <span key={o.option}> {fmt.t("opt_unpaid", { option: optionWords(fmt, d, o.option) })}</span>
      ))}
    </p>
  );
}

function Numbers({ d, goal }: { d: Decision; goal: Optimization["goal"] }) {
  const { fmt, shop } = useApp();
  const value = (x: number) => (goal === "recoveries" ? fmt.pct(x) : minor(fmt, shop.currency, x));
  const labels = [
    fmt.t("opt_option"),
    fmt.t("opt_journeys"),
    fmt.t("opt_recoveries"),
    goal === "recoveries" ? fmt.t("opt_rate") : fmt.t("opt_per_journey"),
    fmt.t("opt_lift"),
    fmt.t("opt_p_best"),
  ];
  // On a phone each option's row stacks its cells, each named by its column (`data-label`);
  // the explicit roles keep it a table for screen readers whatever its CSS display.
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label={fmt.t("opt_numbers")}>
      <table class="opt-table" role="table">
        <thead role="rowgroup">
          <tr role="row">
            {labels.map((l) => (
              <th key={l} role="columnheader">
                {l}
              </th>
            ))}
          </tr>
        </thead>
        <tbody role="rowgroup">
          {d.options.map((o) => (
            <tr key={o.option} role="row" data-option={o.option} class={o.option === d.would_choose ? "chosen" : undefined}>
              {[
                optionWords(fmt, d, o.option),
                fmt.num(o.journeys),
                fmt.num(o.recoveries),
                <>
                  {value(o.mean)} <span class="muted">({value(o.interval[0])}–{value(o.interval[1])})</span>
                </>,
                o.lift === null || o.lift_interval === null ? (
                  "—"
                ) : (
                  <>
                    {value(o.lift)} <span class="muted">({value(o.lift_interval[0])}–{value(o.lift_interval[1])})</span>
                  </>
                ),
                fmt.pct(o.probability_best, 0),
              ].map((cell, i) => (
                <td key={labels[i]} role="cell" data-label={labels[i]}>
                  <span>{cell}</span>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A step whose message names its code or percent always needs a discount: no "none" to try. */
const namesDiscount = (s: Playbook["steps"][number]) =>
  s.body_params.some((p) => p === "discount_code" || p === "discount_percent");

function Settings({ playbook, saved }: { playbook: Playbook; saved(p: Playbook): void }) {
  const { fmt } = useApp();
  const [enabled, setEnabled] = useState(playbook.optimize?.enabled ?? false);
  const [delays, setDelays] = useState(playbook.steps.map((s) => (s.delay_options ?? []).map(shortDelay).join(", ")));
  const [offers, setOffers] = useState(playbook.steps.map((s) => (s.discount_options ?? []).length > 0));
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setError(undefined);
    const steps = playbook.steps.map((s, i) => {
      const delay_options = parseDelays(delays[i]);
      return {
        ...s,
        delay_options: delay_options ?? [],
        discount_options: namesDiscount(s) ? (s.discount_options ?? []) : offers[i] ? [null, s.discount ?? { percent: 10, expires_after_hours: 48 }] : [],
      };
    });
    if (delays.some((d) => parseDelays(d) === null)) return setError(fmt.t("opt_bad_hours"));
    setBusy(true);
    try {
      const next = await put<Playbook>("/api/playbook", { ...playbook, steps, optimize: { ...playbook.optimize, enabled } });
      saved(next);
      toast(fmt.t("saved"));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <s-section heading={fmt.t("opt_settings")}>
      <Checkbox label={fmt.t("opt_enable")} details={fmt.t("opt_enable_help")} checked={enabled} onChange={setEnabled} />
      {playbook.steps.map((s, i) => (
        <div key={s.id} class="opt-step">
          <TextField
            label={fmt.t("opt_delays", { step: s.id })}
            details={fmt.t("opt_delays_help")}
            value={delays[i]}
            onInput={(v) => setDelays((d) => d.map((x, j) => (j === i ? v : x)))}
          />
          {!namesDiscount(s) && (
            <Checkbox
              label={fmt.t("opt_try_offer", { step: s.id })}
              checked={offers[i]}
              onChange={(v) => setOffers((o) => o.map((x, j) => (j === i ? v : x)))}
            />
          )}
        </div>
      ))}
      {error && <p class="error" role="alert">{error}</p>}
      <Button variant="primary" onClick={save} loading={busy}>
        {fmt.t("save")}
      </Button>
    </s-section>
  );
}

export function OptimizerPage() {
  const { fmt } = useApp();
  const report = useLoad(() => get<Optimization>("/api/optimization"), []);
  const playbook = useLoad(() => get<Playbook>("/api/playbook"), []);
  const [busy, setBusy] = useState(false);
  const reset = async () => {
    if (!confirm(fmt.t("opt_reset_confirm"))) return;
    setBusy(true);
    try {
      await post("/api/optimization/reset", {});
      report.reload();
      toast(fmt.t("opt_reset_done"));
    } finally {
      setBusy(false);
    }
  };
  return (
    <s-page heading={fmt.t("opt_title")}>
      {!report.data || !playbook.data ? (
        <Loading error={report.error ?? playbook.error} retry={() => (report.reload(), playbook.reload())} />
      ) : (
        <>
          <s-section heading={fmt.t("opt_learned")}>
            {report.data.decisions.length === 0 ? (
              <p data-testid="opt-empty">{fmt.t(report.data.enabled ? "opt_nothing_yet" : "opt_off")}</p>
            ) : (
              report.data.decisions.map((d) => (
                <div key={`${d.step}/${d.dimension}/${d.segment}`} class="opt-decision" data-decision={`${d.step}/${d.dimension}/${d.segment}`}>
                  <h3>{fmt.t(`opt_dim_${d.dimension}` as "opt_dim_delay", { step: d.step })}</h3>
                  <Sentence d={d} />
                  <Numbers d={d} goal={report.data!.goal} />
                </div>
              ))
            )}
            {report.data.decisions.some((d) => d.options.some((o) => o.lift === null)) && (
              <p data-testid="opt-no-holdout">{fmt.t("opt_no_holdout")}</p>
            )}
            <p class="muted">{fmt.t("opt_explain")}</p>
            <Button tone="critical" onClick={reset} loading={busy}>
              {fmt.t("opt_reset")}
            </Button>
          </s-section>
          <Settings playbook={playbook.data} saved={() => (playbook.reload(), report.reload())} />
        </>
      )}
    </s-page>
  );
}
