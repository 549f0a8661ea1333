"""Scripted HTTP/2 servers (h2c, prior knowledge) on Python's `h2` library,
for tests/h2_hostile.rs: well-behaved where h2 lets us be, hostile where the
scenario says, with raw frames written past h2 where it would refuse.

    python3 tests/h2/hostile_server.py SCENARIO   # prints its port, serves until killed

Every connection runs SCENARIO. A normal answer to `GET /x` is status 200
with the body `body of /x` (a POST's body is echoed instead). Scenarios:

  goaway            after 10 requests on a connection: GOAWAY (last stream =
                    the 10th), answer those 10, close
  refused           the first time a path is asked for: RST_STREAM REFUSED_STREAM
  rst-mid-body      /reset: head, 7 body bytes, then RST_STREAM INTERNAL_ERROR
  max1              SETTINGS_MAX_CONCURRENT_STREAMS = 1; answers once each read is
                    handled; a stream beyond the limit once the client acknowledged
                    is refused and counted (x-violations), or h2 ends the connection
  beyond-window     /flood: DATA past the client's stream window (raw frames)
  continuation      /cont: the head in a HEADERS and 16-byte CONTINUATION frames
  table-size        the encoder's table resized (0, 256, 4096) between answers
  push              a PUSH_PROMISE on the first stream (push is disabled)
  ping              a PING first; answers only once its ACK came back right
  no-settings       reads, never writes
  invalid-settings  SETTINGS_ENABLE_PUSH = 1
  window-overflow   SETTINGS_INITIAL_WINDOW_SIZE = 2^31
  silent            /silent is never answered
  conn-error        first connection only: /a answered, /x gets its head and
                    then a WINDOW_UPDATE of 0 on the connection (a connection
                    error), every other request left unanswered; later
                    connections answer normally
  ping-flood        PINGs without end, never reading the answers
  empty-data-flood  /x: head, then 2,000 empty DATA frames
  continuation-flood  /x: HEADERS, then 200 CONTINUATIONs without END_HEADERS
Binds 127.0.0.1:0; every socket wait is bounded (10 s); the process exits 60 s
after its last connection, or when killed.
"""

import struct
import sys
import threading

import h2.errors
import h2.events
import h2.settings

import peer

