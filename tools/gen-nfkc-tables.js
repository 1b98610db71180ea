#!/usr/bin/env node
// Generates src/RankEngine/Text/Normalization/Nfkc.Data.g.cs: the Unicode data RankEngine's own NFKC normaliser needs.
//
// Why: the project runs with InvariantGlobalization, where string.Normalize() returns its input unchanged, and the
// USE-lite reference tokenizer (@energetic-ai/embeddings) applies JavaScript's String.prototype.normalize("NFKC").
// To match it exactly the tables are taken from this Node's own ICU (printed in the header), not from another
// Unicode version:
//   * full compatibility decompositions: cp.normalize("NFKD") for every code point (Hangul syllables excluded:
//     they are decomposed and composed algorithmically);
//   * canonical combining class ORDER of every non-starter: JavaScript exposes no ccc, so it is probed through
//     canonical reordering (NFD(a b) == b a  <=>  ccc(a) > ccc(b) > 0) and stored as a rank 1..K that preserves
//     order and equality, which is all the NFKC algorithm uses;
//   * primary composites: P with NFD(P) != P and NFC(P) == P, keyed by (NFC(NFD(P) minus last), last).
// Before writing, the script runs the same algorithm as the C# code (nfkcWithTables below) against normalize("NFKC")
// on every code point and on random mark/jamo sequences and refuses to write on any difference.
// Usage: node tools/gen-nfkc-tables.js [output.cs]
"use strict";
const fs = require("fs");
const path = require("path");

const out = process.argv[2] || path.join(__dirname, "..", "src", "RankEngine", "Text", "Normalization", "Nfkc.Data.g.cs");
const S = String.fromCodePoint;
const cps = (s) => Array.from(s, (c) => c.codePointAt(0));
const isSurrogate = (cp) => cp >= 0xd800 && cp <= 0xdfff;
const isHangulSyllable = (cp) => cp >= 0xac00 && cp <= 0xd7a3;

// 1. Compatibility decompositions (full, recursive, canonically ordered as ICU returns them).
const decomposition = new Map();
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (isSurrogate(cp) || isHangulSyllable(cp)) continue;
  const s = S(cp);
  const d = s.normalize("NFKD");
  if (d !== s) decomposition.set(cp, cps(d));
}

// 2. Combining class order of NFKD-stable non-starters, by probing canonical reordering.
const swaps = (a, b) => a !== b && (S(a) + S(b)).normalize("NFD") === S(b) + S(a); // ccc(a) > ccc(b) > 0
const CCC1 = 0x0334, CCC230 = 0x0301; // COMBINING TILDE OVERLAY (ccc 1), COMBINING ACUTE ACCENT (ccc 230)
const nonStarters = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (isSurrogate(cp) || isHangulSyllable(cp) || decomposition.has(cp)) continue;
  if (cp === CCC1 || cp === CCC230 || swaps(cp, CCC1) || swaps(CCC230, cp)) nonStarters.push(cp);
}
nonStarters.sort((a, b) => (swaps(a, b) ? 1 : swaps(b, a) ? -1 : 0));
const rank = new Map();
let r = 0;
for (let i = 0; i < nonStarters.length; i++) {
  if (i === 0 || swaps(nonStarters[i], nonStarters[i - 1])) r++;
  rank.set(nonStarters[i], r);
}
// Self-check: the ranks must reproduce every pairwise reordering decision among a sample (all pairs is 10^6 calls).
for (let i = 0; i < nonStarters.length; i += 7)
  for (let j = 0; j < nonStarters.length; j += 5) {
    const a = nonStarters[i], b = nonStarters[j];
    if (swaps(a, b) !== rank.get(a) > rank.get(b)) throw new Error(`rank mismatch U+${a.toString(16)} U+${b.toString(16)}`);
  }

// 3. Primary composites (Hangul excluded: algorithmic).
const compositions = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (isSurrogate(cp) || isHangulSyllable(cp)) continue;
  const s = S(cp);
  const d = s.normalize("NFD");
  if (d === s || s.normalize("NFC") !== s) continue;
  const dc = cps(d);
  if (dc.length < 2) continue;
  const first = cps(S(...dc.slice(0, -1)).normalize("NFC"));
  const second = dc[dc.length - 1];
  if (first.length !== 1 || (S(first[0]) + S(second)).normalize("NFC") !== s)
    throw new Error(`cannot derive the composition pair of U+${cp.toString(16)}`);
  compositions.push([first[0], second, cp]);
}
compositions.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
const compose = new Map(compositions.map(([a, b, c]) => [a * 0x110000 + b, c]));

