#!/usr/bin/env python3
"""A small iSCSI target for tests that misbehaves on purpose.

It serves one 16 MiB LUN (LUN 0) from memory with enough SCSI for libiscsi's
discovery and netublk's data path (REPORT LUNS, INQUIRY, READ CAPACITY 16,
MODE SENSE 6, READ/WRITE 16, SYNCHRONIZE CACHE 16), with R2T for writes
beyond the immediate data. With --mode it breaks the protocol once on each
of the first --bad-conns connections, after --after commands: the
initiator must drop the connection, log in again and resend, never crash
and never complete I/O with wrong data. Data survives across connections.

    hostile_target.py --port N --mode MODE [--after K] [--bad-conns C]
"""
import argparse
import socket
import struct
import threading
import time

LUN_SIZE = 16 << 20
BS = 512
store = bytearray(LUN_SIZE)
lock = threading.Lock()
conn_count = 0

MODES = ["none", "bad-opcode", "oversized", "unknown-itt", "beyond-buffer",
         "bad-header-digest", "truncated", "short-data-in", "bad-r2t", "data-no-status-final",
         "ignore-cmd", "ignore-abort", "ignore-tmf", "split-digest"]
# Modes that sit on one command: ignore-cmd answers ABORT TASK, ignore-abort
# only LUN RESET, ignore-tmf no task management at all.
SIT_MODES = ("ignore-cmd", "ignore-abort", "ignore-tmf")
# Modes that break nothing: the initiator must not even reconnect.
HONEST_MODES = ("none", "split-digest")


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data, crc=0xFFFFFFFF):
    t = CRC32C_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def send_split(sock, out, cut):
    """Sends out in two writes, the first one ending cut bytes before its end:
    an honest target does this by TCP segmentation alone."""
    sock.sendall(out[:-cut])
    time.sleep(0.005)
    sock.sendall(out[-cut:])
    print("split %d" % len(out), flush=True)