SCENARIO = sys.argv[1] if len(sys.argv) > 1 else "normal"
LOCK = threading.Lock()
SEEN_PATHS = set()  # refused: paths already refused once


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings_frame(pairs):
    return frame(0x4, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def main():
    peer.serve_forever(lambda sock, number: Conn(sock, number).run())


class Conn:
    def __init__(self, sock, number):
        self.sock = sock
        # Sends nothing yet: the scenario decides what goes first.
        self.h2 = peer.server_connection()
        self.paths = {}
        self.methods = {}
        self.bodies = {}
        self.requests = 0
        self.answered = 0
        self.goaway_at = None  # last stream id once GOAWAY is sent
        self.acked = False  # the client acknowledged our SETTINGS
        self.pending = []  # max1: streams waiting for their answer
        self.violations = 0
        self.ping_ok = SCENARIO != "ping"
        self.held = []  # ping: streams waiting for the PING ACK
        self.sizes = [0, 256, 4096]
        self.index = number - 1  # connections accepted before this one

    def send(self, raw=b""):
        self.sock.sendall(self.h2.data_to_send() + raw)

    def run(self):
        if SCENARIO == "no-settings":
            while self.sock.recv(65536):
                pass
            return
        self.h2.initiate_connection()
        raw = b""
        if SCENARIO == "max1":
            self.h2.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1})
        elif SCENARIO == "invalid-settings":
            raw = settings_frame([(0x2, 1)])
        elif SCENARIO == "window-overflow":
            raw = settings_frame([(0x4, 1 << 31)])
        elif SCENARIO == "ping":
            self.h2.ping(b"12345678")
        self.send(raw)
        if SCENARIO == "ping-flood":
            # PINGs without end, never reading the answers: the client's
            # answers pile up until it calls it a flood and closes.
            chunk = b"".join(frame(0x6, 0, 0, struct.pack(">Q", i)) for i in range(10000))
            for _ in range(3000):
                self.sock.sendall(chunk)
            return
        for events in peer.reads(self.sock, self.h2):
            for event in events:
                if self.on_event(event) is False:
                    self.send()
                    return
            # max1: answered once the read is handled, so the streams of one
            # read are open at the same time.
            for stream in self.pending:
                self.answer(stream)
            self.pending = []
            self.send()

    def on_event(self, event):
        if isinstance(event, h2.events.RequestReceived):
            headers = dict(event.headers)
            self.paths[event.stream_id] = headers.get(":path", "/")
            self.methods[event.stream_id] = headers.get(":method", "GET")
            self.bodies[event.stream_id] = bytearray()
            self.requests += 1
            if SCENARIO == "max1" and self.acked and self.pending:
                self.violations += 1
                self.h2.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                self.paths.pop(event.stream_id)
        elif isinstance(event, h2.events.DataReceived):
            if event.stream_id in self.bodies:
                self.bodies[event.stream_id] += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            return self.on_request(event.stream_id)
        elif isinstance(event, h2.events.SettingsAcknowledged):
            self.acked = True
        elif isinstance(event, h2.events.PingAckReceived):
            self.ping_ok = event.ping_data == b"12345678"
            for stream in self.held:
                self.answer(stream)
            self.held = []
        elif isinstance(event, h2.events.ConnectionTerminated):
            return False
        return None

    def on_request(self, stream):
        """A whole request arrived on `stream`."""
        path = self.paths.get(stream)
        if path is None:
            return None
        if SCENARIO == "goaway":
            if self.goaway_at is not None:
                return None  # above the last stream: never processed
            self.answered += 1
            self.answer(stream)
            if self.answered == 10:
                self.goaway_at = stream
                self.h2.close_connection(last_stream_id=stream)
                return False
            return None
        if SCENARIO == "conn-error" and self.index == 0:
            if path == "/a":
                self.answer(stream)
            elif path == "/x":
                self.h2.send_headers(stream, [(":status", "200"), ("content-length", "100")])
                self.send(frame(0x8, 0, 0, struct.pack(">I", 0)))
            return None
        if SCENARIO == "refused":
            with LOCK:
                first = path not in SEEN_PATHS
                SEEN_PATHS.add(path)
            if first:
                self.h2.reset_stream(stream, h2.errors.ErrorCodes.REFUSED_STREAM)
                return None
        if SCENARIO == "max1":
            self.pending.append(stream)
            return None
        if SCENARIO == "ping" and not self.ping_ok:
            self.held.append(stream)
            return None
        if SCENARIO == "silent" and path == "/silent":
            return None
        self.answer(stream)
        return None

    def answer(self, stream):
        path = self.paths[stream]
        body = bytes(self.bodies.get(stream, b""))
        if self.methods.get(stream) != "POST":
            body = ("body of " + path).encode()
        headers = [(":status", "200"), ("content-length", str(len(body))), ("x-path", path)]
        if SCENARIO == "max1":
            headers.append(("x-violations", str(self.violations)))
        if SCENARIO == "rst-mid-body" and path == "/reset":
            self.h2.send_headers(stream, [(":status", "200"), ("content-length", "100")])
            self.h2.send_data(stream, b"partial")
            self.h2.reset_stream(stream, h2.errors.ErrorCodes.INTERNAL_ERROR)
            return
        if SCENARIO == "beyond-window" and path == "/flood":
            self.h2.send_headers(stream, [(":status", "200")])
            # 20,000 bytes in 16 KiB frames, whatever the window says.
            raw = frame(0x0, 0, stream, b"f" * 16384) + frame(0x0, 0x1, stream, b"f" * 3616)
            self.send(raw)
            return
        if SCENARIO in ("continuation", "continuation-flood") and path in ("/cont", "/x"):
            fields = headers + [("x-long-%d" % i, "v" * 40) for i in range(20)]
            block = self.h2.encoder.encode(fields)
            if SCENARIO == "continuation-flood":
                raw = frame(0x1, 0, stream, block[:5])
                raw += b"".join(frame(0x9, 0, stream, b"") for _ in range(200))
                self.send(raw)
                return
            pieces = [block[i:i + 16] for i in range(0, len(block), 16)]
            raw = frame(0x1, 0, stream, pieces[0])  # HEADERS, no END_HEADERS
            for i, piece in enumerate(pieces[1:], start=1):
                flags = 0x4 if i == len(pieces) - 1 else 0
                raw += frame(0x9, flags, stream, piece)
            raw += frame(0x0, 0x1, stream, body)
            self.send(raw)
            return
        if SCENARIO == "empty-data-flood" and path == "/x":
            self.h2.send_headers(stream, [(":status", "200")])
            raw = b"".join(frame(0x0, 0, stream, b"") for _ in range(2000))
            self.send(raw)
            return
        if SCENARIO == "push" and stream == 1:
            self.h2.send_headers(stream, [(":status", "200"), ("content-length", "0")])
            block = self.h2.encoder.encode([(":method", "GET"), (":scheme", "http"),
                                            (":authority", "x"), (":path", "/pushed")])
            self.send(frame(0x5, 0x4, stream, struct.pack(">I", 2) + block))
            return
        if SCENARIO == "table-size":
            size = self.sizes[self.answered % len(self.sizes)]
            self.h2.encoder.header_table_size = size
        self.answered += 1
        self.h2.send_headers(stream, headers)
        self.h2.send_data(stream, body, end_stream=True)


if __name__ == "__main__":
    main()
