// The image policy of a Supervisor Namespace, as the Namespace annotation the chart's
// ValidatingAdmissionPolicy (pacific-allowed-registries) reads: a VAP cannot read the
// SupervisorNamespace, and a namespace user cannot write its Namespace, so only Pacific sets it. Pure.
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";

export { ALLOWED_REGISTRIES_ANNOTATION } from "../api/contracts.ts";

/**
 * The annotation's value: the namespace's own project (<registry>/<namespace>) and the admin's list,
 * comma-separated; undefined (no annotation: any registry) when the admin gave no list.
 */
export function allowedRegistries(
  svns: SupervisorNamespace,
  registryHost: string | undefined,
): string | undefined {
  const list = svns.spec.allowedRegistries;
  if (list === undefined) return undefined;
  const own = registryHost ? [`${registryHost}/${svns.metadata.name}`] : [];
  return [...new Set([...own, ...list.map((r) => r.replace(/\/+$/, ""))])].join(",");
}

/**
 * An image reference with its registry made explicit, as a container runtime reads it: "nginx" is
 * docker.io/library/nginx, "acme/app" docker.io/acme/app; a first component with a dot or a colon,
 * or "localhost", is a registry. The admission policy's CEL does the same.
 */
export function normalizeImage(image: string): string {
  const first = image.split("/")[0]!;
  if (image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost"))
    return image;
  return image.includes("/") ? `docker.io/${image}` : `docker.io/library/${image}`;
}

/** Whether an image is allowed by an annotation value (the policy's rule, for unit tests and docs). */
export function imageAllowed(image: string, annotation: string | undefined): boolean {
  if (annotation === undefined) return true;
  const n = normalizeImage(image);
  return annotation
    .split(",")
    .filter(Boolean)
    .some((p) => n === p || n.startsWith(`${p}/`) || n.startsWith(`${p}:`) || n.startsWith(`${p}@`));
}
