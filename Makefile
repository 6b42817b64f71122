# The two commands in README.md. Both set up .venv (Python 3.13 + requirements.txt) on first use.
.PHONY: run test bench

# Run the portal at http://127.0.0.1:$(PORT)/ on SQLite with demo data and a demo admin (DEBUG on; development only).
run:
	@bash scripts/run.sh

# Run every test on SQLite, then on a throwaway PostgreSQL. Extra pytest arguments: make test ARGS="-k waitlist"
test:
	@bash scripts/test.sh $(ARGS)

# The linter and the formatter's check (ruff, configured in pyproject.toml); CI runs it before the tests.
.PHONY: lint
lint:
	@bash scripts/bootstrap.sh
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

# Benchmark on a throwaway PostgreSQL with a large studio (README "Performance"; a few minutes, not run in CI).
bench:
	@bash scripts/bootstrap.sh
	@bash scripts/pg.sh .venv/bin/python bench/run.py

# The production stack on 127.0.0.1 (PostgreSQL, two gunicorn instances, the email worker, an SMTP sink): the last
# seats raced through both instances, every email delivered across a worker restart. Under 3 minutes.
.PHONY: prod-check
prod-check:
	@bash scripts/prod_check.sh

# Every student, portal and attendance page at 360×740, 390×844, 1024×768 and 1440×900: axe-core accessibility
# check, no sideways scrolling, screenshots in screenshots/pages/ (README "Screenshots"). About a minute.
.PHONY: screenshots
screenshots:
	@bash scripts/bootstrap.sh
	@.venv/bin/pytest dance_portal/tests/test_pages_browser.py -q
