#!/usr/bin/env bash
# The main job: set up (first run only), ingest MovieLens ml-latest-small with the real model (USE-lite), print
# recommendations with their score parts, then record feedback and show the ranking change.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
store=.data/demo-store
rank() { ./rankengine rank --data-dir "$store" "$@"; }
event() { ./rankengine event --data-dir "$store" "$@"; }
title() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

title "ingest data/ml-latest-small.zip (resumes if already done)"
./rankengine ingest --data data/ml-latest-small.zip --data-dir "$store"

title "user 1: top 5 unseen movies (score = content + collab + boosts)"
rank --user 1 -k 5 --exclude-seen
title "user 1 with diversity (MMR, λ = 0.5)"
rank --user 1 -k 5 --exclude-seen --diversity 0.5
title "user 414, only Comedy, small popularity boost"
rank --user 414 -k 5 --exclude-seen --filter genres=Comedy --boost popularity=0.05
title "free-text query, no user"
rank --query "a scary film about a haunted house" -k 5

user="demo-$(date +%s)"
title "new user $user: cold start"
rank --user "$user" -k 5
title "feedback: $user likes Alien, Aliens and The Terminator, dislikes Toy Story"
event --user "$user" --item 1214 --kind like
event --user "$user" --item 1200 --kind like
event --user "$user" --item 1240 --kind like
event --user "$user" --item 1 --kind dislike
title "$user after feedback: the ranking follows"
rank --user "$user" -k 5 --exclude-seen
title "feedback: $user now purchases two comedies"
event --user "$user" --item 2918 --kind purchase
event --user "$user" --item 1079 --kind purchase
title "$user after more feedback"
rank --user "$user" -k 5 --exclude-seen
