"""What every scripted HTTP/2 server in tests/h2/ shares: the listening
socket on 127.0.0.1:0 whose port is the first line printed, a thread per
connection with bounded socket waits, the server-side `H2Connection`
(h2c, prior knowledge, header fields as text), and the read loop.

The scripts import it by name: Python puts the directory of the script it
runs first on `sys.path`, so `python3 tests/h2/SCRIPT.py` finds it from any
working directory (the tests run them that way).
"""

import socket
import threading
import traceback

import h2.config
import h2.connection
import h2.exceptions

READ_SIZE = 65536


def listen(backlog=64, idle=60):
    """A listener on 127.0.0.1:0 that gives up after `idle` seconds
    without a connection; prints its port (flushed) for the test."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    listener.settimeout(idle)
    print(listener.getsockname()[1], flush=True)
    return listener


def serve_forever(handle, idle=60, timeout=10, backlog=64):
    """Prints the port, then runs `handle(sock, number)` on a thread of its
    own for every connection (numbered from 1 in accept order) until `idle`
    seconds pass without one. Every socket wait is bounded by `timeout`; a
    connection that fails (socket error, or h2 refusing the peer) just ends;
    any other exception is a bug in the script and is printed on stderr.
    The socket is closed when `handle` returns."""
    listener = listen(backlog=backlog, idle=idle)
    number = 0
    while True:
        try:
            sock, _ = listener.accept()
        except socket.timeout:
            return
        number += 1
        threading.Thread(target=_run, args=(handle, sock, number, timeout), daemon=True).start()


def _run(handle, sock, number, timeout):
    sock.settimeout(timeout)
    try:
        handle(sock, number)
    except (OSError, h2.exceptions.ProtocolError):
        pass
    except Exception:  # a bug in the script: show it in the test's output
        traceback.print_exc()
    finally:
        try:
            sock.close()
        except OSError:
            pass


def server_connection():
    """A server-side `H2Connection` that has sent nothing yet."""
    config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    return h2.connection.H2Connection(config=config)


def start(sock):
    """A server-side `H2Connection` on `sock` with its preface (SETTINGS)
    sent."""
    conn = server_connection()
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return conn


def reads(sock, conn):
    """The events of each read from `sock`, read by read, until the client
    closes."""
    while True:
        data = sock.recv(READ_SIZE)
        if not data:
            return
        yield conn.receive_data(data)
