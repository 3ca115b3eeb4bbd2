// Stable identities derived from names: the same answer after any restart, no state kept.
import { stableHash } from "../settings.ts";

/** A stable UUID-shaped id from a name. */
export function uuidFrom(s: string): string {
  const h = [0, 1, 2, 3].map((i) => stableHash(`${i}:${s}`).toString(16).padStart(8, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
