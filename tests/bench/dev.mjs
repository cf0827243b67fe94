// The dev loop: how long `make dev` takes on a built tree until the demo shop is installed (its
// "ready:" line), and whether make would rebuild an unchanged Worker or admin page. With
// `rebuild: true` it then touches a Rust source and counts the Worker builds that follow.
import { execFileSync, spawn } from "node:child_process";
import { utimesSync } from "node:fs";
import { createServer } from "node:net";

const root = new URL("../../", import.meta.url).pathname;

const free = (port) =>
  new Promise((resolve) => {
    const s = createServer().once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

/** Four consecutive free ports (the simulators, the Worker and the local admin), away from 8787. */
async function ports() {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const all = [base, base + 1, base + 2, base + 3];
    if ((await Promise.all(all.map(free))).every(Boolean)) return { dev: base + 3, sim: base + 2, store: base + 1 };
  }
}

/** Would make rebuild `target`? (`make -q` answers 0 when it is up to date.) */
function upToDate(target) {
  try {
    execFileSync("make", ["-q", target], { cwd: root, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function devLoop({ rebuild = process.env.DEV_REBUILD === "1", timeoutMs = 600_000 } = {}) {
  const worker_up_to_date = upToDate("build/index.js");
  const page_up_to_date = upToDate("admin-ui/dist/index.html");
  const p = await ports();
  const started = performance.now();
  const child = spawn("make", ["--no-print-directory", "dev", `DEV_PORT=${p.dev}`, `SIM_PORT=${p.sim}`, `STORE_PORT=${p.store}`], {
    cwd: root,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  const seen = (pattern, from = 0) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`make dev: no ${pattern} after ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (pattern.test(output.slice(from))) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      };
      child.stdout.on("data", check);
      child.stderr.on("data", check);
      check();
    });
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (d) => (output += d));
  try {
    const ready_s = ((await seen(/ready: open/)) - started) / 1000;
    const result = { ready_s, worker_up_to_date, page_up_to_date, worker_builds_at_start: (output.match(/Compiling cartback/g) ?? []).length };
    if (rebuild) {
      const from = output.length;
      const now = new Date();
      utimesSync(`${root}src/lib.rs`, now, now);
      const changed = performance.now();
      // wrangler reloads once the build command is done; allow for builds that follow it.
      await seen(/Reloading local server|Local server updated/, from);
      result.rebuild_s = (performance.now() - changed) / 1000;
      await new Promise((r) => setTimeout(r, 20_000));
      result.worker_builds_after_change = (output.slice(from).match(/Compiling cartback/g) ?? []).length;
    }
    return result;
  } finally {
    process.kill(-child.pid, "SIGTERM");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await devLoop());
