// FAQ: questions and answers per language, and a question tried against them.
import { useMemo, useState } from "preact/hooks";
import { ApiError, get, put, type FaqEntry } from "../api";
import { Button, fieldErrors, Loading, SaveBar, Select, TextField, toast, useApp, useLoad, useSaveBar } from "../ui";

const LANGUAGES = ["", "en", "pt-BR", "pt", "es", "fr", "de", "it"];

export function FaqPage() {
  const { fmt } = useApp();
  const faq = useLoad(() => get<{ entries: FaqEntry[] }>("/api/faq"), []);
  return (
    <s-page heading={fmt.t("faq_title")}>
      {faq.data ? <Editor initial={faq.data.entries} /> : <Loading error={faq.error} retry={faq.reload} minHeight={400} />}
      <Try />
    </s-page>
  );
}

function Editor({ initial }: { initial: FaqEntry[] }) {
  const { fmt } = useApp();
  const [saved, setSaved] = useState(initial);
  const [entries, setEntries] = useState(initial);
  const [keywordText, setKeywordText] = useState(() => initial.map((e) => e.keywords.join(", ")));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const dirty = useMemo(() => JSON.stringify(entries) !== JSON.stringify(saved), [entries, saved]);
  useSaveBar("faq-save-bar", dirty);
  const set = (i: number, patch: Partial<FaqEntry>) => setEntries((list) => list.map((e, k) => (k === i ? { ...e, ...patch } : e)));
  const save = async () => {
    setSaving(true);
    try {
      const answer = await put<{ entries: FaqEntry[] }>("/api/faq", { entries });
      setSaved(answer.entries);
      setEntries(answer.entries);
      setKeywordText(answer.entries.map((e) => e.keywords.join(", ")));
      setErrors({});
      toast(fmt.t("saved"));
    } catch (e) {
      setErrors(e instanceof ApiError && e.fields.length ? fieldErrors(e.fields) : { entries: e instanceof Error ? e.message : String(e) });
    } finally {
      setSaving(false);
    }
  };
  const discard = () => {
    setEntries(saved);
    setKeywordText(saved.map((e) => e.keywords.join(", ")));
    setErrors({});
  };
  return (
    <s-section heading={fmt.t("faq_entries")}>
      <SaveBar id="faq-save-bar" onSave={save} onDiscard={discard} saving={saving} />
      <p>{fmt.t("faq_intro")}</p>
      {errors.entries && <p class="error-text">{errors.entries}</p>}
      {entries.map((e, i) => {
        const at = `entries[${i}]`;
        return (
          <fieldset class="step" key={i}>
            <legend>
              {fmt.t("faq_question")} {i + 1}
            </legend>
            <div class="fields">
              <TextField label={fmt.t("faq_question")} value={e.question} error={errors[`${at}.question`]} onInput={(v) => set(i, { question: v })} />
              <Select
                label={fmt.t("faq_language")}
                value={e.language ?? ""}
                error={errors[`${at}.language`]}
                onInput={(v) => set(i, { language: v || null })}
                options={(LANGUAGES.includes(e.language ?? "") ? LANGUAGES : [...LANGUAGES, e.language!]).map((l) => ({ value: l, label: l || fmt.t("faq_any_language") }))}
              />
            </div>
            <TextField kind="area" label={fmt.t("faq_answer")} value={e.answer} error={errors[`${at}.answer`]} onInput={(v) => set(i, { answer: v })} />
            <TextField
              label={fmt.t("faq_keywords")}
              details={fmt.t("faq_keywords_help")}
              value={keywordText[i] ?? ""}
              error={Object.entries(errors).filter(([k]) => k.startsWith(`${at}.keywords`)).map(([, v]) => v).join("; ") || undefined}
              onInput={(v) => {
                setKeywordText((t) => t.map((x, k) => (k === i ? v : x)));
                set(i, { keywords: v.split(",").map((x) => x.trim()).filter(Boolean) });
              }}
            />
            <Button
              variant="tertiary"
              tone="critical"
              label={`${fmt.t("faq_remove")} ${i + 1}`}
              onClick={() => {
                setEntries((list) => list.filter((_, k) => k !== i));
                setKeywordText((t) => t.filter((_, k) => k !== i));
              }}
            >
              {fmt.t("faq_remove")}
            </Button>
          </fieldset>
        );
      })}
      <Button
        onClick={() => {
          setEntries((list) => [...list, { question: "", answer: "", language: null, keywords: [] }]);
          setKeywordText((t) => [...t, ""]);
        }}
      >
        {fmt.t("faq_add")}
      </Button>
    </s-section>
  );
}

function Try() {
  const { fmt } = useApp();
  const [q, setQ] = useState("");
  const [answer, setAnswer] = useState<string | null>(null);
  const ask = async () => {
    try {
      const r = await get<{ answer: string | null }>(`/api/faq/try?q=${encodeURIComponent(q)}`);
      setAnswer(r.answer ? fmt.t("faq_try_answer", { answer: r.answer }) : fmt.t("faq_try_none"));
    } catch (e) {
      setAnswer(e instanceof ApiError && e.status === 404 ? fmt.t("faq_try_unavailable") : e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <s-section heading={fmt.t("faq_try")}>
      <div class="inline">
        <TextField label={fmt.t("faq_question")} value={q} onInput={setQ} placeholder="Do you ship to Lisbon?" />
        <Button onClick={ask} disabled={!q.trim()}>
          {fmt.t("faq_try_button")}
        </Button>
      </div>
      {answer && (
        <p role="status" data-testid="faq-try-answer">
          {answer}
        </p>
      )}
    </s-section>
  );
}
