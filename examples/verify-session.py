#!/usr/bin/env python3
"""An auditor's own check of a breakglass session log, independent of breakglass's code.

Reads an evidence bundle (`breakglass evidence GRANT --out FILE`, or GET /v1/grants/:id/evidence)
and recomputes the grant's session chain with the published formula (docs/formats.md):
    hash_n = SHA-256( hash_{n-1} + "\\n" + canon(r_n) ),  hash_0 = 64 zeros
    r_n    = the record as exported, minus prevHash, hash and late
Format-1 records (11 keys, no "detail") and format-2 records (12 keys, with "detail") verify alike.
The chain must also pass through every session head sealed in the bundle's audit events
(session.sealed: lastSeq, headHash). canon is RFC 8785, in jcs.py beside this script. The bundle's signature is checked
with the JWKS by `breakglass evidence verify`; this script checks the chain.

Usage: python3 verify-session.py bundle.json
Exit 0 when the chain is whole; 2 with the first bad seq otherwise.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jcs import canon  # noqa: E402  (beside this script)

UNHASHED = ("prevHash", "hash", "late")


def verify(records, seals):
    prev, last_seq, formats = "0" * 64, 0, set()
    seals = sorted(seals, key=lambda seal: seal["lastSeq"])
    hash_at = {0: prev}
    for record in records:
        hashed = {key: value for key, value in record.items() if key not in UNHASHED}
        formats.add(2 if "detail" in hashed else 1)
        digest = hashlib.sha256((prev + "\n" + canon(hashed)).encode("utf-8")).hexdigest()
        if record["seq"] <= last_seq or record["prevHash"] != prev or record["hash"] != digest:
            return {"valid": False, "firstInvalidSeq": record["seq"]}
        prev, last_seq = digest, record["seq"]
        hash_at[last_seq] = prev
    for seal in seals:
        if hash_at.get(seal["lastSeq"]) != seal["headHash"]:
            return {"valid": False, "brokenSeal": seal, "firstInvalidSeq": last_seq + 1 if seal["lastSeq"] > last_seq else None}
    return {"valid": True, "count": len(records), "headHash": prev, "formats": sorted(formats), "seals": len(seals)}


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        bundle = json.load(handle)["bundle"]
    seals = [event["data"] for event in bundle["audit"]["events"] if event["action"] == "session.sealed"]
    verdict = verify(bundle["session"]["events"], seals)
    print(json.dumps(verdict))
    return 0 if verdict["valid"] else 2


if __name__ == "__main__":
    sys.exit(main())
