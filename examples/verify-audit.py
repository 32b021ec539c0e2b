#!/usr/bin/env python3
"""An auditor's own check of the breakglass audit chain, independent of breakglass's code.

Downloads every event from GET /v1/audit and recomputes each hash with the published formula:
    hash_n = SHA-256( hash_{n-1} + "\\n" + canon(e_n) ),  hash_0 = 64 zeros
    e_n    = { seq, at, actor, action, grant, target, data, controls }
canon is RFC 8785 (JCS), in jcs.py beside this script (keys in UTF-16 code-unit order, which
json.dumps(sort_keys=True) does not give for characters beyond U+FFFF).

Usage: BREAKGLASS_URL=http://127.0.0.1:8080 BREAKGLASS_TOKEN=... python3 verify-audit.py
Exit 0 when every hash matches and seq has no gaps; 2 with the first bad seq otherwise.
"""
import hashlib
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jcs import canon  # noqa: E402  (beside this script)

FIELDS = ("seq", "at", "actor", "action", "grant", "target", "data", "controls")


def fetch(base, token, after):
    req = urllib.request.Request(
        f"{base.rstrip('/')}/v1/audit?limit=1000&after={after}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def main():
    base = os.environ.get("BREAKGLASS_URL", "http://127.0.0.1:8080")
    token = os.environ["BREAKGLASS_TOKEN"]
    prev, expected_seq, count, after = "0" * 64, 1, 0, 0
    while after is not None:
        page = fetch(base, token, after)
        for event in page["events"]:
            count += 1
            body = {field: event[field] for field in FIELDS}
            digest = hashlib.sha256((prev + "\n" + canon(body)).encode("utf-8")).hexdigest()
            if event["seq"] != expected_seq or event["prevHash"] != prev or event["hash"] != digest:
                print(json.dumps({"valid": False, "count": count, "firstInvalidSeq": min(event["seq"], expected_seq)}))
                return 2
            prev, expected_seq = digest, expected_seq + 1
        after = page["next"]
    print(json.dumps({"valid": True, "count": count, "headHash": prev}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
