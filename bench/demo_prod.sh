#!/usr/bin/env bash
# The production shape on one machine: PostgreSQL, gunicorn with several workers, one
# scheduler process, Redis for rate limits, a real master key and secret. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${DEMO_PROD_DB:-mrp_demo_prod}
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/${DB}"
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export TRACKER_ENV=production
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:8000}
mkdir -p instance
[ -f instance/demo-prod-master-key ] || .venv/bin/python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())" > instance/demo-prod-master-key
chmod 600 instance/demo-prod-master-key
export TRACKER_MASTER_KEY_FILE="$PWD/instance/demo-prod-master-key"
[ -f instance/demo-prod-secret ] || .venv/bin/python -c "import secrets;print(secrets.token_urlsafe(48))" > instance/demo-prod-secret
export SECRET_KEY="$(cat instance/demo-prod-secret)"

psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='${DB}'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE \"${DB}\"" >/dev/null
.venv/bin/flask --app wsgi db upgrade
.venv/bin/flask --app wsgi demo load --if-empty
.venv/bin/flask --app wsgi scheduler run &
SCHED=$!
trap 'kill $SCHED 2>/dev/null || true' EXIT
exec .venv/bin/gunicorn --workers "${WORKERS:-4}" --bind 127.0.0.1:8000 --access-logfile - 'wsgi:create_app()'
