#!/usr/bin/env python3
"""Counting, not hoping: an outside MQTT client (paho-mqtt as Microsoft's Python device SDK
configures it: MQTT 3.1.1, CleanSession=0, keepalive 60, paho's own reconnect and resend) sends
numbered QoS 1 telemetry to the real azkit-hub while the hub is killed with SIGKILL and
restarted, and then while the client itself is killed with SIGKILL.

  kill9_count.py --hub AZKIT_HUB --azkit AZKIT [--count N] [--kills K] [--keep]
                 [--hub-arg=ARG]...   (extra `azkit-hub serve` arguments, e.g. --durability)

Phase 1: N messages; the hub is killed K times while they flow (restarted on the same port
after 0.3 s). Every message must be acknowledged in the end (paho resends what was in flight),
every acknowledged message must be stored at the hub (loss 0), and duplicates (a message stored
twice because its PUBACK died with the hub) are counted and printed.
Phase 2: the publisher process is killed with SIGKILL while it sends; every message it had seen
acknowledged before it died must be stored at the hub.

The publisher is this file with --publish: one process per run, printing "acked SEQ" as each
PUBACK arrives, so the parent knows what was accepted even when it kills the publisher.
"""

import argparse
import json
import subprocess
import sys
import threading
import time

from hubproc import Hub, fail, main_guard, step

HOST = "127.0.0.1"


def revive_network_thread(c, done):
    """paho-mqtt 1.6.1 (Debian 12) lets ssl.SSLEOFError escape its network thread when the
    server dies while paho writes (fixed in paho 2.0): the thread ends and paho never reconnects.
    An application on 1.6.1 has to notice and start the loop again; so does this publisher, and
    it says so (the count below is unaffected: paho keeps its in-flight messages)."""
    while not done.wait(0.05):
        t = c._thread
        if t is not None and not t.is_alive():
            print("paho's network thread died (paho 1.6.1: SSLEOFError); loop restarted",
                  flush=True)
            c._thread = None
            c.loop_start()


def publish(args):
    """The publisher process: numbered messages from --first to --last, QoS 1."""
    import paho.mqtt.client as mqtt

    seq_of = {}
    lock = threading.Lock()
    acked = set()
    done = threading.Event()

    early = set()  # mids acknowledged before publish() returned them

    def ack(seq):
        acked.add(seq)
        print(f"acked {seq}", flush=True)
        if len(acked) == args.last - args.first + 1:
            done.set()

    def on_publish(client, userdata, mid):
        with lock:
            seq = seq_of.pop(mid, None)
            if seq is None:
                early.add(mid)
            else:
                ack(seq)

    def on_connect(client, userdata, flags, rc):
        print(f"connack {rc} session-present {flags.get('session present', 0)}", flush=True)

    c = mqtt.Client(client_id=args.device, clean_session=False, protocol=mqtt.MQTTv311)
    c.username_pw_set(args.username)
    c.tls_set(ca_certs=args.ca, certfile=args.cert, keyfile=args.key)
    c.on_publish = on_publish
    c.on_connect = on_connect
    c.connect(HOST, args.port)  # keepalive: paho's default, 60 s
    c.loop_start()
    threading.Thread(target=revive_network_thread, args=(c, done), daemon=True).start()
    for seq in range(args.first, args.last + 1):
        # Not under our lock: paho calls on_publish holding its own locks (a deadlock).
        info = c.publish(f"devices/{args.device}/messages/events/", json.dumps({"seq": seq}),
                         qos=1)
        with lock:
            if info.mid in early:
                early.discard(info.mid)
                ack(seq)
            else:
                seq_of[info.mid] = seq
        time.sleep(args.gap_ms / 1000)
    if not done.wait(120):
        print(f"timeout: {len(acked)} acked", flush=True)
        sys.exit(1)
    c.disconnect()
    c.loop_stop()


