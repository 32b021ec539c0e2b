"""RFC 8785 JSON Canonicalization Scheme, for the verification scripts in this directory.

Written from the RFC, independent of breakglass's code: object keys sorted by their UTF-16 code
units (not by code points: U+E000.. sorts before astral characters), no whitespace, strings as
ECMAScript's JSON.stringify writes them, numbers in ECMAScript's shortest round-trip form.
"""
import json
import math


def canon(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        # json.dumps escapes exactly what JSON.stringify does (", \\, \b \f \n \r \t, other C0 as \u00xx).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return number(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canon(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(key, ensure_ascii=False) + ":" + canon(value[key]) for key in keys) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def number(value):
    """ECMAScript Number::toString: Python's repr gives the same shortest digits, the layout differs."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and Infinity are not JSON")
    if value == 0:
        return "0"
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(float(value))).partition("e")
    whole, _, fraction = mantissa.partition(".")
    every = whole + fraction
    # n: where the decimal point sits after the first significant digit's run (ECMAScript's n).
    n = len(whole) + int(exponent or 0) - (len(every) - len(every.lstrip("0")))
    digits = every.strip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    tail = ("." + digits[1:]) if k > 1 else ""
    return sign + digits[0] + tail + "e" + ("+" if e > 0 else "-") + str(abs(e))
