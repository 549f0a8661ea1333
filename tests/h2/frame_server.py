"""Byte-scripted HTTP/2 servers (h2c, prior knowledge) for
tests/h2_frames.rs: frames written by hand (HPACK through the `hpack`
package that `h2` depends on), so a scenario can send what a well-behaved
library would refuse to.

    python3 tests/h2/frame_server.py SCENARIO   # prints its port, serves until killed

A normal answer to `GET /x` is status 200 with the body `body of /x` (a
POST's body is echoed instead). `GET /count` answers how many requests
every path got so far (`path=n` lines, sorted), on any connection.
Scenarios:

  goaway-zero       every connection: once a request arrives (but /count),
                    GOAWAY with last stream 0, then close
  goaway-twice      first connection: once three requests arrived, GOAWAY
                    (last stream 1), then GOAWAY (last stream 5, higher: not
                    allowed), then answers all three and closes; later
                    connections answer normally
  data-stream-zero  /x: head, then a DATA frame on stream 0
  info-end-stream   /x: a 103 head with END_STREAM
  trailer-pseudo    /x: head, body, then trailers carrying `:status`
  window-update-zero  a POST: WINDOW_UPDATE of 0 on its stream at once
  shrink-window     a POST: once 32 KiB of its body arrived,
                    SETTINGS_INITIAL_WINDOW_SIZE = 0 (the stream's window
                    goes below zero), its bytes credited back, and after
                    its SETTINGS ACK came back, the window set to 65,535 again
  status-loop       /s/CODE/VALUE: status CODE with `Retry-After: VALUE`
                    (`none`: no header), every time; `/count` tells how often
  file              /file/N: N bytes (byte i = i % 251) with ranges served
                    (206 and Content-Range for `Range: bytes=K-`), the
                    path's first answer cut by RST_STREAM after half
  file-always-reset /file/N: like `file`, but every answer is cut after half
  file-wrong-range  /file/N: like `file`, but a range request gets a 206
                    whose Content-Range starts at 0 (the whole body)
  file-partial      /file/N: a non-range request gets a 206 for bytes
                    10-19 of N
  refused-after-data  /x, the first time: head (content-length 20), 10 body
                    bytes, then RST_STREAM REFUSED_STREAM (which promises that
                    nothing was processed); later times answered whole
  zero-streams      SETTINGS_MAX_CONCURRENT_STREAMS = 0; every request is
                    refused (RST_STREAM REFUSED_STREAM)
  redirect-loop     /a: 302 to /b, /b: 302 to /a
  close-after-one   every connection: GOAWAY after its first request's
                    answer (last stream = that stream), then close
Binds 127.0.0.1:0; every socket wait is bounded (10 s); the process exits 60 s
after its last connection, or when killed.
"""

import socket
import struct
import sys
import threading
import urllib.parse

import hpack
import peer

SCENARIO = sys.argv[1] if len(sys.argv) > 1 else "normal"
LOCK = threading.Lock()
COUNTS = {}  # path -> requests so far, over every connection
CONNECTIONS = [0]

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(pairs=()):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def goaway(last, code=0):
    return frame(GOAWAY, 0, 0, struct.pack(">II", last, code))


def window_update(stream, n):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", n))


def file_byte_string(n):
    return bytes(i % 251 for i in range(n))


def main():
    peer.serve_forever(serve, backlog=256)


def serve(sock, _number):
    Conn(sock).run()
    # A graceful close, as servers make it: unread bytes at close()
    # would send a reset that can overtake the last frames.
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(2)
    while sock.recv(65536):
        pass


