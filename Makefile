# The two commands in README.md. Both set up .venv (Python 3.13 + requirements.txt) on first use.
.PHONY: run test

# Run the portal at http://127.0.0.1:$(PORT)/ on SQLite with demo data and a demo admin (DEBUG on; development only).
run:
	@bash scripts/run.sh

# Run every test on SQLite, then on a throwaway PostgreSQL. Extra pytest arguments: make test ARGS="-k waitlist"
test:
	@bash scripts/test.sh $(ARGS)
