"""Under systemd (Type=notify) the node says READY=1 once its listeners are
up and feeds the watchdog while its worker loops turn."""

import os
import socket
import tempfile
import time


def test_sd_notify_ready_and_watchdog(node_factory, db):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(1)
        node = node_factory(db, start=False)
        node.env.update({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
        node.start()
        messages = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                messages.append(sock.recv(4096).decode())
            except socket.timeout:
                continue
            if any("WATCHDOG=1" in m for m in messages) and any("READY=1" in m for m in messages):
                break
        sock.close()
        assert any("READY=1" in m for m in messages), messages
        assert any("WATCHDOG=1" in m for m in messages), messages
        node.wait_healthy()
