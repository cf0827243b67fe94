// WhatsApp: connect a number (the token is write-only), its status and pace, a test message, and
// the account's message templates with cartback's recommended ones a click away.
import { useState } from "preact/hooks";
import { ApiError, get, optional, post, put, type WabaTemplate, type Whatsapp } from "../api";
import { Button, Loading, TableWrap, TextField, toast, useApp, useLoad } from "../ui";

export function WhatsappPage() {
  const { fmt } = useApp();
  const wa = useLoad(() => get<Whatsapp>("/api/whatsapp"), []);
  return (
    <s-page heading={fmt.t("whatsapp_title")}>
      {wa.data ? <Connection wa={wa.data} onSaved={wa.reload} /> : <Loading error={wa.error} retry={wa.reload} minHeight={500} />}
      {wa.data?.connected && <Templates />}
    </s-page>
  );
}

function Connection({ wa, onSaved }: { wa: Whatsapp; onSaved(): void }) {
  const { fmt } = useApp();
  const [form, setForm] = useState({
    phone_number_id: wa.phone_number_id ?? "",
    waba_id: wa.waba_id ?? "",
    access_token: "",
    messages_per_second: String(wa.messages_per_second ?? 80),
  });
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [testPhone, setTestPhone] = useState("");
  const [testResult, setTestResult] = useState<{ ok: boolean; text: string } | null>(null);

  const connect = async () => {
    setBusy(true);
    setError(null);
    try {
      await put("/api/whatsapp", {
        phone_number_id: form.phone_number_id.trim(),
        waba_id: form.waba_id.trim(),
        access_token: form.access_token.trim(),
        messages_per_second: Number(form.messages_per_second) || undefined,
      });
      setForm((f) => ({ ...f, access_token: "" }));
      toast(fmt.t("wa_saved"));
      onSaved();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const field = /messages_per_second/.test(message) ? "messages_per_second" : e instanceof ApiError && e.status === 422 ? "access_token" : undefined;
      setError({ field, message });
    } finally {
      setBusy(false);
    }
  };
  const test = async () => {
    setTestResult(null);
    try {
      const r = await post<{ wamid: string }>("/api/test-message", { phone: testPhone });
      setTestResult({ ok: true, text: fmt.t("wa_test_sent", { wamid: r.wamid }) });
    } catch (e) {
      setTestResult({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  const status =
    wa.status === "connected" ? fmt.t("wa_connected") : wa.status === "token_rejected" ? fmt.t("wa_token_rejected") : fmt.t("wa_not_connected");
  return (
    <>
      <s-section heading={fmt.t("wa_status")}>
        <p data-testid="wa-status">
          <s-badge tone={wa.connected ? "success" : "critical"}>{status}</s-badge>
          {wa.connected && wa.phone_number_id && <span class="muted"> · {wa.phone_number_id}</span>}
          {wa.messages_per_second !== undefined && (
            <span class="muted">
              {" "}
              · {fmt.t("wa_mps")}: {fmt.num(wa.messages_per_second)}
            </span>
          )}
        </p>
      </s-section>
      <s-section heading={fmt.t("wa_connect")}>
        {error && !error.field && <s-banner tone="critical" heading={error.message} />}
        <div class="fields">
          <TextField label={fmt.t("wa_phone_id")} value={form.phone_number_id} onInput={(v) => setForm({ ...form, phone_number_id: v })} />
          <TextField label={fmt.t("wa_waba_id")} value={form.waba_id} onInput={(v) => setForm({ ...form, waba_id: v })} />
          <TextField
            kind="password"
            label={fmt.t("wa_token")}
            value={form.access_token}
            details={fmt.t("wa_token_help")}
            error={error?.field === "access_token" ? error.message : undefined}
            onInput={(v) => setForm({ ...form, access_token: v })}
          />
          <TextField
            kind="number"
            min={1}
            max={1000}
            label={fmt.t("wa_mps")}
            details={fmt.t("wa_mps_help")}
            value={form.messages_per_second}
            error={error?.field === "messages_per_second" ? error.message : undefined}
            onInput={(v) => setForm({ ...form, messages_per_second: v })}
          />
        </div>
        <Button variant="primary" onClick={connect} loading={busy}>
          {fmt.t("wa_connect_button")}
        </Button>
      </s-section>
      <s-section heading={fmt.t("wa_test")}>
        <div class="inline">
          <TextField label={fmt.t("wa_test_phone")} placeholder="+351912345678" value={testPhone} onInput={setTestPhone} error={testResult && !testResult.ok ? testResult.text : undefined} />
          <Button onClick={test} disabled={!wa.connected || !testPhone.trim()}>
            {fmt.t("wa_test_button")}
          </Button>
        </div>
        {testResult?.ok && <p role="status">{testResult.text}</p>}
      </s-section>
    </>
  );
}

type TemplateList = { templates: WabaTemplate[] };

/** The WABA's templates and whether each fits its steps; an older Worker without the route hides it. */
function Templates() {
  const { fmt } = useApp();
  const list = useLoad(() => optional<TemplateList>("/api/templates"), []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const install = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await post<TemplateList & { installed: { result: string }[] }>("/api/templates/install", {});
      toast(fmt.t("tpl_installed", { n: r.installed.filter((i) => i.result === "created").length }));
      list.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  // Still loading, or a Worker without the route: nothing to show yet.
  if (list.data === null && !list.error) return null;
  return (
    <s-section heading={fmt.t("tpl_title")}>
      <p class="muted">{fmt.t("tpl_help")}</p>
      {error && <s-banner tone="critical" heading={error} />}
      {!list.data ? (
        <Loading error={list.error} retry={list.reload} minHeight={120} />
      ) : list.data.templates.length === 0 ? (
        <p data-testid="templates-empty">{fmt.t("tpl_none")}</p>
      ) : (
        <TableWrap label={fmt.t("tpl_title")}>
          <table data-testid="templates">
            <thead>
              <tr>
                <th scope="col">{fmt.t("tpl_col_name")}</th>
                <th scope="col">{fmt.t("tpl_col_status")}</th>
                <th scope="col">{fmt.t("tpl_col_category")}</th>
                <th scope="col">{fmt.t("tpl_col_fit")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.templates.map((t) => (
                <tr key={`${t.name}/${t.language}`}>
                  <td>
                    {t.name} <span class="muted">{t.language}</span>
                  </td>
                  <td>
                    <s-badge tone={t.status === "APPROVED" ? "success" : t.status === "PENDING" ? "info" : "critical"}>{t.status}</s-badge>
                  </td>
                  <td>{t.category ?? "—"}</td>
                  <td>
                    {!t.used_by?.length ? (
                      <span class="muted">{fmt.t("tpl_unused")}</span>
                    ) : t.fits ? (
                      fmt.t("tpl_fits")
                    ) : (
                      (t.problems ?? []).join("; ")
                    )}
                    {t.used_by?.length && t.sendable === false ? <div>{fmt.t("tpl_not_sendable")}</div> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <Button onClick={install} loading={busy}>
        {fmt.t("tpl_install")}
      </Button>
    </s-section>
  );
}
