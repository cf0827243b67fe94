// Small wrappers over Polaris web components, and the page's shared context.
import { createContext, type ComponentChildren } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { Fmt } from "./i18n";
import type { Shop } from "./api";

export interface AppContext {
  fmt: Fmt;
  shop: Shop;
  navigate(path: string): void;
}

export const Ctx = createContext<AppContext>(null as unknown as AppContext);
export const useApp = () => useContext(Ctx);

type Target = { value?: string; checked?: boolean };
const valueOf = (e: Event) => String((e.currentTarget as unknown as Target).value ?? "");

interface FieldProps {
  label: string;
  value: string | number | null | undefined;
  onInput(value: string): void;
  error?: string;
  details?: string;
  placeholder?: string;
  name?: string;
  disabled?: boolean;
}

export function TextField(p: FieldProps & { kind?: "text" | "number" | "password" | "area"; min?: number; max?: number; step?: number }) {
  const Tag = (
    { text: "s-text-field", number: "s-number-field", password: "s-password-field", area: "s-text-area" } as const
  )[p.kind ?? "text"];
  return (
    <Tag
      label={p.label}
      name={p.name}
      value={p.value === null || p.value === undefined ? "" : String(p.value)}
      error={p.error || undefined}
      details={p.details}
      placeholder={p.placeholder}
      disabled={p.disabled || undefined}
      min={p.min}
      max={p.max}
      step={p.step}
      autocomplete={p.kind === "password" ? "off" : undefined}
      onInput={(e: Event) => p.onInput(valueOf(e))}
    />
  );
}

export function Select(p: FieldProps & { options: { value: string; label: string }[] }) {
  return (
    <s-select
      label={p.label}
      name={p.name}
      value={String(p.value ?? "")}
      error={p.error || undefined}
      details={p.details}
      disabled={p.disabled || undefined}
      onChange={(e: Event) => p.onInput(valueOf(e))}
    >
      {p.options.map((o) => (
        <s-option key={o.value} value={o.value}>
          {o.label}
        </s-option>
      ))}
    </s-select>
  );
}

export function Checkbox(p: { label: string; checked: boolean; onChange(checked: boolean): void; details?: string; error?: string }) {
  return (
    <s-checkbox
      label={p.label}
      checked={p.checked}
      details={p.details}
      error={p.error || undefined}
      onChange={(e: Event) => p.onChange(Boolean((e.currentTarget as unknown as Target).checked))}
    />
  );
}

export function Button(p: {
  children: ComponentChildren;
  onClick?(): void;
  variant?: "primary" | "secondary" | "tertiary";
  tone?: "critical";
  disabled?: boolean;
  loading?: boolean;
  label?: string;
  href?: string;
  target?: string;
}) {
  return (
    <s-button
      variant={p.variant}
      tone={p.tone}
      disabled={p.disabled || p.loading || undefined}
      loading={p.loading || undefined}
      accessibilityLabel={p.label}
      href={p.href}
      target={p.target}
      onClick={p.onClick}
    >
      {p.children}
    </s-button>
  );
}

/** Loads once per `deps`, with loading and error states and a way to reload. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: Error | null; reload(): void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    load().then(
      (d) => live && setData(d),
      (e: Error) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

export function Loading({ error, retry, minHeight = 240 }: { error: Error | null; retry(): void; minHeight?: number }) {
  const { fmt } = useApp();
  if (error)
    return (
      <s-banner tone="critical" heading={fmt.t("load_failed", { message: error.message })}>
        <Button onClick={retry}>{fmt.t("retry")}</Button>
      </s-banner>
    );
  return (
    <div class="loading" style={{ minHeight }} role="status">
      {fmt.t("loading")}
    </div>
  );
}

export const toast = (message: string, isError = false) => shopify.toast?.show(message, { isError });

/** Field errors of a 400 by field path, and the ones no field on the page shows. */
export function fieldErrors(fields: { field: string; message: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) out[f.field] = out[f.field] ? `${out[f.field]}; ${f.message}` : f.message;
  return out;
}

/** Keeps App Bridge's contextual save bar shown while there are unsaved changes. */
export function useSaveBar(id: string, dirty: boolean) {
  useEffect(() => {
    (dirty ? shopify.saveBar.show(id) : shopify.saveBar.hide(id)).catch(() => undefined);
  }, [id, dirty]);
  useEffect(() => () => void shopify.saveBar.hide(id).catch(() => undefined), [id]);
}

export function SaveBar({ id, onSave, onDiscard, saving }: { id: string; onSave(): void; onDiscard(): void; saving: boolean }) {
  const { fmt } = useApp();
  return (
    <ui-save-bar id={id}>
      <button {...{ variant: "primary" }} onClick={onSave} disabled={saving}>
        {fmt.t("save")}
      </button>
      <button onClick={onDiscard} disabled={saving}>
        {fmt.t("discard")}
      </button>
    </ui-save-bar>
  );
}

/** A table that may scroll sideways on a phone: a labelled region the keyboard can scroll. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
