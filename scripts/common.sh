# Shared set-up for scripts/run and scripts/test (sourced, not executed).
# Everything here is idempotent: a second run reuses what the first one made.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR="$ROOT/.run"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# OCA addons from PyPI; each names `odoo` as a requirement, which no registry serves.
OCA_ADDON_PINS=(
  "odoo-addon-helpdesk-mgmt==19.0.1.3.2"
  "odoo-addon-base-tier-validation==19.0.1.4.6"
  "odoo-addon-dms==19.0.1.1.6"
)
ODOO_TARBALL_URL="${ODOO_TARBALL_URL:-https://nightly.odoo.com/19.0/nightly/src/odoo_19.0.latest.tar.gz}"

say() { printf '\033[1m[digital_sign]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[digital_sign] %s\033[0m\n' "$*" >&2; exit 2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

# Debian packages: PostgreSQL server, wkhtmltopdf (Odoo's PDF reports), Chromium (browser tests),
# npm (linters, axe-core).
ensure_debian_packages() {
  local missing=()
  pg_bindir >/dev/null || missing+=(postgresql)
  command -v wkhtmltopdf >/dev/null || missing+=(wkhtmltopdf)
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
    || command -v google-chrome >/dev/null || missing+=(chromium)
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  command -v npm >/dev/null || missing+=(npm)  # scripts/lint's tools, axe-core for the tests
  # Chinese in the browser (tours, screenshots) and in the PDFs wkhtmltopdf renders (quotes)
  fc-list :lang=zh family 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if command -v apt-get >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >/dev/null \
      || die "could not install ${missing[*]}: install them with your package manager and run again"
  else
    die "missing ${missing[*]}: install them (Debian/Ubuntu: apt-get install ${missing[*]}) and run again"
  fi
}

# Python: .venv with the pinned set (requirements.txt) and the OCA addons from PyPI.
ensure_venv() {
  local stamp="$VENV/.digital_sign-requirements"
  local want
  want=$( (cat "$ROOT/requirements.txt"; printf '%s\n' "${OCA_ADDON_PINS[@]}") | sha256sum | cut -d' ' -f1)
  if [ -x "$PY" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  say "preparing $VENV (pinned requirements, about a minute the first time)"
  [ -x "$PY" ] || python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv (Python 3.11)"
  "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
  # The OCA addons name `odoo` as a requirement, which no registry serves: install them alone.
  "$PY" -m pip install -q --disable-pip-version-check --no-deps "${OCA_ADDON_PINS[@]}"
  pip_check
  echo "$want" > "$stamp"
}

# `pip check`, minus the known lines: the OCA addons require `odoo`, which runs from source.
pip_check() {
  local out
  out=$("$PY" -m pip check 2>&1 | grep -Ev "^odoo-addon-(helpdesk-mgmt|base-tier-validation|dms) .* requires odoo, which is not installed" || true)
  if [ -n "$out" ] && [ "$out" != "No broken requirements found." ]; then
    printf '%s\n' "$out" >&2; die "pip check found broken requirements"
  fi
  return 0
}

# axe-core (npm), the accessibility engine that tests/test_accessibility.py injects into the
# public pages in Chromium: installed into .run/a11y-node, pinned; the test fails without it.
AXE_VERSION=4.11.1
AXE_NODE="$RUN_DIR/a11y-node"
ensure_axe() {
  local axe="$AXE_NODE/node_modules/axe-core/axe.min.js"
  if [ -f "$axe" ] && [ "$(cat "$AXE_NODE/.stamp" 2>/dev/null)" = "$AXE_VERSION" ]; then
    return 0
  fi
  command -v npm >/dev/null \
    || { say "npm is missing (axe-core for the accessibility tests): apt-get install npm"; return 1; }
  say "preparing $AXE_NODE (axe-core $AXE_VERSION, for the accessibility tests)"
  mkdir -p "$AXE_NODE"
  [ -f "$AXE_NODE/package.json" ] || echo '{"private": true}' > "$AXE_NODE/package.json"
  npm install --prefix "$AXE_NODE" --no-audit --no-fund --silent "axe-core@$AXE_VERSION" \
    || { say "could not install axe-core from npm (the accessibility tests need it)"; return 1; }
  [ -f "$axe" ] || { say "axe-core installed without $axe"; return 1; }
  echo "$AXE_VERSION" > "$AXE_NODE/.stamp"
}

# Odoo 19.0 Community: ODOO_SRC, else /opt/odoo-19.0, else a download from Odoo's nightly server.
odoo_ok() {
  [ -f "$1/odoo-bin" ] && [ -d "$1/odoo/addons/base" ] && [ -d "$1/addons/sale_management" ] \
    && grep -q '^version_info = (19, 0,' "$1/odoo/release.py" 2>/dev/null
}

ensure_odoo() {
  local candidate
  for candidate in "${ODOO_SRC:-}" /opt/odoo-19.0 "$RUN_DIR/odoo-19.0"; do
    if [ -n "$candidate" ] && odoo_ok "$candidate"; then
      ODOO_SRC=$(cd "$candidate" && pwd); export ODOO_SRC; return 0
    fi
  done
  [ -n "${ODOO_SRC:-}" ] && say "ODOO_SRC=$ODOO_SRC is not an Odoo 19.0 source tree (odoo-bin, odoo/, addons/)"
  if [ "${DIGITAL_SIGN_NO_DOWNLOAD:-0}" != 1 ]; then
    say "no Odoo 19.0 found: downloading it from $ODOO_TARBALL_URL"
    mkdir -p "$RUN_DIR"
    local tmp="$RUN_DIR/odoo-19.0.partial"
    rm -rf "$tmp" && mkdir -p "$tmp"
    if curl -fsSL --connect-timeout 10 --max-time 900 "$ODOO_TARBALL_URL" \
        | tar -xz -C "$tmp" --strip-components=1 2>/dev/null && odoo_ok "$tmp"; then
      rm -rf "$RUN_DIR/odoo-19.0" && mv "$tmp" "$RUN_DIR/odoo-19.0"
      ODOO_SRC="$RUN_DIR/odoo-19.0"; export ODOO_SRC; return 0
    fi
    rm -rf "$tmp"
  fi
  cat >&2 <<MSG

Odoo 19.0 Community was not found, and it could not be downloaded here.
Provide its source tree (the directory holding odoo-bin, odoo/ and addons/) in one of these ways:
  * unpack it at /opt/odoo-19.0, or
  * point ODOO_SRC at it:   ODOO_SRC=/path/to/odoo-19.0 $0
Official sources: $ODOO_TARBALL_URL
             or: git clone --depth 1 --branch 19.0 https://github.com/odoo/odoo
MSG
  exit 2
}

# The addon is this checkout; Odoo takes an addon's name from its directory, so link it as
# digital_sign inside a directory of its own and put that on the addons path.
ensure_addons_dir() {
  ADDONS_DIR="$RUN_DIR/addons"
  mkdir -p "$ADDONS_DIR"
  ln -sfn "$ROOT" "$ADDONS_DIR/digital_sign"
  ADDONS_PATH="$ODOO_SRC/addons,$ADDONS_DIR"
}

# A PostgreSQL cluster of our own, on a Unix socket only, run by PG_OWNER ("" = the user running
# the script; PostgreSQL refuses root, so root's clusters belong to the postgres system user).
PG_OWNER=""
# Where a checkout's cluster goes when PG_OWNER cannot reach the checkout (root's home is private
# on Debian and Ubuntu): /var/lib, not /var/tmp, whose old files the system may delete.
PG_FALLBACK_BASE=/var/lib/digital_sign

pg_owner() {  # sets PG_OWNER, and creates the postgres user when root needs it
  PG_OWNER=""
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    PG_OWNER=postgres
  fi
}
pg_run() {  # run a PostgreSQL program as the cluster's owner (from /: it may not enter ours)
  if [ -n "$PG_OWNER" ]; then (cd / && runuser -u "$PG_OWNER" -- "$@"); else "$@"; fi
}

# pg_can_enter USER DIR: whether USER may enter DIR, that is has the search (x) right on DIR and
# on each of its parents, from the owner/group/other bits (ACLs aside: a "no" only moves the
# cluster). Reads modes only, so it needs no privilege and gives the same answer to anyone.
pg_can_enter() {
  local uid groups d owner group mode bit
  uid=$(id -u "$1" 2>/dev/null) || return 1
  [ "$uid" = 0 ] && return 0
  groups=" $(id -G "$1") "
  d=$(cd -P "$2" 2>/dev/null && pwd) || return 1
  while :; do
    read -r owner group mode < <(stat -c '%u %g %a' "$d") || return 1
    mode=$((8#$mode))
    if [ "$owner" = "$uid" ]; then bit=$(( mode >> 6 & 1 ))
    elif [[ $groups == *" $group "* ]]; then bit=$(( mode >> 3 & 1 ))
    else bit=$(( mode & 1 )); fi
    [ "$bit" = 1 ] || return 1
    [ "$d" = / ] && return 0
    d=$(dirname "$d")
  done
}

# pg_place CHECKOUT OWNER: print the directory that holds the cluster of CHECKOUT (a path without
# symbolic links, whose .run/ exists) when OWNER runs it ("" = us): CHECKOUT/.run, or, when OWNER
# cannot enter it, PG_FALLBACK_BASE/<checkout's name>-<hash of its path>, one per checkout.
pg_place() {
  local checkout=$1 owner=$2 name
  if [ -z "$owner" ] || pg_can_enter "$owner" "$checkout/.run"; then
    echo "$checkout/.run"; return 0
  fi
  name=$(basename "$checkout"); name=${name//[^A-Za-z0-9._-]/_}
  echo "$PG_FALLBACK_BASE/${name:0:32}-$(printf %s "$checkout" | sha256sum | cut -c1-12)"
}

# pg_dirs: set PG_DATA and PG_SOCK to this checkout's own cluster, kept across runs (scripts/run,
# scripts/i18n). Away from .run/, the directory belongs to PG_OWNER with mode 700, and
# .run/pg-place points to it.
pg_dirs() {
  local checkout place
  pg_owner
  mkdir -p "$RUN_DIR"
  checkout=$(cd -P "$ROOT" && pwd)
  place=$(pg_place "$checkout" "$PG_OWNER")
  if [ "$place" = "$checkout/.run" ]; then
    rm -f "$RUN_DIR/pg-place"
  else
    install -d -m 711 "$PG_FALLBACK_BASE"  # enter, not list
    install -d -m 700 -o "$PG_OWNER" "$place"
    ln -sfn "$place" "$RUN_DIR/pg-place"
    say "the $PG_OWNER user cannot reach $RUN_DIR: this checkout's database lives in $place"
  fi
  PG_DATA="$place/pg" PG_SOCK="$place/pgsock"
}

# odoo_data DB_NAME: set ODOO_DATA to Odoo's data directory (filestore, sessions) beside this
# checkout's cluster, so that the same database name in two checkouts never shares files. A
# cluster made before gets a copy of DB_NAME's files from Odoo's default place, once.
odoo_data() {
  local old="${XDG_DATA_HOME:-${HOME:-/nonexistent}/.local/share}/Odoo/filestore/$1"
  ODOO_DATA="${PG_DATA%/pg}/odoo-data"
  [ -d "$ODOO_DATA" ] && return 0
  mkdir -p -m 700 "$ODOO_DATA"
  if [ -f "$PG_DATA/PG_VERSION" ] && [ -d "$old" ]; then
    say "copying the files of $1 from $old to $ODOO_DATA"
    mkdir "$ODOO_DATA/filestore" && cp -a "$old" "$ODOO_DATA/filestore/"
  fi
}

# pg_scratch_dir PREFIX: print a new directory under /tmp for a throwaway cluster (tests,
# benchmarks), private to the cluster's owner. The caller removes it.
pg_scratch_dir() {
  local dir
  dir=$(mktemp -d "/tmp/$1.XXXXXX")  # mode 700
  pg_owner
  [ -z "$PG_OWNER" ] || chown "$PG_OWNER" "$dir"
  echo "$dir"
}

sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }  # one word for /bin/sh, whatever it holds

# pg_start DATA_DIR SOCKET_DIR PORT
pg_start() {
  local data=$1 sock=$2 port=$3 bindir
  bindir=$(pg_bindir) || die "PostgreSQL server binaries not found"
  pg_owner
  mkdir -p "$data" "$sock"
  if [ -n "$PG_OWNER" ]; then
    chown "$PG_OWNER" "$data" "$sock"
    pg_run test -w "$data" -a -w "$sock" \
      || die "the $PG_OWNER user cannot reach $data (a parent directory is private)"
  fi
  # Private: the socket lets anyone who reaches it in as a superuser (--auth=trust).
  chmod 700 "$data" "$sock"
  if [ ! -f "$data/PG_VERSION" ]; then
    pg_run "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! pg_run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # pg_ctl hands -o to /bin/sh, and PostgreSQL reads the socket directory as a list that
    # double quotes protect: a socket path with spaces (or commas) stays one directory.
    pg_run "$bindir/pg_ctl" -D "$data" -w -t 60 -l "$data/server.log" \
      -o "-k $(sh_quote "\"${sock//\"/\"\"}\"") -c listen_addresses='' -p $port ${PG_EXTRA_OPTS:-}" \
      start >/dev/null \
      || { tail -20 "$data/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  PGHOST=$sock PGPORT=$port; export PGHOST PGPORT
  # Odoo refuses to connect as `postgres`: give it a role of its own.
  "$bindir/psql" -U postgres -d postgres -qtAc "SELECT 1 FROM pg_roles WHERE rolname='odoo'" | grep -q 1 \
    || "$bindir/psql" -U postgres -d postgres -qc "CREATE ROLE odoo SUPERUSER LOGIN" >/dev/null
}
pg_stop() {
  local data=$1 bindir
  bindir=$(pg_bindir) || return 0
  [ -f "$data/PG_VERSION" ] && pg_run "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

odoo_bin() {  # odoo_bin [shell|i18n ...] OPTIONS: a subcommand must come first; ODOO_DATA: --data-dir
  local sub=()
  case "${1:-}" in shell|i18n|neutralize|db|module|populate) sub=("$1"); shift;; esac
  local cmd=("$PY" "$ODOO_SRC/odoo-bin" "${sub[@]}" --addons-path="$ADDONS_PATH"
    --db_host="$PGHOST" --db_port="$PGPORT" --db_user=odoo ${ODOO_DATA:+"--data-dir=$ODOO_DATA"} "$@")
  # exec_odoo=1 (in a subshell of its own): become Odoo, so the caller's $! is Odoo's pid.
  if [ "${exec_odoo:-}" = 1 ]; then exec "${cmd[@]}"; fi
  "${cmd[@]}"
}
