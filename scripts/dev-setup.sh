#!/usr/bin/env bash
# dev-setup.sh — what `make run` does before starting the server on a fresh
# machine: a development .env with a generated SECRET_KEY (if none exists)
# and a first administrator with a random password printed once (if the
# database has no users). Never a fixed default password.
set -euo pipefail
if [[ ! -f .env ]]; then
  key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  umask 077
  cat > .env <<ENV
# Written by 'make run' for local development. See .env.example for every setting.
APP_ENV=development
SECRET_KEY=$key
HOST=127.0.0.1
PORT=8000
DATABASE_PATH=data/sketchmatch.db
REFERENCE_FOLDER=reference_database
LOG_DIR=logs
ENV
  echo "wrote .env with a generated SECRET_KEY"
fi
bin/sketchmatch user bootstrap --username admin
# A local calibration (per-modality centring + score bands) when the research
# dev set is present beside the repository; it is never shipped.
if [[ -d ../shared/eval/dev/photos && -d ../shared/eval/dev/sketches ]]; then
  echo "calibrating on the research dev set (../shared/eval/dev): its bands were measured on the very"
  echo "faces a newcomer may search with, so treat them as a demonstration, not as field confidence."
  bin/sketchmatch calibrate --if-missing --photos ../shared/eval/dev/photos --sketches ../shared/eval/dev/sketches \
    --source "local: ../shared/eval/dev (research use only, never shipped)" || echo "calibration skipped"
fi
