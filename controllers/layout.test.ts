// The import rule that keeps controllers apart: a controller folder (a folder with a setup.ts)
// imports only the runtime, the API types and contracts, the shared helpers, the top-level settings
// and itself — never another controller's internals. The runtime knows no domain at all.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = dirname(fileURLToPath(import.meta.url)); // controllers/
const TOP_LEVEL_SHARED = ["settings.ts", "config.ts"];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].flatMap((m) =>
    m[1] ? [resolve(dirname(file), m[1])] : [],
  );
}

/** The nearest folder at or above `dir` (below controllers/) that has a setup.ts. */
function controllerFolder(dir: string): string | undefined {
  for (let d = dir; d.startsWith(root) && d !== root; d = dirname(d)) {
    try {
      if (statSync(join(d, "setup.ts")).isFile()) return d;
    } catch {}
  }
  return undefined;
}

const area = (p: string) => relative(root, p).split("/")[0] ?? "";
const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

function violations(): string[] {
  const out: string[] = [];
  for (const file of sources(root)) {
    const rel = relative(root, file);
    const from = area(file);
    if (!rel.includes("/")) continue; // main.ts, setup.ts and friends wire everything
    for (const target of imports(file)) {
      const to = relative(root, target);
      const toArea = area(target);
      let ok: boolean;
      if (from === "runtime") ok = toArea === "runtime";
      else if (from === "api") ok = toArea === "api" || to === "runtime/resource.ts";
      else if (from === "shared")
        ok = ["runtime", "api", "shared"].includes(toArea) || TOP_LEVEL_SHARED.includes(to);
      else {
        const own = controllerFolder(dirname(file)) ?? dirname(file);
        ok =
          ["runtime", "api", "shared"].includes(toArea) ||
          TOP_LEVEL_SHARED.includes(to) ||
          within(target, own);
      }
      if (!ok) out.push(`${rel} imports ${to}`);
    }
  }
  return out;
}

describe("layout", () => {
  it("controller folders import only runtime/, api/, shared/, the settings and themselves", () => {
    expect(violations()).toEqual([]);
  });

  it("every controller folder has its wiring in setup.ts", () => {
    const folders = new Set(
      sources(root)
        .filter((f) => /reconciler\.ts$/.test(f))
        .map((f) => relative(root, dirname(f))),
    );
    const missing = [...folders].filter((d) => {
      try {
        return !statSync(join(root, d, "setup.ts")).isFile();
      } catch {
        return true;
      }
    });
    expect(missing).toEqual([]);
  });
});
