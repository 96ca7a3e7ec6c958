#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (Playwright's own browser
# download does not work on these machines). Install it when missing; CI runs as root.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto sans cjk" \
    && [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# CJK fonts: Chinese text in screenshots and in PDFs printed by Chromium (insight reports);
# WenQuanYi Micro Hei, TrueType, is the font receipts and notices embed (cases/pdf_fonts.py:
# ReportLab cannot embed Noto's CFF outlines).
apt-get install -y -qq chromium fonts-noto-cjk fonts-wqy-microhei >/dev/null
