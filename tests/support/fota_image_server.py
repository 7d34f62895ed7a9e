"""A small HTTPS firmware-image server for the FOTA tests, standard library only: range
requests answered 206 with Content-Range (as the nRF Connect SDK's download_client requires),
416 when unsatisfiable, 404 for unknown paths, HTTP/1.1 keep-alive. It runs in a thread of the
test, which changes its faults directly:

  drop_after   close the connection (no TLS close_notify) once this many more body bytes
               were sent (once; then None)
  corrupt      flip one byte at this image offset in every answer that covers it
  whole        answer 200 with the whole image and no Content-Range (a server that ignores
               Range, which the download must refuse)
  hold_from    block a request whose range starts at or after this offset until `release`
               is set (`held` is set while one waits)

Every request is logged in `log` as {"path","start","end","sent"} (`sent`: body bytes
written)."""

import http.server
import os
import re
import socket
import ssl
import threading


class ImageServer:
    def __init__(self, root, cert, key, host="127.0.0.1"):
        self.root = root
        self.log = []
        self.lock = threading.Lock()
        self.drop_after = None
        self.corrupt = None
        self.hold_from = None
        self.whole = False
        self.held = threading.Event()
        self.release = threading.Event()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._get(self)

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _empty(self, h, status, extra=()):
        h.send_response(status)
        for k, v in extra:
            h.send_header(k, v)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _get(self, h):
        path = os.path.normpath(os.path.join(self.root, h.path.lstrip("/")))
        if not path.startswith(self.root + os.sep) or not os.path.isfile(path):
            self._empty(h, 404)
            return
        with open(path, "rb") as f:
            data = bytearray(f.read())
        if self.whole:
            with self.lock:
                self.log.append({"path": h.path, "start": 0, "end": len(data) - 1,
                                 "sent": len(data)})
            h.send_response(200)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(bytes(data))
            return
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", h.headers.get("Range", ""))
        if not m:
            self._empty(h, 400)
            return
        start, end = int(m.group(1)), int(m.group(2))
        if start >= len(data) or end < start:
            self._empty(h, 416, [("Content-Range", f"bytes */{len(data)}")])
            return
        end = min(end, len(data) - 1)
        if self.hold_from is not None and start >= self.hold_from:
            self.held.set()
            self.release.wait()
        if self.corrupt is not None and start <= self.corrupt <= end:
            data[self.corrupt] ^= 0xFF
        body = bytes(data[start:end + 1])
        entry = {"path": h.path, "start": start, "end": end, "sent": 0}
        with self.lock:
            self.log.append(entry)
            cut = None
            if self.drop_after is not None and self.drop_after < len(body):
                cut, self.drop_after = self.drop_after, None
            elif self.drop_after is not None:
                self.drop_after -= len(body)
        h.send_response(206)
        h.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Content-Type", "application/octet-stream")
        h.end_headers()
        if cut is None:
            h.wfile.write(body)
            entry["sent"] = len(body)
            return
        h.wfile.write(body[:cut])
        h.wfile.flush()
        entry["sent"] = cut
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
