#!/usr/bin/env bash
# Builds every container image of AdaptRec Stream into the local Docker daemon, with no registry:
#
#   1. adaptrec/base-jre:17 — Debian bookworm (minbase) + OpenJDK 17 JRE + curl and bash for health
#      checks, made by debootstrap from Debian packages and `docker import`ed (skipped when present;
#      --rebuild-base forces it);
#   2. the role images, built by Maven with Jib on that base (`-Pimages`, jib:dockerBuild):
#        adaptrec/streams        the streams role (StreamsApp: user-state + outcome topologies)
#        adaptrec/worker         serve | refresh | control (inference worker, trainer, A/B controller)
#        adaptrec/infra          the adaptrec CLI: topics, registry, flink-submit, probe, replay, ...
#        adaptrec/kafka-broker   a Kafka 4.2 KRaft broker configured by KAFKA_* environment variables
#        adaptrec/flink-cluster  Flink 2.2 JobManager / TaskManager from flink-runtime's entry points
#      all tagged with the project version (and `latest`).
#
# Needs a running daemon (infra/deploy/docker-engine.sh start), debootstrap for the base image,
# and Maven. Usage: infra/deploy/images.sh [--rebuild-base] [--offline]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BASE=adaptrec/base-jre:17
REBUILD=0; MVN_OFFLINE=()
for a in "$@"; do
  case "$a" in
    --rebuild-base) REBUILD=1 ;;
    --offline) MVN_OFFLINE=(-o) ;;
    *) echo "usage: $0 [--rebuild-base] [--offline]" >&2; exit 2 ;;
  esac
done
docker info >/dev/null 2>&1 || { echo "images: no Docker daemon answers (start one: infra/deploy/docker-engine.sh start)" >&2; exit 1; }

t0=$(date +%s)
if [ "$REBUILD" = 1 ] || ! docker image inspect "$BASE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "images: debootstrap missing (infra/deploy/docker-engine.sh install)" >&2; exit 1; }
  rootfs=$(mktemp -d /tmp/adaptrec-base.XXXXXX)
  echo "images: building $BASE with debootstrap (Debian bookworm minbase + openjdk-17-jre-headless)..."
  debootstrap --variant=minbase --include=openjdk-17-jre-headless,curl,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >/tmp/adaptrec-debootstrap.log 2>&1 \
    || { tail -20 /tmp/adaptrec-debootstrap.log >&2; rm -rf "$rootfs"; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    -c 'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' \
    -c 'ENV PATH=/usr/lib/jvm/java-17-openjdk-amd64/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$BASE" >/dev/null
  rm -rf "$rootfs"
  echo "images: $BASE built in $(( $(date +%s) - t0 )) s"
fi
jv=$(docker run --rm --network host "$BASE" java -version 2>&1); echo "images: base $BASE: ${jv%%$'\n'*}"

t1=$(date +%s)
echo "images: building the role images with Jib (mvn -Pimages package)..."
(cd "$ROOT" && mvn -B -q -ntp "${MVN_OFFLINE[@]}" -Pimages -DskipTests package)
echo "images: role images built in $(( $(date +%s) - t1 )) s:"
docker images 'adaptrec/*' --format '{{.Repository}}:{{.Tag}}  {{.Size}}  {{.CreatedSince}}' | sed 's/^/  /' | sort
