"""One line from schemathesis's NDJSON event stream: cases sent, operations tested, distinct failures.

Usage: summary.py REPORT_DIR EXIT_STATUS. A failure is distinct per operation and failure code
(ST103 undocumented status code, ST202 schema-valid request rejected, ...), however many cases hit it.
"""

import glob
import json
import sys
from collections import Counter

report_dir, status = sys.argv[1], sys.argv[2]
cases: set[str] = set()
operations: set[str] = set()
distinct: set[tuple[str, str]] = set()
for path in glob.glob(f"{report_dir}/*.ndjson"):
    with open(path, encoding="utf-8") as events:
        for line in events:
            finished = json.loads(line).get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished.get("recorder", {})
            cases.update(recorder.get("cases", {}))
            for results in recorder.get("checks", {}).values():
                for result in results:
                    failure = (result.get("failure_info") or {}).get("failure")
                    if result.get("status") == "failure" and failure:
                        distinct.add((failure["operation"], failure["code"]))
            if recorder.get("label") != "Stateful tests":
                operations.add(recorder.get("label", ""))
by_code = Counter(code for _, code in distinct)
found = ", ".join(f"{code} on {count}" for code, count in sorted(by_code.items())) or "none"
print(f"schemathesis: {len(cases)} cases on {len(operations)} operations, {len(distinct)} distinct failures ({found}); exit {status}")
