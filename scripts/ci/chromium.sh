#!/usr/bin/env bash
# Make Debian's Chromium available for the browser tests (tests/browser), at /usr/bin/chromium.
# Playwright's Python package only drives it: no browser is ever downloaded (`playwright install` is not run).
# Always exits 0: when Chromium cannot be installed it says why, and the browser tests skip with a reason.
set -u

if [ -x /usr/bin/chromium ]; then
  echo "chromium.sh: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium') already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: no apt-get on this machine; browser tests will be skipped"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "chromium.sh: not root and no password-less sudo; cannot install chromium, browser tests will be skipped"
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq chromium >/tmp/ws1ai-chromium-apt.log 2>&1; then
  # The package lists may be missing or stale on a fresh machine: refresh once and retry.
  $SUDO apt-get update -qq >>/tmp/ws1ai-chromium-apt.log 2>&1 || true
  if ! $SUDO apt-get install -y -qq chromium >>/tmp/ws1ai-chromium-apt.log 2>&1; then
    echo "chromium.sh: apt-get install chromium failed (see /tmp/ws1ai-chromium-apt.log); browser tests will be skipped"
    tail -n 5 /tmp/ws1ai-chromium-apt.log | sed 's/^/chromium.sh:   /'
    exit 0
  fi
fi
if [ -x /usr/bin/chromium ]; then
  echo "chromium.sh: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
else
  echo "chromium.sh: chromium package installed but /usr/bin/chromium is missing; browser tests will be skipped"
fi
exit 0
