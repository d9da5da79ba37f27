"""A portal worker that the killed-worker tests SIGKILL in the middle of its work.

Run as a separate interpreter (`python tests/killed_worker.py TASK JSON`), so it has its own
database connection and nothing of the test process's state, as a gunicorn worker would. It
builds the app from the test's configuration, starts the work, and inside the work's
transaction writes the file `ready` names and sleeps until it is killed:

- `statement`: issues a statement; it stops where the PDF is rendered, after the number was
  drawn from the year's counter.
- `webhook`: delivers a signed Stripe event to POST /webhooks/stripe; it stops after the event
  was stored and its effect applied, before the transaction commits.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(task: str, args: dict) -> None:
    from portal import create_app

    app = create_app(args["config"])
    ready = Path(args["ready"])

    def stop_here(*_args, **_kwargs):
        ready.write_text(task, encoding="utf-8")
        time.sleep(600)  # the test kills this process long before
        raise SystemExit("not killed")

    if task == "statement":
        from portal.accounts.models import Company
        from portal.statements import periods, service

        with app.test_request_context():
            company = Company.get_by_id(args["company_id"])
            service.issue(company, periods.calendar_year(args["year"]), None, via="test", renderer=stop_here)
    elif task == "webhook":
        from portal.giving import stripe_events

        apply = stripe_events._apply

        def apply_then_stop(*a, **kw):
            apply(*a, **kw)
            stop_here()

        stripe_events._apply = apply_then_stop
        app.test_client().post("/webhooks/stripe", data=args["payload"].encode(), content_type="application/json",
                               headers={"Stripe-Signature": args["signature"]})
    else:
        raise SystemExit(f"unknown task {task!r}")
    raise SystemExit("the work finished without stopping")


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
