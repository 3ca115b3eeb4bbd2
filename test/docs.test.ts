// The documentation holds together: every relative link in README.md and docs/ resolves (to a file or
// folder, and for #anchors to a heading of the target), the README stays a front door (< 12 KB), and
// nothing in the repository points at design notes that live outside it.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");

function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : [],
    );
  return [join(root, "README.md"), ...walk(join(root, "docs"))];
}

/** Markdown outside fenced code blocks and inline code spans (links there are examples, not links). */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").split("\n")) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = (m[1] ?? "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/[`*_]/g, "")
      .toLowerCase();
    const base = text.replace(/[^\p{L}\p{N}\s-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

interface Link {
  file: string;
  target: string;
}

function relativeLinks(file: string): Link[] {
  const text = prose(readFileSync(file, "utf8"));
  const links: Link[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1];
    if (target === undefined) continue;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
    links.push({ file, target });
  }
  return links;
}

/** Why a link does not resolve, or undefined when it does. */
function brokenReason({ file, target }: Link): string | undefined {
  const [pathPart = "", anchor] = target.split("#", 2);
  const path = pathPart === "" ? file : resolve(dirname(file), decodeURIComponent(pathPart));
  if (!path.startsWith(root)) return "points outside the repository";
  if (!existsSync(path)) return "no such file";
  if (anchor === undefined || anchor === "") return undefined;
  if (statSync(path).isDirectory() || !path.endsWith(".md"))
    return "an anchor into something that is not markdown";
  return anchors(readFileSync(path, "utf8")).has(anchor.toLowerCase()) ? undefined : "no such heading";
}

describe("documentation", () => {
  it("finds the README and the docs", () => {
    expect(markdownFiles().map((f) => relative(root, f))).toEqual(
      expect.arrayContaining(["README.md", "docs/architecture.md", "docs/runtime.md"]),
    );
  });

  it("computes GitHub's anchors", () => {
    const a = anchors("# Two commands\n## The CRDs\n## Where is a VIP assigned?\n## Guides\n## Guides\n");
    expect([...a]).toEqual(["two-commands", "the-crds", "where-is-a-vip-assigned", "guides", "guides-1"]);
  });

  it("has no relative link that does not resolve", () => {
    const links = markdownFiles().flatMap(relativeLinks);
    expect(links.length).toBeGreaterThan(20);
    const broken = links.flatMap((l) => {
      const why = brokenReason(l);
      return why ? [`${relative(root, l.file)}: (${l.target}) ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it("keeps the README under 12 KB", () => {
    expect(statSync(join(root, "README.md")).size).toBeLessThan(12 * 1024);
  });

  it("cites no design note outside the repository", () => {
    // Spelt in pieces, so that this file does not match itself.
    const names = [
      "ARCHITECTURE",
      "RUNTIME",
      "UPSTREAM-APIS",
      "PERFORMANCE",
      "CONTROL-PLANE",
      "GUEST-CLUSTERS",
    ];
    const needles = [["..", "shared", "design"].join("/"), ...names.map((n) => `${n}.md`)];
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
      cwd: root,
      encoding: "utf8",
    })
      .split("\0")
      .filter((f) => f !== "" && existsSync(join(root, f)) && statSync(join(root, f)).isFile());
    const hits = files.flatMap((f) => {
      const text = readFileSync(join(root, f), "utf8");
      return needles.filter((n) => text.includes(n)).map((n) => `${f}: ${n}`);
    });
    expect(hits).toEqual([]);
  });
});
