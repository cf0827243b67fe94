// Playbook: the steps and the rules around them, saved with the contextual save bar; the 400's
// field errors appear at their fields.
import { useMemo, useState } from "preact/hooks";
import { ApiError, get, optional, put, type Playbook, type Step, type WabaTemplate } from "../api";
import type { Key } from "../i18n";
import { Button, Checkbox, fieldErrors, Loading, SaveBar, Select, TextField, toast, useApp, useLoad, useSaveBar } from "../ui";
import { Preview } from "./preview";
import { SECONDS, type Unit, unitOf } from "../duration";

export const VARIABLES = [
  "first_name",
  "shop_name",
  "cart_total",
  "item_count",
  "top_item_title",
  "items_summary",
  "recovery_token",
  "discount_code",
  "discount_percent",
] as const;


const clone = <T,>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const intOr = (v: string, fallback: number) => (v.trim() === "" || Number.isNaN(Number(v)) ? fallback : Number(v));

export function PlaybookPage() {
  const { fmt } = useApp();
  const loaded = useLoad(() => Promise.all([get<Playbook>("/api/playbook"), optional<{ templates: WabaTemplate[] }>("/api/templates").catch(() => null)]), []);
  if (!loaded.data)
    return (
      <s-page heading={fmt.t("playbook_title")}>
        <Loading error={loaded.error} retry={loaded.reload} minHeight={800} />
      </s-page>
    );
  return <Editor saved={loaded.data[0]} templates={loaded.data[1]?.templates ?? null} />;
}

