#!/usr/bin/env python3
"""DH-HMAC-CHAP computed with nothing but Python's hashlib, hmac and pow():
an implementation independent of netublk's (which uses openssl), for the
controller side of hostile_nvmet.py and for the known-answer vectors of
test/unit/test_dhchap.c (`dhchap.py vectors` prints them).

The FFDHE primes are computed from their definition in RFC 7919 (the
digits of e), not copied: p = 2^b - 2^(b-64) + (floor(2^(b-130) e) + X) 2^64 - 1.
"""
import base64
import hashlib
import hmac
import struct
import sys
import zlib

HASHES = {1: "sha256", 2: "sha384", 3: "sha512"}
GROUP_BITS = {1: 2048, 2: 3072, 3: 4096, 4: 6144, 5: 8192}
_X = {2048: 560316, 3072: 2625351, 4096: 5736041, 6144: 15705020, 8192: 10965728}
_primes = {}


def _e_fixed(bits):
    """floor(e * 2^bits), by the series of 1/k!."""
    scale = 1 << (bits + 64)
    total, term, k = 0, scale, 0
    while term:
        total += term
        k += 1
        term //= k
    return total >> 64


def prime(group):
    b = GROUP_BITS[group]
    if b not in _primes:
        _primes[b] = 2**b - 2**(b - 64) + (_e_fixed(b - 130) + _X[b]) * 2**64 - 1
    return _primes[b]


def dh_len(group):
    return GROUP_BITS[group] // 8 if group else 0


def key_parse(s):
    """'DHHC-1:0H:<base64>:' -> (key bytes, transformation hash id)."""
    assert s.startswith("DHHC-1:") and s[9] == ":"
    raw = base64.b64decode(s[10:].rstrip(":"))
    key, crc = raw[:-4], struct.unpack("<I", raw[-4:])[0]
    assert len(key) in (32, 48, 64) and zlib.crc32(key) == crc, "bad DHHC-1 secret"
    return key, int(s[7:9])


def key_format(key, hash_id):
    raw = key + struct.pack("<I", zlib.crc32(key))
    return "DHHC-1:%02d:%s:" % (hash_id, base64.b64encode(raw).decode())


def mac(hash_id, key, msg):
    return hmac.new(key, msg, HASHES[hash_id]).digest()


def transform(key, hash_id, nqn):
    if not hash_id:
        return key
    return mac(hash_id, key, nqn.encode() + b"NVMe-over-Fabrics")


def augment(hash_id, sess, chal):
    return mac(hash_id, hashlib.new(HASHES[hash_id], sess).digest(), chal)


def response(hash_id, key, chal, seq, tid, hostnqn, subnqn, ctrl):
    who, a, b = (b"Controller", subnqn, hostnqn) if ctrl else (b"HostHost", hostnqn, subnqn)
    msg = chal + struct.pack("<IHB", seq, tid, 0) + who + a.encode() + b"\0" + b.encode()
    return mac(hash_id, key, msg)


def dh_public(group, priv):
    return pow(2, priv, prime(group)).to_bytes(dh_len(group), "big")


def dh_shared(group, priv, peer):
    y = int.from_bytes(peer, "big")
    p = prime(group)
    if not 1 < y < p - 1:
        raise ValueError("bad DH value")
    return pow(y, priv, p).to_bytes(dh_len(group), "big")


def c_array(name, data):
    rows = [", ".join("0x%02x" % x for x in data[i:i + 12]) for i in range(0, len(data), 12)]
    return "static const uint8_t %s[%d] = {\n\t%s,\n};" % (name, len(data), ",\n\t".join(rows))


def vectors():
    """Fixed inputs and what they give, as C for test_dhchap.c."""
    hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001"
    subnqn = "nqn.2026-12.org.netublk:kat"
    out = ['#define KAT_HOSTNQN "%s"' % hostnqn, '#define KAT_SUBNQN "%s"' % subnqn]
    for hid in (1, 2, 3):
        n = 16 + 16 * hid
        key = bytes((7 * i + hid) & 0xFF for i in range(n))
        chal = bytes((13 * i + 5) & 0xFF for i in range(n))
        sess = bytes((3 * i + 1) & 0xFF for i in range(256))
        s = key_format(key, hid)
        kt = transform(key, hid, hostnqn)
        out.append('static const char kat_secret_%d[] = "%s";' % (hid, s))
        out.append(c_array("kat_key_%d" % hid, key))
        out.append(c_array("kat_chal_%d" % hid, chal))
        out.append(c_array("kat_transformed_%d" % hid, kt))
        out.append(c_array("kat_host_resp_%d" % hid,
                           response(hid, kt, chal, 0x12345678, 0x0102, hostnqn, subnqn, False)))
        out.append(c_array("kat_ctrl_resp_%d" % hid,
                           response(hid, key, chal, 0x9abcdef0, 0x0304, hostnqn, subnqn, True)))
        out.append(c_array("kat_sess_%d" % hid, sess))
        out.append(c_array("kat_augmented_%d" % hid, augment(hid, sess, chal)))
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1:] == ["vectors"]:
        print(vectors())
    elif sys.argv[1:2] == ["genkey"]:  # dhchap.py genkey HASH_ID [LEN]
        import os
        hid = int(sys.argv[2])
        print(key_format(os.urandom(int(sys.argv[3]) if len(sys.argv) > 3 else 32), hid))
    else:
        sys.exit("usage: dhchap.py vectors | genkey HASH_ID [KEY_LEN]")
