// Builds the admin page into admin-ui/dist: index.html, app.js and app.css (esbuild, minified).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
const out = `${here}dist`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: `${here}src/main.tsx` },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022", "chrome110", "safari16", "firefox110"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: out,
  legalComments: "none",
  logLevel: "warning",
});
await build({ entryPoints: { app: `${here}src/app.css` }, bundle: true, minify: true, outdir: out, logLevel: "warning" });
copyFileSync(`${here}index.html`, `${out}/index.html`);
