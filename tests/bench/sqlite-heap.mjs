// Why a local workerd runs short of SQLite memory with thousands of Durable Objects awake
// (docs/budgets.md §2, bursts): N minimal SQLite-backed objects (one 2 KB value and an alarm
// each, nothing of cartback's) whose alarms all fire in the same second, each reading and
// writing once. Prints, every 5 s after the alarms' time, the memory maps, file descriptors and
// resident memory of workerd, then how many alarms ran and how many SQLITE_NOMEM errors workerd
// logged. Run by hand: `SQLITE_OBJECTS=5000 node tests/bench/sqlite-heap.mjs`.
import { execSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";

const N = Number(process.env.SQLITE_OBJECTS || 5000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const state = mkdtempSync(join(tmpdir(), "sqlite-heap-"));
let nomem = 0;
const mf = new Miniflare({
  modules: true,
  compatibilityDate: "2026-04-01",
  durableObjects: { OBJECT: { className: "Minimal", useSQLite: true } },
  durableObjectsPersist: state,
  handleRuntimeStdio(stdout, stderr) {
    for (const stream of [stdout, stderr]) stream.on("data", (b) => (nomem += (String(b).match(/SQLITE_NOMEM/g) ?? []).length));
  },
  script: `
    export class Minimal {
      constructor(state) { this.storage = state.storage; }
      async fetch(request) {
        const at = new URL(request.url).searchParams.get("at");
        if (!at) return new Response(String((await this.storage.get("fired")) ?? 0));
        await this.storage.put("value", "x".repeat(2000));
        await this.storage.setAlarm(Number(at));
        return new Response("ok");
      }
      async alarm() {
        const value = await this.storage.get("value");
        await this.storage.put("fired", Date.now());
        await this.storage.put("again", value + "y");
      }
    }
    export default {
      fetch(request, env) {
        const name = new URL(request.url).searchParams.get("n");
        return env.OBJECT.get(env.OBJECT.idFromName(name)).fetch(request);
      },
    };`,
});
await mf.ready;
const each = async (f) => {
  const out = [];
  for (let i = 0; i < N; i += 200) out.push(...(await Promise.all(Array.from({ length: Math.min(200, N - i) }, (_, k) => f(i + k)))));
  return out;
};
// Time enough to create every object first (about 90 objects a second here).
const at = Date.now() + 20_000 + N * 12;
await each((i) => mf.dispatchFetch(`http://localhost/?n=o${i}&at=${at}`).then((r) => r.text()));
const pid = execSync(`pgrep -P ${process.pid} -x workerd`).toString().trim().split("\n")[0];
while (Date.now() < at + 60_000) {
  await sleep(5000);
  const maps = readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").length;
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const rss = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]);
  console.log(`${Math.round((Date.now() - at) / 1000)} s after: ${maps} maps, ${fds} fds, ${Math.round(rss / 1024)} MiB resident, ${nomem} SQLITE_NOMEM so far`);
}
const fired = (await each((i) => mf.dispatchFetch(`http://localhost/?n=o${i}`).then((r) => r.text()))).filter((t) => Number(t) > 0).length;
console.log(JSON.stringify({ objects: N, alarms_ran: fired, sqlite_nomem_logged: nomem }));
await mf.dispose();
rmSync(state, { recursive: true, force: true });
