// Activity: recent journeys with their timelines, by status, found by phone.
import { useState } from "preact/hooks";
import { get, type Journey } from "../api";
import type { Key } from "../i18n";
import { Loading, Select, TextField, useApp, useLoad } from "../ui";
import { ending, skip } from "../words";

const STATES = new Set(["pending", "sent", "skipped", "failed", "delivered", "read", "cancelled", "unknown"]);

export function ActivityPage() {
  const { fmt } = useApp();
  const [status, setStatus] = useState("all");
  const [phone, setPhone] = useState("");
  const list = useLoad(() => get<{ journeys: Journey[] }>(`/api/journeys?status=${status}`), [status]);
  const digits = phone.replace(/\D/g, "");
  const shown = (list.data?.journeys ?? []).filter((j) => !digits || (j.phone ?? "").replace(/\D/g, "").includes(digits));
  return (
    <s-page heading={fmt.t("activity_title")}>
      <s-section heading={fmt.t("activity_filter")}>
        <div class="range">
          <Select
            label={fmt.t("activity_status")}
            value={status}
            onInput={setStatus}
            options={["all", "active", "ended"].map((s) => ({ value: s, label: fmt.t(`status_${s}` as Key) }))}
          />
          <TextField label={fmt.t("activity_phone")} placeholder="+351912345678" value={phone} onInput={setPhone} />
        </div>
      </s-section>
      {!list.data ? (
        <Loading error={list.error} retry={list.reload} />
      ) : shown.length === 0 ? (
        <s-section heading={fmt.t("activity_title")}>
          <p>{fmt.t("activity_empty")}</p>
        </s-section>
      ) : (
        <s-section heading={`${fmt.num(shown.length)} · ${fmt.t(`status_${status}` as Key)}`}>
          <ul class="journeys" data-testid="journeys">
            {shown.map((j) => (
              <li key={j.checkout_token} class="journey">
                <div class="journey-head">
                  <strong>{j.phone ?? "—"}</strong>
                  <span>{j.cart_total && j.currency ? money(fmt.locale, j.cart_total, j.currency) : "—"}</span>
                  <s-badge tone={j.status === "active" ? "info" : j.end_reason === "ordered" ? "success" : "neutral"}>
                    {j.status === "active" ? fmt.t("journey_active") : fmt.t("journey_ended", { reason: ending(j.end_reason, fmt.lang) })}
                  </s-badge>
                  {j.holdout && <s-badge tone="warning">{fmt.t("journey_holdout")}</s-badge>}
                  {j.started_at && <span class="muted">{fmt.date(j.started_at)}</span>}
                </div>
                <ol class="timeline">
                  {j.steps.map((s) => (
                    <li key={s.id} data-state={s.state}>
                      <span class="step-name">{s.id}</span>
                      <span>{fmt.t(STATES.has(s.state) ? (`step_state_${s.state}` as Key) : "step_state_other")}</span>
                      {s.reason && <span>· {skip(s.reason, fmt.lang)}</span>}
                      <span class="muted">{fmt.t("step_due", { at: fmt.date(s.due_at) })}</span>
                    </li>
                  ))}
                </ol>
              </li>
            ))}
          </ul>
        </s-section>
      )}
    </s-page>
  );
}

function money(locale: string, amount: string, currency: string) {
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}
