"""Send one notice to one webhook: a JSON POST, signed, with a bounded timeout.

The HTTP client is the standard library's ``urllib.request``: the project depends on no HTTP
client, and one POST with a timeout, no redirects and a small answer read is all it needs.

Signature (when the webhook has a secret): ``X-Provenance-Timestamp`` is the Unix time of the
send and ``X-Provenance-Signature`` is ``v1=`` and the hex HMAC-SHA256, keyed with the shared
secret, of the timestamp, a ``.``, and the body's bytes. A receiver recomputes it, compares
in constant time and refuses a timestamp more than a few minutes away from its clock (a
replay). ``Idempotency-Key`` is the notice's id (also in the body): a notice is sent at
least once, and the same notice always carries the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from provenance import __version__
from provenance.config import WebhookSettings
from provenance.config.values import read_secret
from provenance.errors import NotifyError
from provenance.notify.payloads import Notice, body

SIGNATURE_HEADER = "X-Provenance-Signature"
TIMESTAMP_HEADER = "X-Provenance-Timestamp"
#: The most of an answer read (and dropped).
ANSWER_LIMIT = 64 * 1024


def secret_of(hook: WebhookSettings) -> bytes | None:
    """Return the webhook's shared secret, None when it has none; NotifyError when the
    variable or file it names cannot be read (never the secret's value in the message)."""
    try:
        value = read_secret(
            hook.secret_env, hook.secret_file, f"notify.webhooks {hook.name}: secret"
        )
    except ValueError as exc:
        raise NotifyError(str(exc)) from exc
    if value is None:
        return None
    if not value:
        raise NotifyError(f"notify.webhooks {hook.name}: the secret is empty")
    return value.encode()


def signature(secret: bytes, timestamp: str, data: bytes) -> str:
    """Return the ``X-Provenance-Signature`` value of ``data`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + data, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: bytes, timestamp: str, data: bytes, header: str, *, now: float, tolerance: float = 300.0
) -> bool:
    """Return whether ``header`` signs ``data`` at ``timestamp`` within ``tolerance`` seconds
    of ``now`` (what a receiver does; the tests use it)."""
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, data), header)


def where(hook: WebhookSettings) -> str:
    """Return how logs name a webhook: its name and host, never its URL (a Slack or Teams
    URL is itself a secret)."""
    return f"{hook.name} ({urlsplit(hook.url).hostname})"


def _retry_after(value: str | None) -> float | None:
    """Return the seconds of a Retry-After header given as seconds (a date is not used)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None  # a 3xx is an answer that is not a success: tried again later


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(hook: WebhookSettings, notice: Notice, *, now: float | None = None) -> int:
    """POST ``notice`` to ``hook`` in the shape of its kind (see ``post_body``)."""
    return post_body(hook, body(hook.kind, notice), notice.id, now=now)


def post_body(hook: WebhookSettings, data: bytes, key: str, *, now: float | None = None) -> int:
    """POST the JSON ``data`` of the notice ``key`` to ``hook``, signed when it has a secret;
    return the 2xx status. NotifyError for anything else (no answer within ``hook.timeout``,
    a refused connection, a redirect, a non-2xx status)."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"provenance/{__version__}",
        "Idempotency-Key": key,
    }
    secret = secret_of(hook)
    if secret is not None:
        timestamp = str(int(now if now is not None else time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, data)
    request = urllib.request.Request(hook.url, data=data, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=hook.timeout) as answer:
            answer.read(ANSWER_LIMIT)
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        exc.close()
        raise NotifyError(
            f"webhook {where(hook)} answered HTTP {exc.code}", wait, exc.code
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotifyError(f"webhook {where(hook)} not reached: {reason}") from None
    except (ValueError, http.client.InvalidURL):  # its message quotes the URL (a token?)
        raise NotifyError(f"webhook {where(hook)}: its url is not a valid URL") from None
    except http.client.HTTPException as exc:  # an answer that is not HTTP
        name = type(exc).__name__
        raise NotifyError(f"webhook {where(hook)} gave no valid answer ({name})") from None
    if not 200 <= status < 300:
        raise NotifyError(f"webhook {where(hook)} answered HTTP {status}", None, status)
    return status
