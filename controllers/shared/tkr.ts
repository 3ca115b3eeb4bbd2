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
