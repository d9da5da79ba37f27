"""A real task worker (huey's consumer, as `portal worker` runs it) that the killed-worker test
SIGKILLs in the middle of sending receipts.

Run as a separate interpreter (`python tests/core/receipt_worker.py JSON`), with its own database
connection. It builds the app from the test's configuration and consumes the queue; once the
second receipt has been written to the outbox, before that receipt is marked sent in the database,
it writes the file `ready` names and sleeps until it is killed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(args: dict) -> None:
    from portal import create_app
    from portal.core import mail, tasks

    app = create_app(args["config"])
    ready = Path(args["ready"])
    write = mail._write
    receipts = []

    def write_then_stop(raw: bytes, key: str, folder: str) -> bool:
        written = write(raw, key, folder)
        if key.startswith("receipt-"):
            receipts.append(key)
            if len(receipts) == 2:
                ready.write_text(key, encoding="utf-8")
                time.sleep(600)  # the test kills this process long before
                raise SystemExit("not killed")
        return written

    mail._write = write_then_stop
    tasks.consumer(app, workers=1).run()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
