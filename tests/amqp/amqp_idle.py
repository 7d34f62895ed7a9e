#!/usr/bin/env python3
"""AMQP idle timeouts of azkit-hub, seen by a raw AMQP 1.0 peer (plain sockets, frames built by
hand, so nothing here hides what the hub sends or when).

1. Heartbeats: the peer announces idle-time-out 2000 ms in its OPEN and then stays silent. The
   hub must keep the connection alive for it by sending a frame at least every 2000 ms (AMQP
   1.0 section 2.4.5; Proton sends an empty frame every half of the peer's timeout). Every gap
   between frames from the hub, its OPEN to its first empty frame included, must be shorter
   than the 2000 ms the peer announced, over 7 s.
2. `serve --amqp-idle-timeout 2`: the hub announces 1000 ms in its OPEN (Proton announces half
   of the time after which it closes, so that a peer's empty frames come in time); a peer that keeps
   sending empty frames every 500 ms stays connected for 5 s; once it goes silent, the hub
   closes the connection with amqp:resource-limit-exceeded.
3. `--amqp-idle-timeout 0`: the hub announces no idle timeout, and a silent peer stays.
4. Bad values of the option are refused with a usage error.

usage: amqp_idle.py --hub PATH/azkit-hub
"""
import argparse
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HEADER = b"AMQP\x00\x01\x00\x00"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def open_frame(idle_ms):
    """An OPEN performative on channel 0: container-id, hostname (null), max-frame-size,
    channel-max (null), idle-time-out (uint milliseconds, or null)."""
    cid = b"amqp-idle-test"
    fields = b"\xa1" + bytes([len(cid)]) + cid + b"\x40" + b"\x70" + struct.pack(">I", 65536)
    fields += b"\x40"
    fields += (b"\x70" + struct.pack(">I", idle_ms)) if idle_ms else b"\x40"
    body = b"\x00\x53\x10" + b"\xc0" + bytes([len(fields) + 1, 5]) + fields
    return struct.pack(">IBBH", 8 + len(body), 2, 0, 0) + body


EMPTY_FRAME = struct.pack(">IBBH", 8, 2, 0, 0)


class Peer:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise EOFError("connection closed by the hub")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self, deadline):
        """(arrival time, body) of the next frame, or None at the deadline."""
        head = self.read_exact(8, deadline)
        if head is None:
            return None
        size, doff, _ftype, _ch = struct.unpack(">IBBH", head)
        if size < 8 or doff < 2:
            fail("bad frame header from the hub: %r" % head)
        rest = self.read_exact(size - 8, time.monotonic() + 10)
        return time.monotonic(), rest[(doff - 2) * 4:]


def descriptor(body):
    """The performative code of a frame body (0x10 open, 0x18 close), or None (empty)."""
    if len(body) < 3 or body[0] != 0 or body[1] != 0x53:
        return None
    return body[2]


def announced_idle(open_body):
    """idle-time-out of the hub's OPEN (ms), or None when absent or null: walks the list."""
    b = open_body[3:]
    if b[0] == 0xC0:
        count, pos = b[2], 3
    elif b[0] == 0xD0:
        count, pos = struct.unpack(">I", b[5:9])[0], 9
    elif b[0] == 0x45:
        return None
    else:
        fail("hub OPEN: unexpected list encoding 0x%02x" % b[0])
    for i in range(count):
        code = b[pos]
        if i == 4:
            if code == 0x70:
                return struct.unpack(">I", b[pos + 1:pos + 5])[0]
            if code == 0x43:
                return 0
            return None
        if code in (0x40, 0x41, 0x42, 0x43, 0x44):
            pos += 1
        elif code in (0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56):
            pos += 2
        elif code in (0x60, 0x61):
            pos += 3
        elif code in (0x70, 0x71, 0x72):
            pos += 5
        elif code in (0xA1, 0xA3, 0xB0):
            pos += 2 + b[pos + 1]
        elif code in (0xB1, 0xB3):
            pos += 5 + struct.unpack(">I", b[pos + 1:pos + 5])[0]
        else:
            fail("hub OPEN: field %d has an encoding this test does not walk: 0x%02x" % (i, code))
    return None


def handshake(port, idle_ms):
    p = Peer(port)
    p.send(HEADER + open_frame(idle_ms))
    hdr = p.read_exact(8, time.monotonic() + 10)
    if hdr != HEADER:
        fail("the hub answered the AMQP header with %r" % hdr)
    got = p.frame(time.monotonic() + 10)
    if got is None or descriptor(got[1]) != 0x10:
        fail("no OPEN from the hub")
    return p, got


