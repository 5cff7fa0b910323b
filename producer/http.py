"""HTTP session for polling APIs: timeouts, and retries with exponential backoff on 429/5xx."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from vigia_core.config import HttpSettings

RETRY_STATUSES = (429, 500, 502, 503, 504)


class _TimeoutSession(requests.Session):
    def __init__(self, timeout_s: float):
        super().__init__()
        self._timeout = timeout_s

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


def session(settings: HttpSettings) -> requests.Session:
    """A session whose GETs retry 429/5xx up to `max_attempts` in all, honouring Retry-After."""
    retry = Retry(total=settings.max_attempts - 1, backoff_factor=settings.backoff_base_s,
                  status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
                  respect_retry_after_header=True, raise_on_status=False)
    s = _TimeoutSession(settings.timeout_s)
    s.mount("http://", HTTPAdapter(max_retries=retry))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    s.headers["User-Agent"] = "vigia-producer/0.1"
    return s
