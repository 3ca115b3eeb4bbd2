// TanzuKubernetesRelease names and versions: the TKR controller makes releases by these names, the
// TKC controller finds them and orders upgrades by these versions.

/** "v1.23.8+vmware.3-tkg.1" → "v1.23.8---vmware.3-tkg.1" (a TKR's name is its version, '+' spelt '---'). */
export function tkrName(version: string): string {
  return version.replace("+", "---");
}

/** "v1.23.8+vmware.3" → [1, 23, 8]; undefined when it is not a version. */
export function semver(v: string | undefined): [number, number, number] | undefined {
  const m = /^v?([0-9]+)\.([0-9]+)\.([0-9]+)/.exec(v ?? "");
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: string | undefined, b: string | undefined): number {
  const x = semver(a) ?? [0, 0, 0];
  const y = semver(b) ?? [0, 0, 0];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * Why moving a cluster from Kubernetes `from` to `to` is refused, as for TKCs (their CRD's CEL
 * rule): no downgrade, no change of major, no skipped minor. Undefined when the move is allowed.
 */
export function versionChangeProblem(from: string | undefined, to: string): string | undefined {
  const a = semver(from);
  const b = semver(to);
  if (!a || !b) return undefined;
  if (compareVersions(to, from) < 0) return `cannot be downgraded (from ${from} to ${to})`;
  if (b[0] !== a[0]) return `may not change the major version (from ${from} to ${to})`;
  if (b[1] > a[1] + 1) return `may not skip a minor version (from ${from} to ${to})`;
  return undefined;
}

/** The release a topology's `version` names: by its TKR name, its version, or its Kubernetes version. */
export function releaseFor<
  R extends { metadata?: { name?: string }; spec: { version: string; kubernetes: { version: string } } },
>(version: string, releases: { get(name: string): R | undefined; list(): R[] }): R | undefined {
  return (
    releases.get(tkrName(version)) ??
    releases.list().find((r) => r.spec.version === version || r.spec.kubernetes.version === version)
  );
}

/** The VM image of a release (its first OS image). */
export function imageOf(tkr: {
  metadata?: { name?: string };
  spec: { osImages?: Array<{ name?: string }> };
}) {
  return tkr.spec.osImages?.[0]?.name ?? `photon-3-amd64-${tkr.metadata?.name}`;
}
