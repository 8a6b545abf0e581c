# Two commands do everything (see README "Quick start"):
#   make run   -> .venv, install, migrate, seed (sections, 樟树 2023 plan, demo users), serve on :8000
#   make test  -> .venv, install, the whole test suite
#   make test-postgres -> the same suite on a throw-away local PostgreSQL (.ci/postgres.sh)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres install migrate seed lint

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo
	$(PY) manage.py setup_schedules
	@echo "启动后台任务进程 (django-q2, ORM broker；默认队列与长任务队列 long) 与网页服务 http://127.0.0.1:8000 ..."
	@trap 'kill 0' INT TERM EXIT; \
	  $(PY) manage.py qcluster & \
	  Q_CLUSTER_NAME=long $(PY) manage.py qcluster & \
	  $(PY) manage.py runserver 127.0.0.1:8000

test: install
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n 2 -q

# Same recipe as `make test`, with DATABASE_URL pointing at a PostgreSQL server that lives only as long as
# this target (installed with apt-get if missing, data in a temp dir, stopped and deleted on exit).
test-postgres: install
	@url="$$(.ci/postgres.sh start)" || exit 1; \
	  trap '.ci/postgres.sh stop' EXIT INT TERM; \
	  echo "PostgreSQL: $$url"; \
	  $(MAKE) --no-print-directory test DATABASE_URL="$$url"
