/**
 * The small subset of bencoding (BEP 3 "The connection protocol: bencoding") needed to write
 * deterministic .torrent files: integers, byte strings, lists and dictionaries with keys sorted as raw
 * byte strings, as BEP 3 requires. Decoding is parse-torrent's job.
 */
export type BValue = number | string | Uint8Array | BValue[] | { [key: string]: BValue | undefined };

const enc = new TextEncoder();

export function bencode(value: BValue): Uint8Array {
  const parts: Uint8Array[] = [];
  write(value, parts);
  return Buffer.concat(parts);
}

function bytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? enc.encode(s) : s;
}

function write(value: BValue, out: Uint8Array[]): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`bencode: ${value} is not an integer`);
    out.push(enc.encode(`i${value}e`));
  } else if (typeof value === 'string' || value instanceof Uint8Array) {
    const b = bytes(value);
    out.push(enc.encode(`${b.length}:`), b);
  } else if (Array.isArray(value)) {
    out.push(enc.encode('l'));
    for (const v of value) write(v, out);
    out.push(enc.encode('e'));
  } else {
    out.push(enc.encode('d'));
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .map((k) => ({ k, b: Buffer.from(enc.encode(k)) }))
      .sort((a, b) => Buffer.compare(a.b, b.b));
    for (const { k, b } of keys) {
      out.push(enc.encode(`${b.length}:`), b);
      write(value[k] as BValue, out);
    }
    out.push(enc.encode('e'));
  }
}
