// Delays as a merchant reads and types them: in the largest unit they are a whole number of.

export type Unit = "seconds" | "minutes" | "hours" | "days";
export const SECONDS: Record<Unit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };

/** The largest unit `s` is a whole number of (a delay of 90 s is shown in seconds). */
export const unitOf = (s: number): Unit =>
  s % 86400 === 0 ? "days" : s % 3600 === 0 ? "hours" : s % 60 === 0 ? "minutes" : "seconds";

const SUFFIX: Record<Unit, string> = { seconds: "s", minutes: "m", hours: "h", days: "d" };

/** "3h", "30m", "2s": short enough for a comma-separated field, and exact. */
export function shortDelay(s: number): string {
  const unit = unitOf(s);
  return `${s / SECONDS[unit]}${SUFFIX[unit]}`;
}

/**
 * Delays as typed ("1, 3, 24" in hours, or with a unit: "30m, 2d, 5s") to seconds; null when
 * one is not a positive number.
 */
export function parseDelays(text: string): number[] | null {
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  const seconds = parts.map((p) => {
    const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/i.exec(p);
    if (!m) return NaN;
    const unit = (Object.keys(SUFFIX) as Unit[]).find((u) => SUFFIX[u] === (m[2] || "h").toLowerCase())!;
    return Math.round(Number(m[1]) * SECONDS[unit]);
  });
  return seconds.every((s) => Number.isFinite(s) && s >= 1) ? seconds : null;
}
