#!/usr/bin/env python3
"""An auditor's own check of breakglass checkpoints and proofs (docs/transparency.md), independent of
breakglass's code: standard library plus Debian's python3-cryptography for Ed25519.

  verify-checkpoint.py VKEY CHECKPOINT                          the note's signature
  verify-checkpoint.py VKEY CHECKPOINT inclusion PROOF LEAF_HEX  an inclusion proof (GET /v1/audit/proofs/inclusion)
  verify-checkpoint.py VKEY OLD NEW consistency PROOF            a consistency proof (GET /v1/audit/proofs/consistency)

VKEY is the text of GET /v1/audit/log-key, CHECKPOINT/OLD/NEW files holding notes, PROOF a file holding
the proof's JSON. Exit 0 when everything verifies, 2 otherwise (the reason on stderr).
"""
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

H = lambda *parts: hashlib.sha256(b"".join(parts)).digest()

def fail(why):
    print(f"INVALID: {why}", file=sys.stderr)
    sys.exit(2)

def checkpoint(vkey, note):
    """c2sp.org/signed-note + tlog-checkpoint: returns (origin, size, root) when a signature by vkey verifies."""
    name, key_id, key = vkey.strip().split("+", 2)
    raw = base64.b64decode(key)
    if raw[0] != 1 or H(name.encode() + b"\n" + raw)[:4].hex() != key_id:
        fail("the vkey's id does not match its name and key")
    body, _, signatures = note.partition("\n\n")
    body += "\n"
    for line in signatures.splitlines():
        dash, signer, sig = line.split(" ")
        sig = base64.b64decode(sig)
        if dash == "\u2014" and signer == name and sig[:4].hex() == key_id:
            try:
                Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], body.encode())
            except Exception:
                fail("the signature does not verify")
            origin, size, root = body.splitlines()[:3]
            return origin, int(size), base64.b64decode(root)
    fail(f"no signature by {name}")

def inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0: return False
        if fn % 2 == 1 or fn == sn:
            r = H(b"\x01", p, r)
            while fn % 2 == 0 and fn != 0: fn, sn = fn >> 1, sn >> 1
        else:
            r = H(b"\x01", r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root

def consistency(size1, size2, root1, root2, proof):
    """RFC 9162 2.1.4.2."""
    if size1 == size2: return not proof and root1 == root2
    if size1 & (size1 - 1) == 0: proof = [root1] + proof
    fn, sn = size1 - 1, size2 - 1
    while fn % 2 == 1: fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0: return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = H(b"\x01", c, fr), H(b"\x01", c, sr)
            while fn % 2 == 0 and fn != 0: fn, sn = fn >> 1, sn >> 1
        else:
            sr = H(b"\x01", sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2

read = lambda path: open(path, encoding="utf-8").read()
args = sys.argv[1:]
vkey, first = read(args[0]), checkpoint(read(args[0]), read(args[1]))
if len(args) == 5 and args[2] == "inclusion":
    p = json.loads(read(args[3]))
    if p["treeSize"] != first[1] or not inclusion(p["leafIndex"], p["treeSize"], bytes.fromhex(args[4]), [bytes.fromhex(h) for h in p["proof"]], first[2]):
        fail("the inclusion proof does not lead to the checkpoint's root")
elif len(args) == 5 and args[3] == "consistency":
    second, p = checkpoint(vkey, read(args[2])), json.loads(read(args[4]))
    if (p["from"], p["to"]) != (first[1], second[1]) or not consistency(first[1], second[1], first[2], second[2], [bytes.fromhex(h) for h in p["proof"]]):
        fail("the newer checkpoint does not extend the older one")
elif len(args) != 2:
    print(__doc__, file=sys.stderr)
    sys.exit(64)
print(f"OK: checkpoint of {first[1]} events of {first[0]}")
