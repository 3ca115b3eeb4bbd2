// What a project's images take: each distinct blob (config and layers) and manifest counted once,
// however many tags or repositories share it, as Harbor counts a project's quota. Pure.
import type { Manifest } from "./api.ts";

export interface ManifestInfo {
  digest: string;
  size: number;
  manifest: Manifest;
}

export function storageOf(manifests: ManifestInfo[]): number {
  const blobs = new Map<string, number>();
  for (const m of manifests) {
    blobs.set(m.digest, m.size);
    if (m.manifest.config) blobs.set(m.manifest.config.digest, m.manifest.config.size);
    for (const l of m.manifest.layers ?? []) blobs.set(l.digest, l.size);
  }
  let total = 0;
  for (const s of blobs.values()) total += s;
  return total;
}

/** The repositories of a project in a catalog ("dev-ns/app", "dev-ns/tools/x" for project dev-ns). */
export function repositoriesOf(catalog: string[], project: string): string[] {
  return catalog.filter((r) => r.startsWith(`${project}/`));
}
