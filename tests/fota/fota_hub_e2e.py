#!/usr/bin/env python3
"""Firmware over the air end to end, both halves: azkit-hub's image server, `azkit-hub fota
upload|deploy|status|fault` as an operator runs them, and `azkit run --fota-dir` as the device,
over real TLS on loopback. fota_e2e.py covers the device's rules against a scripted image
server; this test is the rehearsal a firmware team runs:

  1. a v1 device; `fota upload` v2 and `fota deploy --device`: fragments fetched from the hub,
     the image swapped, the device restarts and `fota status` shows current 2
  2. `fota fault drop-after`: the hub cuts an answer mid-fragment; the device fetches that
     fragment again (not the whole image) and ends on current 3
  3. `fota fault corrupt-at`: one byte served inverted; the SHA-256 check fails, `fota status`
     shows error with the job, the running image is still v3
  4. `fota deploy --query` reaches the device by a reported property
  5. `fota fault drop-at`: the hub cuts the answer of a later fragment (the fourth) half-way;
     the device fetches that fragment again, from its start, not the image from zero
  6. `fota fault stall-after`: the image server holds an answer for longer than the device's
     MQTT keepalive allows silence; the device's connection stays up (its PINGREQs go on while
     the fragment is awaited) and it answers a direct method meanwhile; once the stall is
     cleared the download completes

  fota_hub_e2e.py --hub AZKIT_HUB --azkit AZKIT [--keep]
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "outside"))
sys.path.insert(0, HERE)
from hubproc import Hub, fail, main_guard, step  # noqa: E402
from fota_e2e import Device, image, print_logs, reports, FRAG, SIZE  # noqa: E402
import time  # noqa: E402

WAIT = 120
KEEPALIVE = 5  # the device's MQTT keepalive (s): the hub closes a connection silent for 1.5x


def status_of(hub, dev):
    out = hub.admin("fota", "status")
    for d in out.get("devices", []):
        if d.get("deviceId") == dev:
            return d
    fail(f"fota status does not list {dev}: {out}")


def wait_status(hub, dev, status, version, job=None):
    deadline = time.monotonic() + WAIT
    d = {}
    while time.monotonic() < deadline:
        d = status_of(hub, dev)
        if d.get("fwUpdateStatus") == status and d.get("currentFwVersion") == version and \
                (job is None or d.get("jobId") == job):
            return d
        time.sleep(0.2)
    fail(f"fota status never showed {status} {version}: {d}")


def upload(hub, images, version):
    path = os.path.join(images, f"app-{version}.bin")
    with open(path, "wb") as f:
        f.write(image(version))
    return hub.admin("fota", "upload", path, "--version", version)


def deploy(hub, version, *target):
    return hub.admin("fota", "deploy", *target, "--version", version,
                     "--fragment-size", str(FRAG))["deployment"]


def fragment_starts(events):
    return [e["start"] for e in events if e.get("event") == "fota-fragment"]


def running_image(fota_dir):
    with open(os.path.join(fota_dir, "image"), "rb") as f:
        return f.read()


def one_fragment_cut(hub, dev, m, fota_dir, version, frag, failures_exactly_one):
    """After the hub cut one answer of the download of `version` (from mark `m` on): only
    fragment `frag` failed (once when `failures_exactly_one`, else any number of times,
    none included), every fragment's start was fetched once, the hub cut exactly one answer,
    and `version` runs. Returns the hub's fault state."""
    ev = dev.since(m)
    failed = [e["text"] for e in ev if e.get("step") == "fetch-failed"]
    prefix = f"bytes {frag * FRAG}-{(frag + 1) * FRAG - 1} "
    if (any(not t.startswith(prefix) for t in failed)
            or (failures_exactly_one and len(failed) != 1)):
        fail(f"v{version}: wanted {'one failed fetch' if failures_exactly_one else 'failed fetches'}"
             f" of fragment {frag} alone: {failed}")
    starts = fragment_starts(ev)
    if starts != [i * FRAG for i in range(6)]:
        fail(f"v{version}: fragments {starts}, wanted each once (the cut one fetched again, "
             f"none before it)")
    faults = hub.admin("fota", "fault", "show")
    if faults.get("dropped") != 1:
        fail(f"the hub did not cut exactly one answer: {faults}")
    if running_image(fota_dir) != image(version):
        fail(f"the running image is not v{version}")
    return faults