def recv_all(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def pad4(n):
    return (4 - n % 4) % 4


class Conn:
    def __init__(self, sock, args, bad):
        self.s = sock
        self.args = args
        self.bad = bad
        self.statsn = 1
        self.expcmdsn = 1
        self.hdigest = False
        self.ddigest = False
        self.cmds = 0

    def send_pdu(self, bhs, data=b""):
        bhs = bytearray(bhs)
        bhs[5:8] = len(data).to_bytes(3, "big")
        out = bytes(bhs)
        if self.hdigest:
            out += struct.pack("<I", crc32c(bhs))
        payload = data + b"\0" * pad4(len(data))
        out += payload
        if self.ddigest and data:
            out += struct.pack("<I", crc32c(payload))
        if self.ddigest and len(data) >= 16384 and self.args.mode == "split-digest":
            # All of the data and part of the padding and digest first: the
            # initiator's receive ends inside the trailer.
            send_split(self.s, out, 2)
        else:
            self.s.sendall(out)

    def read_pdu(self):
        bhs = recv_all(self.s, 48)
        if self.hdigest:
            recv_all(self.s, 4)
        dlen = int.from_bytes(bhs[5:8], "big")
        data = recv_all(self.s, dlen + pad4(dlen))[:dlen] if dlen else b""
        if dlen and self.ddigest:
            recv_all(self.s, 4)
        return bhs, data

    def sn_fields(self, bhs, off=24):
        struct.pack_into(">III", bhs, off, self.statsn, self.expcmdsn, self.expcmdsn + 64)

    def login(self):
        while True:
            bhs, data = self.read_pdu()
            if bhs[0] & 0x3F != 0x03:
                raise ConnectionError("expected login")
            keys = dict(kv.split("=", 1) for kv in data.decode().split("\0") if "=" in kv)
            csg = (bhs[1] >> 2) & 3
            self.expcmdsn = struct.unpack(">I", bhs[24:28])[0]
            if csg == 0:
                text, nsg = "AuthMethod=None", 1
            else:
                hd = "CRC32C" if "CRC32C" in keys.get("HeaderDigest", "") and \
                    self.args.mode == "bad-header-digest" else "None"
                dd = "CRC32C" if "CRC32C" in keys.get("DataDigest", "") and \
                    self.args.mode == "split-digest" else "None"
                text = ("HeaderDigest=%s\0DataDigest=%s\0MaxRecvDataSegmentLength=65536\0"
                        "MaxBurstLength=262144\0FirstBurstLength=65536\0ImmediateData=Yes\0"
                        "InitialR2T=Yes\0MaxOutstandingR2T=1\0ErrorRecoveryLevel=0\0"
                        "DefaultTime2Wait=0\0DefaultTime2Retain=0" % (hd, dd))
                nsg = 3
            rsp = bytearray(48)
            rsp[0] = 0x23
            rsp[1] = 0x80 | (csg << 2) | nsg
            rsp[8:14] = bhs[8:14]
            rsp[14:16] = b"\x00\x07"
            rsp[16:20] = bhs[16:20]
            self.sn_fields(rsp)
            self.statsn += 1
            self.send_pdu(rsp, (text + "\0").encode())
            if nsg == 3:
                self.hdigest = hd == "CRC32C"
                self.ddigest = dd == "CRC32C"
                return

    def scsi_rsp(self, itt, status=0, sense=b""):
        rsp = bytearray(48)
        rsp[0] = 0x21
        rsp[1] = 0x80
        rsp[3] = status
        rsp[16:20] = itt
        self.sn_fields(rsp)
        self.statsn += 1
        self.send_pdu(rsp, (struct.pack(">H", len(sense)) + sense) if sense else b"")

    def data_in(self, itt, data, offset=0, final_status=True, dlen_override=None):
        pdu = bytearray(48)
        pdu[0] = 0x25
        pdu[1] = 0x80 | (0x01 if final_status else 0)
        pdu[16:20] = itt
        pdu[20:24] = b"\xff\xff\xff\xff"
        self.sn_fields(pdu)
        struct.pack_into(">I", pdu, 40, offset)
        if final_status:
            self.statsn += 1
        self.send_pdu(pdu, data)

    def misbehave(self, itt, xfer):
        mode = self.args.mode
        bad = bytearray(48)
        if mode == "bad-opcode":
            bad[0] = 0x3A
            self.send_pdu(bad)
        elif mode == "oversized":
            bad[0] = 0x25
            bad[16:20] = itt
            bad[5:8] = (1 << 20).to_bytes(3, "big")  # header only: claims 1 MiB
            self.s.sendall(bytes(bad))
        elif mode == "unknown-itt":
            self.data_in(b"\x7e\xad\xbe\xef", b"\xaa" * 512)
        elif mode == "beyond-buffer":
            self.data_in(itt, b"\xbb" * 4096, offset=xfer)
        elif mode == "bad-header-digest":
            bad[0] = 0x25
            bad[16:20] = itt
            self.s.sendall(bytes(bad) + b"\0\0\0\0")
        elif mode == "truncated":
            self.s.sendall(b"\x25\x81\x00")
            self.s.shutdown(socket.SHUT_RDWR)
        elif mode == "short-data-in":
            # Status GOOD with half the data: must not complete the read.
            self.data_in(itt, b"\xcc" * (xfer // 2))
        elif mode == "bad-r2t":
            bad[0] = 0x31
            bad[1] = 0x80
            bad[16:20] = itt
            self.sn_fields(bad)
            struct.pack_into(">III", bad, 36, 0, xfer, 1 << 20)  # beyond the write
            self.send_pdu(bad)
        elif mode == "data-no-status-final":
            self.data_in(itt, b"\xdd" * 512, final_status=False)
            bad[0] = 0x25
            bad[1] = 0x01  # status without F
            bad[16:20] = itt
            self.sn_fields(bad)
            self.send_pdu(bad)
        raise ConnectionError("misbehaved")

    def serve(self):
        self.login()
        while True:
            bhs, data = self.read_pdu()
            op = bhs[0] & 0x3F
            if op == 0x00:  # NOP-Out
                if bhs[16:20] != b"\xff\xff\xff\xff":
                    rsp = bytearray(48)
                    rsp[0] = 0x20
                    rsp[1] = 0x80
                    rsp[16:20] = bhs[16:20]
                    rsp[20:24] = b"\xff\xff\xff\xff"
                    self.sn_fields(rsp)
                    self.statsn += 1
                    self.send_pdu(rsp)
                continue
            if op == 0x06:  # Logout
                rsp = bytearray(48)
                rsp[0] = 0x26
                rsp[1] = 0x80
                rsp[16:20] = bhs[16:20]
                self.sn_fields(rsp)
                self.send_pdu(rsp)
                return
            if op == 0x02:  # Task Management: answer "function complete"
                function = bhs[1] & 0x7F
                if self.bad and (self.args.mode == "ignore-tmf" or
                                 (self.args.mode == "ignore-abort" and function == 1)):
                    continue
                rsp = bytearray(48)
                rsp[0] = 0x22
                rsp[1] = 0x80
                rsp[2] = 0
                rsp[16:20] = bhs[16:20]
                self.sn_fields(rsp)
                self.statsn += 1
                self.send_pdu(rsp)
                continue
            if op != 0x01:
                continue
            self.expcmdsn += 1
            self.handle_cmd(bhs, data)

    def handle_cmd(self, bhs, data):
        itt = bytes(bhs[16:20])
        xfer = struct.unpack(">I", bhs[20:24])[0]
        cdb = bytes(bhs[32:48])
        op = cdb[0]
        if op in (0x88, 0x8A):
            self.cmds += 1
            if self.bad and self.args.mode in SIT_MODES and self.cmds == self.args.after:
                return  # sit on this command: only an ABORT TASK gets it going again
            if self.bad and self.cmds == self.args.after and self.args.mode not in SIT_MODES and \
                    (op == 0x88 or self.args.mode == "bad-r2t") and \
                    self.args.mode not in HONEST_MODES:
                if self.args.mode != "bad-r2t" or op == 0x8A:
                    self.misbehave(itt, xfer)
            if self.bad and self.cmds == self.args.after and \
                    self.args.mode not in HONEST_MODES + SIT_MODES:
                self.cmds -= 1  # try again on the next read/write
        if op == 0xA0:  # REPORT LUNS
            body = struct.pack(">II", 8, 0) + b"\0" * 8
            self.data_in(itt, body[:xfer])
        elif op == 0x12:  # INQUIRY
            evpd, page = cdb[1] & 1, cdb[2]
            if not evpd:
                d = bytearray(36)
                d[2], d[3], d[4] = 5, 2, 31
                d[8:16] = b"NETUBLK "
                d[16:32] = b"HOSTILE TARGET  "
                d[32:36] = b"0001"
            elif page == 0x00:
                d = bytes([0, 0, 0, 3, 0x00, 0x83, 0xB0])
            elif page == 0x83:
                desig = bytes([0x01, 0x03, 0x00, 0x08]) + bytes.fromhex("6001405deadbeef0")
                d = bytes([0, 0x83, 0, len(desig)]) + desig
            elif page == 0xB0:
                d = bytearray(64)
                d[1], d[3] = 0xB0, 60
                struct.pack_into(">I", d, 8, 2048)  # max transfer: 1 MiB
            else:
                self.scsi_rsp(itt, 2, bytes([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0]))
                return
            self.data_in(itt, bytes(d)[:xfer])
        elif op == 0x9E:  # READ CAPACITY 16
            d = struct.pack(">QI", LUN_SIZE // BS - 1, BS) + b"\0" * 20
            self.data_in(itt, d[:xfer])
        elif op == 0x1A:  # MODE SENSE 6
            d = bytes([3, 0, 0, 0])
            self.data_in(itt, d[:xfer])
        elif op == 0x00 or op == 0x91:
            self.scsi_rsp(itt)
        elif op == 0x88:
            lba, n = struct.unpack(">QI", cdb[2:14])
            with lock:
                chunk = bytes(store[lba * BS:(lba + n) * BS])
            off = 0
            # Data-In PDUs of at most 64 KiB; 16 KiB when cut inside the digest,
            # so that the initiator's buffered receive holds all of one.
            most = 16384 if self.args.mode == "split-digest" else 65536
            while off < len(chunk):
                piece = chunk[off:off + most]
                last = off + len(piece) == len(chunk)
                self.data_in(itt, piece, offset=off, final_status=last)
                off += len(piece)
        elif op == 0x8A:
            lba, n = struct.unpack(">QI", cdb[2:14])
            buf = bytearray(data)
            r2tsn = 0
            while len(buf) < xfer:
                want = min(xfer - len(buf), 262144)
                r2t = bytearray(48)
                r2t[0] = 0x31
                r2t[1] = 0x80
                r2t[16:20] = itt
                r2t[20:24] = struct.pack(">I", 0x1000 + r2tsn)
                self.sn_fields(r2t)
                struct.pack_into(">III", r2t, 36, r2tsn, len(buf), want)
                r2tsn += 1
                self.send_pdu(r2t)
                got = 0
                while got < want:
                    dbhs, ddata = self.read_pdu()
                    if dbhs[0] & 0x3F != 0x05:
                        raise ConnectionError("expected Data-Out")
                    off = struct.unpack(">I", dbhs[40:44])[0]
                    if off != len(buf):
                        raise ConnectionError("Data-Out out of order")
                    buf += ddata
                    got += len(ddata)
            with lock:
                store[lba * BS:lba * BS + xfer] = buf[:xfer]
            self.scsi_rsp(itt)
        else:
            self.scsi_rsp(itt, 2, bytes([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0]))


def client(sock, args):
    global conn_count
    with lock:
        conn_count += 1
        n = conn_count
    # Connection 1 is libiscsi's discovery login: never break that one.
    bad = 2 <= n <= 1 + args.bad_conns
    try:
        Conn(sock, args, bad).serve()
    except (ConnectionError, OSError):
        pass
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=MODES, default="none")
    ap.add_argument("--after", type=int, default=20)
    ap.add_argument("--bad-conns", type=int, default=2)
    args = ap.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    print("listening", flush=True)
    while True:
        s, _ = srv.accept()
        threading.Thread(target=client, args=(s, args), daemon=True).start()


if __name__ == "__main__":
    main()
