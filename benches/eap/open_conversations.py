#!/usr/bin/env python3
"""Memory per open EAP conversation, the same way for any RADIUS server.

Opens N PEAP conversations over loopback and leaves each one where a server
holds the most state: the peer's ClientHello sent, the server's TLS flight
(or its first fragment) received, no answer. Reads the server's resident
memory (VmRSS from /proc/PID/status) before and after and prints the
difference per conversation. Bounded: N is at most 20000 and the run stops
after --timeout seconds. Standard library only (ssl with memory BIOs).

    open_conversations.py --server 127.0.0.1:1812 --secret S --pid PID [-n 2000]
"""
import argparse
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import time

EAP_MESSAGE, STATE, MSG_AUTH = 79, 24, 80


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def attr(t, v):
    out = b""
    chunks = [v[i:i + 253] for i in range(0, len(v), 253)] or [b""]
    for c in chunks:
        out += bytes([t, len(c) + 2]) + c
    return out


def access_request(rid, secret, attrs):
    auth = os.urandom(16)
    body = attrs + bytes([MSG_AUTH, 18]) + bytes(16)
    pkt = bytes([1, rid]) + struct.pack(">H", 20 + len(body)) + auth + body
    mac = hmac.new(secret, pkt, hashlib.md5).digest()
    return pkt[:-16] + mac


def attributes(pkt):
    i, out = 20, []
    while i + 2 <= len(pkt):
        t, l = pkt[i], pkt[i + 1]
        if l < 2:
            break
        out.append((t, pkt[i + 2:i + l]))
        i += l
    return out


def eap_response(eid, typ, data):
    return bytes([2, eid]) + struct.pack(">H", 5 + len(data)) + bytes([typ]) + data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    n = max(1, min(a.n, 20000))
    host, port = a.server.rsplit(":", 1)
    secret = a.secret.encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2.0)
    dest = (host, int(port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    deadline = time.monotonic() + a.timeout
    time.sleep(0.5)
    before = rss_kib(a.pid)
    held, rid = [], 0

    def exchange(attrs):
        nonlocal rid
        rid = (rid + 1) % 256
        sock.sendto(access_request(rid, secret, attrs), dest)
        while True:
            data, _ = sock.recvfrom(4096)
            if data[1] == rid:
                return data

    opened = 0
    for i in range(n):
        if time.monotonic() > deadline:
            break
        mac = "02-00-%02X-%02X-%02X-%02X" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
        base = attr(1, b"anonymous") + attr(31, mac.encode())
        try:
            r = exchange(base + attr(EAP_MESSAGE, eap_response(1, 1, b"anonymous")))
            attrs = attributes(r)
            state = next(v for t, v in attrs if t == STATE)
            eap = b"".join(v for t, v in attrs if t == EAP_MESSAGE)
            if r[0] != 11 or eap[4] != 25:
                print(f"conversation {i}: no PEAP start (code {r[0]})", file=sys.stderr)
                break
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = ctx.wrap_bio(incoming, outgoing, server_side=False)
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            hello = outgoing.read()
            r = exchange(base + attr(STATE, state) + attr(EAP_MESSAGE, eap_response(eap[1], 25, b"\x00" + hello)))
            if r[0] != 11:
                print(f"conversation {i}: no challenge after ClientHello (code {r[0]})", file=sys.stderr)
                break
            held.append(tls)
            opened += 1
        except (socket.timeout, StopIteration, IndexError) as e:
            print(f"conversation {i}: {e!r}", file=sys.stderr)
            break
    time.sleep(0.5)
    after = rss_kib(a.pid)
    per = (after - before) * 1024 / max(opened, 1)
    print(f"opened={opened} rss_before_kib={before} rss_after_kib={after} bytes_per_conversation={per:.0f}")


if __name__ == "__main__":
    main()
