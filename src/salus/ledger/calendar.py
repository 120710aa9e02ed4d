"""Dates in block time, for contracts: no :mod:`datetime`, no clock, integers only.

A block's time is milliseconds since 1970-01-01T00:00:00Z (UTC; leap seconds ignored, as
POSIX time does). The conversions are Howard Hinnant's ``days_from_civil`` and
``civil_from_days`` (proleptic Gregorian calendar, exact for every integer day).
"""

from __future__ import annotations

DAY_MS = 86_400_000

#: Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
_EPOCH_SHIFT = 719_468


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a calendar date."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146_097 + (yoe * 365 + yoe // 4 - yoe // 100 + doy) - _EPOCH_SHIFT


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the date ``days`` after 1970-01-01."""
    z = days + _EPOCH_SHIFT
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def civil_of_block(time_ms: int) -> tuple[int, int, int]:
    """(year, month, day), UTC, of a block time."""
    return civil_from_days(time_ms // DAY_MS)
