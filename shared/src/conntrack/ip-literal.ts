/**
 * Strict IPv4/IPv6 literal syntax (what inet_ntop prints; no zone ids), checked on bytes so the conntrack line
 * parser can afford it on every address. Anything else in an address field is refused: the address ends up in a
 * printed `conntrack -D` remedy that people paste into a root shell.
 */

/** Whether `b[a..e)` is a dotted-quad IPv4 literal (four decimal parts 0-255, no leading zeros). */
export function isIPv4Bytes(b: Uint8Array, a: number, e: number): boolean {
  let parts = 0;
  let i = a;
  while (true) {
    const start = i;
    let v = 0;
    while (i < e && i - start < 4) {
      const c = b[i]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && b[start] === 48)) return false;
    parts++;
    if (i === e) return parts === 4;
    if (b[i] !== 46 || parts === 4) return false;
    i++;
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** Whether `b[a..e)` is an IPv6 literal (RFC 4291 text form, at most one `::`, optional dotted-quad tail). */
export function isIPv6Bytes(b: Uint8Array, a: number, e: number): boolean {
  let i = a;
  let groups = 0;
  let compressed = false;
  if (e - a >= 2 && b[a] === 58 && b[a + 1] === 58) {
    compressed = true;
    i += 2;
    if (i === e) return true;
  } else if (b[a] === 58) {
    return false;
  }
  while (true) {
    const start = i;
    while (i < e && isHex(b[i]!)) i++;
    if (i < e && b[i] === 46) {
      // Dotted-quad tail: the last 32 bits.
      if (!isIPv4Bytes(b, start, e)) return false;
      groups += 2;
      break;
    }
    const len = i - start;
    if (len === 0 || len > 4) return false;
    groups++;
    if (i === e) break;
    if (b[i] !== 58) return false;
    i++;
    if (i < e && b[i] === 58) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i === e) break;
    } else if (i === e) {
      return false;
    }
  }
  return compressed ? groups <= 7 : groups === 8;
}

/** 4 or 6 for a valid literal in `b[a..e)`, else 0. */
export function ipLiteralVersionBytes(b: Uint8Array, a: number, e: number): 0 | 4 | 6 {
  if (e <= a || e - a > 45) return 0;
  for (let i = a; i < e; i++) if (b[i] === 58) return isIPv6Bytes(b, a, e) ? 6 : 0;
  return isIPv4Bytes(b, a, e) ? 4 : 0;
}

/** 4 or 6 for a valid IPv4/IPv6 literal, else 0. */
export function ipLiteralVersion(s: string): 0 | 4 | 6 {
  if (s.length === 0 || s.length > 45) return 0;
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return 0;
    b[i] = c;
  }
  return ipLiteralVersionBytes(b, 0, b.length);
}
