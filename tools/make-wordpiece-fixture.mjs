#!/usr/bin/env node
// Builds the WordPiece parity fixture: the reference token ids that Hugging Face's own JS port
// (@huggingface/transformers, declared in tools/package.json) gives for a fixed, varied list of strings.
//
// 1. Reads bert-base-uncased's vocab.txt (written by tools/fetch-bert-vocab.mjs).
// 2. Writes a tokenizer.json beside it the way Hugging Face describes bert-base-uncased: BertNormalizer
//    (clean text, handle Chinese chars, lowercase, strip accents), BertPreTokenizer, WordPiece with [UNK]
//    and max_input_chars_per_word 100, TemplateProcessing "[CLS] $A [SEP]", the five special tokens as
//    added tokens (normalized: false, special: true), plus a tokenizer_config.json.
// 3. Loads it with AutoTokenizer from local files only (no hub access) and encodes every test string.
// 4. Writes tests/RankEngine.Tests/Fixtures/Text/wordpiece-parity.json.
//
// The test strings are generated deterministically (hand-picked cases plus seeded random mixes), so
// re-running the script reproduces the committed fixture byte for byte.
//
// Usage: node tools/make-wordpiece-fixture.mjs [--check]
//   --check  compare with the committed fixture instead of writing it; exit 1 on any difference.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const toolsDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(toolsDir, '..');
const modelsDir = join(repoRoot, 'models');
const modelName = 'bert-base-uncased';
const vocabPath = join(modelsDir, modelName, 'vocab.txt');
const fixturePath = join(repoRoot, 'tests', 'RankEngine.Tests', 'Fixtures', 'Text', 'wordpiece-parity.json');
const checkOnly = process.argv.includes('--check');

function fail(message) {
    console.error(`make-wordpiece-fixture: ${message}`);
    process.exit(1);
}

if (!existsSync(vocabPath)) fail(`${vocabPath} is missing; run: node tools/fetch-bert-vocab.mjs`);
const vocabBytes = readFileSync(vocabPath);
const vocabLines = vocabBytes.toString('utf8').split('\n');
if (vocabLines[vocabLines.length - 1] === '') vocabLines.pop();

// ---------------------------------------------------------------- tokenizer.json
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const vocab = Object.create(null);
vocabLines.forEach((token, id) => { vocab[token] = id; });
const idOf = (token) => {
    const id = vocab[token];
    if (id === undefined) fail(`special token ${token} is not in the vocabulary`);
    return id;
};
const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => ({
        id: idOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })).sort((a, b) => a.id - b.id),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [
            { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
            { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
        ],
        special_tokens: {
            '[CLS]': { id: '[CLS]', ids: [idOf('[CLS]')], tokens: ['[CLS]'] },
            '[SEP]': { id: '[SEP]', ids: [idOf('[SEP]')], tokens: ['[SEP]'] },
        },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
};
const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 512,
    clean_up_tokenization_spaces: true,
    unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]',
};
writeFileSync(join(modelsDir, modelName, 'tokenizer.json'), JSON.stringify(tokenizerJson));
writeFileSync(join(modelsDir, modelName, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));

