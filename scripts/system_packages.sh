#!/usr/bin/env bash
# Debian packages the service and its tests need beyond Python wheels: a CJK font (Chinese
# text in PDF reports and map images), Pango (WeasyPrint's text layout), GDAL's command-line
# tools (the tests drive our OGC API with GDAL's own client), Chromium and its driver (the map
# page is tested in a real headless browser) and Node.js/npm (the map page's MapLibre build).
# Installed only when missing and when running as root; otherwise says what to install.
set -euo pipefail

packages=(fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 gdal-bin chromium chromium-driver)
missing=()
# Node.js may come from elsewhere than Debian (nvm, NodeSource): only ask for it when absent.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system: missing Debian packages: ${missing[*]} (install them as root); continuing" >&2
  exit 0
fi
echo "system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
