#!/usr/bin/env bash
# Prefect for lmforge: the `process` work pool prefect.yaml deploys to, the deployments, and a worker.
#
#   infra/prefect/setup.sh            # all three: pool, deploy, then a worker in the foreground
#   infra/prefect/setup.sh pool       # create (or update) the work pool
#   infra/prefect/setup.sh data-root  # set the Prefect Variable lmforge_data_root to $LMFORGE_DATA_ROOT
#   infra/prefect/setup.sh deploy     # data-root (when LMFORGE_DATA_ROOT is set), then `prefect deploy --all`
#   infra/prefect/setup.sh worker     # a worker polling the pool (what lmforge-worker.service runs)
#
# Needs PREFECT_API_URL (a Prefect server or Prefect Cloud) in the environment or the active Prefect profile.
# LMFORGE_DATA_ROOT (an absolute path every worker sees, or an s3:// URL) is where prefect.yaml's default paths
# live; `data-root` (and `deploy`) store it as the Prefect Variable lmforge_data_root, which deploying requires.
# Schedules are deployed paused: deploying queues no run.
# Flow runs start as subprocesses of the worker, in LMFORGE_HOME (default: this checkout; prefect.yaml's `pull`
# step changes into it), with its environment: set RAY_ADDRESS for the worker (e.g. `auto` on a Ray head node,
# or ray://head:10001) and every Ray stage runs on that cluster.
# LMFORGE_WORK_POOL names another pool (it must then match prefect.yaml's work_pool name).
set -euo pipefail

REPOSITORY="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POOL="${LMFORGE_WORK_POOL:-lmforge-process}"
PREFECT="${PREFECT:-prefect}"
export LMFORGE_HOME="${LMFORGE_HOME:-$REPOSITORY}"
cd "$REPOSITORY"

create_pool() {
  # --overwrite makes this idempotent: a rerun updates the pool instead of failing on "already exists".
  $PREFECT work-pool create "$POOL" --type process --overwrite
}

set_data_root() {
  if [[ -z "${LMFORGE_DATA_ROOT:-}" ]]; then
    echo "$0: set LMFORGE_DATA_ROOT (e.g. /srv/lmforge) to store it as the Prefect Variable lmforge_data_root" >&2
    exit 2
  fi
  $PREFECT variable set lmforge_data_root "$LMFORGE_DATA_ROOT" --overwrite
}

deploy_flows() {
  if [[ -n "${LMFORGE_DATA_ROOT:-}" ]]; then set_data_root; fi # else: the variable must already be set
  $PREFECT --no-prompt deploy --all
}

start_worker() {
  exec $PREFECT worker start --pool "$POOL" --type process
}

case "${1:-all}" in
  pool) create_pool ;;
  data-root) set_data_root ;;
  deploy) deploy_flows ;;
  worker) start_worker ;;
  all)
    create_pool
    deploy_flows
    start_worker
    ;;
  *)
    echo "usage: $0 [all|pool|data-root|deploy|worker]" >&2
    exit 2
    ;;
esac