// ---------------------------------------------------------------- test strings
const rep = (s, n) => s.repeat(n);
const handPicked = [
    // empty and whitespace only
    '', ' ', '   ', '\t\n\r', '\u00a0', '\u3000\u2003', ' \t leading and trailing \n ',
    // plain English, mixed case, contractions
    'hello world', 'Hello, World!', 'The quick brown fox jumps over the lazy dog.', "I can't believe it's not butter!",
    "don't stop", 'U.S.A.', 'e-mail', 'state-of-the-art', 'well...', 'What?!?!', 'HeLLo WoRLD', 'iPhone',
    "McDonald's", 'ALL CAPS SENTENCE', "rock'n'roll", "O'Neil", 'Mr. Smith\'s car', 'camelCaseWord', 'hello_world_snake_case',
    'unaffable', 'unbelievably tokenization', 'supercalifragilisticexpialidocious',
    // MovieLens-like titles and genres
    'Toy Story (1995)', 'Jumanji (1995)', 'Grumpier Old Men (1995)', 'Twelve Monkeys (a.k.a. 12 Monkeys) (1995)',
    'City of Lost Children, The (Cité des enfants perdus, La) (1995)', 'Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)',
    "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)", 'Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)',
    'Léon: The Professional (a.k.a. The Professional) (Léon) (1994)', 'Star Wars: Episode IV - A New Hope (1977)',
    'Adventure|Animation|Children|Comedy|Fantasy', '(no genres listed)', 'Seven (a.k.a. Se7en) (1995)', 'WALL·E (2008)',
    'Æon Flux (2005)', '8½ (8 1/2) (1963)', 'M*A*S*H (a.k.a. MASH) (1970)', "Ocean's Eleven (2001)", 'Spider-Man 2 (2004)',
    'Pokémon: The First Movie (1998)', 'Seven Samurai (Shichinin no samurai) (1954)', 'Spirited Away (Sen to Chihiro no kamikakushi) (2001)',
    // accents, ligatures, compatibility and combining characters
    'café', 'naïve résumé', 'Crème Brûlée', 'São Paulo', 'Zürich', 'Ångström', 'façade', 'Ærøskøbing', 'Dvořák', 'Łódź',
    'İstanbul', 'ǅemal ǈ ǋ', 'ﬁnance ﬂow', 'e\u0301 vs \u00e9', 'a\u0308\u0304 o\u0323\u0302', 'Ω ohm \u2126', '\u212b angstrom sign',
    'naïveté', 'Ḩ̣ẛ̣', 'x\u20dd enclosing', 'ᾅ ῷ ǖ', 'ŉ ǰ',
    // Greek, including final sigma in its contexts
    'ΟΔΟΣ', 'Σ', 'ΑΣ.', 'ΑΣ\'Α', 'ΑΣ Α', 'ΑΣΑ', 'Α.Σ', 'ὈΔΥΣΣΕΎΣ', 'λόγος', 'ΣΑΣ ΣΑΣ', 'ABCΣ', 'ΑΣ\u0301', 'ΑΣ\u00ad', 'ΑΣ2',
    // Cyrillic and other scripts
    'Привет, мир!', 'Ёжик в тумане', 'Й й Ї ї', 'مرحبا بالعالم', 'السَّلَامُ عَلَيْكُمْ', 'שָׁלוֹם עולם', 'नमस्ते दुनिया', 'বাংলা ভাষা',
    'தமிழ்', 'ภาษาไทย', 'ქართული', 'Հայերեն', 'አማርኛ',
    // CJK, Japanese, Korean
    '日本語テキスト', '中文分词测试', '我爱北京天安门。', '漢字かな交じり文', '東京タワー', 'カタカナ', 'ひらがな', 'ｶﾀｶﾅ ﾊﾝｶｸ', '全角ＡＢＣ１２３',
    '\u{20000}\u{20001} a\u{20002}b', '\uf900 \uf901 compat', '\u{2f800}丽', '한국어', '안녕하세요 세계', 'ㄱㄴㄷ ㅏㅑ', '김치찌개 (kimchi)',
    'mixed日本語and English', 'abc中def', '〈括弧〉「引用」『二重』',
    // emoji, including ZWJ sequences, modifiers, flags, keycaps
    '😀', 'I ❤️ NY', '👨‍👩‍👧‍👦 family', '👍🏽', '🏳️‍🌈', '🇺🇸🇬🇧', 'a😀b', '1️⃣', '☕️ coffee', '🤖🤖🤖', '😀😃😄😁😆', 'smile😀',
    // control characters
    'a\u0000b', 'a\u0001b', 'tab\there', 'line\nbreak', 'cr\rlf\r\n', '\u0007bell', 'del\u007fete', '\u0085nel', 'a\u000bb\u000cc',
    'a\ufffdb', '\ud800 lone high', 'lone \udc00 low', 'x\ud83dy', 'private\ue000use', 'plane\u{f0000}fifteen',
    // zero-width and format characters
    'zero\u200bwidth', 'zw\u200cnj', 'zw\u200dj', 'word\u2060joiner', '\ufeffbom', 'soft\u00adhyphen', 'rtl\u200fmark\u200e',
    '\u2028line sep\u2029para', 'mongolian\u180evowel', 'tag\u{e0041}\u{e0042}s',
    // unicode spaces
    'a\u00a0b', 'a\u2000b\u2001c\u2002d\u2003e\u2009f\u200ag', 'a\u202fb\u205fc\u3000d', 'a\u1680b', 'a\u2007b\u2008c',
    // punctuation and symbols
    '!!!', '?!?!...', '—–-', '«quoted»', '„German“', '“smart” ‘quotes’', '...', '¡Hola! ¿Qué tal?', 'a/b\\c|d', '#hashtag @mention',
    '$100.00 €50 £30 ¥1000', '50% off!!!', '1+1=2', 'x^2 + y_1', '~tilde~ `code`', 'C++ / C# / F#', 'email@example.com',
    'https://example.com/path?query=1&b=2#frag', 'www.example.org', '/usr/bin/env', 'C:\\Program Files\\', '<html><body>Hi</body></html>',
    '{"json": [1, 2, 3]}', '∑∫√∞ ≈ ≠', '→ ← ↑ ↓', '©®™', '♠♣♥♦', '§¶†‡', '※‼⁉', '٪؟،', '।॥', '・ー〜',
    // digits and numbers
    '0', '1234567890', '3.14159', '1,000,000', '2024-01-15', '12:30pm', '1st 2nd 3rd 4th', '٣٤٥ arabic digits', '१२३', '①②③',
    'Ⅻ century', 'x² y³', '½ ¼ ¾', '０１２３', '1e10 -5 +7',
    // special tokens in the text
    '[CLS]', '[SEP]', '[MASK]', '[UNK]', '[PAD]', 'hello [MASK] world', 'a[SEP]b', '[cls] lower', '[ MASK ]', '[MASK][MASK]',
    '[unused0]', '[UNK]nown', '[MASK ]', '[[MASK]]', 'The capital of France is [MASK].',
    // very long words and long inputs
    rep('a', 99), rep('a', 100), rep('a', 101), rep('ab', 60), rep('\u00e9', 60), rep('\u00e9', 101), rep('😀', 60),
    rep('x', 150) + ' tail', rep('antidisestablishmentarianism', 4), 'http://' + rep('a', 120) + '.com', rep('日', 120),
    'pneumonoultramicroscopicsilicovolcanoconiosis', rep('e\u0301', 80), rep('ﬁ', 101),
    rep('The movie was a delightful mix of comedy, drama and adventure. ', 40),
    rep('word ', 600).trim(),
];

