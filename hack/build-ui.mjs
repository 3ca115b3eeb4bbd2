// Bundles the web UI (ui/) into dist/ui-assets: index.html, assets/app.js (Preact and the views,
// minified, with a source map) and assets/app.css. The manager serves that folder under /ui/;
// nothing is fetched at run time. `npm run build` runs this; so do the UI tests and the benchmark.
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "ui-assets");
await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });
const result = await build({
  entryPoints: [join(root, "ui", "src", "main.tsx")],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: join(out, "assets", "app.js"),
  metafile: true,
  logLevel: "warning",
});
await copyFile(join(root, "ui", "index.html"), join(out, "index.html"));
await copyFile(join(root, "ui", "app.css"), join(out, "assets", "app.css"));
const bytes = Object.entries(result.metafile.outputs).reduce(
  (n, [f, o]) => n + (f.endsWith(".js") ? o.bytes : 0),
  0,
);
if (process.argv.includes("--verbose")) console.log(`ui: ${out} (${bytes} bytes of JavaScript)`);
