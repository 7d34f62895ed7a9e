#!/usr/bin/env python3
"""Outside clients in their stock settings, held past their keepalive, then reconnected on
their session -- against the real azkit-hub over real TLS on loopback.

  held_past_keepalive.py --hub AZKIT_HUB --azkit AZKIT [--hold S] [--keep]

The clients are not azkit's:
- paho-mqtt (Debian's python3-paho-mqtt), the MQTT library inside Microsoft's Python device
  SDK, configured as azure-iot-device configures it: MQTT 3.1.1, CleanSession=0, paho's default
  keepalive (60 s). One device connection (X.509, self-signed) and one DPS connection (no
  client certificate; its registration is refused, and the client stays connected, as the
  Python provisioning client does after a refusal). A DPS PINGREQ once crashed the hub.
- mosquitto_sub (Debian's mosquitto-clients) with its defaults (keepalive 60 s), as a device on
  its C2D topic and as a DPS client.

Every connection is held --hold seconds (default 100: past one keepalive and past the hub's
1.5 x keepalive limit) with nothing but the clients' own PINGREQs, and must still be the same
connection at the end (no disconnect, no second CONNACK) with PINGRESPs answered. A C2D message
sent after the first PINGREQ arrives on the held connections. Then the paho device disconnects,
two C2D messages are queued while it is away, and a new paho client reconnects with the same
client id and CleanSession=0 and subscribes to nothing: the session must be present
(session-present=1), the queued C2D messages must arrive, and twin GET, a direct method and a
desired-property patch must work on the subscriptions the session kept. Then the hub drops the
connection and paho reconnects by itself (paho never re-subscribes): C2D and methods must still
arrive. The hub must then stop cleanly (SIGTERM, exit 0).
"""

import argparse
import json
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from hubproc import Hub, fail, main_guard, step

HOST = "127.0.0.1"  # in the hub's server certificate


class Paho:
    """One paho client with stock settings (except CleanSession, chosen per test) that records
    what happens on its connection."""

    def __init__(self, name, client_id, clean_session, username, ca, cert=None, key=None):
        self.name = name
        self.cv = threading.Condition()
        self.connacks = []      # (rc, session_present)
        self.disconnects = []   # rc
        self.messages = []      # (topic, payload bytes)
        self.pingreqs = 0
        self.pingresps = 0
        self.c = mqtt.Client(client_id=client_id, clean_session=clean_session,
                             protocol=mqtt.MQTTv311)
        self.c.username_pw_set(username)
        self.c.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_message = self._on_message
        self.c.on_log = self._on_log

    def _on_connect(self, client, userdata, flags, rc):
        with self.cv:
            self.connacks.append((rc, flags.get("session present", 0)))
            self.cv.notify_all()

    def _on_disconnect(self, client, userdata, rc):
        with self.cv:
            self.disconnects.append(rc)
            self.cv.notify_all()

    def _on_message(self, client, userdata, msg):
        with self.cv:
            self.messages.append((msg.topic, msg.payload))
            self.cv.notify_all()
        if msg.topic.startswith("$iothub/methods/POST/"):
            rid = msg.topic.split("$rid=")[1]
            client.publish(f"$iothub/methods/res/200/?$rid={rid}",
                           json.dumps({"echo": json.loads(msg.payload or b"null")}), qos=0)

    def _on_log(self, client, userdata, level, buf):
        with self.cv:
            if buf.startswith("Sending PINGREQ"):
                self.pingreqs += 1
            elif buf.startswith("Received PINGRESP"):
                self.pingresps += 1

    def connect(self, port):
        self.c.connect(HOST, port)  # keepalive: paho's default, 60 s
        self.c.loop_start()
        self.wait(lambda: self.connacks, 15, "CONNACK")
        rc, present = self.connacks[0]
        if rc != 0:
            fail(f"{self.name}: CONNACK {rc}")
        return present

    def wait(self, pred, timeout, what):
        with self.cv:
            if not self.cv.wait_for(pred, timeout):
                fail(f"{self.name}: no {what} within {timeout} s")

    def wait_message(self, prefix, timeout=15):
        def find():
            return next((m for m in self.messages if m[0].startswith(prefix)), None)
        self.wait(find, timeout, f"message on {prefix}")
        with self.cv:
            m = find()
            self.messages.remove(m)
            return m

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


