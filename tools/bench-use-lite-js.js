#!/usr/bin/env node
// Times the JS reference encoder (@energetic-ai/embeddings 0.2.0, TF.js backend bundled in @energetic-ai/core) on sentences from a JSON file.
// Used by `bench/RankEngine.Bench -- use-lite`, which alternates this with our encoder round by round.
// Usage: node tools/bench-use-lite-js.js SENTENCES.json SECONDS BATCH
// Prints one JSON line: {"sentences": n, "seconds": s, "sentencesPerSecond": r, "backend": "..."}
const fs = require("fs");
const path = require("path");
const { EmbeddingsModel } = require("@energetic-ai/embeddings");
const core = require("@energetic-ai/core");

const [file, secondsArg, batchArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node tools/bench-use-lite-js.js SENTENCES.json SECONDS BATCH");
  process.exit(2);
}
const sentences = JSON.parse(fs.readFileSync(file, "utf8"));
const seconds = Number(secondsArg || 3);
const batch = Number(batchArg || 32);
const modelDir = path.join(__dirname, "..", "models", "use-lite");

(async () => {
  await core.ready();
  const model = await core.loadGraphModel(`file://${path.join(modelDir, "model.json")}`);
  const vocab = JSON.parse(fs.readFileSync(path.join(modelDir, "vocab.json"), "utf8"));
  const em = new EmbeddingsModel({ model, vocabulary: vocab });
  await em.embed(sentences.slice(0, batch)); // warm-up
  let done = 0, i = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    const chunk = [];
    for (let j = 0; j < batch; j++) chunk.push(sentences[(i + j) % sentences.length]);
    i += batch;
    await em.embed(chunk);
    done += batch;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  console.log(JSON.stringify({ sentences: done, seconds: elapsed, sentencesPerSecond: done / elapsed, backend: "@energetic-ai/core (TF.js, bundled)" }));
})().catch((e) => { console.error(e); process.exit(1); });
