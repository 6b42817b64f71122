"""Print pytest's counts from its JUnit XML report, e.g. "143 passed, 2 skipped" (used by scripts/test.sh)."""

import sys
import xml.etree.ElementTree as ET

suite = ET.parse(sys.argv[1]).getroot().find("testsuite")
tests, failed, errors, skipped = (int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped"))
counts = {"failed": failed, "errors": errors, "passed": tests - failed - errors - skipped, "skipped": skipped}
print(", ".join(f"{count} {word}" for word, count in counts.items() if count) or "no tests ran")