class MosquittoSub:
    """mosquitto_sub with its defaults, -d to see its packets."""

    def __init__(self, name, port, ca, client_id, username, topic, cert=None, key=None):
        self.name = name
        # stdbuf: mosquitto_sub flushes stdout only after a message; -d lines would sit in
        # the pipe's buffer.
        args = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-V", "mqttv311", "-h", HOST, "-p", str(port),
                "--cafile", ca, "-i", client_id, "-u", username, "-t", topic, "-q", "1"]
        if cert:
            args += ["--cert", cert, "--key", key]
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def count(self, needle):
        return sum(1 for ln in list(self.lines) if needle in ln)

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=10)
        self.t.join(timeout=5)


def check_held(name, connacks, disconnects, pingreqs, pingresps, trace=None):
    if connacks != 1 or disconnects:
        fail(f"{name}: the connection did not hold: {connacks} CONNACKs, disconnects "
             f"{disconnects}{' -- ' + repr(trace[-10:]) if trace else ''}")
    if pingreqs < 1 or pingresps < pingreqs:
        fail(f"{name}: {pingreqs} PINGREQ sent, {pingresps} PINGRESP received")
    step(f"{name}: held on one connection; {pingreqs} PINGREQ answered")


def run(args):
    hub = Hub(args.hub, args.azkit, "outside-held")
    try:
        body(hub, args.hold)
    except BaseException:
        hub.print_log()
        hub.cleanup(keep=True)
        step(f"kept {hub.dir}")
        raise
    hub.cleanup(keep=args.keep)


