"""A small HTTP/2 (h2c, prior knowledge) server on Python's `h2` library,
for tests/h2_interop.rs: an independent peer for the sans-IO session.

    python3 tests/h2/python_server.py      # prints its port, serves one connection

Paths:
  /small     200, "hello"
  /large     200, LARGE_LEN bytes (i % 251), sent as the windows allow
  /upload    200, "<length>:<sum of bytes mod 65536>" of the request body
  /trailers  200, "body", then trailers x-checksum: abc
  /reset     200, "partial", then RST_STREAM CANCEL
  /goaway    GOAWAY whose last stream id is below this stream, then exit
Binds 127.0.0.1:0; exits on EOF, GOAWAY, or 30 s without a byte.
"""

import socket

import h2.errors
import h2.events

import peer

LARGE_LEN = 300_000


def main():
    listener = peer.listen(backlog=1, idle=30)
    sock, _ = listener.accept()
    sock.settimeout(30)
    conn = peer.start(sock)
    try:
        serve(sock, conn)
    except socket.timeout:
        pass
    sock.close()


def serve(sock, conn):
    """Answers requests until EOF, GOAWAY, or the client's GOAWAY."""
    paths = {}
    bodies = {}
    pending = {}  # stream id -> bytes still to send
    finished = False
    for events in peer.reads(sock, conn):
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                headers = dict(event.headers)
                paths[event.stream_id] = headers[":path"]
                bodies[event.stream_id] = bytearray()
            elif isinstance(event, h2.events.DataReceived):
                bodies[event.stream_id] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                finished |= respond(conn, event.stream_id, paths, bodies, pending)
            elif isinstance(event, h2.events.ConnectionTerminated):
                finished = True
        flush(conn, pending)
        sock.sendall(conn.data_to_send())
        if finished:
            return


def respond(conn, stream_id, paths, bodies, pending):
    """Answers a complete request; True when the server should stop."""
    path = paths.get(stream_id)
    if path is None:
        return False
    if path == "/small":
        conn.send_headers(stream_id, [(":status", "200"), ("content-length", "5")])
        conn.send_data(stream_id, b"hello", end_stream=True)
    elif path == "/large":
        conn.send_headers(stream_id, [(":status", "200"), ("content-length", str(LARGE_LEN))])
        pending[stream_id] = bytes(i % 251 for i in range(LARGE_LEN))
    elif path == "/upload":
        body = bodies[stream_id]
        reply = ("%d:%d" % (len(body), sum(body) % 65536)).encode()
        conn.send_headers(stream_id, [(":status", "200")])
        conn.send_data(stream_id, reply, end_stream=True)
    elif path == "/trailers":
        conn.send_headers(stream_id, [(":status", "200")])
        conn.send_data(stream_id, b"body")
        conn.send_headers(stream_id, [("x-checksum", "abc")], end_stream=True)
    elif path == "/reset":
        conn.send_headers(stream_id, [(":status", "200")])
        conn.send_data(stream_id, b"partial")
        conn.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.CANCEL)
    elif path == "/goaway":
        conn.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR, last_stream_id=stream_id - 2)
        return True
    else:
        conn.send_headers(stream_id, [(":status", "404")], end_stream=True)
    return False


def flush(conn, pending):
    """Sends what the flow-control windows allow of each pending body."""
    for stream_id in list(pending):
        body = pending[stream_id]
        while body:
            room = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if room <= 0:
                break
            chunk, body = body[:room], body[room:]
            conn.send_data(stream_id, chunk, end_stream=not body)
        if body:
            pending[stream_id] = body
        else:
            del pending[stream_id]


if __name__ == "__main__":
    main()
