// Shopify's theme-check on the theme app extension, offline: the check's Liquid docs and JSON
// schemas come from the copy bundled in its npm package, never from the network. Prints each
// offense as `file:line:column severity check message` and exits 1 if there is any.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? "extensions/cartback-optin");
// theme-check refreshes its docs from GitHub before every run. Pointed at a local root that does
// not exist, the refresh fails at once and it falls back to its bundled docs; the empty cache
// keeps a copy another tool downloaded earlier out of the result.
const cache = mkdtempSync(join(tmpdir(), "theme-check-"));
process.env.SHOPIFY_TLD_ROOT = join(cache, "offline");
process.env.XDG_CACHE_HOME = cache;
const { themeCheckRun } = await import("@shopify/theme-check-node");

const severities = ["error", "warning", "info"];
try {
  const { offenses } = await themeCheckRun(root);
  for (const o of offenses) {
    const file = relative(process.cwd(), fileURLToPath(o.uri));
    console.log(`${file}:${o.start.line + 1}:${o.start.character + 1} ${severities[o.severity]} ${o.check} ${o.message}`);
  }
  console.log(`theme-check: ${offenses.length} offense(s) in ${relative(process.cwd(), root)}`);
  process.exitCode = offenses.length ? 1 : 0;
} finally {
  rmSync(cache, { recursive: true, force: true });
}
