#!/usr/bin/env python3
"""A small NVMe/TCP target for tests that misbehaves on purpose.

It serves one subsystem with one 16 MiB namespace (512-byte blocks) from
memory: ICReq, Fabrics Connect, Property Get/Set, Identify (controller,
namespace, active list, descriptors), Set Features, Keep Alive,
Asynchronous Event Requests (held), Get Log Page, Abort; Read (C2HData
with SUCCESS, split in two), Write (in-capsule up to 8 KiB, R2T beyond,
H2CData in chunks of at most MAXH2CDATA), Flush, Dataset Management and
Write Zeroes; DH-HMAC-CHAP on every queue with --dhchap-key (computed by
dhchap.py, independently of netublk). With --mode it breaks the protocol once on each of the first
--bad-conns I/O connections, after --after commands: the initiator must
tear the connection down, reconnect and resend, never crash and never
complete I/O with wrong data. Data survives across connections.

    hostile_nvmet.py --port N --mode MODE [--after K] [--bad-conns C]
        [--dhchap-key K [--dhchap-ctrl-key K] [--dhchap-hash ID] [--dhchap-group ID]]

The auth-* modes break DH-HMAC-CHAP instead, on every queue: the host
must refuse, say why, and never crash; except auth-expire, which asks the
bad I/O connections to authenticate again (status Authentication Required).
"""
import argparse
import os
import secrets
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_target import crc32c, recv_all, send_split  # noqa: E402  (the iSCSI one's helpers)
import dhchap  # noqa: E402

NS_SIZE = 16 << 20
BS = 512
MAXH2CDATA = 16384
INCAPSULE = 8192
store = bytearray(NS_SIZE)
lock = threading.Lock()
state = {"io_conns": 0, "cntlid": 0, "silent": False}
held = {}  # (sqid, cid) -> Conn: commands the target sits on (ignore-cmd)

MODES = ["none", "wrong-type", "oversized", "unknown-cid", "beyond-buffer",
         "bad-header-digest", "bad-data-digest", "truncated", "short-read", "bad-r2t",
         "c2h-term", "ignore-cmd", "silent", "die", "split-digest", "seq-error",
         "auth-bad-ctrl-resp", "auth-no-ctrl-resp", "auth-wrong-tid", "auth-bad-dh",
         "auth-long-dh", "auth-skip-challenge", "auth-garbage", "auth-s1-hl", "auth-expire"]

SUBNQN = "nqn.2026-11.org.netublk:hostile"
NGUID = bytes(range(1, 17))