// Seeded random mixes: the same seed always gives the same strings.
function mulberry32(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const random = mulberry32(20240601);
const pick = (items) => items[Math.floor(random() * items.length)];
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const fromRange = (lo, hi) => String.fromCodePoint(int(lo, hi));
const words = ['the', 'movie', 'Story', 'ranking', 'Engine', 'user', 'Item', 'vector', 'unbelievable', 'Tokenizer',
    'Jurassic', 'Park', 'Matrix', 'reloaded', 'love', 'Actually', 'über', 'Niño', 'crème', 'Ærø', 'Ελληνικά', 'ΣΟΦΟΣ',
    'москва', 'ПРИВЕТ', 'عربي', 'עברית', 'हिन्दी', 'ไทย', '東京', '北京', 'ソニー', 'ひらがな', '서울', '한국', 'kimchi',
    'X-Men', "it's", 'A.I.', 'e-mail', '1995', '3.14', '42nd', 'C++', 'naïve', 'façade', 'ǅ', 'İ', 'ﬂ'];
const spaces = [' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u202f', '\u2028', '\u1680'];
const controls = ['\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff',
    '\u00ad', '\u200e', '\u200f', '\ufffd', '\ue000', '\u000b', '\u000c', '\u{e0020}', '\u061c'];
const punctuation = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', '¡', '¿', '«', '»', '—', '–', '…', '、', '。', '「', '」', '‘', '’',
    '“', '”', '·', '•', '‰', '′', '№', '€', '£', '©', '°', '±', '×', '÷', '§', '¶', '¦', '¬', '‽', '⁂', '〰', '゠', '﹏', '＂', '［'];
const emoji = ['😀', '😂', '🥲', '❤️', '👍🏽', '👨‍💻', '👩‍👩‍👦', '🏳️‍🌈', '🇯🇵', '🎬', '🍿', '✨', '⭐', '9️⃣', '#️⃣', '🧑🏿‍🚀', '☃', '♻️'];
const combining = ['\u0300', '\u0301', '\u0302', '\u0303', '\u0308', '\u030a', '\u0323', '\u0327', '\u0331', '\u0345',
    '\u064b', '\u0651', '\u05b7', '\u093c', '\u094d', '\u0e31', '\u20d7', '\u1ab0', '\u0488', '\u1dc0', '\u{1d165}', '\u{1d16d}'];
