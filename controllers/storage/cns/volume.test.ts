import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { CSI_DRIVER, STORAGE_POLICY_ANNOTATION } from "../../api/contracts.ts";
import {
  desiredVolume,
  isReclaimable,
  storagePolicyOf,
  usedBytes,
  volumeName,
  wantsVolume,
} from "./volume.ts";

const sc = (o: Partial<V1StorageClass> = {}): V1StorageClass => ({
  metadata: { name: "gold" },
  provisioner: CSI_DRIVER,
  ...o,
});
const pvc: V1PersistentVolumeClaim = {
  metadata: { name: "data", namespace: "dev", uid: "0b3c6a1e-0000-4000-8000-000000000001" },
  spec: { resources: { requests: { storage: "1Gi" } } },
};
const pv = (policy: string, storage: string, phase = "Bound"): V1PersistentVolume => ({
  metadata: { annotations: { [STORAGE_POLICY_ANNOTATION]: policy } },
  spec: { capacity: { storage } },
  status: { phase },
});

describe("CNS volumes", () => {
  it("provisions claims of CNS classes only, and WaitForFirstConsumer ones once scheduled", () => {
    expect(wantsVolume(pvc, sc())).toBe(true);
    expect(wantsVolume(pvc, sc({ provisioner: "other" }))).toBe(false);
    expect(wantsVolume({ ...pvc, spec: { volumeName: "pv" } }, sc())).toBe(false);
    const wffc = sc({ volumeBindingMode: "WaitForFirstConsumer" });
    expect(wantsVolume(pvc, wffc)).toBe(false);
    const scheduled = {
      ...pvc,
      metadata: { ...pvc.metadata, annotations: { "volume.kubernetes.io/selected-node": "n" } },
    };
    expect(wantsVolume(scheduled, wffc)).toBe(true);
  });
  it("names the policy from the class's parameters, else the class", () => {
    expect(storagePolicyOf(sc({ parameters: { storagePolicyName: "vsan" } }))).toBe("vsan");
    expect(storagePolicyOf(sc())).toBe("gold");
  });
  it("counts the datastore's use per policy, Released volumes excluded", () => {
    const volumes = [
      pv("gold", "1Gi"),
      pv("gold", "512Mi"),
      pv("gold", "4Gi", "Released"),
      pv("silver", "8Gi"),
    ];
    expect(usedBytes(volumes, "gold")).toBe(1.5 * 2 ** 30);
  });
  it("pre-binds the volume to its claim with a CSI handle", () => {
    const v = desiredVolume(pvc, sc(), "gold", 2 ** 30);
    expect(v.metadata?.name).toBe(volumeName(pvc));
    expect(v.spec?.claimRef).toMatchObject({ namespace: "dev", name: "data", uid: pvc.metadata?.uid });
    expect(v.spec?.capacity).toEqual({ storage: "1Gi" });
    expect(v.spec?.csi?.driver).toBe(CSI_DRIVER);
    expect(v.spec?.persistentVolumeReclaimPolicy).toBe("Delete");
  });
  it("reclaims Released CNS volumes whose policy is Delete", () => {
    const released: V1PersistentVolume = {
      metadata: { name: "pv" },
      spec: { csi: { driver: CSI_DRIVER, volumeHandle: "h" }, persistentVolumeReclaimPolicy: "Delete" },
      status: { phase: "Released" },
    };
    expect(isReclaimable(released)).toBe(true);
    expect(
      isReclaimable({ ...released, spec: { ...released.spec, persistentVolumeReclaimPolicy: "Retain" } }),
    ).toBe(false);
    expect(isReclaimable({ ...released, status: { phase: "Bound" } })).toBe(false);
  });
});