def id_ctrl():
    b = bytearray(4096)
    struct.pack_into("<H", b, 0, 0x1b36)
    b[4:24] = b"HOSTILE0001".ljust(20)
    b[24:64] = b"netublk hostile target".ljust(40)
    b[77] = 0  # MDTS: no limit
    struct.pack_into("<H", b, 78, state["cntlid"])
    struct.pack_into("<I", b, 80, 0x10400)  # NVMe 1.4
    struct.pack_into("<I", b, 92, 1 << 8)  # OAES: namespace attribute notices
    struct.pack_into("<H", b, 320, 50)  # KAS: 100 ms units
    struct.pack_into("<H", b, 520, (1 << 2) | (1 << 3))  # ONCS: DSM, Write Zeroes
    b[525] = 1  # VWC
    struct.pack_into("<I", b, 1792, (64 + INCAPSULE) // 16)  # IOCCSZ
    struct.pack_into("<I", b, 1796, 1)  # IORCSZ
    b[768:768 + len(SUBNQN)] = SUBNQN.encode()
    return bytes(b)


def id_ns():
    b = bytearray(4096)
    n = NS_SIZE // BS
    struct.pack_into("<QQQ", b, 0, n, n, n)
    b[25] = 0  # NLBAF: one format
    b[26] = 0  # FLBAS: format 0
    b[104:120] = NGUID
    struct.pack_into("<HBB", b, 128, 0, 9, 0)  # LBAF0: no metadata, 512 bytes
    return bytes(b)


def ns_desc():
    return bytes([2, 16, 0, 0]) + NGUID + bytes(4096 - 20)


class Conn:
    def __init__(self, sock, args):
        self.s = sock
        self.args = args
        self.hd = self.dd = False
        self.qid = None
        self.cmds = 0
        self.bad = False
        self.tripped = False
        self.bad_assoc = False
        self.wlock = threading.Lock()
        self.authed = False
        self.auth_out = b""  # what the next Authentication Receive returns

    # ---- sending
    def send(self, ptype, flags, hdr_rest, data=b"", corrupt_hd=False, corrupt_dd=False,
             plen_override=None):
        hlen = 8 + len(hdr_rest)
        hd = 4 if self.hd and ptype != 0x03 else 0
        dd = 4 if self.dd and data and ptype != 0x03 else 0
        pdo = hlen + hd if data and ptype != 0x03 else 0
        plen = hlen + hd + len(data) + dd
        if hd:
            flags |= 1
        if dd:
            flags |= 2
        ch = struct.pack("<BBBBI", ptype, flags, hlen, pdo,
                         plen if plen_override is None else plen_override)
        hdr = ch + hdr_rest
        out = hdr
        if hd:
            out += struct.pack("<I", crc32c(hdr) ^ (1 if corrupt_hd else 0))
        out += data
        if dd:
            out += struct.pack("<I", crc32c(data) ^ (1 if corrupt_dd else 0))
        with self.wlock:
            if dd and len(data) >= 16384 and self.args.mode == "split-digest":
                send_split(self.s, out, 2)  # the receive ends inside the data digest
            else:
                self.s.sendall(out)

    def respond(self, cid, status=0, dw0=0, **kw):
        cqe = struct.pack("<IIHHHH", dw0, 0, 0, self.qid or 0, cid, status << 1)
        self.send(0x05, 0, cqe, **kw)

    def c2h(self, cid, off, data, last, success):
        flags = (4 if last else 0) | (8 if success else 0)
        rest = struct.pack("<HHIII", cid, 0, off, len(data), 0)
        self.send(0x07, flags, rest, data)

    # ---- receiving
    def read_pdu(self):
        ch = recv_all(self.s, 8)
        ptype, flags, hlen, pdo, plen = struct.unpack("<BBBBI", ch)
        rest = recv_all(self.s, hlen - 8)
        got = hlen
        if flags & 1:
            recv_all(self.s, 4)
            got += 4
        data = b""
        if plen > got:
            if pdo > got:
                recv_all(self.s, pdo - got)
                got = pdo
            data = recv_all(self.s, plen - got)
            if flags & 2:
                data = data[:-4]
        return ptype, flags, ch + rest, data

    # ---- the misbehaviour, once per bad connection
    def trip(self):
        if not self.bad or self.tripped or self.qid == 0:
            return None
        self.cmds += 1
        if self.cmds < self.args.after:
            return None
        self.tripped = True
        return self.args.mode

    def serve(self):
        ptype, _, hdr, _ = self.read_pdu()
        if ptype != 0x00:
            return
        dgst = hdr[11]
        self.hd, self.dd = bool(dgst & 1), bool(dgst & 2)
        icresp = struct.pack("<HBBI", 0, 0, dgst, MAXH2CDATA) + bytes(112)
        self.s.sendall(struct.pack("<BBBBI", 0x01, 0, 128, 0, 128) + icresp)
        pending_writes = {}  # cid -> [slba_bytes, length, received]
        while True:
            ptype, flags, hdr, data = self.read_pdu()
            if state["silent"] and self.bad_assoc:
                continue  # a target that stopped answering (and never says so)
            if ptype == 0x04:
                self.command(hdr[8:72], data, pending_writes)
            elif ptype == 0x06:
                cid, ttag, off, length = struct.unpack_from("<HHII", hdr, 8)
                w = pending_writes.get(cid)
                if w is None:
                    return
                with lock:
                    store[w[0] + off:w[0] + off + len(data)] = data
                w[2] += len(data)
                if w[2] >= w[1]:
                    del pending_writes[cid]
                    self.respond(cid)
            else:
                return

    def command(self, sqe, data, pending_writes):
        opcode = sqe[0]
        cid, nsid = struct.unpack_from("<HI", sqe, 2)
        cdw = struct.unpack_from("<6I", sqe, 40)
        if opcode == 0x7F:
            return self.fabrics(sqe, cid, data)
        if self.args.dhchap_key and not self.authed:
            return self.respond(cid, status=0x191)  # Authentication Required
        if self.qid == 0:
            return self.admin(opcode, cid, nsid, cdw)
        # Each way of misbehaving waits for a command it applies to.
        needs = {"beyond-buffer": opcode == 0x02, "short-read": opcode == 0x02,
                 "bad-data-digest": opcode == 0x02,
                 "bad-r2t": opcode == 0x01 and sqe[39] != 0x01}
        mode = self.trip() if needs.get(self.args.mode, True) else None
        slba = cdw[0] | cdw[1] << 32
        nlb = (cdw[2] & 0xFFFF) + 1
        off, length = slba * BS, nlb * BS
        if mode == "seq-error":  # as nvmet, between its controller's failure and teardown
            return self.respond(cid, status=0x400C)  # Command Sequence Error, DNR
        if mode == "auth-expire":  # from now on this queue needs authenticating again
            self.authed = False
            return self.respond(cid, status=0x191)
        if mode == "ignore-cmd":
            held[(self.qid, cid)] = self
            return
        if mode == "silent":
            state["silent"] = True
            return
        if mode == "die":  # the target is gone for good: every connection, the listener
            os._exit(0)
        if mode in ("wrong-type", "oversized", "unknown-cid", "truncated", "c2h-term"):
            if mode == "wrong-type":
                self.send(0x04, 0, bytes(64))
            elif mode == "oversized":
                self.respond(cid, plen_override=0x7FFFFFF0)
            elif mode == "unknown-cid":
                self.respond(cid ^ 0x5555)
            elif mode == "truncated":
                self.s.sendall(struct.pack("<BBBBI", 0x05, 0, 24, 0, 24) + bytes(6))
                self.s.shutdown(socket.SHUT_WR)
            else:
                self.send(0x03, 0, struct.pack("<HI", 1, 0) + bytes(10))
            return
        if opcode == 0x02:  # read
            if off + length > NS_SIZE:
                return self.respond(cid, status=0x80)
            with lock:
                buf = bytes(store[off:off + length])
            if mode == "beyond-buffer":
                return self.c2h(cid, 0, buf + bytes(BS), True, True)
            if mode == "short-read":
                return self.c2h(cid, 0, buf[:length // 2] if length > BS else buf[:BS // 2],
                                True, True)
            if mode == "bad-data-digest":
                flags = 4 | 8
                rest = struct.pack("<HHIII", cid, 0, 0, len(buf), 0)
                return self.send(0x07, flags, rest, buf, corrupt_dd=True)
            if mode == "bad-header-digest":
                rest = struct.pack("<HHIII", cid, 0, 0, len(buf), 0)
                return self.send(0x07, 4 | 8, rest, buf, corrupt_hd=True)
            half = (length // 2) // BS * BS
            if half:
                self.c2h(cid, 0, buf[:half], False, False)
            return self.c2h(cid, half, buf[half:], True, True)
        if opcode == 0x01:  # write
            if off + length > NS_SIZE:
                return self.respond(cid, status=0x80)
            if sqe[39] == 0x01:  # in-capsule data
                with lock:
                    store[off:off + len(data)] = data
                return self.respond(cid, corrupt_hd=mode == "bad-header-digest")
            pending_writes[cid] = [off, length, 0]
            r2tl = length + BS if mode == "bad-r2t" else length
            rest = struct.pack("<HHIII", cid, cid, 0, r2tl, 0)
            return self.send(0x09, 0, rest)
        if opcode == 0x08:  # write zeroes
            with lock:
                store[off:off + length] = bytes(length)
            return self.respond(cid)
        if opcode in (0x00, 0x09):  # flush, dataset management
            return self.respond(cid)
        return self.respond(cid, status=0x01)  # invalid opcode

    def fabrics(self, sqe, cid, data):
        fctype = sqe[4]
        if fctype == 0x01:  # connect
            self.qid = struct.unpack_from("<H", sqe, 42)[0]
            if self.qid == 0:
                with lock:
                    state["cntlid"] += 1
                    state["silent"] = False
            else:
                with lock:
                    state["io_conns"] += 1
                    self.bad = state["io_conns"] <= self.args.bad_conns
            self.bad_assoc = True
            self.hostnqn = data[512:768].rstrip(b"\0").decode()
            self.subnqn = data[256:512].rstrip(b"\0").decode()
            atr = 1 << 17 if self.args.dhchap_key else 0
            return self.respond(cid, dw0=state["cntlid"] | atr)
        if fctype in (0x05, 0x06) and tuple(sqe[41:44]) != (1, 1, 0xE9):
            return self.respond(cid, status=0x002)  # SPSP0, SPSP1, SECP as nvmet checks them
        if fctype == 0x05:  # authentication send
            self.auth_send(data)
            return self.respond(cid)
        if fctype == 0x06:  # authentication receive
            al = struct.unpack_from("<I", sqe, 44)[0]
            out, self.auth_out = self.auth_out, b""
            return self.c2h(cid, 0, (out + bytes(al))[:al], True, True)
        if fctype == 0x04:  # property get
            offset = struct.unpack_from("<I", sqe, 44)[0]
            if offset == 0x00:  # CAP: MQES 127, CQR, TO 1 (500 ms)
                v = 127 | 1 << 16 | 1 << 24
            elif offset == 0x1C:  # CSTS: ready
                v = 1
            else:
                v = 0
            return self.respond(cid, dw0=v & 0xFFFFFFFF)
        return self.respond(cid)  # property set and anything else: fine

    # ---- DH-HMAC-CHAP, the controller's side
    def auth_send(self, d):
        a = self.args
        mode = a.mode
        if d[0] == 0 and d[1] == 0:  # negotiate
            self.tid = struct.unpack_from("<H", d, 4)[0]
            hashes, groups = d[12:12 + d[10]], d[42:42 + d[11]]
            if a.dhchap_hash not in hashes or a.dhchap_group not in groups:
                self.auth_out = self.failure1(4 if a.dhchap_hash not in hashes else 5)
                return
            h, g = a.dhchap_hash, a.dhchap_group
            hl = 16 + 16 * h
            self.c1, self.s1 = secrets.token_bytes(hl), secrets.randbits(32)
            self.priv = secrets.randbits(512)
            dhv = dhchap.dh_public(g, self.priv) if g else b""
            if mode == "auth-bad-dh":
                dhv = bytes(len(dhv) - 1) + b"\1"
            dl = len(dhv) + (8 if mode == "auth-long-dh" else 0)
            tid = self.tid ^ 1 if mode == "auth-wrong-tid" else self.tid
            self.auth_out = struct.pack("<BBHHBBBBHI", 1, 1, 0, tid, hl, 0, h, g, dl,
                                        self.s1) + self.c1 + dhv
            if mode == "auth-skip-challenge":
                self.auth_out = struct.pack("<BBHHBBB7x", 1, 3, 0, self.tid, hl, 0, 0)
            if mode == "auth-garbage":
                self.auth_out = secrets.token_bytes(40)
        elif d[0] == 1 and d[1] == 2:  # reply
            h, g, hl = a.dhchap_hash, a.dhchap_group, d[6]
            cvalid, dl = d[8], struct.unpack_from("<H", d, 10)[0]
            s2 = struct.unpack_from("<I", d, 12)[0]
            rval, c2 = d[16:16 + hl], d[16 + hl:16 + 2 * hl]
            sess = dhchap.dh_shared(g, self.priv, d[16 + 2 * hl:16 + 2 * hl + dl]) if g else b""
            aug = (lambda c: dhchap.augment(h, sess, c)) if g else (lambda c: c)
            key, kh = dhchap.key_parse(a.dhchap_key)
            want = dhchap.response(h, dhchap.transform(key, kh, self.hostnqn), aug(self.c1),
                                   self.s1, self.tid, self.hostnqn, self.subnqn, False)
            if rval != want:
                print("auth qid %d: host response mismatch" % self.qid, flush=True)
                self.auth_out = self.failure1(1)
                return
            rv = b""
            if cvalid and a.dhchap_ctrl_key and mode != "auth-no-ctrl-resp":
                ck, ckh = dhchap.key_parse(a.dhchap_ctrl_key)
                rv = dhchap.response(h, dhchap.transform(ck, ckh, self.subnqn), aug(c2), s2,
                                     self.tid, self.hostnqn, self.subnqn, True)
                if mode == "auth-bad-ctrl-resp":
                    rv = bytes([rv[0] ^ 1]) + rv[1:]
            s1_hl = (80 - hl if hl != 64 else 32) if mode == "auth-s1-hl" else hl
            self.auth_out = struct.pack("<BBHHBBB7x", 1, 3, 0, self.tid, s1_hl, 0,
                                        1 if rv else 0) + rv
            if not cvalid:
                self.auth_done(h, g, False)
        elif d[0] == 1 and d[1] == 4:  # success2
            self.auth_done(a.dhchap_hash, a.dhchap_group, True)
        elif d[0] == 0 and d[1] == 0xF0:  # failure2
            print("auth qid %d: host sent failure2, reason %d" % (self.qid, d[7]), flush=True)

    def auth_done(self, h, g, bidi):
        self.authed = True
        print("auth qid %d: authenticated %s group %d %s" % (
            self.qid, dhchap.HASHES[h], g, "bidirectional" if bidi else "unidirectional"),
            flush=True)

    def failure1(self, why):
        return struct.pack("<BBHHBB", 0, 0xF1, 0, self.tid, 1, why)

    def admin(self, opcode, cid, nsid, cdw):
        if opcode == 0x06:  # identify
            cns = cdw[0] & 0xFF
            if cns == 0x01:
                buf = id_ctrl()
            elif cns == 0x00:
                buf = id_ns() if nsid == 1 else bytes(4096)
            elif cns == 0x02:
                buf = struct.pack("<I", 1) + bytes(4092)
            elif cns == 0x03:
                buf = ns_desc()
            else:
                return self.respond(cid, status=0x02)
            return self.c2h(cid, 0, buf, True, True)
        if opcode == 0x09:  # set features
            if cdw[0] & 0xFF == 0x07:
                return self.respond(cid, dw0=cdw[1])
            return self.respond(cid)
        if opcode == 0x0C:  # asynchronous event request: held
            return None
        if opcode == 0x02:  # get log page
            numd = ((cdw[0] >> 16) | (cdw[1] & 0xFFFF) << 16) + 1
            return self.c2h(cid, 0, bytes(numd * 4), True, True)
        if opcode == 0x08:  # abort: complete the held command as aborted
            key = (cdw[0] & 0xFFFF, cdw[0] >> 16)
            victim = held.pop(key, None)
            if victim:
                victim.respond(key[1], status=0x07)  # Command Abort Requested
            return self.respond(cid, dw0=0 if victim else 1)
        return self.respond(cid)  # keep alive and the rest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=MODES, default="none")
    ap.add_argument("--after", type=int, default=20)
    ap.add_argument("--bad-conns", type=int, default=2)
    ap.add_argument("--dhchap-key")
    ap.add_argument("--dhchap-ctrl-key")
    ap.add_argument("--dhchap-hash", type=int, default=1)
    ap.add_argument("--dhchap-group", type=int, default=0)
    args = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)

    def run(c):
        try:
            c.serve()
        except (ConnectionError, OSError):
            pass
        finally:
            c.s.close()

    while True:
        sock, _ = srv.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=run, args=(Conn(sock, args),), daemon=True).start()


if __name__ == "__main__":
    main()
