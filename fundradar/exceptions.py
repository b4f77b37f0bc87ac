"""Every exception fundradar raises on purpose, in one place.

The command line turns each into one readable line and an exit code; none of them should ever
reach a user as a traceback.
"""

from __future__ import annotations


class FundradarError(Exception):
    """Base class. `exit_code` is what the command line exits with."""

    exit_code = 1


class ConfigError(FundradarError):
    """A configuration file or environment variable is wrong.

    Raised by `config.loader` (YAML files) and `fundradar.settings` (environment). The message
    names the file, the key and what was expected, so the maintainer can fix it in one go.
    """

    exit_code = 2

    def __init__(self, file: str, key: str, expected: str) -> None:
        self.file, self.key, self.expected = str(file), key, expected
        super().__init__(f"{self.file}: {key}: {expected}")


class UnknownSourceError(FundradarError):
    """`fundradar crawl X` or `sources record X` named a source id that config does not define."""

    exit_code = 2


class DatabaseError(FundradarError):
    """The database cannot be opened or migrated (bad URL, unwritable folder, newer schema)."""

    exit_code = 3


class SampleDataError(FundradarError):
    """`fundradar demo` was pointed at a database that already holds real calls.

    Raised by `fundradar.demo` so sample pages never mix with live data.
    """

    exit_code = 2


class InputError(FundradarError):
    """A user-supplied file (`import`, `score`) cannot be read at all (missing, not UTF-8)."""

    exit_code = 2


class MailError(FundradarError):
    """A digest could not be delivered to one recipient after every retry.

    Raised by `alerts.mailer`; the sender records it per recipient and carries on with the others.
    `permanent` tells a 5xx refusal (do not retry) from a temporary failure that ran out of tries.
    """

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class CrawlError(FundradarError):
    """A crawl child process failed to start or died; the source is reported unhealthy."""


class ScrapydError(CrawlError):
    """Scrapyd unreachable, or it refused a call (deploy, schedule); the message says which and
    names the server without its password."""


class CallNotFoundError(FundradarError):
    """`fundradar review CALL` (or the review page) named no call, or a URL several calls share.

    Raised by `pipeline.review.resolve_call`; the message says what was tried.
    """

    exit_code = 2


class VerdictError(FundradarError):
    """A verdict is not one of relevant / not-relevant / shortlist, or lacks a required reason.

    Raised by `pipeline.review.record_verdict` (the review page requires a reason for
    not-relevant; the command line only recommends one).
    """

    exit_code = 2


class ExportError(FundradarError):
    """An export file cannot be written (unwritable folder, full disk).

    Raised by `pipeline.exports.files.atomic_text` (`fundradar export -o`, the CSV feed after a
    crawl); a failed write leaves the previous file in place (writes go to a temporary file).
    """

    exit_code = 2


class WebConfigError(FundradarError):
    """`fundradar serve` was asked to listen beyond this machine without FUNDRADAR_WEB_TOKEN."""

    exit_code = 2


class LeaseLostError(FundradarError):
    """This process no longer holds a database lease it was working under (`pipeline.locks`):
    it expired and another holder took it over, so the guarded work must stop here."""


class DigestBusyError(FundradarError):
    """Another `digest send` (or the scheduler's digest job, here or on another server sharing
    the database) holds the digest lease right now.

    Raised by `alerts.send` so two senders never mail the same people at the same time; wait
    for the other one to finish and run again (it sends nothing already sent).
    """

    exit_code = 4


class LinkTokenError(FundradarError):
    """A signed link from a mail (unsubscribe, verdict, edit) was altered, has expired, or was
    made for another purpose. Raised by `fundradar.tokens`; the page says which, in words."""

    exit_code = 2

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class ApplicationError(FundradarError):
    """An application cannot be made or changed as asked: its call is not shortlisted, a stage
    change the workflow does not allow (reopening a closed application), a bad amount or
    currency, a second lead partner. Raised by `pipeline.partnerships.applications`; the
    message says why and what is allowed instead."""

    exit_code = 2


class PartnerError(FundradarError):
    """A partner organisation cannot be added, found or merged as asked (an empty name, an
    unknown kind, a merge of an entry into itself or into one already merged). Raised by
    `pipeline.partnerships.organisations`; the message says why."""

    exit_code = 2


class SubscriptionError(FundradarError):
    """A subscription cannot be made or changed as asked (a bad address, band or channel, an
    address already subscribed). The message says what to give instead."""

    exit_code = 2
