#!/usr/bin/env bash
# The compose test tier: on a clean machine, installs and starts a Docker engine (host networking
# only), builds every image, trains a seconds-to-train model, brings the production-shaped cluster
# of docker-compose.yml up (3 brokers, registry, Flink JobManager + TaskManager with the pools job,
# 2 streams instances, 2 workers, the trainer, the controller), replays a synthetic dataset through
# it, sends recommendation requests (`adaptrec probe`: every request answered exactly once, pools
# exist), injects faults under traffic (`adaptrec chaos`: a registry outage with role restarts, the
# trainer and a worker killed with SIGKILL, bad input, damaged adapters; checked against brute force),
# then tears everything down and stops the daemon it started.
#
#   bash infra/deploy/compose-test.sh            (root: apt-get and dockerd)
#   KEEP_UP=1 bash infra/deploy/compose-test.sh  (leave the cluster running for a look)
#   bash infra/deploy/compose-test.sh --with-testcontainers
#       also runs a representative subset of the integration tests against a containerised broker
#       (TestKafka's container path: the adaptrec/kafka-broker image through Testcontainers, host
#       networking), between building the images and bringing the cluster up
#
# Writes infra/target/compose-test/{probe.json,summary.json,logs/} and prints each phase's time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY="$ROOT/infra/deploy"
OUT="$ROOT/infra/target/compose-test"
COMPOSE=(docker-compose -p adaptrec -f "$DEPLOY/docker-compose.yml")
BOOTSTRAP=127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096
SYNTH=(--dataset synthetic --users 300 --items 200 --min-events 20 --max-events 60 --seed 42)
WITH_TC=0
for a in "$@"; do
  case "$a" in
    --with-testcontainers) WITH_TC=1 ;;
    *) echo "usage: $0 [--with-testcontainers]" >&2; exit 2 ;;
  esac
done
# the integration tests that run on the containerised broker: the wire format, the user-state and
# outcome topologies (exactly-once), the worker's serving loop
TC_ITS=${TC_ITS:-KafkaRoundTripIT,UserStateIT,OutcomeIT,ServingIT}
rm -rf "$OUT"; mkdir -p "$OUT/logs"
export ADAPTREC_MODEL_DIR="$OUT/model"

declare -a PHASES=()
t_start=$(date +%s); t_phase=$t_start
phase() {  # phase NAME: closes the previous phase
  local now; now=$(date +%s)
  PHASES+=("$1=$((now - t_phase))"); echo "compose-test: [$1] $((now - t_phase)) s"; t_phase=$now
}

STARTED_DAEMON=0
cleanup() {
  local rc=$?
  if [ "${KEEP_UP:-0}" != 1 ] && command -v docker-compose >/dev/null && docker info >/dev/null 2>&1; then
    for s in $("${COMPOSE[@]}" ps --services 2>/dev/null); do
      "${COMPOSE[@]}" logs --no-color "$s" > "$OUT/logs/$s.log" 2>&1 || true
    done
    "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    [ "$STARTED_DAEMON" = 1 ] && "$DEPLOY/docker-engine.sh" stop || true
  fi
  echo "compose-test: $( [ $rc = 0 ] && echo PASSED || echo FAILED ) in $(( $(date +%s) - t_start )) s (${PHASES[*]}); logs in $OUT/logs"
  exit $rc
}
trap cleanup EXIT

"$DEPLOY/docker-engine.sh" install
if ! docker info >/dev/null 2>&1; then "$DEPLOY/docker-engine.sh" start; STARTED_DAEMON=1; fi
phase engine

"$DEPLOY/images.sh"
phase images