// The algorithm of Nfkc.cs, run here on the tables to prove them before writing.
const SBase = 0xac00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11a7, LCount = 19, VCount = 21, TCount = 28;
const NCount = VCount * TCount, SCount = LCount * NCount;
const cccOf = (cp) => rank.get(cp) || 0;
function composePair(a, b) {
  if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
    return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
  if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount === 0 && b > TBase && b < TBase + TCount) return a + (b - TBase);
  return compose.get(a * 0x110000 + b);
}
function nfkcWithTables(str) {
  const buf = [];
  for (let i = 0; i < str.length; i++) {
    let cp = str.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < str.length) {
      const lo = str.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) { cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00); i++; }
    }
    if (isHangulSyllable(cp)) {
      const si = cp - SBase;
      buf.push(LBase + Math.floor(si / NCount), VBase + Math.floor((si % NCount) / TCount));
      if (si % TCount) buf.push(TBase + (si % TCount));
    } else if (decomposition.has(cp)) buf.push(...decomposition.get(cp));
    else buf.push(cp);
  }
  for (let i = 1; i < buf.length; i++) { // canonical ordering (stable insertion sort of non-starter runs)
    const c = cccOf(buf[i]);
    if (c === 0) continue;
    let j = i;
    while (j > 0 && cccOf(buf[j - 1]) > c) { const t = buf[j]; buf[j] = buf[j - 1]; buf[j - 1] = t; j--; }
  }
  const res = [];
  let starter = -1, lastClass = 0;
  for (const cp of buf) {
    const c = cccOf(cp);
    if (starter >= 0 && (res.length - 1 === starter || (lastClass !== 0 && lastClass < c))) {
      const p = composePair(res[starter], cp);
      if (p !== undefined) { res[starter] = p; continue; }
    }
    if (c === 0) { starter = res.length; lastClass = 0; } else lastClass = c;
    res.push(cp);
  }
  let s = "";
  for (const cp of res) s += S(cp);
  return s;
}

// Prove the tables: every code point alone, after a base letter, and random sequences of interesting characters.
let checked = 0;
const check = (s) => {
  checked++;
  const want = s.normalize("NFKC"), got = nfkcWithTables(s);
  if (want !== got) throw new Error(`table NFKC differs for ${JSON.stringify(s)}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
};
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (isSurrogate(cp)) continue;
  check(S(cp));
  if (rank.has(cp) || decomposition.has(cp)) { check("a" + S(cp)); check(S(cp) + S(CCC230)); }
}
const pool = [...new Set([...compositions.flatMap(([a, b, c]) => [a, b, c]), ...nonStarters.slice(0, 400), 0x1100, 0x1161, 0x11a8,
  0xac00, 0xac01, 0x1112, 0x1175, 0x11c2, 0x41, 0x20, 0xfb01, 0x3392, 0x2460])];
let seed = 12345;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
for (let k = 0; k < 200000; k++) {
  const len = 2 + rnd(5);
  const a = [];
  for (let i = 0; i < len; i++) a.push(pool[rnd(pool.length)]);
  check(S(...a));
}

// Emit C#.
const hex = (v) => "0x" + v.toString(16).toUpperCase();
function intArray(name, values, doc) {
  const lines = [];
  for (let i = 0; i < values.length; i += 12) lines.push("        " + values.slice(i, i + 12).map(hex).join(", ") + ",");
  return `    /// <summary>${doc}</summary>\n    private static ReadOnlySpan<int> ${name} => new int[]\n    {\n${lines.join("\n")}\n    };\n`;
}
const decompKeys = [...decomposition.keys()].sort((a, b) => a - b);
const decompIndex = [], decompData = [];
for (const k of decompKeys) { decompIndex.push(k, decompData.length); decompData.push(...decomposition.get(k)); }
decompIndex.push(0x110000, decompData.length); // sentinel: length of the last entry
const rankTriples = [];
for (const cp of [...rank.keys()].sort((a, b) => a - b)) { // ranges of consecutive code points with equal rank
  const last = rankTriples.length ? rankTriples.slice(-3) : null;
  if (last && last[1] === cp - 1 && last[2] === rank.get(cp)) rankTriples[rankTriples.length - 2] = cp;
  else rankTriples.push(cp, cp, rank.get(cp));
}
const cs = `// <auto-generated>
// Generated by tools/gen-nfkc-tables.js from Node ${process.version} (ICU ${process.versions.icu}, Unicode ${process.versions.unicode}).
// Do not edit: re-run the script. It checked these tables against String.prototype.normalize("NFKC") on
// ${checked} strings (every code point, code points after a letter and before U+0301, random sequences).
// </auto-generated>
namespace RankEngine.Text.Normalization;

internal static partial class Nfkc
{
    /// <summary>Unicode version the tables were taken from.</summary>
    internal const string UnicodeVersion = "${process.versions.unicode}";

${intArray("DecompositionIndex", decompIndex, "Pairs (code point, start in DecompositionData), sorted by code point; the entry after a pair gives its end. Full NFKD mappings, Hangul syllables excluded.")}
${intArray("DecompositionData", decompData, "Concatenated full compatibility decompositions (code points).")}
${intArray("CombiningClassRanks", rankTriples, "Triples (first, last, rank): canonical combining class order of non-starters that NFKD leaves alone; 0 (starter) elsewhere.")}
${intArray("CompositionTriples", compositions.flat(), "Triples (first, second, primary composite), sorted by first then second; Hangul excluded.")}}
`;
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, cs);
console.log(`gen-nfkc-tables: ${decompKeys.length} decompositions (${decompData.length} code points), ${nonStarters.length} non-starters in ${r} classes, ${compositions.length} compositions; ${checked} strings checked; wrote ${out} (${cs.length} bytes)`);