class Publisher:
    def __init__(self, hub, device, cert, key, first, last, gap_ms):
        ready = hub.ready
        self.acked = set()
        self.connacks = []
        self.p = subprocess.Popen(
            [sys.executable, __file__, "--publish", "--device", device,
             "--username", hub.device_username(device), "--ca", ready["ca"], "--cert", cert,
             "--key", key, "--port", str(ready["mqtt_port"]), "--first", str(first),
             "--last", str(last), "--gap-ms", str(gap_ms)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("acked "):
                self.acked.add(int(line.split()[1]))
            elif line.startswith("connack "):
                self.connacks.append(line.strip())
            else:
                print(f"  publisher: {line.rstrip()}", flush=True)

    def wait_acked(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.acked) < n and time.monotonic() < deadline:
            if self.p.poll() is not None:
                break
            time.sleep(0.01)
        return len(self.acked) >= n

    def finish(self, timeout=150):
        rc = self.p.wait(timeout=timeout)
        self.t.join(timeout=5)
        return rc


def stored_seqs(hub, device):
    seqs = []
    for r in hub.telemetry(device):
        body = r.get("payload")
        if isinstance(body, str):
            body = json.loads(body)
        seqs.append(body["seq"])
    return seqs


def account(hub, device, accepted, what):
    seqs = stored_seqs(hub, device)
    stored = set(seqs)
    lost = sorted(accepted - stored)
    dups = len(seqs) - len(stored)
    step(f"{what}: accepted (PUBACKed) {len(accepted)}, stored {len(seqs)} "
         f"({len(stored)} distinct), lost {len(lost)}, duplicates {dups}")
    if lost:
        fail(f"{what}: {len(lost)} PUBACKed messages are not at the hub: {lost[:20]}")
    return stored


def run(args):
    hub = Hub(args.hub, args.azkit, "outside-kill9", serve_args=args.hub_arg)
    try:
        body(hub, args)
    except BaseException:
        hub.print_log()
        hub.cleanup(keep=True)
        step(f"kept {hub.dir}")
        raise
    hub.cleanup(keep=args.keep)


def body(hub, args):
    ready = hub.start()
    port = ready["mqtt_port"]
    dev = "paho-kill-1"
    cert, key = hub.self_signed(dev)
    hub.admin("device", "add", dev, "--cert", cert)
    n, kills = args.count, args.kills

    step(f"phase 1: {n} numbered QoS 1 messages; the hub is killed -9 {kills} times meanwhile")
    pub = Publisher(hub, dev, cert, key, 1, n, args.gap_ms)
    for k in range(1, kills + 1):
        mark = n * k // (kills + 1)
        if not pub.wait_acked(mark, 120):
            fail(f"only {len(pub.acked)} acknowledged before kill {k} (wanted {mark})")
        hub.kill9()
        step(f"kill -9 #{k} with {len(pub.acked)} acknowledged")
        time.sleep(0.3)
        hub.start(port)
    rc = pub.finish()
    if rc != 0:
        fail(f"the publisher did not see all {n} acknowledged (exit {rc}, {len(pub.acked)} acked)")
    if len(pub.connacks) < kills + 1:
        fail(f"the publisher connected {len(pub.connacks)} times over {kills} hub kills")
    stored = account(hub, dev, pub.acked, "phase 1")
    if stored != set(range(1, n + 1)):
        fail(f"phase 1: stored {len(stored)} distinct messages of {n}")

    step(f"phase 2: the publisher is killed -9 while it sends messages {n + 1}..{2 * n}")
    pub2 = Publisher(hub, dev, cert, key, n + 1, 2 * n, args.gap_ms)
    if not pub2.wait_acked(n // 2, 120):
        fail(f"phase 2: only {len(pub2.acked)} acknowledged")
    pub2.p.kill()
    pub2.finish()
    accepted = pub.acked | pub2.acked
    account(hub, dev, accepted, "phase 2 (all)")

    st = hub.stop()
    if st != 0:
        fail(f"azkit-hub did not stop cleanly: exit {st}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hub")
    ap.add_argument("--azkit")
    ap.add_argument("--count", type=int, default=2000, help="messages per phase (default 2000)")
    ap.add_argument("--kills", type=int, default=3, help="hub kills in phase 1 (default 3)")
    ap.add_argument("--gap-ms", type=float, default=2, help="pause between publishes")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--hub-arg", action="append", default=[],
                    help="extra azkit-hub serve argument (repeatable)")
    # the publisher process
    ap.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)
    for opt in ("--device", "--username", "--ca", "--cert", "--key"):
        ap.add_argument(opt, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--last", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publish:
        publish(args)
        return
    if not args.hub or not args.azkit:
        ap.error("--hub and --azkit are required")
    main_guard(lambda: run(args))


if __name__ == "__main__":
    main()
