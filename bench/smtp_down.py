"""What a digest run costs when the mail relay is down: one backoff per run, not per recipient.

    python bench/smtp_down.py                    # 5 recipients, backoff 0.5 s x3 (scaled down)
    python bench/smtp_down.py --recipients 10 --backoff 1

Nothing listens on a free 127.0.0.1 port (connection refused, as with a relay that is down).
In a temporary FUNDRADAR_HOME with one stored call (reconstructed — not a capture):

- `fundradar send`: `alerts.send.send_digest` to N recipients through one `SmtpTransport` with
  the production schedule of 4 tries and pauses growing x3, scaled to `--backoff` seconds;
- reference, measured in the same run: the same N sends, each through its own fresh transport,
  which is what every recipient cost before the transport gave up on the server (issue 17:
  65 s each, 5 min 27 s for 5 at production pauses).

Target: the run costs at most 1.2 x one recipient's backoff (the pauses of one recipient's
retries), whatever N. Prints figures; nothing is asserted (benchmarks report, tests assert).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=5)
    parser.add_argument("--backoff", type=float, default=0.5)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="fundradar-bench-smtp-"))
    os.environ.update(
        FUNDRADAR_HOME=str(home), FUNDRADAR_SMTP_HOST="127.0.0.1",
        FUNDRADAR_SMTP_PORT=str(free_port()), FUNDRADAR_SMTP_SECURITY="none",
        FUNDRADAR_SMTP_TIMEOUT="5",
    )  # fmt: skip
    for var in ("FUNDRADAR_DATABASE_URL", "FUNDRADAR_SMTP_USER", "FUNDRADAR_SMTP_PASSWORD"):
        os.environ.pop(var, None)

    from fundradar import settings
    from fundradar.alerts.mailer import SmtpTransport
    from fundradar.alerts.send import send_digest
    from fundradar.pipeline import db
    from tests.digest_support import add_call, recipients_config

    db.init()
    add_call(title="Ocean governance call (reconstructed, not a capture)")
    now = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    addresses = [f"officer{n}@oecs.example" for n in range(args.recipients)]
    config = recipients_config([{"email": a} for a in addresses])

    def transport() -> SmtpTransport:
        return SmtpTransport(settings.load().smtp, mail_from="fundradar@oecs.example",
                             backoff=args.backoff)  # fmt: skip

    one_backoff = args.backoff * (1 + 3 + 9)  # pauses of one recipient's 4 tries

    send_digest(now=now, config=config, dry_run=True)  # warm-up: templates, first queries
    started = time.perf_counter()
    report = send_digest(now=now, config=config, transport=transport())
    run = time.perf_counter() - started
    statuses = {s: report.count(s) for s in ("failed", "pending", "sent")}

    started = time.perf_counter()
    for address in addresses:  # the reference: every recipient spends its own retries
        t = transport()
        with contextlib.suppress(Exception):
            t.send(_message(), recipient=address)
    reference = time.perf_counter() - started

    target = 1.2 * one_backoff
    print(f"relay down, {args.recipients} recipients, pauses {args.backoff:g} s x3 per try")
    print(f"{'':28} {'seconds':>8}")
    print(f"{'fundradar send (one run)':28} {run:8.2f}   {statuses}")
    print(f"{'reference: per recipient':28} {reference:8.2f}")
    print(f"{'one backoff':28} {one_backoff:8.2f}")
    verdict = "met" if run <= target else "MISSED"
    print(f"target: run <= {target:.2f} s (1.2 x one backoff): {verdict}; "
          f"{reference / run:.1f}x faster than per-recipient")  # fmt: skip
    print(f"at production pauses (5/15/45 s): one run ~{65 * run / one_backoff:.0f} s, "
          f"per recipient ~{65 * reference / one_backoff:.0f} s")  # fmt: skip


def _message():  # type: ignore[no-untyped-def]
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = "bench"
    msg["From"] = "fundradar@oecs.example"
    msg.set_content("bench")
    return msg


if __name__ == "__main__":
    main()
