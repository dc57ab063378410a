"""Phone numbers: normalising, telling a mobile from a landline, masking for display."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

DEFAULT_REGION = "FR"
_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# Where Relais sends SMS by default: metropolitan France and the overseas departments
# (Guadeloupe, Martinique, Guyane, La Réunion, Mayotte). RELAIS_SMS_COUNTRIES changes it.
SMS_COUNTRIES = ("FR", "GP", "MQ", "GF", "RE", "YT")


@lru_cache(maxsize=1024)  # a webhook reads the caller's number several times; never changed
def _parse(number: str) -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def is_valid_number(number: str) -> bool:
    """A number that can be dialled (in France when it has no country code)."""
    return _parse(number) is not None


@lru_cache(maxsize=1024)  # Relais's own numbers come in every webhook
def e164(number: str) -> str:
    """The number in E.164 form when it is a valid number; otherwise the text as given
    (Twilio sends "anonymous" or odd strings for hidden callers), less what cannot be
    printed (NUL, control and invisible characters)."""
    parsed = _parse(number)
    if parsed is None:
        return "".join(c for c in number if c.isprintable()).strip()[:32]
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national(number: str) -> str:
    """The number as people dial it in France: "01 23 45 67 89" (as given if not valid)."""
    parsed = _parse(number)
    if parsed is None:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def can_ring_back(number: str) -> bool:
    """A number Relais may call back at its own cost: a French mobile or landline (never a
    foreign, premium-rate, shared-cost or hidden one)."""
    parsed = _parse(number)
    return (
        parsed is not None
        and parsed.country_code == 33
        and phonenumbers.number_type(parsed)
        in (*_MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.VOIP)
    )


def can_receive_sms(number: str, countries: Collection[str] = SMS_COUNTRIES) -> bool:
    """True for a valid mobile number of one of `countries` (a landline cannot receive an
    SMS; a foreign number is how SMS-pumping fraud bills an operator)."""
    parsed = _parse(number)
    return (
        parsed is not None
        and phonenumbers.number_type(parsed) in _MOBILE
        and phonenumbers.region_code_for_number(parsed) in countries
    )


def mask(number: str) -> str:
    """The number with its middle hidden, for screens: +33 6 •• •• •• 78."""
    if len(number) < 6:
        return "•" * len(number)
    return number[:4] + "•" * (len(number) - 6) + number[-2:]
