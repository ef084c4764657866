/**
 * The sources a destination has seen lately, as a small Bloom filter in two generations: a value
 * is familiar when either generation holds it; `rotate` drops the older generation. Rotated once
 * per period, a source stays familiar between one and two periods after it was last added.
 *
 * Used to tell which sources of a spike are new to the destination (for the alert's reader), never
 * to count: a false positive (about 5 % at 150 sources per generation with the default 1,024 bits
 * and 3 probes) only leaves a new source off the list.
 */
import { fmix32 } from './hash32.js';

const PROBES = 3;

export class FamiliarSources {
  /** Bits of generation 0 (current) followed by generation 1 (previous). */
  private readonly bits: Uint32Array;
  private readonly words: number;
  private readonly mask: number;

  constructor(readonly bitsPerGeneration = 1024) {
    if (!Number.isInteger(Math.log2(bitsPerGeneration)) || bitsPerGeneration < 32) {
      throw new Error('bitsPerGeneration must be a power of two, at least 32');
    }
    this.words = bitsPerGeneration >>> 5;
    this.mask = bitsPerGeneration - 1;
    this.bits = new Uint32Array(this.words * 2);
  }

  /** Marks the value (by its 32-bit hash) as seen, in the current generation. */
  add(hash: number): void {
    const h2 = fmix32(hash ^ 0x9e3779b9) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = (hash + Math.imul(i, h2)) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /** Whether the value was added in the current or the previous generation (false positives possible). */
  has(hash: number): boolean {
    return this.inGeneration(hash, 0) || this.inGeneration(hash, this.words);
  }

  private inGeneration(hash: number, offset: number): boolean {
    const h2 = fmix32(hash ^ 0x9e3779b9) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = (hash + Math.imul(i, h2)) & this.mask;
      if ((this.bits[offset + (bit >>> 5)]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** The current generation becomes the previous one; `times` >= 2 forgets everything. */
  rotate(times = 1): void {
    if (times <= 0) return;
    if (times >= 2) {
      this.bits.fill(0);
      return;
    }
    this.bits.copyWithin(this.words, 0, this.words);
    this.bits.fill(0, 0, this.words);
  }

  toBase64(): string {
    return Buffer.from(this.bits.buffer, this.bits.byteOffset, this.bits.byteLength).toString('base64');
  }

  static fromBase64(text: string, bitsPerGeneration = 1024): FamiliarSources {
    const f = new FamiliarSources(bitsPerGeneration);
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length !== f.bits.byteLength) throw new Error('familiar-sources filter of the wrong size');
    new Uint8Array(f.bits.buffer).set(bytes);
    return f;
  }
}
