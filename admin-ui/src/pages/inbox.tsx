// Inbox: shoppers waiting for a person; answer while the 24-hour window is open, then resolve.
import { useState } from "preact/hooks";
import { ApiError, get, post, type Conversation } from "../api";
import { Button, Loading, TextField, toast, useApp, useLoad } from "../ui";

export function InboxPage() {
  const { fmt } = useApp();
  const inbox = useLoad(() => get<{ conversations: Conversation[] }>("/api/inbox"), []);
  const [resolved, setResolved] = useState<string[]>([]);
  const open = inbox.data?.conversations.filter((c) => !resolved.includes(c.phone)) ?? [];
  return (
    <s-page heading={fmt.t("inbox_title")}>
      {!inbox.data ? (
        <Loading error={inbox.error} retry={inbox.reload} />
      ) : open.length === 0 ? (
        <s-section heading={fmt.t("inbox_title")}>
          <p data-testid="inbox-empty">{fmt.t("inbox_empty")}</p>
        </s-section>
      ) : (
        open.map((c) => <Thread key={c.phone} c={c} onResolved={() => setResolved((r) => [...r, c.phone])} />)
      )}
    </s-page>
  );
}

function Thread({ c, onResolved }: { c: Conversation; onResolved(): void }) {
  const { fmt } = useApp();
  const [text, setText] = useState("");
  const [sent, setSent] = useState<{ text: string; at: string }[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const messages = c.messages ?? [{ from: "shopper" as const, text: c.last_message, at: c.since }];
  const reply = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await post("/api/inbox/reply", { phone: c.phone, text });
      setSent((s) => [...s, { text, at: new Date().toISOString() }]);
      setText("");
      toast(fmt.t("inbox_sent"));
    } catch (e) {
      if (e instanceof ApiError && e.code === "window_closed") setError(fmt.t("inbox_window_closed"));
      else if (e instanceof ApiError && e.status === 404) setError(fmt.t("inbox_unavailable"));
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const resolve = async () => {
    setBusy(true);
    try {
      await post("/api/inbox/resolve", { phone: c.phone });
      onResolved();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };
  return (
    <s-section heading={c.name ? `${c.name} · ${c.phone}` : c.phone}>
      <div class="thread" data-phone={c.phone}>
        <p class="muted">{fmt.t("inbox_waiting", { since: fmt.date(c.since) })}</p>
        <ul class="messages">
          {messages.map((m, i) => (
            <li key={i} class={m.from === "shop" ? "from-shop" : "from-shopper"}>
              <span>{m.text}</span>
              <time dateTime={m.at}>{fmt.date(m.at)}</time>
            </li>
          ))}
          {sent.map((m, i) => (
            <li key={`s${i}`} class="from-shop">
              <span>{m.text}</span>
              <time dateTime={m.at}>{fmt.date(m.at)}</time>
            </li>
          ))}
        </ul>
        {c.window_closes_at && <p class="muted">{fmt.t("inbox_window_open", { until: fmt.date(c.window_closes_at) })}</p>}
        <TextField kind="area" label={`${fmt.t("inbox_reply")} (${c.name ?? c.phone})`} value={text} onInput={setText} error={error} />
        <div class="actions">
          <Button variant="primary" onClick={reply} disabled={!text.trim()} loading={busy}>
            {fmt.t("inbox_send")}
          </Button>
          <Button onClick={resolve} disabled={busy} label={`${fmt.t("inbox_resolve")}: ${c.name ?? c.phone}`}>
            {fmt.t("inbox_resolve")}
          </Button>
        </div>
      </div>
    </s-section>
  );
}
