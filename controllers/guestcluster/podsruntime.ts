// The `pods` guest-cluster runtime's I/O: the objects pods.ts renders go to the Supervisor's API
// server by server-side apply (field manager pacific-guest-cluster) through the manager's client,
// and the guest is probed at its VIP with the admin certificate of the rendered Secret, trusting only
// the cluster CA — as the local runtime does. Nothing is stopped on delete: every object is owned by
// the Cluster, so the garbage collector removes them (the PVC goes with the StatefulSet).
// The leaf certificates are signed once per guest and read back from the Secret after a restart,
// so a resync re-applies the same objects (and a changed Secret never rolls the pod for nothing).
import type { V1Secret } from "@kubernetes/client-node";
import type { Client, KubeObject } from "../runtime/client.ts";
import { type ResourceType, Secrets, Services, StatefulSets } from "../runtime/resource.ts";
import type { Store } from "../runtime/store.ts";
import {
  COMPONENTS,
  type ControlPlaneFiles,
  controlPlaneFiles,
  type EnsureResult,
  type GuestRuntime,
  type GuestSpec,
} from "./controlplane.ts";
import {
  filesFromSecret,
  hostedNames,
  POD_FIELD_MANAGER,
  podsLayout,
  renderHostedControlPlane,
} from "./pods.ts";
import { type GuestEndpoint, guestApply, guestExists, guestReady, guestVersion } from "./probe.ts";

export class PodsGuestRuntime implements GuestRuntime {
  /** The VIP is the Service's, served by the cluster's load balancer: any address. */
  readonly loopbackOnly = false;
  /** Per guest, the files its Secret holds (signed once). */
  private readonly files = new Map<string, ControlPlaneFiles>();
  /** Per guest, the objects this process last applied (their JSON): unchanged ones are not sent again. */
  private readonly applied = new Map<string, string>();

  constructor(
    private readonly client: Pick<Client, "patch">,
    private readonly secrets: Store<V1Secret>,
  ) {}

  async ensure(spec: GuestSpec): Promise<EnsureResult> {
    const { owner, kubernetesVersion } = spec;
    if (!owner || !kubernetesVersion)
      throw new Error(
        `${spec.namespace}/${spec.name}: the pods runtime needs the Cluster's uid and Kubernetes version`,
      );
    const objects = renderHostedControlPlane({
      spec,
      owner,
      kubernetesVersion,
      files: await this.filesOf(spec),
      storageClass: spec.storageClass,
    });
    const key = `${spec.namespace}/${spec.name}`;
    const hash = JSON.stringify(objects);
    if (this.applied.get(key) === hash) return { adopted: [...COMPONENTS], started: [], pending: [] };
    // The Secret first: the pod mounts it.
    await this.applyHere(Secrets, objects.secret);
    await this.applyHere(StatefulSets, objects.statefulSet);
    await this.applyHere(Services, objects.service);
    this.applied.set(key, hash);
    return { adopted: [], started: [...COMPONENTS], pending: [] };
  }

  ready(spec: GuestSpec): Promise<boolean> {
    return guestReady(this.endpoint(spec));
  }

  version(spec: GuestSpec): Promise<string | undefined> {
    return guestVersion(this.endpoint(spec));
  }

  /** Into the guest (the add-ons). */
  apply(spec: GuestSpec, path: string, obj: object, fieldManager: string): Promise<void> {
    return guestApply(this.endpoint(spec), path, obj, fieldManager);
  }

  exists(spec: GuestSpec, path: string): Promise<boolean | undefined> {
    return guestExists(this.endpoint(spec), path);
  }

  /** Owner references delete the objects; only what this process remembers goes. */
  async stop(namespace: string, name: string): Promise<void> {
    this.files.delete(`${namespace}/${name}`);
    this.applied.delete(`${namespace}/${name}`);
  }

  /** Into the Supervisor: server-side apply, forced (these objects are the controller's alone). */
  private async applyHere<T extends KubeObject>(rt: ResourceType<T>, obj: T): Promise<void> {
    const m = obj.metadata ?? {};
    await this.client.patch(rt, m.name ?? "", m.namespace, obj, {
      type: "apply",
      fieldManager: POD_FIELD_MANAGER,
      force: true,
    });
  }

  /** This process's, else the Secret's (a restarted manager), else signed now — for this cluster CA. */
  private async filesOf(spec: GuestSpec): Promise<ControlPlaneFiles> {
    const key = `${spec.namespace}/${spec.name}`;
    const ca = spec.pki.ca.cert;
    const stored = filesFromSecret(this.secrets.get(spec.namespace, hostedNames.secret(spec.name)));
    const files =
      [this.files.get(key), stored].find((f) => f?.pki["ca.crt"] === ca) ??
      (await controlPlaneFiles(spec, podsLayout(spec)));
    this.files.set(key, files);
    return files;
  }

  private endpoint(spec: GuestSpec): GuestEndpoint | undefined {
    const files = this.files.get(`${spec.namespace}/${spec.name}`);
    const cert = files?.pki["admin.crt"];
    const key = files?.pki["admin.key"];
    if (!cert || !key) return undefined;
    return { host: spec.vip, ca: spec.pki.ca.cert, cert, key };
  }
}
