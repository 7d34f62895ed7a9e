#!/usr/bin/env python3
"""Firmware over the air end to end, device half: the real azkit-hub (twin desired properties
set through its service API, reported properties read back through it), `azkit run
--fota-dir` as the device over real TLS, and the range-capable HTTPS image server of
tests/support (the hub's own server certificate, so the device trusts it through the same
security tag as the hub). One device goes through, in order:

  1. v1 receives v2: downloads in fragments (ranges checked), reports downloading, applying,
     rebooting, swaps the image, restarts itself (re-exec) and reports current 2
  2. the same job id again (another version): ignored, nothing requested
  3. a new job whose version is the running one: ignored
  4. v3 with the connection dropped mid-fragment: resumed from that fragment, not from 0
  5. v4 with `azkit run` killed -9 mid-download: the restarted run continues from the
     last complete fragment
  6. a corrupt image (fwSha256 mismatch), an unknown path (404), a server that ignores Range
     (200 without Content-Range): error reported each time, the running image kept
  7. rollback rehearsal (DIR/fail-boot): v5 swapped in, fails to boot, rolledback reported

  fota_e2e.py --hub AZKIT_HUB --azkit AZKIT [--keep]
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "outside"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hubproc import Hub, fail, main_guard, step  # noqa: E402
from fota_image_server import ImageServer  # noqa: E402

FRAG = 4096
SIZE = 5 * FRAG + 1000  # six fragments, the last one short
WAIT = 120  # seconds for anything to happen (a hang fails; nothing measures speed)


def image(version):
    seed = hashlib.sha256(version.encode()).digest()
    out = bytearray()
    while len(out) < SIZE:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:SIZE])


class Device:
    """`azkit --json run --fota-dir` in the background; its JSON events collected."""

    def __init__(self, azkit, store, conn, fota_dir, log):
        self.cmd = [azkit, "--store", store, "--json", "run", "--connection-string", conn,
                    "--sec-tag", "10", "--count", "0", "--duration", "3600",
                    "--fota-dir", fota_dir, "--fw-version", "1"]
        self.events = []
        self.lock = threading.Lock()
        self.log = log
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(e)

    def mark(self):
        with self.lock:
            return len(self.events)

    def since(self, mark):
        with self.lock:
            return list(self.events[mark:])

    def wait(self, mark, pred, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for e in self.since(mark):
                if pred(e):
                    return e
            if self.proc.poll() is not None:
                fail(f"azkit run exited ({self.proc.returncode}) while waiting for {what}")
            time.sleep(0.05)
        fail(f"no {what} from azkit run; events: {self.since(mark)[-20:]}")

    def fota(self, mark, step_name, text=None):
        return self.wait(mark, lambda e: e.get("event") == "fota" and e.get("step") == step_name
                         and (text is None or text in e.get("text", "")),
                         f"fota {step_name} {text or ''}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def reported_fw(hub, dev):
    t = hub.admin("twin", "show", dev)["twin"]
    return t.get("properties", {}).get("reported", {}).get("firmware", {})


def wait_reported(hub, dev, status, version, job=None):
    deadline = time.monotonic() + WAIT
    fw = {}
    while time.monotonic() < deadline:
        fw = reported_fw(hub, dev)
        if fw.get("fwUpdateStatus") == status and fw.get("currentFwVersion") == version and \
                (job is None or fw.get("jobId") == job):
            return fw
        time.sleep(0.2)
    fail(f"the twin never reported {status} {version}: {fw}")


# Job ids here are never a prefix of an earlier one: azure_fota (and azkit with it) treats a
# desired jobId that starts with the reported one as the same job ("job-5" then "job-5b" is
# ignored).
def deploy(hub, dev, port, version, job, path, sha):
    desired = {"firmware": {"fwVersion": version, "jobId": job,
                            "fwLocation": {"host": f"localhost:{port}", "path": path,
                                           "protocol": "https:"},
                            "fwFragmentSize": FRAG, "fwSize": SIZE, "fwSha256": sha}}
    hub.admin("twin", "set-desired", dev, json.dumps(desired))


def reports(events):
    """The fwUpdateStatus values the device sent, in order."""
    out = []
    for e in events:
        if e.get("event") == "fota" and e.get("step") == "report":
            fw = json.loads(e["text"].split(" ", 1)[1])["firmware"]
            out.append(fw["fwUpdateStatus"])
    return out


def requests(srv, path):
    with srv.lock:
        return [dict(r) for r in srv.log if r["path"] == "/" + path]


def check_fragments(reqs, what):
    starts = [r["start"] for r in reqs]
    if starts.count(0) != 1:
        fail(f"{what}: the image was requested from byte 0 {starts.count(0)} times: {starts}")
    for r in reqs:
        if r["start"] % FRAG != 0 or r["end"] != min(r["start"] + FRAG, SIZE) - 1:
            fail(f"{what}: a range that is not one fragment: {r}")


def print_logs(hub):
    """The hub's log and the device's stderr, when a step failed."""
    hub.print_log()
    try:
        with open(os.path.join(hub.dir, "device.log")) as f:
            sys.stdout.write("---- azkit run stderr ----\n" + f.read()[-8000:])
    except OSError:
        pass


def body(args):
    hub = Hub(args.hub, args.azkit, "fota")
    srv = dev = None
    try:
        hub.start()
        pki = os.path.join(hub.data, "pki")
        images = os.path.join(hub.dir, "images")
        os.mkdir(images)
        for v in ("2", "3", "4", "5", "6"):
            with open(os.path.join(images, f"app-{v}.bin"), "wb") as f:
                f.write(image(v))
        sha = {v: hashlib.sha256(image(v)).hexdigest() for v in ("2", "3", "4", "5", "6")}
        srv = ImageServer(images, os.path.join(pki, "server-chain.pem"),
                          os.path.join(pki, "server.key.pem"))
        store = os.path.join(hub.dir, "store")
        subprocess.run([args.azkit, "--store", store, "cred", "write", "10", "ca_chain",
                        os.path.join(pki, "ca.pem")], check=True, capture_output=True)
        conn = hub.admin("device", "add", "fw-dev", "--sas")["device"]["connectionString"]
        fota_dir = os.path.join(hub.dir, "fota")
        log = open(os.path.join(hub.dir, "device.log"), "a")
        dev = Device(args.azkit, store, conn, fota_dir, log)

        step("1. v1 device: reports current 1")
        m = dev.mark()
        dev.start()
        dev.fota(m, "boot", "running firmware 1")
        wait_reported(hub, "fw-dev", "current", "1")

        step("1. deploy v2 (job j1): fragments, downloading/applying/rebooting, restart")
        m = dev.mark()
        deploy(hub, "fw-dev", srv.port, "2", "job-1", "app-2.bin", sha["2"])
        dev.fota(m, "boot", "running firmware 2")
        seen = reports(dev.since(m))
        for s in ("downloading", "applying", "rebooting"):
            if s not in seen:
                fail(f"'{s}' was never reported: {seen}")
        if seen.index("downloading") > seen.index("applying") or \
                seen.index("applying") > seen.index("rebooting"):
            fail(f"statuses out of order: {seen}")
        fw = wait_reported(hub, "fw-dev", "current", "2")
        if fw.get("jobId") != "job-1":
            fail(f"the reported jobId is not the job's: {fw}")
        reqs = requests(srv, "app-2.bin")
        check_fragments(reqs, "v2")
        if len(reqs) != 6:
            fail(f"v2: {len(reqs)} requests for 6 fragments: {reqs}")
        with open(os.path.join(fota_dir, "image"), "rb") as f:
            if f.read() != image("2"):
                fail("the running image is not v2")

        step("2. the same job again: ignored")
        m = dev.mark()
        deploy(hub, "fw-dev", srv.port, "3", "job-1", "app-3.bin", sha["3"])
        dev.wait(m, lambda e: e.get("event") == "desired" and "job-1" in json.dumps(e),
                 "the desired patch with job-1")
        if any(e.get("step") == "start" for e in dev.since(m)) or requests(srv, "app-3.bin"):
            fail("the same job was started again")

        step("3. a new job with the running version: ignored")
        m = dev.mark()
        deploy(hub, "fw-dev", srv.port, "2", "job-2", "app-2.bin", sha["2"])
        dev.wait(m, lambda e: e.get("event") == "desired" and "job-2" in json.dumps(e),
                 "the desired patch with job-2")
        if any(e.get("step") == "start" for e in dev.since(m)) or len(requests(srv, "app-2.bin")) != 6:
            fail("an image equal to the running one was downloaded")

        step("4. v3 with the connection dropped mid-fragment: resumes from that fragment")
        m = dev.mark()
        srv.drop_after = 2 * FRAG + 100
        deploy(hub, "fw-dev", srv.port, "3", "job-3", "app-3.bin", sha["3"])
        dev.fota(m, "boot", "running firmware 3")
        wait_reported(hub, "fw-dev", "current", "3")
        reqs = requests(srv, "app-3.bin")
        cut = [i for i, r in enumerate(reqs) if r["sent"] < r["end"] - r["start"] + 1]
        if len(cut) != 1:
            fail(f"v3: expected one cut answer: {reqs}")
        i = cut[0]
        if reqs[i]["start"] != 2 * FRAG or reqs[i + 1]["start"] != 2 * FRAG:
            fail(f"v3: not resumed from the cut fragment: {reqs}")
        check_fragments(reqs, "v3")
        requested = sum(r["end"] - r["start"] + 1 for r in reqs)
        if requested != SIZE + FRAG:
            fail(f"v3: {requested} bytes requested for {SIZE} (+ one fragment again)")

        step("5. v4 with azkit run killed -9 mid-download: continues after the restart")
        m = dev.mark()
        srv.hold_from = 3 * FRAG
        srv.held.clear()
        srv.release.clear()
        deploy(hub, "fw-dev", srv.port, "4", "job-4", "app-4.bin", sha["4"])
        if not srv.held.wait(WAIT):
            fail("v4: the download never reached the fourth fragment")
        dev.kill9()
        srv.hold_from = None
        srv.release.set()
        m = dev.mark()
        dev.start()
        dev.fota(m, "boot", "resuming the interrupted download")
        dev.fota(m, "boot", "running firmware 4")
        wait_reported(hub, "fw-dev", "current", "4")
        reqs = requests(srv, "app-4.bin")
        starts = [r["start"] for r in reqs]
        # before the kill 0, 1, 2 complete and 3 held; after it: 3 again, then 4 and 5
        if starts != [0, FRAG, 2 * FRAG, 3 * FRAG, 3 * FRAG, 4 * FRAG, 5 * FRAG]:
            fail(f"v4: not continued from the last complete fragment: {starts}")

        step("6. a corrupt image: error reported, v4 kept")
        m = dev.mark()
        srv.corrupt = FRAG + 7
        deploy(hub, "fw-dev", srv.port, "5", "job-5", "app-5.bin", sha["5"])
        dev.fota(m, "verify")
        fw = wait_reported(hub, "fw-dev", "error", "4")
        if fw.get("pendingFwVersion") != "5" or fw.get("jobId") != "job-5":
            fail(f"the error report does not name the job: {fw}")
        srv.corrupt = None
        m = dev.mark()
        deploy(hub, "fw-dev", srv.port, "5", "job-404", "no-such.bin", sha["5"])
        dev.fota(m, "fetch-failed", "answered 404")
        wait_reported(hub, "fw-dev", "error", "4", "job-404")
        m = dev.mark()
        srv.whole = True
        deploy(hub, "fw-dev", srv.port, "5", "job-200", "app-5.bin", sha["5"])
        dev.fota(m, "fetch-failed", "answered 200")
        wait_reported(hub, "fw-dev", "error", "4", "job-200")
        srv.whole = False
        with open(os.path.join(fota_dir, "image"), "rb") as f:
            if f.read() != image("4"):
                fail("the running image changed after a failed download")

        step("7. rollback: v6 swapped in fails to boot -> rolledback, v4 runs")
        open(os.path.join(fota_dir, "fail-boot"), "w").close()
        m = dev.mark()
        deploy(hub, "fw-dev", srv.port, "6", "job-6", "app-6.bin", sha["6"])
        dev.fota(m, "boot", "failed to boot")
        fw = wait_reported(hub, "fw-dev", "rolledback", "4")
        with open(os.path.join(fota_dir, "image"), "rb") as f:
            if f.read() != image("4"):
                fail("the rolled-back image is not v4")
        if os.path.exists(os.path.join(fota_dir, "fail-boot")):
            fail("the fail-boot marker was not used up")
    except AssertionError:
        print_logs(hub)
        raise
    finally:
        if dev:
            dev.stop()
        if srv:
            srv.stop()
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
