#!/usr/bin/env bash
# Prefect for lmforge: the `process` work pool prefect.yaml deploys to, the deployments, and a worker.
#
#   infra/prefect/setup.sh            # all three: pool, deploy, then a worker in the foreground
#   infra/prefect/setup.sh pool       # create (or update) the work pool
#   infra/prefect/setup.sh deploy     # `prefect deploy --all` from the repository root
#   infra/prefect/setup.sh worker     # a worker polling the pool (what lmforge-worker.service runs)
#
# Needs PREFECT_API_URL (a Prefect server or Prefect Cloud) in the environment or the active Prefect profile.
# Flow runs start as subprocesses of the worker, in this checkout, with its environment: set RAY_ADDRESS for
# the worker (e.g. `auto` on a Ray head node, or ray://head:10001) and every Ray stage runs on that cluster.
# LMFORGE_WORK_POOL names another pool (it must then match prefect.yaml's work_pool name).
set -euo pipefail

REPOSITORY="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POOL="${LMFORGE_WORK_POOL:-lmforge-process}"
PREFECT="${PREFECT:-prefect}"
cd "$REPOSITORY"

create_pool() {
  # --overwrite makes this idempotent: a rerun updates the pool instead of failing on "already exists".
  $PREFECT work-pool create "$POOL" --type process --overwrite
}

deploy_flows() {
  $PREFECT --no-prompt deploy --all
}

start_worker() {
  exec $PREFECT worker start --pool "$POOL" --type process
}

case "${1:-all}" in
  pool) create_pool ;;
  deploy) deploy_flows ;;
  worker) start_worker ;;
  all)
    create_pool
    deploy_flows
    start_worker
    ;;
  *)
    echo "usage: $0 [all|pool|deploy|worker]" >&2
    exit 2
    ;;
esac
