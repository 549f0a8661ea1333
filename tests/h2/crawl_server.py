"""A scripted HTTP/2 server (h2c, prior knowledge) on Python's `h2` library,
for tests/h2_crawl.rs: retries, pacing and cookies over HTTP/2, checked from
the server's own log.

    python3 tests/h2/crawl_server.py   # prints its port, then one log line per request

A log line is written (and flushed) when a request's head arrives, before
it is answered:

    ARRIVAL <time.monotonic()> <connection number from 1> <method> <path> <cookie field or ->

Answers, by path:

  /seq/A,B,...   the n-th request for this exact path gets item n (the last
                 repeats): `refused` RST_STREAM REFUSED_STREAM, `reset`
                 RST_STREAM INTERNAL_ERROR (both before any head), `503` a 503
                 with `retry-after: 1`, `429` a 429 whose `retry-after` is an
                 HTTP-date two seconds after its `date`, `200` the normal answer
  /set?COOKIE    200 with `set-cookie: COOKIE` (`%20` is a space)
  /redirect?TO   302 to TO, also setting `hop=1; Path=/`
  anything else  200, body `body of PATH`

Binds 127.0.0.1:0; every socket wait is bounded (10 s); the process exits 60 s
after its last connection, or when killed.
"""

import email.utils
import threading
import time

import h2.errors
import h2.events

import peer

LOCK = threading.Lock()
SEEN = {}  # path -> requests so far


def main():
    peer.serve_forever(lambda sock, number: Conn(sock, number).run())


class Conn:
    def __init__(self, sock, number):
        self.sock = sock
        self.number = number
        self.h2 = peer.start(sock)
        self.heads = {}

    def run(self):
        for events in peer.reads(self.sock, self.h2):
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    self.heads[event.stream_id] = dict(event.headers)
                    self.log(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    self.answer(event.stream_id)
            self.sock.sendall(self.h2.data_to_send())

    def log(self, headers):
        fields = dict(headers)
        cookies = [value for name, value in headers if name == "cookie"]
        cookie = "; ".join(cookies) if cookies else "-"
        line = "ARRIVAL %.6f %d %s %s %s" % (
            time.monotonic(),
            self.number,
            fields.get(":method", "?"),
            fields.get(":path", "?"),
            cookie,
        )
        with LOCK:
            print(line, flush=True)

    def answer(self, stream):
        path = self.heads.pop(stream, {}).get(":path", "/")
        if path.startswith("/seq/"):
            items = path[len("/seq/"):].split(",")
            with LOCK:
                n = SEEN.get(path, 0)
                SEEN[path] = n + 1
            item = items[min(n, len(items) - 1)]
            if item == "refused":
                self.h2.reset_stream(stream, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
            elif item == "reset":
                self.h2.reset_stream(stream, error_code=h2.errors.ErrorCodes.INTERNAL_ERROR)
            elif item == "503":
                self.respond(stream, "503", [("retry-after", "1")])
            elif item == "429":
                now = time.time()
                self.respond(
                    stream,
                    "429",
                    [
                        ("date", email.utils.formatdate(now, usegmt=True)),
                        ("retry-after", email.utils.formatdate(now + 2, usegmt=True)),
                    ],
                )
            else:
                self.respond(stream, "200", [], ("body of " + path).encode())
        elif path.startswith("/set?"):
            cookie = path[len("/set?"):].replace("%20", " ")
            self.respond(stream, "200", [("set-cookie", cookie)])
        elif path.startswith("/redirect?"):
            to = path[len("/redirect?"):]
            self.respond(stream, "302", [("location", to), ("set-cookie", "hop=1; Path=/")])
        else:
            self.respond(stream, "200", [], ("body of " + path).encode())

    def respond(self, stream, status, headers, body=b""):
        head = [(":status", status), ("content-length", str(len(body)))] + headers
        self.h2.send_headers(stream, head, end_stream=not body)
        if body:
            self.h2.send_data(stream, body, end_stream=True)


if __name__ == "__main__":
    main()
