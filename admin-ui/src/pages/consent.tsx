// Consent: the mode, where the widget's wording lives, and a phone's records in the ledger.
import { useState } from "preact/hooks";
import { get, put, type ConsentRecord, type Playbook } from "../api";
import type { Key } from "../i18n";
import { Button, Loading, TableWrap, SaveBar, Select, TextField, toast, useApp, useLoad, useSaveBar } from "../ui";
import { source } from "../words";
import { themeEditorUrl } from "./home";

export function ConsentPage() {
  const { fmt, shop } = useApp();
  const pb = useLoad(() => get<Playbook>("/api/playbook"), []);
  return (
    <s-page heading={fmt.t("consent_title")}>
      {pb.data ? <Mode playbook={pb.data} /> : <Loading error={pb.error} retry={pb.reload} minHeight={160} />}
      <s-section heading={fmt.t("widget_wording")}>
        <p>{fmt.t("widget_wording_help")}</p>
        <s-link href={themeEditorUrl(shop.shop, shop.theme_editor_url)} target="_top">
          {fmt.t("setup_embed_link")}
        </s-link>
      </s-section>
      <Lookup />
    </s-page>
  );
}

function Mode({ playbook }: { playbook: Playbook }) {
  const { fmt } = useApp();
  const [saved, setSaved] = useState(playbook);
  const [mode, setMode] = useState(playbook.consent_mode);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useSaveBar("consent-save-bar", mode !== saved.consent_mode);
  const save = async () => {
    setSaving(true);
    try {
      // The mode is part of the playbook: the latest one, with only the mode changed.
      const latest = await get<Playbook>("/api/playbook");
      const answer = await put<Playbook>("/api/playbook", { ...latest, consent_mode: mode });
      setSaved(answer);
      setError(undefined);
      toast(fmt.t("saved"));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setSaving(false);
    }
  };
  return (
    <s-section heading={fmt.t("consent_mode_title")}>
      <SaveBar id="consent-save-bar" onSave={save} onDiscard={() => setMode(saved.consent_mode)} saving={saving} />
      <Select
        label={fmt.t("consent_mode")}
        value={mode}
        error={error}
        details={mode === "checkout_marketing_consent" ? fmt.t("consent_checkout_help") : undefined}
        onInput={(v) => setMode(v as Playbook["consent_mode"])}
        options={[
          { value: "whatsapp_opt_in", label: fmt.t("consent_whatsapp") },
          { value: "checkout_marketing_consent", label: fmt.t("consent_checkout") },
        ]}
      />
    </s-section>
  );
}

function Lookup() {
  const { fmt } = useApp();
  const [phone, setPhone] = useState("");
  const [result, setResult] = useState<{ phone: string; status: string; records: ConsentRecord[] } | null>(null);
  const [error, setError] = useState<string | undefined>();
  const lookup = async () => {
    setError(undefined);
    try {
      setResult(await get(`/api/consents?phone=${encodeURIComponent(phone.trim())}`));
    } catch (e) {
      setResult(null);
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <s-section heading={fmt.t("lookup_title")}>
      <div class="inline">
        <TextField label={fmt.t("lookup_phone")} placeholder="+351912345678" value={phone} onInput={setPhone} error={error} />
        <Button onClick={lookup} disabled={!phone.trim()}>
          {fmt.t("lookup_button")}
        </Button>
      </div>
      {result && (
        <div data-testid="consent-result">
          <p>
            <strong>{result.phone}</strong> · {fmt.t("lookup_status", { status: fmt.t(`status_${result.status}` as Key) })}
          </p>
          {result.records.length > 0 && (
            <TableWrap label={fmt.t("lookup_title")}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{fmt.t("col_kind")}</th>
                    <th scope="col">{fmt.t("col_source")}</th>
                    <th scope="col">{fmt.t("col_wording")}</th>
                    <th scope="col">{fmt.t("col_at")}</th>
                  </tr>
                </thead>
                <tbody>
                  {result.records.map((r, i) => (
                    <tr key={i}>
                      <td>{fmt.t(`kind_${r.kind}` as Key)}</td>
                      <td>{source(r.source, fmt.lang)}</td>
                      <td>{r.wording ?? "—"}</td>
                      <td>{fmt.date(r.at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </div>
      )}
    </s-section>
  );
}
