// Makes an OCI image layout on disk from scratch (a tarball as its one layer), for skopeo to copy
// into the registry: no registry outside this machine is needed, or reachable.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export interface OciImage {
  /** The layout directory: skopeo's `oci:<dir>:<tag>`. */
  dir: string;
  tag: string;
  /** Bytes of the layer (the image's bulk). */
  layerBytes: number;
  manifestDigest: string;
  blobDigests: string[];
  remove(): void;
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** An image whose one layer is a tar.gz of `size` random bytes in /app/data (random: nothing dedupes). */
export function makeOciImage(size = 64 * 1024, tag = "1"): OciImage {
  const dir = mkdtempSync(join(tmpdir(), "pacific-oci-"));
  const work = join(dir, "work");
  mkdirSync(join(work, "app"), { recursive: true });
  writeFileSync(join(work, "app", "data"), randomBytes(size));
  writeFileSync(join(work, "app", "README"), "made by Pacific's tests\n");
  const layerTar = join(dir, "layer.tar");
  execFileSync("tar", ["-C", work, "--owner=0", "--group=0", "--numeric-owner", "-cf", layerTar, "app"]);
  const tar = readFileSync(layerTar);
  // Compressed already (fastest level), so skopeo pushes the blob as it is and digests stay ours.
  const layer = gzipSync(tar, { level: 1 });
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/app/data"] },
      rootfs: { type: "layers", diff_ids: [sha256(tar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const blobs = join(dir, "layout", "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  for (const b of [layer, config, manifest]) writeFileSync(join(blobs, sha256(b).slice(7)), b);
  writeFileSync(join(dir, "layout", "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "layout", "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  rmSync(work, { recursive: true, force: true });
  rmSync(layerTar, { force: true });
  return {
    dir: join(dir, "layout"),
    tag,
    layerBytes: statSync(join(blobs, layerDigest.slice(7))).size,
    manifestDigest: sha256(manifest),
    blobDigests: [layerDigest, sha256(config)],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