if [ "$WITH_TC" = 1 ]; then
  version=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.version"}}' adaptrec/kafka-broker:latest)
  rm -f "$ROOT"/*/target/test-kafka-mode.txt
  (cd "$ROOT" && mvn -B -ntp -o -pl schemas,streams,inference-worker verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
      -Dit.test="$TC_ITS" -Dfailsafe.failIfNoSpecifiedTests=false -Dkafka.image="adaptrec/kafka-broker:$version") \
      > "$OUT/logs/testcontainers-its.log" 2>&1 || { grep -E "Tests run|FAIL|ERROR" "$OUT/logs/testcontainers-its.log" | tail -30; exit 1; }
  grep -E "Tests run:.*in io" "$OUT/logs/testcontainers-its.log" | sed 's/^/  /' || true
  modes=$(cat "$ROOT"/*/target/test-kafka-mode.txt 2>/dev/null | awk '{print $1}' | sort | uniq -c | tr '\n' ' ')
  echo "compose-test: integration tests $TC_ITS ran on: ${modes:-no broker recorded}"
  case "$modes" in *CONTAINER*) ;; *) echo "compose-test: the Testcontainers path did not run" >&2; exit 1 ;; esac
  case "$modes" in *EMBEDDED*) echo "compose-test: some tests fell back to the embedded broker" >&2; exit 1 ;; esac
  phase testcontainers
fi

# the model: small enough to train in seconds on two cores, same synthetic world as the replay
"$ROOT/adaptrec" train "${SYNTH[@]}" --d-model 16 --layers 1 --heads 1 --epochs 3,1,1,1 --out "$ADAPTREC_MODEL_DIR" > "$OUT/logs/train.log" 2>&1 \
  || { tail -20 "$OUT/logs/train.log"; exit 1; }
phase model

"${COMPOSE[@]}" up -d --quiet-pull 2>&1 | grep -v '^$' || true
# up until: the one-shot steps exited 0 and every long-running service is healthy
ONESHOT="topics pools-submit"
deadline=$(( $(date +%s) + ${UP_TIMEOUT_S:-420} ))
while :; do
  waiting=()
  for s in $("${COMPOSE[@]}" ps --services); do
    id=$("${COMPOSE[@]}" ps -q "$s")
    if [ -z "$id" ]; then waiting+=("$s:absent"); continue; fi
    if [[ " $ONESHOT " == *" $s "* ]]; then
      st=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")
      [ "$st" = "exited 0" ] || waiting+=("$s:${st// /=}")
    else
      h=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
      [ "$h" = healthy ] || waiting+=("$s:$h")
    fi
  done
  [ ${#waiting[@]} -eq 0 ] && break
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "compose-test: not up within ${UP_TIMEOUT_S:-420} s: ${waiting[*]}" >&2
    for w in "${waiting[@]}"; do s=${w%%:*}; echo "--- $s" >&2; "${COMPOSE[@]}" logs --no-color --tail 30 "$s" >&2 || true; done
    exit 1
  fi
  echo "compose-test: waiting for ${waiting[*]}"; sleep 10
done
"${COMPOSE[@]}" ps
phase up

"$ROOT/adaptrec" replay "${SYNTH[@]}" --bootstrap "$BOOTSTRAP" --registry http://127.0.0.1:8081 --no-progress
phase replay

"$ROOT/adaptrec" probe --bootstrap "$BOOTSTRAP" --registry http://127.0.0.1:8081 --requests 200 --min-pools 200 \
  --timeout 240 --report-json "$OUT/probe.json"
phase probe

# faults under traffic: the registry down for 60 s while a worker, a streams instance and the
# TaskManager restart, kill -9 of the trainer mid-publish and of a worker, 1 % bad input, damaged
# adapters (adaptrec chaos; the full set is `adaptrec chaos --scenario all`, BENCHMARKS.md "Reliability")
"$ROOT/adaptrec" chaos --scenario "${CHAOS_SCENARIOS:-registry-outage-restarts,trainer-kill,worker-kill,bad-input,bad-adapters}" --duration 30 --settle 150 \
  --report-json "$OUT/chaos.json"
phase chaos

# the pools job runs on the Flink cluster, not beside it
curl -fs http://127.0.0.1:8082/jobs/overview > "$OUT/flink-jobs.json"
python3 - "$OUT/flink-jobs.json" <<'PY' || { echo "compose-test: the pools job is not RUNNING on the Flink cluster" >&2; exit 1; }
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
sys.exit(0 if any(j["name"] == "adaptrec-similar-user-pools" and j["state"] == "RUNNING" for j in jobs) else 1)
PY
phase checks
json=""; for p in "${PHASES[@]}"; do json+="\"${p%%=*}\": ${p#*=}, "; done
printf '{"phases_s": {%s}, "total_s": %d}\n' "${json%, }" $(( $(date +%s) - t_start )) > "$OUT/summary.json"
