"""The `twilio` library's HTTP client on urllib3 alone.

The library's default client goes through `requests`, which spends more CPU preparing a
request (hooks, cookies, merging settings, reading the environment's proxies again) than
sending it: about half of an SMS job's CPU. This one sends the same request on one
urllib3 connection pool per process, with what `requests` would have taken from the
environment read once: the proxy (HTTPS_PROXY, NO_PROXY) and the certificates
(REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, else certifi's, as `requests`). Like the default
client, it never retries (a POST tried twice could send an SMS twice) nor follows a
redirect; a connection that fails or times out raises an OSError, which the jobs retry.
"""

from __future__ import annotations

import json
import logging
import os
from base64 import b64encode
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import certifi
import urllib3
from twilio.http import HttpClient
from twilio.http.response import Response

log = logging.getLogger("twilio.http_client")

JSON_TYPES = ("application/json", "application/scim+json")


class Urllib3HttpClient(HttpClient):
    def __init__(self, base_url: str, timeout: float):
        super().__init__(log, is_async=False, timeout=timeout)
        options = {
            "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where(),
            "retries": False,
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        }
        host = urlsplit(base_url).hostname or ""
        proxy = getproxies().get(urlsplit(base_url).scheme)
        if proxy and not proxy_bypass(host):
            self.pool: urllib3.PoolManager = urllib3.ProxyManager(proxy, **options)
        else:
            self.pool = urllib3.PoolManager(**options)

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = "Basic " + b64encode(":".join(auth).encode()).decode()
        if params:
            url += ("&" if "?" in url else "?") + urlencode(_present(params), doseq=True)
        body = None
        if data is not None and headers.get("Content-Type") in JSON_TYPES:
            body = json.dumps(data).encode()
        elif data:
            body = urlencode(_present(data), doseq=True).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            answer = self.pool.request(
                method.upper(),
                url,
                body=body,
                headers=headers,
                redirect=allow_redirects,
                timeout=self.timeout if timeout is None else timeout,
            )
        except urllib3.exceptions.TimeoutError as exc:
            raise TimeoutError(f"{method} {url}: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise ConnectionError(f"{method} {url}: {exc}") from exc
        text = answer.data.decode("utf-8", errors="replace")
        self._test_only_last_response = Response(answer.status, text, answer.headers)
        return self._test_only_last_response


def _present(values: dict[str, object]) -> dict[str, object]:
    """The values sent: None ones are left out, as `requests` does."""
    return {key: value for key, value in values.items() if value is not None}
