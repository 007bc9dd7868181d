#!/usr/bin/env bash
# Compare one bucket pair with the flags of the tool bucket-delta replaces.
# Credentials come from the environment, so they do not show in `ps` output.
set -euo pipefail
export AWS_ACCESS_KEY_ID="${SRC_ACCESS_KEY:?}" AWS_SECRET_ACCESS_KEY="${SRC_SECRET_KEY:?}"
bucket-delta \
  --source_bucket_name photos --source_endpoint_url http://127.0.0.1:8333 \
  --destination_bucket_name photos-copy --destination_endpoint_url http://127.0.0.1:8334 \
  --output_file differences.txt
# exit status: 0 identical, 1 differences (see differences.txt), 2 error or incomplete run