const generators = [
    () => pick(words),
    () => pick(words).toUpperCase(),
    () => pick(spaces),
    () => pick(controls),
    () => pick(punctuation),
    () => pick(punctuation).repeat(int(2, 5)),
    () => pick(emoji),
    () => pick(combining),
    () => pick(words) + pick(combining),
    () => String(int(0, 100000)),
    () => fromRange(0x4e00, 0x9fff) + fromRange(0x4e00, 0x9fff),       // CJK unified ideographs
    () => fromRange(0x3400, 0x4dbf),                                   // CJK extension A
    () => fromRange(0x20000, 0x2a6df),                                 // CJK extension B (outside the BMP)
    () => fromRange(0xac00, 0xd7a3) + fromRange(0xac00, 0xd7a3),       // Hangul syllables
    () => fromRange(0x3041, 0x3096) + fromRange(0x30a1, 0x30fa),       // kana
    () => fromRange(0x00c0, 0x024f) + fromRange(0x00c0, 0x024f),       // Latin-1 supplement and extended Latin
    () => fromRange(0x0370, 0x03ff) + fromRange(0x1f00, 0x1ffe),       // Greek and polytonic Greek
    () => fromRange(0x0400, 0x04ff) + fromRange(0x0400, 0x04ff),       // Cyrillic
    () => fromRange(0x0600, 0x06ff) + fromRange(0x0590, 0x05ff),       // Arabic, Hebrew
    () => fromRange(0x0900, 0x097f) + fromRange(0x0e00, 0x0e7f),       // Devanagari, Thai
    () => fromRange(0x2000, 0x2bff),                                   // general punctuation … misc symbols
    () => fromRange(0xff01, 0xffee),                                   // halfwidth and fullwidth forms
    () => fromRange(0x1f300, 0x1faff),                                 // emoji and pictographs
    () => fromRange(0x1d400, 0x1d7ff),                                 // mathematical alphanumerics (outside the BMP)
    () => fromRange(0x0020, 0x007e).repeat(int(1, 3)),                 // printable ASCII
    () => 'x'.repeat(int(90, 110)),                                    // around max_input_chars_per_word
    () => pick(['[CLS]', '[SEP]', '[MASK]', '[UNK]', '[PAD]', '[mask]', '[SEP', 'SEP]']),
];
const randomCases = [];
for (let i = 0; i < 220; i++) {
    let s = '';
    const parts = int(1, 14);
    for (let p = 0; p < parts; p++) s += pick(generators)();
    randomCases.push(s);
}

const texts = [...handPicked, ...randomCases];

// ---------------------------------------------------------------- reference encodings
const { AutoTokenizer, env } = await import('@huggingface/transformers');
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = modelsDir + '/';
env.useBrowserCache = false;
env.useFSCache = false;
const tokenizer = await AutoTokenizer.from_pretrained(modelName, { local_files_only: true });

const cases = texts.map((text) => {
    const ids = tokenizer.encode(text);
    // Strings with lone surrogates are not valid Unicode text, and JSON readers may reject them:
    // store those as UTF-16 code units instead.
    return text.isWellFormed() ? { text, ids } : { utf16: Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)), ids };
});

// A padded batch straight from the reference, for the padded view and attention mask.
const batchTexts = ['Toy Story (1995)', '', 'hello [MASK] world', 'Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)', '日本語'];
const batchOut = tokenizer(batchTexts, { padding: true, return_tensor: false });
const batch = { texts: batchTexts, input_ids: batchOut.input_ids, attention_mask: batchOut.attention_mask };

const fixture = {
    about: 'Reference WordPiece ids for bert-base-uncased from @huggingface/transformers (AutoTokenizer on a '
        + 'tokenizer.json built from vocab.txt). Written by tools/make-wordpiece-fixture.mjs; do not edit by hand.',
    reference: `@huggingface/transformers ${JSON.parse(readFileSync(join(toolsDir, 'node_modules', '@huggingface', 'transformers', 'package.json'), 'utf8')).version}`,
    vocabSha256: createHash('sha256').update(vocabBytes).digest('hex'),
    caseCount: cases.length,
    cases,
    batch,
};
// One case per line keeps diffs readable.
const { cases: _, ...header } = fixture;
const json = JSON.stringify(header).replace(/\}$/, ',"cases":[\n')
    + cases.map((c) => JSON.stringify(c)).join(',\n') + '\n]}\n';

if (checkOnly) {
    const current = existsSync(fixturePath) ? readFileSync(fixturePath, 'utf8') : '';
    if (current !== json) fail(`${fixturePath} differs from what the reference produces now; re-run without --check`);
    console.log(`make-wordpiece-fixture: ${fixturePath} is up to date (${cases.length} cases)`);
} else {
    mkdirSync(dirname(fixturePath), { recursive: true });
    writeFileSync(fixturePath, json);
    console.log(`make-wordpiece-fixture: wrote ${cases.length} cases to ${fixturePath} (${json.length} bytes)`);
}
