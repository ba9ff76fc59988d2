#!/usr/bin/env bash
# The whole test suite: installs what the tests need (tests/setup.sh, idempotent), checks
# formatting and lints, then runs every test against real servers started by the harness.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo nextest run"
cargo nextest run --locked --no-fail-fast "$@"