def body(hub, hold):
    ready = hub.start()
    port, ca = ready["mqtt_port"], ready["ca"]
    step(f"azkit-hub on port {port}, id scope {ready['id_scope']}")
    dev, mdev = "paho-dev-1", "mosq-dev-1"
    cert, key = hub.self_signed(dev)
    mcert, mkey = hub.self_signed(mdev)
    hub.admin("device", "add", dev, "--cert", cert)
    hub.admin("device", "add", mdev, "--cert", mcert)

    step("paho device: connect (CleanSession=0, keepalive 60), subscribe as the Python SDK does")
    d = Paho("paho device", dev, False, hub.device_username(dev), ca, cert, key)
    if d.connect(port) != 0:
        fail("paho device: session-present=1 on the first connection")
    for topic, qos in ((f"devices/{dev}/messages/devicebound/#", 1),
                       ("$iothub/twin/res/#", 0), ("$iothub/methods/POST/#", 0),
                       ("$iothub/twin/PATCH/properties/desired/#", 0)):
        d.c.subscribe(topic, qos)
    d.c.publish("$iothub/twin/GET/?$rid=1", b"", qos=0)
    d.wait_message("$iothub/twin/res/200/?$rid=1")
    info = d.c.publish(f"devices/{dev}/messages/events/", b'{"hello":1}', qos=1)
    info.wait_for_publish()

    step("paho DPS client: connect without a certificate (paho defaults), register: refused")
    reg = "paho-dps-1"
    p = Paho("paho DPS", reg, True, hub.dps_username(reg), ca)
    p.connect(port)
    p.c.subscribe("$dps/registrations/res/#", 1)
    p.c.publish("$dps/registrations/PUT/iotdps-register/?$rid=1",
                json.dumps({"registrationId": reg}), qos=1)
    topic, payload = p.wait_message("$dps/registrations/res/")
    if not topic.startswith("$dps/registrations/res/401/"):
        fail(f"paho DPS: expected a 401 refusal, got {topic} {payload!r}")

    step("mosquitto_sub: a device on its C2D topic, and a DPS client (defaults, keepalive 60)")
    ms_dev = MosquittoSub("mosquitto_sub device", port, ca, mdev, hub.device_username(mdev),
                          f"devices/{mdev}/messages/devicebound/#", mcert, mkey)
    ms_dps = MosquittoSub("mosquitto_sub DPS", port, ca, "mosq-dps-1",
                          hub.dps_username("mosq-dps-1"), "$dps/registrations/res/#")

    step(f"hold every connection {hold} s with no traffic but the clients' own PINGREQs")
    t_end = time.monotonic() + hold
    c2d_sent = False
    while time.monotonic() < t_end:
        time.sleep(1)
        if not hub.alive():
            fail(f"azkit-hub died during the hold (status {hub.proc.returncode})")
        if not c2d_sent and d.pingreqs >= 1 and time.monotonic() > t_end - hold / 3:
            step("after the first PINGREQ: a C2D message to each held device")
            hub.admin("c2d", "send", dev, "held-1")
            hub.admin("c2d", "send", mdev, "held-m")
            c2d_sent = True
    if not c2d_sent:
        fail("paho device sent no PINGREQ during the hold")
    topic, payload = d.wait_message(f"devices/{dev}/messages/devicebound/")
    if payload != b"held-1":
        fail(f"paho device: C2D payload {payload!r}")
    check_held("paho device", len(d.connacks), d.disconnects, d.pingreqs, d.pingresps)
    check_held("paho DPS", len(p.connacks), p.disconnects, p.pingreqs, p.pingresps)
    for m in (ms_dev, ms_dps):
        if m.p.poll() is not None:
            fail(f"{m.name} exited during the hold: {m.lines[-5:]}")
        check_held(m.name, m.count("received CONNACK"), [], m.count("sending PINGREQ"),
                   m.count("received PINGRESP"), m.lines)
    if "held-m" not in ms_dev.lines:
        fail(f"mosquitto_sub device: C2D message not printed: {ms_dev.lines[-8:]}")
    ms_dev.stop()
    ms_dps.stop()
    p.close()

    step("paho device: DISCONNECT; two C2D messages queued while it is away")
    d.close()
    hub.admin("c2d", "send", dev, "away-1")
    hub.admin("c2d", "send", dev, "away-2")

    step("a new paho client, same client id, CleanSession=0, subscribes to nothing")
    d2 = Paho("paho device (reconnected)", dev, False, hub.device_username(dev), ca, cert, key)
    if d2.connect(port) != 1:
        fail("paho device (reconnected): session-present=0; the session was not kept")
    got = [d2.wait_message(f"devices/{dev}/messages/devicebound/")[1] for _ in range(2)]
    if got != [b"away-1", b"away-2"]:
        fail(f"queued C2D messages: {got}")
    d2.c.publish("$iothub/twin/GET/?$rid=2", b"", qos=0)
    d2.wait_message("$iothub/twin/res/200/?$rid=2")
    res = hub.admin("method", "invoke", dev, "ping", "--payload", '{"n":7}', "--timeout", "10")
    if res.get("status") != 200 or res.get("payload") != {"echo": {"n": 7}}:
        fail(f"direct method on the kept subscription: {res}")
    hub.admin("twin", "set-desired", dev, '{"interval":42}')
    topic, payload = d2.wait_message("$iothub/twin/PATCH/properties/desired/")
    if json.loads(payload).get("interval") != 42:
        fail(f"desired patch: {payload!r}")
    if d2.disconnects:
        fail(f"paho device (reconnected): disconnected {d2.disconnects}")
    step("session kept: session-present=1, queued C2D, twin, method, desired patch")

    step("the hub drops the connection (fault drop); paho reconnects by itself, no SUBSCRIBE")
    hub.admin("fault", "drop", dev)
    d2.wait(lambda: len(d2.connacks) >= 2, 30, "reconnect")
    if d2.connacks[1] != (0, 1):
        fail(f"paho device: reconnect CONNACK (rc, session-present) = {d2.connacks[1]}")
    hub.admin("c2d", "send", dev, "after-drop")
    if d2.wait_message(f"devices/{dev}/messages/devicebound/")[1] != b"after-drop":
        fail("C2D after the reconnect")
    res = hub.admin("method", "invoke", dev, "ping", "--payload", '{"n":8}', "--timeout", "10")
    if res.get("status") != 200:
        fail(f"direct method after the reconnect: {res}")
    step("after the drop: session-present=1, C2D and method on the kept subscriptions")
    d2.close()

    st = hub.stop()
    if st != 0:
        fail(f"azkit-hub did not stop cleanly: exit {st}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hub", required=True)
    ap.add_argument("--azkit", required=True)
    ap.add_argument("--hold", type=int, default=100, help="seconds to hold (default 100)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    main_guard(lambda: run(args))


if __name__ == "__main__":
    main()
