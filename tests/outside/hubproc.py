"""A real azkit-hub for the outside-client tests: start (on free ports, or again on the same
MQTT port after a kill), admin commands, a test PKI made with the azkit CLI, and the MQTT
usernames Azure's device SDKs send. Standard library only."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

T0 = time.monotonic()


def step(msg):
    print(f"[+{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def fail(msg):
    raise AssertionError(msg)


class Hub:
    """One azkit-hub process over a temp dir (data, PKI, log), restartable after kill -9."""

    def __init__(self, hub_bin, azkit_bin, name, serve_args=()):
        self.hub_bin = hub_bin
        self.serve_args = list(serve_args)
        self.azkit_bin = azkit_bin
        self.dir = tempfile.mkdtemp(prefix=f"azkit-{name}-")
        self.data = os.path.join(self.dir, "data")
        self.pki = os.path.join(self.dir, "pki")
        os.mkdir(self.pki)
        self.ready_file = os.path.join(self.dir, "ready.json")
        self.log = os.path.join(self.dir, "hub.log")
        self.proc = None
        self.ready = None

    def start(self, mqtt_port=0):
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        with open(self.log, "a") as log:
            # --service-port 0: these tests use the admin CLI only (no SDK needing port 443).
            self.proc = subprocess.Popen(
                [self.hub_bin, "serve", "--data", self.data, "--mqtt-port", str(mqtt_port),
                 "--service-port", "0", "--ready-file", self.ready_file, "--log-level", "info",
                 *self.serve_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"azkit-hub exited before it was ready (status {self.proc.returncode})")
            try:
                with open(self.ready_file) as f:
                    self.ready = json.load(f)
                return self.ready
            except (OSError, ValueError):
                time.sleep(0.05)
        fail("azkit-hub not ready after 30 s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        """SIGTERM; returns the exit status (0 is a clean stop)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def admin(self, *args, timeout=60):
        """One admin command with --json; returns the parsed object (raises on failure)."""
        r = subprocess.run([self.hub_bin, *args, "--ready-file", self.ready_file, "--json"],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            fail(f"azkit-hub {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return json.loads(r.stdout) if r.stdout.strip().startswith("{") else r.stdout

    def telemetry(self, device_id):
        """Every stored device-to-cloud message of one device (paged with --after)."""
        out, after = [], 0
        while True:
            r = subprocess.run([self.hub_bin, "telemetry", "--device", device_id, "--after",
                                str(after), "--max", "1000", "--ready-file", self.ready_file,
                                "--json"], capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                fail(f"azkit-hub telemetry failed ({r.returncode}): {r.stdout}{r.stderr}")
            recs = json.loads(r.stdout).get("records", [])
            if not recs:
                return out
            out.extend(recs)
            after = max(m["seq"] for m in recs)

    def self_signed(self, device_id):
        """A self-signed device certificate (CN = device_id); returns (cert, key) paths."""
        base = os.path.join(self.pki, device_id)
        subprocess.run([self.azkit_bin, "pki", "self-signed", device_id, "--out", base],
                       check=True, capture_output=True)
        return base + ".cert.pem", base + ".key.pem"

    def device_username(self, device_id):
        # What azure-iot-device (Python) and the C/Node SDKs send.
        return f"{self.ready['hostname']}/{device_id}/?api-version=2021-04-12"

    def dps_username(self, registration_id):
        return f"{self.ready['id_scope']}/registrations/{registration_id}/api-version=2019-03-31"

    def print_log(self):
        try:
            with open(self.log) as f:
                sys.stdout.write("---- azkit-hub log ----\n" + f.read()[-20000:])
        except OSError:
            pass

    def cleanup(self, keep=False):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def main_guard(body):
    """Runs body(); prints PASS/FAIL and exits 0/1."""
    try:
        body()
    except AssertionError as e:
        step(f"FAIL: {e}")
        sys.exit(1)
    step("PASS")
    sys.exit(0)
