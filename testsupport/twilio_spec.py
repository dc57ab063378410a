"""Twilio's own OpenAPI description of its REST API, to check the requests Relais makes.

The description is twilio-oai's `twilio_api_v2010.json`, which `scripts/install test`
fetches (an exact version of the npm package that ships it, checked by its integrity) into
`.cache/twilio-oai/`. openapi-core matches the request to an operation, deserialises the
form body (a repeated key is an array), casts each value to its schema type and validates
it: required parameters, types, enums, patterns and formats. Twilio's own formats
(phone-number, endpoint, twiml) and `uri`, which openapi-core leaves unchecked, are checked
here; so is a parameter the operation does not know, which openapi-core drops silently.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.exceptions import RequestBodyValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = (
    Path(__file__).resolve().parent.parent / ".cache" / "twilio-oai" / "twilio_api_v2010.json"
)
TWILIO_API_URL = "https://api.twilio.com"
FORM = "application/x-www-form-urlencoded"


class SpecMissing(RuntimeError):
    """Twilio's OpenAPI description is not where it should be."""


def _is_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


E164 = re.compile(r"\+[1-9][0-9]{1,14}")
CHANNEL_ADDRESS = re.compile(r"[a-z]+:\S+")  # whatsapp:+33..., sip:..., client:...
SHORT_CODE = re.compile(r"[0-9]{3,8}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def _is_phone_number(value: str) -> bool:
    """Twilio's `phone-number`: E.164, a channel address, a short code or an alphanumeric
    sender ID."""
    return any(
        pattern.fullmatch(value)
        for pattern in (E164, CHANNEL_ADDRESS, SHORT_CODE, ALPHANUMERIC_SENDER)
    )


def _is_endpoint(value: str) -> bool:
    """Twilio's `endpoint` (a call's To and From): E.164 or an address such as sip:..."""
    return bool(E164.fullmatch(value) or CHANNEL_ADDRESS.fullmatch(value))


def _is_twiml(value: str) -> bool:
    try:
        return ET.fromstring(value).tag == "Response"
    except ET.ParseError:
        return False


FORMATS = {
    "uri": _is_uri,
    "phone-number": _is_phone_number,
    "endpoint": _is_endpoint,
    "twiml": _is_twiml,
}


@dataclass
class FormRequest:
    """A REST request as openapi-core reads it (its `Request` protocol)."""

    method: str
    path: str
    body: bytes
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)
    host_url: str = TWILIO_API_URL


def _describe(error: Exception) -> list[str]:
    """openapi-core's error as problems, one for each failed schema check."""
    schema_errors = getattr(error.__cause__, "schema_errors", None)
    if not schema_errors:
        return [str(error)]
    where = "" if isinstance(error, RequestBodyValidationError) else f"{error}: "
    return [
        where + "".join(f"{name}: " for name in e.absolute_path) + e.message for e in schema_errors
    ]


@dataclass
class Checked:
    """What Twilio's description refuses in a request (nothing when it is valid), and its
    form parameters as the description types them (numbers, booleans, arrays)."""

    problems: list[str]
    params: dict[str, Any]


class TwilioSpec:
    """Checks form-encoded REST requests against Twilio's OpenAPI description."""

    def __init__(self, path: Path = SPEC_PATH):
        if not path.is_file():
            raise SpecMissing(
                f"Twilio's OpenAPI description is missing ({path}): "
                "`scripts/install test` fetches it"
            )
        config = Config(spec_validator_cls=None, extra_format_validators=FORMATS)
        self.openapi = OpenAPI.from_dict(json.loads(path.read_bytes()), config=config)

    def check(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> Checked:
        """Checks a request (`target` is its path and query string)."""
        url = urlsplit(target)
        request = FormRequest(
            method=method.lower(),
            path=url.path,
            body=body,
            content_type=headers.get("Content-Type", "").lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
                header=Headers(dict(headers)),
            ),
        )
        result = self.openapi.unmarshal_request(request)
        problems = [problem for error in result.errors for problem in _describe(error)]
        problems += self._unknown_parameters(request)
        return Checked(problems, result.body if isinstance(result.body, dict) else {})

    def check_answer(self, method: str, target: str, status: int, body: bytes) -> list[str]:
        """What Twilio's description refuses in an answer of this stand-in (a JSON body)."""
        request = MockRequest(TWILIO_API_URL, method.lower(), urlsplit(target).path)
        result = self.openapi.unmarshal_response(request, MockResponse(body, status))
        return [problem for error in result.errors for problem in _describe(error)]

    def _unknown_parameters(self, request: FormRequest) -> list[str]:
        finder = APICallPathFinder(self.openapi.spec)
        try:
            found = finder.find(request.method, request.host_url + request.path)
        except PathError:  # openapi-core has said so already
            return []
        schema = found.operation / "requestBody" / "content" / FORM / "schema" / "properties"
        known = set(schema.keys()) if schema.exists() else set()
        form = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        sent = dict.fromkeys(name for name, _ in form)
        return [f"{name}: not a parameter of this operation" for name in sent if name not in known]


@cache
def twilio_spec() -> TwilioSpec:
    """The description, read once per process."""
    return TwilioSpec()