class Closed(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.streams = {}  # id -> {"headers": dict, "body": bytearray}
        self.arrived = []  # streams whose request is complete, in order
        self.block = None  # (stream, bytes, end_stream) while CONTINUATIONs come
        self.shrunk = None  # shrink-window: the stream whose window was shrunk
        self.settings_sent = 0
        with LOCK:
            self.index = CONNECTIONS[0]
            CONNECTIONS[0] += 1

    def send(self, raw):
        self.sock.sendall(raw)

    def read_exact(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise Closed()
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def run(self):
        try:
            if self.read_exact(len(PREFACE)) != PREFACE:
                return
            self.send(settings([(0x3, 0)] if SCENARIO == "zero-streams" else []))
            self.settings_sent += 1
            while True:
                head = self.read_exact(9)
                length = int.from_bytes(head[:3], "big")
                kind, flags = head[3], head[4]
                stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                payload = self.read_exact(length)
                if self.on_frame(kind, flags, stream, payload) is False:
                    return
        except Closed:
            return

    def on_frame(self, kind, flags, stream, payload):
        if kind == SETTINGS:
            if flags & ACK:
                if SCENARIO == "shrink-window" and self.shrunk is not None:
                    # The client applied the window of 0: open it again.
                    self.send(settings([(0x4, 65535)]))
                    self.shrunk = None
            else:
                self.send(frame(SETTINGS, ACK, 0))
            return None
        if kind == PING:
            if not flags & ACK:
                self.send(frame(PING, ACK, 0, payload))
            return None
        if kind in (HEADERS, CONTINUATION):
            if kind == HEADERS:
                if flags & PADDED:
                    pad = payload[0]
                    payload = payload[1:len(payload) - pad]
                if flags & PRIORITY:
                    payload = payload[5:]
                self.block = (stream, payload, bool(flags & END_STREAM))
            else:
                s, block, end = self.block
                self.block = (s, block + payload, end)
            if not flags & END_HEADERS:
                return None
            s, block, end = self.block
            self.block = None
            headers = dict(self.decoder.decode(block))
            headers[":path"] = urllib.parse.unquote(headers.get(":path", "/"))
            self.streams[s] = {"headers": headers, "body": bytearray()}
            with LOCK:
                path = headers.get(":path", "/")
                COUNTS[path] = COUNTS.get(path, 0) + 1
            if SCENARIO == "goaway-zero" and path != "/count":
                self.send(goaway(0))
                return False
            if SCENARIO == "window-update-zero" and headers.get(":method") == "POST":
                self.send(window_update(s, 0))
            if end:
                return self.on_request(s)
            return None
        if kind == DATA:
            data = payload
            if flags & PADDED:
                data = payload[1:len(payload) - payload[0]]
            entry = self.streams.get(stream)
            if entry is not None:
                entry["body"] += data
            if payload:
                self.send(window_update(0, len(payload)) + window_update(stream, len(payload)))
            if (SCENARIO == "shrink-window" and entry is not None and self.shrunk is None
                    and self.settings_sent == 1 and len(entry["body"]) >= 32768):
                # The stream has 32 KiB+ in flight against a window that is
                # now 0: it goes below zero (RFC 9113 §6.9.2).
                self.shrunk = stream
                self.settings_sent += 1
                self.send(settings([(0x4, 0)]))
            if flags & END_STREAM:
                return self.on_request(stream)
            return None
        # RST_STREAM, PRIORITY, WINDOW_UPDATE, GOAWAY: nothing to do.
        if kind == GOAWAY:
            return False
        return None

    def head(self, stream, fields, end_stream=False):
        block = self.encoder.encode(fields)
        return frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream, block)

    def answer(self, stream, status, body, extra=()):
        fields = [(":status", str(status)), ("content-length", str(len(body)))] + list(extra)
        raw = self.head(stream, fields, end_stream=not body)
        for i in range(0, len(body), 16384):
            piece = body[i:i + 16384]
            raw += frame(DATA, END_STREAM if i + 16384 >= len(body) else 0, stream, piece)
        self.send(raw)

    def on_request(self, stream):
        entry = self.streams[stream]
        headers = entry["headers"]
        path = headers.get(":path", "/")
        method = headers.get(":method", "GET")
        self.arrived.append(stream)
        if path == "/count":
            with LOCK:
                text = "".join("%s=%d\n" % kv for kv in sorted(COUNTS.items()))
            self.answer(stream, 200, text.encode())
            return None
        if SCENARIO == "goaway-twice" and self.index == 0:
            if len(self.arrived) < 3:
                return None
            # Two GOAWAYs, the second raising the last stream id (§6.8:
            # MUST NOT), then answers for all three.
            self.send(goaway(1) + goaway(5))
            for s in self.arrived:
                self.normal(s)
            return False
        if SCENARIO == "data-stream-zero" and path == "/x":
            self.send(self.head(stream, [(":status", "200"), ("content-length", "4")])
                      + frame(DATA, 0, 0, b"oops"))
            return None
        if SCENARIO == "info-end-stream" and path == "/x":
            self.send(self.head(stream, [(":status", "103"), ("link", "</s.css>")], end_stream=True))
            return None
        if SCENARIO == "trailer-pseudo" and path == "/x":
            raw = self.head(stream, [(":status", "200")])
            raw += frame(DATA, 0, stream, b"abc")
            raw += self.head(stream, [(":status", "200"), ("x-trailer", "1")], end_stream=True)
            self.send(raw)
            return None
        if SCENARIO == "status-loop" and path.startswith("/s/"):
            _, _, code, value = path.split("/", 3)
            extra = [] if value == "none" else [("retry-after", value)]
            self.answer(stream, int(code), b"try later", extra)
            return None
        if SCENARIO == "zero-streams" and path != "/count":
            self.send(frame(RST_STREAM, 0, stream, struct.pack(">I", 0x7)))
            return None
        if SCENARIO == "refused-after-data" and path == "/x":
            with LOCK:
                first = COUNTS.get(path) == 1
            if first:
                raw = self.head(stream, [(":status", "200"), ("content-length", "20")])
                raw += frame(DATA, 0, stream, b"0123456789")
                raw += frame(RST_STREAM, 0, stream, struct.pack(">I", 0x7))
                self.send(raw)
            else:
                self.answer(stream, 200, b"0123456789abcdefghij")
            return None
        if SCENARIO == "redirect-loop" and path in ("/a", "/b"):
            target = "/b" if path == "/a" else "/a"
            self.answer(stream, 302, b"", [("location", target)])
            return None
        if SCENARIO.startswith("file") and path.startswith("/file/"):
            self.file(stream, int(path.split("/")[2]), headers)
            return None
        self.normal(stream)
        if SCENARIO == "close-after-one":
            self.send(goaway(stream))
            return False
        return None

    def normal(self, stream):
        entry = self.streams[stream]
        path = entry["headers"].get(":path", "/")
        if entry["headers"].get(":method") == "POST":
            body = bytes(entry["body"])
        else:
            body = ("body of " + path).encode()
        self.answer(stream, 200, body, [("x-path", path)])

    def file(self, stream, n, headers):
        data = file_byte_string(n)
        ranged = headers.get("range", "")
        if SCENARIO == "file-partial" and not ranged:
            self.answer(stream, 206, data[10:20], [("content-range", "bytes 10-19/%d" % n)])
            return
        start = 0
        if ranged.startswith("bytes=") and ranged.endswith("-"):
            start = int(ranged[6:-1])
        if start and SCENARIO == "file-wrong-range":
            self.answer(stream, 206, data, [("content-range", "bytes 0-%d/%d" % (n - 1, n))])
            return
        with LOCK:
            first = COUNTS.get(headers.get(":path")) == 1
        cut = SCENARIO == "file-always-reset" or (
            SCENARIO in ("file", "file-wrong-range") and not start and first)
        status = 206 if start else 200
        body = data[start:]
        fields = [(":status", str(status)), ("content-length", str(len(body))), ("etag", '"v1"')]
        if start:
            fields.append(("content-range", "bytes %d-%d/%d" % (start, n - 1, n)))
        raw = self.head(stream, fields)
        if cut:
            half = body[:len(body) // 2]
            for i in range(0, len(half), 16384):
                raw += frame(DATA, 0, stream, half[i:i + 16384])
            raw += frame(RST_STREAM, 0, stream, struct.pack(">I", 0x2))
            self.send(raw)
            return
        for i in range(0, len(body), 16384):
            piece = body[i:i + 16384]
            raw += frame(DATA, END_STREAM if i + 16384 >= len(body) else 0, stream, piece)
        self.send(raw)


if __name__ == "__main__":
    main()
