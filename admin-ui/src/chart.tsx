// A bar chart by day in plain SVG: abandoned and recovered checkouts side by side.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { BreakdownRow } from "./api";
import type { Fmt } from "./i18n";

export function DayChart({ rows, from, to, fmt }: { rows: BreakdownRow[]; from: string; to: string; fmt: Fmt }) {
  // Drawn at the figure's own width so labels keep their size on a phone; the height is fixed,
  // so nothing moves when it is measured.
  const ref = useRef<HTMLElement>(null);
  const [W, setW] = useState(720);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => el.clientWidth > 0 && setW(Math.round(el.clientWidth));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // Every day of the range, with zeroes where nothing happened.
  const byDay = new Map(rows.map((r) => [r.key ?? "", r]));
  const days: string[] = [];
  for (let t = Date.parse(from.slice(0, 10)); t < Date.parse(to.slice(0, 10)) && days.length < 400; t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  if (days.length === 0) days.push(from.slice(0, 10));
  const max = Math.max(1, ...rows.map((r) => r.abandoned ?? 0));
  const H = 200;
  const pad = { l: 36, r: 8, t: 10, b: 24 };
  const slot = (W - pad.l - pad.r) / days.length;
  const bar = Math.max(1, slot * 0.4);
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const every = Math.ceil(days.length / Math.max(2, Math.floor(W / 90)));
  const total = rows.reduce(
    (acc, r) => [acc[0] + (r.abandoned ?? 0), acc[1] + (r.recovered ?? 0)],
    [0, 0],
  );
  const summary = `${fmt.t("chart_desc")}: ${fmt.t("stage_abandoned")} ${fmt.num(total[0])}, ${fmt.t("stage_recovered")} ${fmt.num(total[1])}`;
  return (
    <figure class="chart" ref={ref}>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={summary}>
        {ticks.map((v) => (
          <g key={v}>
            <line x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} class="grid" />
            <text x={pad.l - 6} y={y(v) + 4} text-anchor="end" class="tick">
              {fmt.num(v)}
            </text>
          </g>
        ))}
        {days.map((d, i) => {
          const r = byDay.get(d);
          const x = pad.l + i * slot + (slot - 2 * bar) / 2;
          const a = r?.abandoned ?? 0;
          const rec = r?.recovered ?? 0;
          return (
            <g key={d}>
              {a > 0 && <rect x={x} y={y(a)} width={bar} height={y(0) - y(a)} class="bar-abandoned" />}
              {rec > 0 && <rect x={x + bar} y={y(rec)} width={bar} height={y(0) - y(rec)} class="bar-recovered" />}
              {i % every === 0 && (
                <text x={pad.l + i * slot + slot / 2} y={H - 6} text-anchor="middle" class="tick">
                  {fmt.day(d)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        <span class="swatch bar-abandoned" aria-hidden="true" /> {fmt.t("stage_abandoned")}
        <span class="swatch bar-recovered" aria-hidden="true" /> {fmt.t("stage_recovered")}
      </figcaption>
    </figure>
  );
}
