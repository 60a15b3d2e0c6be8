#!/usr/bin/env bash
# Install the Debian packages egov needs, where we can (as root); otherwise say the one command.
#   base:    CJK fonts (Noto, AR PL KaitiM) and Pango (PDF layout with WeasyPrint), poppler-utils
#            (pdfsig, pdftotext), libnss3-tools (certutil: a trust store for pdfsig)
#   browser: Chromium for the browser tests (e2e), plus the fonts
set -euo pipefail
what=${1:-base}
pkgs=(fonts-noto-cjk fonts-arphic-ukai libpango-1.0-0 libpangoft2-1.0-0 poppler-utils libnss3-tools)
[ "$what" = browser ] && pkgs+=(chromium)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/egov-apt.log 2>&1 \
     || { apt-get update -qq >>/tmp/egov-apt.log 2>&1 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/egov-apt.log 2>&1; }; then
    exit 0
  fi
  echo "apt-get could not install ${missing[*]} (see /tmp/egov-apt.log)."
fi
if [ "$what" = browser ]; then
  echo "NOTICE: Chromium is not installed, so the browser tests (e2e) will be skipped."
  echo "        Install it with: sudo apt-get install chromium fonts-noto-cjk"
  exit 0
fi
echo "Missing system packages. Install them with: sudo apt-get install ${missing[*]}"
exit 1
