"""An HTTP/2 file server (h2c, prior knowledge) on Python's `h2` library, for
tests/h2_streaming.rs: downloads over HTTP/2 that are cut off part-way and
resumed with Range and If-Range (RFC 9110 §14).

    python3 tests/h2/range_server.py SCENARIO   # prints its port, serves until killed

`GET /file/{name}?size=N` is N bytes of the pattern `i % 251`, with
`ETag: "v1"`, `Last-Modified` and `Accept-Ranges: bytes`. The first request
for a name is cut off: its head and half of its body are sent, then
RST_STREAM INTERNAL_ERROR. Later requests depend on SCENARIO:

  honour   `Range: bytes=K-` is answered 206 with `Content-Range: bytes
           K-(N-1)/N` when `If-Range` is absent or `"v1"`, 200 with the whole
           body when `If-Range` is another validator, and 416 with
           `Content-Range: bytes */N` when K >= N
  ignore   Range is ignored: 200 with the whole body every time

Every answer carries `x-range`, `x-if-range` and `x-accept-encoding` (what
the request sent, or `-`), so a test can see what the last attempt asked for. Bodies are sent as
the client's flow-control windows allow. Binds 127.0.0.1:0; every socket
wait is bounded (10 s); the process exits 60 s after its last connection, or
when killed.
"""

import select
import sys
import threading
from urllib.parse import parse_qs, urlsplit

import h2.errors
import h2.events
import h2.exceptions

import peer

SCENARIO = sys.argv[1] if len(sys.argv) > 1 else "honour"
LOCK = threading.Lock()
SEEN = set()  # names already cut off once
ETAG = '"v1"'
LAST_MODIFIED = "Sat, 01 Jan 2022 00:00:00 GMT"


def pattern(start, end):
    return bytes(i % 251 for i in range(start, end))


def answer(headers):
    """(status, extra headers, body, cut_at) for a request's headers."""
    path = headers.get(":path", "/")
    parts = urlsplit(path)
    if not parts.path.startswith("/file/"):
        return 404, [], b"not found", None
    name = parts.path[len("/file/"):]
    size = int(parse_qs(parts.query).get("size", ["1048576"])[0])
    rng = headers.get("range")
    if_range = headers.get("if-range")
    echo = [
        ("x-range", rng or "-"),
        ("x-if-range", if_range or "-"),
        ("x-accept-encoding", headers.get("accept-encoding", "-")),
    ]
    common = [("etag", ETAG), ("last-modified", LAST_MODIFIED), ("accept-ranges", "bytes")]
    with LOCK:
        first = name not in SEEN
        SEEN.add(name)
    if first:
        return 200, common + echo + [("content-length", str(size))], pattern(0, size), size // 2
    if SCENARIO == "honour" and rng and rng.startswith("bytes=") and rng.endswith("-"):
        start = int(rng[len("bytes="):-1])
        if if_range is not None and if_range != ETAG:
            return 200, common + echo + [("content-length", str(size))], pattern(0, size), None
        if start >= size:
            return 416, echo + [("content-range", "bytes */%d" % size)], b"", None
        extra = [
            ("content-range", "bytes %d-%d/%d" % (start, size - 1, size)),
            ("content-length", str(size - start)),
        ]
        return 206, common + echo + extra, pattern(start, size), None
    return 200, common + echo + [("content-length", str(size))], pattern(0, size), None


def serve(sock, _number):
    conn = peer.start(sock)
    # stream -> [body, sent, cut_at]
    pending = {}
    while True:
        sent_any = False
        for sid in list(pending):
            body, sent, cut = pending[sid]
            stop = cut if cut is not None else len(body)
            try:
                room = min(
                    conn.local_flow_control_window(sid),
                    conn.max_outbound_frame_size,
                    stop - sent,
                )
            except (h2.exceptions.StreamClosedError, KeyError):
                del pending[sid]
                continue
            if room > 0:
                conn.send_data(sid, body[sent:sent + room])
                sent += room
                pending[sid][1] = sent
                sent_any = True
            if sent >= stop:
                if cut is not None:
                    conn.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
                else:
                    conn.end_stream(sid)
                del pending[sid]
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if sent_any:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                continue
        data = sock.recv(peer.READ_SIZE)
        if not data:
            return
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                headers = dict(event.headers)
                status, extra, body, cut = answer(headers)
                end = not body
                conn.send_headers(event.stream_id, [(":status", str(status))] + extra, end_stream=end)
                if not end:
                    pending[event.stream_id] = [body, 0, cut]
            elif isinstance(event, h2.events.StreamReset):
                pending.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                return
        out = conn.data_to_send()
        if out:
            sock.sendall(out)


def main():
    peer.serve_forever(serve)


if __name__ == "__main__":
    main()
