#!/usr/bin/env bash
# Builds and installs pgvector into the local PostgreSQL server, then enables it.
#
# Debian 12 packages no pgvector (nor bookworm-backports), so this builds Debian
# trixie's pgvector source package against the installed server (SPEC §6), in ~10 s,
# without changing the system's apt sources or installed packages:
#   - server headers come from `apt-get download postgresql-server-dev-<major>` unpacked
#     into a temporary folder: `apt-get install` would upgrade the running server's
#     packages (it is unpinned) and drag in clang;
#   - the trixie source is fetched through a private apt configuration (its own
#     sources file, lists, cache and preferences) that nothing else reads.
# Idempotent: the build is skipped when vector.control and vector.so are installed;
# `CREATE EXTENSION IF NOT EXISTS` is a no-op when the extension exists.
#
# Environment: PG_MAJOR (default 15), PGVECTOR_DEB_VERSION (default 0.8.0-1),
# PGHOST/PGPORT/PGUSER/PGDATABASE for the CREATE EXTENSION step (defaults
# 127.0.0.1/5432/postgres/test); SKIP_CREATE_EXTENSION=1 skips that step.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PGVECTOR_DEB_VERSION="${PGVECTOR_DEB_VERSION:-0.8.0-1}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
log() { echo "pgvector-install: $*" >&2; }
tmp=""

if [ ! -x "$PG_CONFIG" ]; then
  log "no PostgreSQL ${PG_MAJOR} server here ($PG_CONFIG is missing): install postgresql-${PG_MAJOR} first"
  exit 1
fi

pkglibdir="$("$PG_CONFIG" --pkglibdir)"
sharedir="$("$PG_CONFIG" --sharedir)"

build() {
  if [ "$(id -u)" -ne 0 ]; then
    log "building needs root (it installs into $pkglibdir); re-run with sudo"
    exit 1
  fi
  for tool in make gcc tar dpkg-deb apt-get; do
    command -v "$tool" >/dev/null 2>&1 || { log "missing $tool (apt-get install build-essential)"; exit 1; }
  done
  tmp="$(mktemp -d /tmp/pgvector-build.XXXXXX)"
  # World-readable so apt's unprivileged _apt sandbox user can write downloads here.
  chmod 755 "$tmp"
  trap 'rm -rf "${tmp:-}"' EXIT

  log "apt-get update (system lists, read for the server headers)"
  apt-get update -qq

  # (2) Server headers matching the running server; the candidate when that exact version is gone.
  local installed
  installed="$(dpkg-query -W -f '${Version}' "postgresql-${PG_MAJOR}" 2>/dev/null || true)"
  mkdir -p "$tmp/dl" && chmod 777 "$tmp/dl"
  if ! (cd "$tmp/dl" && apt-get download -qq "postgresql-server-dev-${PG_MAJOR}=${installed}" 2>/dev/null); then
    log "postgresql-server-dev-${PG_MAJOR}=${installed} is not downloadable; using the candidate version"
    (cd "$tmp/dl" && apt-get download -qq "postgresql-server-dev-${PG_MAJOR}")
  fi
  dpkg-deb -x "$tmp"/dl/postgresql-server-dev-*.deb "$tmp/headers"
  local includedir="$tmp/headers/usr/include/postgresql/${PG_MAJOR}/server"
  [ -f "$includedir/postgres.h" ] || { log "server headers not found in the downloaded package"; exit 1; }

  # (3) pgvector source from Debian trixie.
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  local apt_opts=()
  if ! apt-get indextargets --format '$(CODENAME)' 'Origin: Debian' 2>/dev/null | grep -qx trixie \
    || ! apt-get indextargets --format '$(CREATED_BY)' 'Codename: trixie' 2>/dev/null | grep -qx Sources; then
    # The system's own sources lack trixie sources: a private apt configuration that only this script reads.
    local mirror
    mirror="$(apt-get indextargets --format '$(REPO_URI)' "Codename: ${codename}" 'Origin: Debian' | grep -v -- '-security' | sort -u | head -n 1)"
    [ -n "$mirror" ] || { log "cannot find the Debian mirror of ${codename} in apt's index targets"; exit 1; }
    local apt="$tmp/apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d" "$apt/preferences.d"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} trixie main" >"$apt/sources.list"
    : >"$apt/preferences"
    chmod -R a+rwX "$apt"
    apt_opts=(
      -o "Dir::Etc::SourceList=$apt/sources.list"
      -o "Dir::Etc::SourceParts=$apt/sources.list.d"
      -o "Dir::Etc::Preferences=$apt/preferences"
      -o "Dir::Etc::PreferencesParts=$apt/preferences.d"
      -o "Dir::State::Lists=$apt/lists"
      -o "Dir::Cache=$apt/cache"
    )
    log "apt-get update (private configuration: trixie sources only)"
    apt-get "${apt_opts[@]}" update -qq
  fi
  mkdir -p "$tmp/src" && chmod 777 "$tmp/src"
  (cd "$tmp/src" && apt-get "${apt_opts[@]}" source -qq --download-only "pgvector=${PGVECTOR_DEB_VERSION}")
  tar -xzf "$tmp"/src/pgvector_*.orig.tar.gz -C "$tmp/src"
  local srcdir
  srcdir="$(find "$tmp/src" -mindepth 1 -maxdepth 1 -type d -name 'pgvector*' | head -n 1)"
  [ -n "$srcdir" ] || { log "pgvector source tree not found after unpacking"; exit 1; }

  # (4) Build and install against the running server; no LLVM bitcode (clang is not installed).
  local make_flags=(PG_CONFIG="$PG_CONFIG" with_llvm=no OPTFLAGS= includedir_server="$includedir")
  log "building $(basename "$srcdir")"
  make -s -C "$srcdir" "${make_flags[@]}" -j"$(nproc)" >/dev/null
  make -s -C "$srcdir" "${make_flags[@]}" install >/dev/null
  log "installed into $pkglibdir and $sharedir/extension"
}

if [ -f "$sharedir/extension/vector.control" ] && [ -f "$pkglibdir/vector.so" ]; then
  log "pgvector already installed ($(grep default_version "$sharedir/extension/vector.control" | tr -d "'" ))"
else
  build
fi

# (5) Enable it in the database the tests use (needs a superuser; 20 ms).
if [ "${SKIP_CREATE_EXTENSION:-0}" != "1" ]; then
  if command -v psql >/dev/null 2>&1; then
    PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}" PGDATABASE="${PGDATABASE:-test}" \
      psql -v ON_ERROR_STOP=1 -qAt -c 'CREATE EXTENSION IF NOT EXISTS vector' -c "SELECT 'vector ' || extversion FROM pg_extension WHERE extname = 'vector'" >&2
  else
    log "psql not found: run CREATE EXTENSION IF NOT EXISTS vector yourself"
  fi
fi