def body(args):
    hub = Hub(args.hub, args.azkit, "fota-hub")
    dev = None
    try:
        hub.start()
        pki = os.path.join(hub.data, "pki")
        images = os.path.join(hub.dir, "images")
        os.mkdir(images)
        store = os.path.join(hub.dir, "store")
        # One tag trusts both the hub's MQTT and its image server (the same root, ca.pem).
        import subprocess
        subprocess.run([args.azkit, "--store", store, "cred", "write", "10", "ca_chain",
                        os.path.join(pki, "ca.pem")], check=True, capture_output=True)
        conn = hub.admin("device", "add", "fw-hub", "--sas")["device"]["connectionString"]
        fota_dir = os.path.join(hub.dir, "fota")
        log = open(os.path.join(hub.dir, "device.log"), "a")
        dev = Device(args.azkit, store, conn, fota_dir, log)
        dev.cmd += ["--keepalive", str(KEEPALIVE)]  # step 6 outlasts it while a download waits

        step("1. v1 device; fota upload v2, fota deploy --device: current 2 after the restart")
        m = dev.mark()
        dev.start()
        dev.fota(m, "boot", "running firmware 1")
        wait_status(hub, "fw-hub", "current", "1")
        up = upload(hub, images, "2")
        if up.get("image", {}).get("size") != SIZE:
            fail(f"fota upload did not report the image's size: {up}")
        m = dev.mark()
        job = deploy(hub, "2", "--device", "fw-hub")["jobId"]
        dev.fota(m, "boot", "running firmware 2")
        d = wait_status(hub, "fw-hub", "current", "2", job)
        seen = reports(dev.since(m))
        for s in ("downloading", "applying", "rebooting"):
            if s not in seen:
                fail(f"'{s}' was never reported: {seen}")
        starts = fragment_starts(dev.since(m))
        if starts != [i * FRAG for i in range(6)]:
            fail(f"v2: fragments {starts}, wanted 6 of {FRAG} bytes from 0")
        if running_image(fota_dir) != image("2"):
            fail("the running image is not the uploaded v2")
        if d.get("desiredFwVersion") != "2":
            fail(f"fota status does not show the desired version: {d}")

        step("2. fota fault drop-after: an answer cut mid-fragment; that fragment fetched again")
        upload(hub, images, "3")
        # The fault counts the bytes of one answer, and the first answer after it is set is
        # cut: here the first fragment, half-way. (fota_e2e.py cuts a later fragment with its
        # scripted server and checks the resume from it.)
        hub.admin("fota", "fault", "drop-after", str(FRAG // 2))
        m = dev.mark()
        job = deploy(hub, "3", "--device", "fw-hub")["jobId"]
        dev.fota(m, "boot", "running firmware 3")
        wait_status(hub, "fw-hub", "current", "3", job)
        one_fragment_cut(hub, dev, m, fota_dir, "3", 0, True)

        step("3. fota fault corrupt-at: error with the job, v3 kept")
        upload(hub, images, "4")
        hub.admin("fota", "fault", "corrupt-at", str(2 * FRAG + 7))
        m = dev.mark()
        job = deploy(hub, "4", "--device", "fw-hub")["jobId"]
        dev.fota(m, "verify")
        d = wait_status(hub, "fw-hub", "error", "3", job)
        if d.get("pendingFwVersion") != "4":
            fail(f"the error does not name the pending version: {d}")
        hub.admin("fota", "fault", "clear")
        if running_image(fota_dir) != image("3"):
            fail("the running image changed after a corrupt download")

        step("4. fota deploy --query: the device matched by its reported firmware")
        m = dev.mark()
        out = deploy(hub, "4", "--query", "properties.reported.firmware.currentFwVersion = '3'")
        if out.get("devices") != ["fw-hub"]:
            fail(f"the query deployment did not reach fw-hub alone: {out}")
        dev.fota(m, "boot", "running firmware 4")
        wait_status(hub, "fw-hub", "current", "4", out["jobId"])

        step("5. fota fault drop-at: the fourth fragment cut half-way; the download resumes from it")
        upload(hub, images, "5")
        cut_at = 3 * FRAG + FRAG // 2
        shown = hub.admin("fota", "fault", "drop-at", str(cut_at))
        if shown.get("dropAtOffset") != cut_at:
            fail(f"fota fault drop-at did not show the offset: {shown}")
        m = dev.mark()
        job = deploy(hub, "5", "--device", "fw-hub")["jobId"]
        dev.fota(m, "boot", "running firmware 5")
        wait_status(hub, "fw-hub", "current", "5", job)
        # The cut answer came on a kept-alive connection: the device's HTTP client may send
        # the same range again on a new one at once (as HTTP clients do for a reused
        # connection) rather than report a failed fetch; either way only that fragment.
        faults = one_fragment_cut(hub, dev, m, fota_dir, "5", 3, False)
        if "dropAtOffset" in faults:
            fail(f"drop-at cuts one answer, once: {faults}")

        step("6. a stalled image server: MQTT stays up and a method is answered meanwhile")
        upload(hub, images, "6")
        hub.admin("fota", "fault", "stall-after", str(FRAG // 2), "--seconds", "100")
        with open(hub.log) as f:
            drops_before = f.read().count("device 'fw-hub': disconnected")
        m = dev.mark()
        job = deploy(hub, "6", "--device", "fw-hub")["jobId"]
        deadline = time.monotonic() + WAIT
        while hub.admin("fota", "fault", "show").get("stalledNow") != 1:
            if time.monotonic() > deadline:
                fail("the image server never held an answer")
            time.sleep(0.1)
        # Longer than the hub lets a device stay silent (1.5 x keepalive): only the device's
        # PINGREQs, sent while its fetch waits, keep the connection.
        time.sleep(2.5 * KEEPALIVE)
        r = hub.admin("method", "invoke", "fw-hub", "led", "--payload", "1")
        if r.get("status") != 200:
            fail(f"the device did not answer a direct method during the stalled download: {r}")
        with open(hub.log) as f:
            drops = f.read().count("device 'fw-hub': disconnected")
        if drops != drops_before:
            fail("the device's MQTT connection dropped while its download was stalled")
        hub.admin("fota", "fault", "clear", "stall")
        dev.fota(m, "boot", "running firmware 6")
        wait_status(hub, "fw-hub", "current", "6", job)
        if running_image(fota_dir) != image("6"):
            fail("the running image is not v6")
    except AssertionError:
        print_logs(hub)
        raise
    finally:
        if dev:
            dev.stop()
        hub.cleanup(keep=args.keep)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub", required=True)
    ap.add_argument("--azkit", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    main_guard(lambda: body(args))


if __name__ == "__main__":
    main()
