// JSON Web Tokens as the Docker registry token specification wants them (RS256, signed with
// node:crypto), and the key ID distribution v2 looks a signing key up by: libtrust's fingerprint
// of the public key (SHA-256 of its DER SubjectPublicKeyInfo, first 240 bits, base32 in 12 groups
// of 4). The registry trusts the key through its rootcertbundle, which holds the key's certificate.
import { createHash, createSign, createVerify, type KeyObject, randomBytes } from "node:crypto";

export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  const sum = createHash("sha256").update(der).digest().subarray(0, 30);
  const b32 = base32(sum);
  return b32.match(/.{1,4}/g)!.join(":");
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding. */
export function base32(buf: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

export function signJwt(claims: object, key: KeyObject, kid: string): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid }));
  const body = b64url(JSON.stringify(claims));
  const sig = createSign("RSA-SHA256").update(`${header}.${body}`).sign(key);
  return `${header}.${body}.${b64url(sig)}`;
}

/** The claims of a JWT signed with `key` (RS256), or undefined if it is malformed or the signature is wrong. */
export function verifyJwt(token: string, key: KeyObject): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")) as { alg?: string };
    if (header.alg !== "RS256") return undefined;
    const ok = createVerify("RSA-SHA256")
      .update(`${parts[0]}.${parts[1]}`)
      .verify(key, Buffer.from(parts[2]!, "base64url"));
    if (!ok) return undefined;
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as unknown;
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const newJti = (): string => randomBytes(12).toString("hex");
