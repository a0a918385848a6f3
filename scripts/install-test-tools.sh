#!/usr/bin/env bash
# Installs the command-line tools the deploy tests use, where they are missing:
#   promtool  (Debian package `prometheus`)          — checks and unit-tests deploy/prometheus
#   kubectl   (Debian package `kubernetes-client`)   — `kubectl kustomize` renders deploy/
# Idempotent and non-interactive. Never fails CI: when apt is unreachable or we are not
# root, it prints a warning and the tests that need a missing tool are skipped.
# The prometheus package ships a service; it is kept from starting (policy-rc.d) so nothing
# is left listening on :9090.
set -uo pipefail

warn() { echo "install-test-tools: warning: $*" >&2; }

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-tools: promtool and kubectl already installed" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  warn "no apt-get; cannot install ${missing[*]} (the tests that need them will be skipped)"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    warn "not root and no password-less sudo; cannot install ${missing[*]}"
    exit 0
  fi
fi

export DEBIAN_FRONTEND=noninteractive

# Keep package maintainer scripts from starting services (Debian's policy-rc.d protocol).
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
  if ! timeout 300 "${sudo[@]}" apt-get update -q >/dev/null 2>&1; then
    warn "apt-get update failed (no network?); ${missing[*]} not installed, the tests that need them will be skipped"
    exit 0
  fi
  if ! "${sudo[@]}" apt-get install "${apt_opts[@]}" "${missing[@]}" >/dev/null 2>&1; then
    warn "apt-get install ${missing[*]} failed; the tests that need them will be skipped"
    exit 0
  fi
fi

# Belt and braces: if a service started anyway (an init system ignoring policy-rc.d), stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  "${sudo[@]}" systemctl stop prometheus || true
  "${sudo[@]}" systemctl disable prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  "${sudo[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi

for tool in promtool kubectl; do
  if command -v "$tool" >/dev/null 2>&1; then
    echo "install-test-tools: $tool: $(command -v "$tool")" >&2
  else
    warn "$tool still missing after install"
  fi
done
exit 0