function Editor({ saved: initial, templates }: { saved: Playbook; templates: WabaTemplate[] | null }) {
  const { fmt } = useApp();
  const [saved, setSaved] = useState(initial);
  const [draft, setDraft] = useState(() => clone(initial));
  const [units, setUnits] = useState<Unit[]>(() => initial.steps.map((s) => unitOf(s.delay_seconds)));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [previewStep, setPreviewStep] = useState(0);
  const dirty = useMemo(() => JSON.stringify(draft) !== JSON.stringify(saved), [draft, saved]);
  useSaveBar("playbook-save-bar", dirty);

  const update = (f: (p: Playbook) => void) =>
    setDraft((d) => {
      const next = clone(d);
      f(next);
      return next;
    });
  const updateStep = (i: number, f: (s: Step) => void) => update((p) => f(p.steps[i]));
  const err = (path: string) => errors[path];

  const save = async () => {
    setSaving(true);
    try {
      const answer = await put<Playbook>("/api/playbook", draft);
      setSaved(answer);
      setDraft(clone(answer));
      setErrors({});
      toast(fmt.t("saved"));
    } catch (e) {
      if (e instanceof ApiError && e.fields.length) setErrors(fieldErrors(e.fields));
      else setErrors({ "": e instanceof Error ? e.message : String(e) });
    } finally {
      setSaving(false);
    }
  };
  const discard = () => {
    setDraft(clone(saved));
    setUnits(saved.steps.map((s) => unitOf(s.delay_seconds)));
    setErrors({});
  };
  const move = (i: number, by: number) => {
    const j = i + by;
    if (j < 0 || j >= draft.steps.length) return;
    update((p) => ([p.steps[i], p.steps[j]] = [p.steps[j], p.steps[i]]));
    setUnits((u) => {
      const n = [...u];
      [n[i], n[j]] = [n[j], n[i]];
      return n;
    });
    setErrors({});
  };
  const addStep = () => {
    const last = draft.steps[draft.steps.length - 1];
    const delay = last ? last.delay_seconds + 86400 : 10800;
    update((p) =>
      p.steps.push({
        id: uniqueId(p.steps.map((s) => s.id)),
        delay_seconds: delay,
        template: { name: last?.template.name ?? "cart_reminder", languages: [...(last?.template.languages ?? [p.default_language])] },
        body_params: ["first_name", "top_item_title", "cart_total"],
        button_url_param: "recovery_token",
        when: null,
        discount: null,
      }),
    );
    setUnits((u) => [...u, unitOf(delay)]);
  };
  const removeStep = (i: number) => {
    update((p) => p.steps.splice(i, 1));
    setUnits((u) => u.filter((_, k) => k !== i));
    setErrors({});
    setPreviewStep(0);
  };

  // Errors the page has no field for, so none is lost.
  const shown = new Set<string>();
  const mark = (path: string) => (shown.add(path), err(path));
  const fields = renderFields();
  const unplaced = Object.entries(errors).filter(([k]) => !shown.has(k));

  // What the image-header checkbox says: whether the step's template (in the step's languages)
  // has an image header to fill, when the account's templates are known.
  function headerHint(step: Step) {
    if (!templates) return fmt.t("header_image_help");
    const image = templates.some((t) => t.name === step.template.name && step.template.languages.includes(t.language) && t.header === "IMAGE");
    const on = step.header === "top_item_image";
    if (image && !on) return fmt.t("header_image_has");
    if (!image && on) return fmt.t("header_image_lacks");
    return undefined;
  }

  function renderFields() {
    const varOptions = VARIABLES.map((v) => ({ value: v, label: fmt.t(`var_${v}` as Key) }));
    const names = templates ? [...new Set(templates.map((t) => t.name))] : null;
    return (
      <>
        <s-section heading={fmt.t("general_title")}>
          <div class="fields">
            <Checkbox label={fmt.t("playbook_enabled")} checked={draft.enabled} onChange={(v) => update((p) => (p.enabled = v))} error={mark("enabled")} />
            <Select
              label={fmt.t("consent_mode")}
              value={draft.consent_mode}
              error={mark("consent_mode")}
              details={draft.consent_mode === "checkout_marketing_consent" ? fmt.t("consent_checkout_help") : undefined}
              onInput={(v) => update((p) => (p.consent_mode = v as Playbook["consent_mode"]))}
              options={[
                { value: "whatsapp_opt_in", label: fmt.t("consent_whatsapp") },
                { value: "checkout_marketing_consent", label: fmt.t("consent_checkout") },
              ]}
            />
            <TextField label={fmt.t("default_language")} value={draft.default_language} error={mark("default_language")} onInput={(v) => update((p) => (p.default_language = v.trim()))} />
            <TextField
              label={fmt.t("fallback_image")}
              placeholder="https://"
              value={draft.fallback_image_url ?? ""}
              details={fmt.t("fallback_image_help")}
              error={mark("fallback_image_url")}
              onInput={(v) => update((p) => (p.fallback_image_url = v.trim() || null))}
            />
            <Checkbox label={fmt.t("stop_on_reply")} checked={draft.stop_on_reply} onChange={(v) => update((p) => (p.stop_on_reply = v))} error={mark("stop_on_reply")} />
          </div>
        </s-section>
        <s-section heading={fmt.t("steps_title")}>
          {draft.steps.map((step, i) => {
            const at = `steps[${i}]`;
            const unit = units[i] ?? "hours";
            const langs = templates?.filter((t) => t.name === step.template.name).map((t) => t.language) ?? null;
            return (
              <fieldset class="step" key={i} data-step={i}>
                <legend>
                  {fmt.t("step_n", { n: i + 1 })}: {step.id}
                </legend>
                <div class="step-actions">
                  <Button variant="tertiary" onClick={() => move(i, -1)} disabled={i === 0} label={`${fmt.t("move_up")}: ${fmt.t("step_n", { n: i + 1 })}`}>
                    ↑ {fmt.t("move_up")}
                  </Button>
                  <Button variant="tertiary" onClick={() => move(i, 1)} disabled={i === draft.steps.length - 1} label={`${fmt.t("move_down")}: ${fmt.t("step_n", { n: i + 1 })}`}>
                    ↓ {fmt.t("move_down")}
                  </Button>
                  <Button variant="tertiary" tone="critical" onClick={() => removeStep(i)} label={`${fmt.t("remove_step")}: ${fmt.t("step_n", { n: i + 1 })}`}>
                    {fmt.t("remove_step")}
                  </Button>
                </div>
                {mark(at) && <p class="error-text">{err(at)}</p>}
                <div class="fields">
                  <TextField label={fmt.t("step_id")} value={step.id} error={mark(`${at}.id`)} onInput={(v) => updateStep(i, (s) => (s.id = v.trim()))} />
                  <div class="delay">
                    <TextField
                      kind="number"
                      min={0}
                      label={fmt.t("step_delay")}
                      value={+(step.delay_seconds / SECONDS[unit]).toFixed(4)}
                      error={mark(`${at}.delay_seconds`)}
                      onInput={(v) => updateStep(i, (s) => (s.delay_seconds = Math.round(intOr(v, 0) * SECONDS[unit])))}
                    />
                    <Select
                      label={fmt.t("delay_unit")}
                      value={unit}
                      onInput={(v) => setUnits((u) => u.map((x, k) => (k === i ? (v as Unit) : x)))}
                      options={(["seconds", "minutes", "hours", "days"] as Unit[]).map((u) => ({ value: u, label: fmt.t(`unit_${u}` as Key) }))}
                    />
                    <p class="muted delay-help">{fmt.t("delay_help")}</p>
                  </div>
                  {names ? (
                    <Select
                      label={fmt.t("template_name")}
                      value={step.template.name}
                      error={mark(`${at}.template.name`) ?? mark(`${at}.template`)}
                      details={fmt.t("template_pick")}
                      onInput={(v) => updateStep(i, (s) => (s.template = { name: v, languages: templates!.filter((t) => t.name === v).map((t) => t.language).slice(0, 1) }))}
                      options={(names.includes(step.template.name) ? names : [step.template.name, ...names]).map((n) => ({ value: n, label: n }))}
                    />
                  ) : (
                    <TextField label={fmt.t("template_name")} value={step.template.name} error={mark(`${at}.template.name`) ?? mark(`${at}.template`)} onInput={(v) => updateStep(i, (s) => (s.template.name = v.trim()))} />
                  )}
                  {langs && langs.length ? (
                    <fieldset class="langs">
                      <legend>{fmt.t("template_languages")}</legend>
                      {langs.map((l) => (
                        <Checkbox
                          key={l}
                          label={l}
                          checked={step.template.languages.includes(l)}
                          onChange={(on) => updateStep(i, (s) => (s.template.languages = on ? [...s.template.languages, l] : s.template.languages.filter((x) => x !== l)))}
                        />
                      ))}
                      {mark(`${at}.template.languages`) && <p class="error-text">{err(`${at}.template.languages`)}</p>}
                    </fieldset>
                  ) : (
                    <TextField
                      label={fmt.t("template_languages")}
                      value={step.template.languages.join(", ")}
                      details={fmt.t("template_languages_help")}
                      error={[mark(`${at}.template.languages`), ...step.template.languages.map((_, k) => mark(`${at}.template.languages[${k}]`))].filter(Boolean).join("; ")}
                      onInput={(v) => updateStep(i, (s) => (s.template.languages = v.split(",").map((x) => x.trim()).filter(Boolean)))}
                    />
                  )}
                </div>
                <Checkbox
                  label={fmt.t("header_image")}
                  checked={step.header === "top_item_image"}
                  details={headerHint(step)}
                  error={mark(`${at}.header`)}
                  onChange={(on) => updateStep(i, (s) => (s.header = on ? "top_item_image" : null))}
                />
                <fieldset class="params">
                  <legend>{fmt.t("body_params")}</legend>
                  {mark(`${at}.body_params`) && <p class="error-text">{err(`${at}.body_params`)}</p>}
                  {step.body_params.map((v, k) => (
                    <div class="param" key={k}>
                      <Select
                        label={fmt.t("body_param_n", { n: k + 1 })}
                        value={v}
                        error={mark(`${at}.body_params[${k}]`)}
                        onInput={(x) => updateStep(i, (s) => (s.body_params[k] = x))}
                        options={varOptions}
                      />
                      <Button variant="tertiary" onClick={() => updateStep(i, (s) => s.body_params.splice(k, 1))} label={`${fmt.t("remove_param", { n: k + 1 })} (${fmt.t("step_n", { n: i + 1 })})`}>
                        ✕
                      </Button>
                    </div>
                  ))}
                  <Button onClick={() => updateStep(i, (s) => s.body_params.push("first_name"))} label={`${fmt.t("add_param")} (${fmt.t("step_n", { n: i + 1 })})`}>
                    {fmt.t("add_param")}
                  </Button>
                </fieldset>
                <div class="fields">
                  <Select
                    label={fmt.t("button_param")}
                    value={step.button_url_param ?? ""}
                    error={mark(`${at}.button_url_param`)}
                    onInput={(x) => updateStep(i, (s) => (s.button_url_param = x || null))}
                    options={[{ value: "", label: fmt.t("no_param") }, ...varOptions]}
                  />
                  <TextField
                    label={fmt.t("min_cart")}
                    value={step.when?.min_cart_value ?? ""}
                    error={mark(`${at}.when.min_cart_value`) ?? mark(`${at}.when`)}
                    onInput={(v) => updateStep(i, (s) => setWhen(s, "min_cart_value", v))}
                  />
                  <TextField
                    label={fmt.t("max_cart")}
                    value={step.when?.max_cart_value ?? ""}
                    error={mark(`${at}.when.max_cart_value`)}
                    onInput={(v) => updateStep(i, (s) => setWhen(s, "max_cart_value", v))}
                  />
                </div>
                <Checkbox
                  label={fmt.t("discount")}
                  checked={!!step.discount}
                  error={mark(`${at}.discount`)}
                  onChange={(on) => updateStep(i, (s) => (s.discount = on ? { percent: 10, expires_after_hours: 48 } : null))}
                />
                {step.discount && (
                  <div class="fields">
                    <TextField kind="number" min={1} max={100} label={fmt.t("discount_percent")} value={step.discount.percent} error={mark(`${at}.discount.percent`)} onInput={(v) => updateStep(i, (s) => (s.discount!.percent = intOr(v, 0)))} />
                    <TextField kind="number" min={1} label={fmt.t("discount_hours")} value={step.discount.expires_after_hours} error={mark(`${at}.discount.expires_after_hours`)} onInput={(v) => updateStep(i, (s) => (s.discount!.expires_after_hours = intOr(v, 0)))} />
                  </div>
                )}
              </fieldset>
            );
          })}
          {mark("steps") && <p class="error-text">{err("steps")}</p>}
          <Button onClick={addStep}>{fmt.t("add_step")}</Button>
        </s-section>
        <s-section heading={fmt.t("quiet_title")}>
          <Checkbox label={fmt.t("quiet_enabled")} checked={!!draft.quiet_hours} onChange={(on) => update((p) => (p.quiet_hours = on ? { start: "21:00", end: "09:00" } : null))} />
          {draft.quiet_hours && (
            <div class="fields">
              <TextField label={fmt.t("quiet_start")} placeholder="21:00" value={draft.quiet_hours.start} error={mark("quiet_hours.start") ?? mark("quiet_hours")} onInput={(v) => update((p) => (p.quiet_hours!.start = v.trim()))} />
              <TextField label={fmt.t("quiet_end")} placeholder="09:00" value={draft.quiet_hours.end} error={mark("quiet_hours.end")} onInput={(v) => update((p) => (p.quiet_hours!.end = v.trim()))} />
            </div>
          )}
        </s-section>
        <s-section heading={fmt.t("caps_title")}>
          <Checkbox label={fmt.t("caps_enabled")} checked={!!draft.caps} onChange={(on) => update((p) => (p.caps = on ? { max_messages_per_customer: 3, window_days: 7 } : null))} />
          {draft.caps && (
            <div class="fields">
              <TextField kind="number" min={1} label={fmt.t("caps_max")} value={draft.caps.max_messages_per_customer} error={mark("caps.max_messages_per_customer") ?? mark("caps")} onInput={(v) => update((p) => (p.caps!.max_messages_per_customer = intOr(v, 0)))} />
              <TextField kind="number" min={1} label={fmt.t("caps_window")} value={draft.caps.window_days} error={mark("caps.window_days")} onInput={(v) => update((p) => (p.caps!.window_days = intOr(v, 0)))} />
            </div>
          )}
          <div class="fields">
            <TextField kind="number" min={0} max={50} label={fmt.t("holdout_percent")} details={fmt.t("holdout_help")} value={draft.holdout_percent} error={mark("holdout_percent")} onInput={(v) => update((p) => (p.holdout_percent = intOr(v, 0)))} />
            <TextField kind="number" min={1} label={fmt.t("ttl")} value={draft.journey_ttl_days} error={mark("journey_ttl_days")} onInput={(v) => update((p) => (p.journey_ttl_days = intOr(v, 0)))} />
          </div>
        </s-section>
      </>
    );
  }

  return (
    <s-page heading={fmt.t("playbook_title")}>
      <SaveBar id="playbook-save-bar" onSave={save} onDiscard={discard} saving={saving} />
      {unplaced.length > 0 && (
        <s-banner tone="critical" heading={fmt.t("save_failed")}>
          <ul>
            {unplaced.map(([k, v]) => (
              <li key={k}>{k ? `${k}: ${v}` : v}</li>
            ))}
          </ul>
        </s-banner>
      )}
      <div class="editor">
        <div class="editor-main">{fields}</div>
        <aside class="editor-side">
          <s-section heading={fmt.t("preview_title")}>
            {draft.steps.length > 0 && (
              <>
                <Select
                  label={fmt.t("preview_for")}
                  value={String(Math.min(previewStep, draft.steps.length - 1))}
                  onInput={(v) => setPreviewStep(Number(v))}
                  options={draft.steps.map((s, i) => ({ value: String(i), label: `${fmt.t("step_n", { n: i + 1 })}: ${s.id}` }))}
                />
                <Preview step={draft.steps[Math.min(previewStep, draft.steps.length - 1)]} language={draft.default_language} templates={templates} />
              </>
            )}
            <p class="muted">{fmt.t("preview_note")}</p>
          </s-section>
        </aside>
      </div>
    </s-page>
  );
}

function setWhen(s: Step, key: "min_cart_value" | "max_cart_value", v: string) {
  const when = { min_cart_value: s.when?.min_cart_value ?? null, max_cart_value: s.when?.max_cart_value ?? null };
  when[key] = v.trim() === "" ? null : v.trim();
  s.when = when.min_cart_value === null && when.max_cart_value === null ? null : when;
}

function uniqueId(taken: string[]) {
  for (let n = taken.length + 1; ; n++) {
    const id = `step_${n}`;
    if (!taken.includes(id)) return id;
  }
}
