#!/usr/bin/env bash
# Installs and runs a Docker engine on a bare Debian machine with no bridge networking and no image
# registry: Debian's docker.io with host networking only (no iptables, no docker0 bridge, so no
# container ever gets a 172.17.x address; every service binds its own port on 127.0.0.1).
#
#   infra/deploy/docker-engine.sh install   # apt-get docker.io, docker-compose, debootstrap (root)
#   infra/deploy/docker-engine.sh start     # dockerd --iptables=false --bridge=none, waits for `docker info`
#   infra/deploy/docker-engine.sh stop      # stops the daemon this script started
#
# On a machine that already runs Docker, skip this script: images.sh and compose-test.sh only
# need `docker` and `docker-compose` on the PATH.
set -euo pipefail
PIDFILE=/var/run/adaptrec-dockerd.pid
LOG=${DOCKERD_LOG:-/tmp/adaptrec-dockerd.log}

case "${1:-}" in
  install)
    missing=()
    command -v docker >/dev/null || missing+=(docker.io)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if [ ${#missing[@]} -gt 0 ]; then
      echo "docker-engine: installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    docker --version; docker-compose --version
    ;;
  start)
    if docker info >/dev/null 2>&1; then echo "docker-engine: a daemon already answers"; exit 0; fi
    nohup dockerd --iptables=false --bridge=none >"$LOG" 2>&1 &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 60); do
      if docker info >/dev/null 2>&1; then
        echo "docker-engine: dockerd $(docker version -f '{{.Server.Version}}') running (pid $(cat "$PIDFILE"), log $LOG)"; exit 0
      fi
      sleep 1
    done
    echo "docker-engine: dockerd did not answer within 60 s; last log lines:" >&2; tail -20 "$LOG" >&2; exit 1
    ;;
  stop)
    if [ -f "$PIDFILE" ]; then
      pid=$(cat "$PIDFILE"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      rm -f "$PIDFILE"; echo "docker-engine: stopped"
    else
      echo "docker-engine: no daemon started by this script"
    fi
    ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
