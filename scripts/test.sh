#!/usr/bin/env bash
# Strand's one test command: installs what the tests need and runs all of them.
#
#   sudo scripts/test.sh                 # everything
#   sudo scripts/test.sh -k nodes        # extra arguments go to pytest
#
# On a fresh Debian 12 machine (as root): installs the Debian packages below, builds the
# workspace, runs every Rust test, then runs the python-linstor suite (tests/python) in a
# virtualenv (.venv) against the freshly built `strand` binary. Safe to run again: packages,
# the virtualenv and pip installs are only touched when something is missing.
set -euo pipefail

# ---- what the tests need -------------------------------------------------------------------
# Debian packages. Later features add to this list (xfsprogs, btrfs-progs, drbd-utils, ...).
APT_PACKAGES=(
    python3          # Debian's python, used for the virtualenv
    python3-venv     # venv + ensurepip for it
    gcc              # linker for cargo, C compiler for the bundled SQLite
    libc6-dev
    ca-certificates  # pip talks to PyPI over HTTPS
    xfsprogs         # mkfs.xfs: reflink filesystems for snapshots (tests, strand up's default pool)
    btrfs-progs      # mkfs.btrfs, btrfstune: btrfs volumes of the Incus driver
    e2fsprogs        # mkfs.ext4, resize2fs, e2fsck
    util-linux       # mount, losetup, blkid
    iproute2         # ip netns: multi-node tests
)
# Python packages for the virtualenv, pinned to versions verified against this suite.
PIP_PACKAGES=(
    python-linstor==1.29.1
    pytest==9.2.0
)
PYTHON=/usr/bin/python3

# ---- helpers -------------------------------------------------------------------------------
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$SECONDS
FAILED=()

section() { printf '\n==== %s ====\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; printf '\ntest.sh: FAILED (%s)\n' "$*"; exit 1; }

# ---- Debian packages ------------------------------------------------------------------------
section "Debian packages"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || die "packages missing (${missing[*]}) and not running as root; run: sudo scripts/test.sh"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "all present: ${APT_PACKAGES[*]}"
fi

# ---- Rust toolchain (never installed here) ---------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
# Under sudo, PATH is reset and HOME is root's: use the invoking user's rustup installation.
if ! command -v cargo >/dev/null 2>&1 && [ -n "${SUDO_USER:-}" ]; then
    user_home="$(getent passwd "$SUDO_USER" | cut -d: -f6)"
    if [ -n "$user_home" ] && [ -x "$user_home/.cargo/bin/cargo" ]; then
        export PATH="$user_home/.cargo/bin:$PATH"
        export CARGO_HOME="${CARGO_HOME:-$user_home/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$user_home/.rustup}"
    fi
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup first)"
echo "using $(command -v cargo) ($(cargo --version))"

# ---- virtualenv -------------------------------------------------------------------------------
section "Python virtualenv (.venv)"
VENV="$ROOT/.venv"
if [ -x "$VENV/bin/python" ] && grep -qx "home = $(dirname "$PYTHON")" "$VENV/pyvenv.cfg" 2>/dev/null \
    && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    echo "reusing $VENV"
else
    echo "creating $VENV with $PYTHON"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
if "$VENV/bin/python" - "${PIP_PACKAGES[@]}" <<'EOF' 2>/dev/null
import sys
from importlib import metadata
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    if metadata.version(name) != version:
        sys.exit(1)
EOF
then
    echo "already installed: ${PIP_PACKAGES[*]}"
else
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
    echo "installed: ${PIP_PACKAGES[*]}"
fi

# ---- Rust ------------------------------------------------------------------------------------
section "cargo build --workspace --all-targets"
cargo build --workspace --all-targets || die "cargo build"

section "cargo test --workspace"
if ! cargo test --workspace; then
    FAILED+=("cargo test")
fi

section "cargo build -p strand"
cargo build -p strand || die "cargo build -p strand"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
STRAND_BIN="$TARGET_DIR/debug/strand"
[ -x "$STRAND_BIN" ] || die "no binary at $STRAND_BIN"
export STRAND_BIN

# ---- python-linstor against strand controller -----------------------------------------------
section "pytest tests/python (python-linstor against $STRAND_BIN)"
if ! "$VENV/bin/python" -m pytest "$ROOT/tests/python" "$@"; then
    FAILED+=("python tests")
fi

# ---- summary ---------------------------------------------------------------------------------
elapsed=$((SECONDS - START))
if [ ${#FAILED[@]} -gt 0 ]; then
    joined="$(printf '%s, ' "${FAILED[@]}")"
    printf '\ntest.sh: FAILED (%s) after %ss\n' "${joined%, }" "$elapsed"
    exit 1
fi
printf '\ntest.sh: OK (cargo build, cargo test, python tests) in %ss\n' "$elapsed"
