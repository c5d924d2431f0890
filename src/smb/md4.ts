// MD4 (RFC 1320) and the NT hash. Node's OpenSSL 3 keeps md4 in the legacy provider, which is
// usually not loaded (createHash('md4') throws "unsupported"), so MD4 is implemented here; it is
// only used to compute the NT hash ksmbd stores, never for new security decisions.

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));
const F = (x: number, y: number, z: number) => (x & y) | (~x & z);
const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z);
const H = (x: number, y: number, z: number) => x ^ y ^ z;

/** Round shifts and word orders from RFC 1320 section 3.4. */
const S = [[3, 7, 11, 19], [3, 5, 9, 13], [3, 9, 11, 15]] as const;
const ORDER = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15],
  [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15],
] as const;
const ROUNDS = [
  { f: F, k: 0 },
  { f: G, k: 0x5a827999 },
  { f: H, k: 0x6ed9eba1 },
] as const;

/** Pads the message: 0x80, zeros to 56 mod 64, then the bit length as 64-bit little-endian. */
function pad(msg: Uint8Array): Buffer {
  const len = Math.ceil((msg.length + 9) / 64) * 64;
  const buf = Buffer.alloc(len);
  buf.set(msg);
  buf[msg.length] = 0x80;
  const bits = BigInt(msg.length) * 8n;
  buf.writeBigUInt64LE(bits, len - 8);
  return buf;
}

export function md4(msg: Uint8Array): Buffer {
  const buf = pad(msg);
  const st = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  for (let off = 0; off < buf.length; off += 64) {
    const X = Array.from({ length: 16 }, (_, i) => buf.readInt32LE(off + i * 4));
    const v = [...st] as [number, number, number, number];
    ROUNDS.forEach(({ f, k }, r) => {
      ORDER[r]!.forEach((w, i) => {
        // a = (a + f(b,c,d) + X[w] + k) <<< s, rotating the roles of a, b, c, d each step.
        const a = (4 - (i % 4)) % 4;
        const [b, c, d] = [(a + 1) % 4, (a + 2) % 4, (a + 3) % 4];
        v[a] = rotl((v[a]! + f(v[b]!, v[c]!, v[d]!) + X[w]! + k) | 0, S[r]![i % 4]!);
      });
    });
    for (let i = 0; i < 4; i++) st[i] = (st[i]! + v[i]!) | 0;
  }
  const out = Buffer.alloc(16);
  st.forEach((w, i) => out.writeInt32LE(w, i * 4));
  return out;
}

/** The NT hash: MD4 over the UTF-16LE encoding of the password. */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}