def start_hub(hub, data, *extra):
    os.makedirs(data, exist_ok=True)
    ready = os.path.join(data, "ready.json")
    log = open(os.path.join(data, "hub.log"), "w")
    proc = subprocess.Popen([hub, "serve", "--data", os.path.join(data, "hub"), "--mqtt-port", "0",
                             "--service-port", "0", "--amqp-port", "0", "--eventhubs-port", "0",
                             "--ready-file", ready, *extra],
                            stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(ready) and os.path.getsize(ready) > 0:
            with open(ready) as f:
                info = json.load(f)
            if info.get("eventhubs_port", 0) > 0:
                return proc, info["eventhubs_port"]
        if proc.poll() is not None:
            fail("azkit-hub exited: see " + log.name)
        time.sleep(0.05)
    proc.kill()
    fail("azkit-hub did not start")


def stop_hub(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def connected(hub, data, peer_idle_ms, *extra):
    """A hub started with `extra` serve options and a peer past the OPEN exchange:
    yields (peer, arrival time of the hub's OPEN, the idle timeout it announced in ms)."""
    proc, port = start_hub(hub, data, *extra)
    try:
        p, (t_open, body) = handshake(port, peer_idle_ms)
        yield p, t_open, announced_idle(body)
    finally:
        stop_hub(proc)


def heartbeats(hub, data):
    with connected(hub, data, 2000) as (p, t_open, announced):
        if announced != 120000:
            fail("default idle timeout: the hub announced %r ms, expected half of Azure's "
                 "240 s" % announced)
        last, frames, worst = t_open, 0, 0.0
        end = time.monotonic() + 7
        while time.monotonic() < end:
            got = p.frame(end)
            if got is None:
                break
            t, b = got
            if descriptor(b) == 0x18:
                fail("the hub closed a connection whose peer asked for heartbeats")
            worst = max(worst, t - last)
            last, frames = t, frames + 1
        worst = max(worst, time.monotonic() - last)
        print("heartbeats: %d frames from the hub in 7 s, longest gap %.0f ms (peer's idle "
              "timeout 2000 ms)" % (frames, worst * 1000))
        if frames < 3:
            fail("only %d frames in 7 s for a peer with a 2000 ms idle timeout" % frames)
        if worst >= 2.0:
            fail("a gap of %.0f ms between the hub's frames: a peer with a 2000 ms idle "
                 "timeout would have closed the connection" % (worst * 1000))


def hub_closes_silent_peer(hub, data):
    with connected(hub, data, 0, "--amqp-idle-timeout", "2") as (p, _t, announced):
        if announced != 1000:
            fail("--amqp-idle-timeout 2: the hub announced %r ms" % announced)
        # Alive while the peer keeps talking, for more than twice the timeout.
        end = time.monotonic() + 5
        while time.monotonic() < end:
            p.send(EMPTY_FRAME)
            got = p.frame(min(end, time.monotonic() + 0.5))
            if got is not None and descriptor(got[1]) == 0x18:
                fail("the hub closed a peer that sent a frame every 500 ms")
        # Silent: the hub closes with resource-limit-exceeded, then the socket ends.
        closed = None
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                got = p.frame(deadline)
                if got is None:
                    break
                if descriptor(got[1]) == 0x18:
                    closed = got[1]
                    break
        except EOFError:
            pass
        if closed is None:
            fail("a peer silent past --amqp-idle-timeout 2 was not closed with a CLOSE frame")
        if b"amqp:resource-limit-exceeded" not in closed:
            fail("the CLOSE does not say amqp:resource-limit-exceeded: %r" % closed)
        print("silent peer: closed with amqp:resource-limit-exceeded")


def no_idle_timeout(hub, data):
    with connected(hub, data, 0, "--amqp-idle-timeout", "0") as (p, _t, announced):
        if announced:
            fail("--amqp-idle-timeout 0: the hub announced %r ms" % announced)
        got = p.frame(time.monotonic() + 3)
        if got is not None and descriptor(got[1]) == 0x18:
            fail("--amqp-idle-timeout 0: the hub closed a silent peer")
        print("--amqp-idle-timeout 0: a silent peer stays connected")


def bad_values(hub, data):
    for v in ("-1", "86401", "abc", ""):
        r = subprocess.run([hub, "serve", "--data", os.path.join(data, "bad"),
                            "--amqp-idle-timeout", v], capture_output=True, text=True, timeout=30)
        if r.returncode != 2 or "--amqp-idle-timeout" not in r.stderr:
            fail("--amqp-idle-timeout %r: exit %d, stderr %r" % (v, r.returncode, r.stderr))
    print("bad --amqp-idle-timeout values refused with a usage error")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub", required=True)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="azk-amqp-idle-")
    try:
        bad_values(args.hub, data)
        heartbeats(args.hub, os.path.join(data, "a"))
        hub_closes_silent_peer(args.hub, os.path.join(data, "b"))
        no_idle_timeout(args.hub, os.path.join(data, "c"))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
