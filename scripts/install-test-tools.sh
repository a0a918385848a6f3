#!/usr/bin/env bash
# Installs the third-party clients the suite drives the local peers and artifacts with,
# where they are missing, from Debian's packages:
#   promtool  (prometheus)         — checks /metrics, unit-tests deploy/prometheus rules
#   kubectl   (kubernetes-client)  — kustomize renders, drives the local Kubernetes API
#   kcat      (kcat)               — librdkafka against the local Kafka broker
#   pip       (python3-pip)        — downloads from the local package index, hash-checked
#   chromium  (chromium)           — the web UI tests in a real browser
# Idempotent and non-interactive. In CI (CI set) a tool still missing afterwards is an
# error: the tests that need it would fail, never skip. Elsewhere it only warns.
# Debian's prometheus ships a service; policy-rc.d keeps it from starting (nothing on :9090).
set -uo pipefail

warn() { echo "install-test-tools: warning: $*" >&2; }

# tool:package pairs; pip counts as present when `python3 -m pip` works.
declare -A package_of=([promtool]=prometheus [kubectl]=kubernetes-client [kcat]=kcat [pip]=python3-pip [chromium]=chromium)
have() {
  if [ "$1" = pip ]; then python3 -m pip --version >/dev/null 2>&1; else command -v "$1" >/dev/null 2>&1; fi
}

missing=()
for tool in "${!package_of[@]}"; do have "$tool" || missing+=("${package_of[$tool]}"); done

finish() {
  local absent=()
  for tool in "${!package_of[@]}"; do have "$tool" || absent+=("$tool"); done
  if [ ${#absent[@]} -eq 0 ]; then
    echo "install-test-tools: all present: ${!package_of[*]}" >&2
    exit 0
  fi
  if [ -n "${CI:-}" ]; then
    echo "install-test-tools: error: missing after install: ${absent[*]}" >&2
    exit 1
  fi
  warn "missing: ${absent[*]} (the tests that need them will fail)"
  exit 0
}

[ ${#missing[@]} -eq 0 ] && finish
command -v apt-get >/dev/null 2>&1 || { warn "no apt-get; cannot install ${missing[*]}"; finish; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    warn "not root and no password-less sudo; cannot install ${missing[*]}"; finish
  fi
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  if printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 755 "$policy"; then
    added_policy=1
  fi
fi
cleanup() { if [ "$added_policy" -eq 1 ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold --no-install-recommends)
echo "install-test-tools: installing ${missing[*]}" >&2
if ! "${sudo[@]}" apt-get install "${apt_opts[@]}" "${missing[@]}" >/dev/null 2>&1; then
  # The package lists may be stale or absent: refresh them once and retry.
  timeout 300 "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || warn "apt-get update failed"
  "${sudo[@]}" apt-get install "${apt_opts[@]}" "${missing[@]}" >/dev/null 2>&1 || warn "apt-get install ${missing[*]} failed"
fi

# If a service started anyway (an init system ignoring policy-rc.d), stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  "${sudo[@]}" systemctl stop prometheus || true
  "${sudo[@]}" systemctl disable prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  "${sudo[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi
finish
