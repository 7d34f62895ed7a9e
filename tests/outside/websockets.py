#!/usr/bin/env python3
"""MQTT over WebSockets with paho-mqtt (Debian's python3-paho-mqtt), configured as Microsoft's
Python device SDK configures it for websockets=True: transport "websockets",
ws_set_options(path="/$iothub/websocket"), MQTT 3.1.1, CleanSession=0, TLS with the hub's CA.
The SDK connects to port 443, the port of Azure's HTTPS and WSS; paho here connects to the hub's
service API port (--service-port 0: any free port), where azkit-hub serves both.

- a SAS device (azkit-hub device add --sas) connects with a SAS token: twin GET, QoS 1
  telemetry stored by the hub; a token signed with another key: CONNACK 5;
- an X.509 (selfSigned) device connects with its certificate in the TLS handshake and sends
  telemetry.

  websockets.py --hub PATH/azkit-hub --azkit PATH/azkit"""

import argparse
import base64
import hashlib
import hmac
import threading
import time
import urllib.parse

import paho.mqtt.client as mqtt

from hubproc import Hub, fail, main_guard, step

HOST = "127.0.0.1"  # in the hub's server certificate


def sas_token(host, device_id, key_b64, ttl=3600):
    sr = urllib.parse.quote(f"{host}/devices/{device_id}", safe="")
    se = int(time.time()) + ttl
    sig = base64.b64encode(hmac.new(base64.b64decode(key_b64), f"{sr}\n{se}".encode(),
                                    hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}"


class WsDevice:
    """One paho client over WebSockets as azure-iot-device sets it up."""

    def __init__(self, hub, device_id, password=None, cert=None, key=None):
        self.cv = threading.Condition()
        self.connacks, self.messages, self.published = [], [], set()
        self.c = mqtt.Client(client_id=device_id, clean_session=False, protocol=mqtt.MQTTv311,
                             transport="websockets")
        self.c.ws_set_options(path="/$iothub/websocket")
        self.c.username_pw_set(hub.device_username(device_id), password)
        self.c.tls_set(ca_certs=hub.ready["ca"], certfile=cert, keyfile=key)
        self.c.on_connect = lambda c, u, flags, rc: self._add(self.connacks, rc)
        self.c.on_message = lambda c, u, msg: self._add(self.messages, (msg.topic, msg.payload))
        self.c.on_publish = lambda c, u, mid: self._add(self.published, mid)

    def _add(self, where, item):
        with self.cv:
            if isinstance(where, set):
                where.add(item)
            else:
                where.append(item)
            self.cv.notify_all()

    def wait(self, pred, what, timeout=15):
        with self.cv:
            if not self.cv.wait_for(pred, timeout):
                fail(f"no {what} within {timeout} s")

    def connect(self, port):
        """Returns the CONNACK code."""
        self.c.connect(HOST, port)
        self.c.loop_start()
        self.wait(lambda: self.connacks, "CONNACK")
        return self.connacks[0]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def telemetry_and_twin(hub, dev, device_id, body):
    dev.c.subscribe("$iothub/twin/res/#", qos=0)
    dev.c.publish("$iothub/twin/GET/?$rid=ws1", b"", qos=0)
    dev.wait(lambda: any(t.startswith("$iothub/twin/res/200/?$rid=ws1") for t, _ in dev.messages),
             "twin GET answer res/200")
    info = dev.c.publish(f"devices/{device_id}/messages/events/", body, qos=1)
    dev.wait(lambda: info.mid in dev.published, "PUBACK of the telemetry")
    got = [m["payload"] for m in hub.telemetry(device_id)]
    if got != [body]:
        fail(f"{device_id}: stored telemetry {got!r}, expected [{body!r}]")


def body(hub):
    hub.start()
    port = hub.ready["service_port"]
    host = hub.ready["hostname"]

    sas_id = "paho-ws-sas"
    dev = hub.admin("device", "add", sas_id, "--sas")["device"]
    key = dev["authentication"]["symmetricKey"]["primaryKey"]
    step(f"SAS device {sas_id}: paho over wss://{HOST}:{port}/$iothub/websocket")
    d = WsDevice(hub, sas_id, sas_token(host, sas_id, key))
    rc = d.connect(port)
    if rc != 0:
        fail(f"{sas_id}: CONNACK {rc}")
    telemetry_and_twin(hub, d, sas_id, '{"paho":"wss","auth":"sas"}')
    d.close()

    step(f"{sas_id} with a token signed by another key: CONNACK 5")
    other = base64.b64encode(bytes(range(32))).decode()
    bad = WsDevice(hub, sas_id, sas_token(host, sas_id, other))
    rc = bad.connect(port)
    bad.c.loop_stop()
    if rc != 5:
        fail(f"{sas_id} with a wrong key: CONNACK {rc}, expected 5")

    x_id = "paho-ws-x509"
    cert, pkey = hub.self_signed(x_id)
    hub.admin("device", "add", x_id, "--cert", cert)
    step(f"X.509 device {x_id}: its certificate in the TLS handshake of the WebSocket")
    x = WsDevice(hub, x_id, cert=cert, key=pkey)
    rc = x.connect(port)
    if rc != 0:
        fail(f"{x_id}: CONNACK {rc}")
    telemetry_and_twin(hub, x, x_id, '{"paho":"wss","auth":"x509"}')
    x.close()

    with open(hub.log) as f:
        log = f.read()
    for needle in (f"(wss) device '{sas_id}': connected", f"(wss) device '{x_id}': connected",
                   f"(wss) device '{sas_id}': refused (CONNACK 5)"):
        if needle not in log:
            fail(f"hub log has no '{needle}'")
    st = hub.stop()
    if st != 0:
        fail(f"azkit-hub did not stop cleanly (status {st})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub", required=True)
    ap.add_argument("--azkit", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    hub = Hub(args.hub, args.azkit, "outside-websockets")

    def run():
        try:
            body(hub)
        except AssertionError:
            hub.print_log()
            raise
        finally:
            hub.cleanup(args.keep)
    main_guard(run)


if __name__ == "__main__":
    main()
