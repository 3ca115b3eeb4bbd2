#!/usr/bin/env node
// Prints, as one multi-document YAML stream, the upstream CRDs of the kinds Pacific mirrors:
// Cluster API (Cluster, Machine, MachineDeployment, KubeadmControlPlane) and VM Operator
// (VirtualMachine, VirtualMachineClass, VirtualMachineService), taken from the modules' zips on the
// Go module proxy at the versions pinned in hack/versions.env — nothing is copied into the repository.
//
// Upstream ships these CRDs for a kustomize build that wires a conversion webhook (served by the
// upstream controller, which does not run here). We set `spec.conversion.strategy: None` on each:
// the API server then serves every version with the same stored fields, which is enough for
// Pacific, which speaks only the storage versions (cluster.x-k8s.io/v1beta1, vmoperator/v1alpha3).
//
//   node hack/upstream-crds.mjs | kubectl apply --server-side -f -
//   node hack/upstream-crds.mjs --names     # the CRD names only, one a line
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";

const here = import.meta.dirname;

/** KEY=VALUE lines of hack/versions.env. */
function versions() {
  const out = {};
  for (const line of readFileSync(join(here, "versions.env"), "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The module's directory in the Go module cache, downloading its zip from the proxy if needed. */
function moduleDir(path, version) {
  let json;
  try {
    json = execFileSync("go", ["mod", "download", "-json", `${path}@${version}`], {
      cwd: here,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, GOFLAGS: "-mod=mod" },
    });
  } catch (e) {
    throw new Error(`go mod download ${path}@${version}: ${e.stdout || e.stderr || e.message}`);
  }
  const info = JSON.parse(json);
  if (info.Error || !info.Dir) throw new Error(`go mod download ${path}@${version}: ${info.Error}`);
  return info.Dir;
}

const v = versions();
const capi = moduleDir("sigs.k8s.io/cluster-api", v.CLUSTER_API_VERSION);
// The api/ submodule is not on the proxy as its own module: the root module carries the CRDs.
const vmop = moduleDir("github.com/vmware-tanzu/vm-operator", v.VM_OPERATOR_VERSION);

const files = [
  join(capi, "config/crd/bases/cluster.x-k8s.io_clusters.yaml"),
  join(capi, "config/crd/bases/cluster.x-k8s.io_clusterclasses.yaml"),
  join(capi, "config/crd/bases/cluster.x-k8s.io_machines.yaml"),
  join(capi, "config/crd/bases/cluster.x-k8s.io_machinedeployments.yaml"),
  join(capi, "controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml"),
  join(vmop, "config/crd/bases/vmoperator.vmware.com_virtualmachines.yaml"),
  join(vmop, "config/crd/bases/vmoperator.vmware.com_virtualmachineclasses.yaml"),
  join(vmop, "config/crd/bases/vmoperator.vmware.com_virtualmachineservices.yaml"),
];

const crds = files.map((f) => {
  const crd = parse(readFileSync(f, "utf8"));
  crd.spec.conversion = { strategy: "None" };
  crd.metadata.labels = { ...crd.metadata.labels, "pacific.dev/upstream-crd": "true" };
  return crd;
});

if (process.argv.includes("--names")) console.log(crds.map((c) => c.metadata.name).join("\n"));
else process.stdout.write(crds.map((c) => stringify(c, { lineWidth: 0 })).join("---\n"));
