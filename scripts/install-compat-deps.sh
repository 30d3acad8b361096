#!/usr/bin/env bash
# Debian packages the compat suite drives Floe with: kcat (librdkafka),
# confluent-kafka-python (librdkafka), kafka-python and the codecs it imports,
# and python3-avro (Apache's reference Avro) to read Iceberg manifests independently.
set -euo pipefail
PACKAGES=(kcat python3-confluent-kafka python3-kafka python3-snappy python3-lz4 python3-zstandard python3-requests python3-avro)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "compat clients already installed: ${PACKAGES[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
