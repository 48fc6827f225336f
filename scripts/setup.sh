#!/usr/bin/env bash
# One-time set-up on a fresh machine (Debian/Ubuntu, Node 20+): the MariaDB server binaries
# when missing, then the exact dependency tree from package-lock.json (npm ci also compiles
# the CLI through the `prepare` script). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

have_mariadbd() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || command -v mysqld >/dev/null 2>&1 || [ -x /usr/sbin/mysqld ]
}

if ! have_mariadbd; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing mariadb-server from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  else
    echo "setup: mariadbd not found; install the MariaDB server (or set DB_HOST to an existing server)" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run build --silent
fi
