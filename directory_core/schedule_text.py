"""Schedules written the way people write them, in German or English.

``parse_rules`` turns text such as ``"Di 14:00-16:00"``, ``"Dienstag 14–16 Uhr"``,
``"jeden 2. Dienstag 14:00-16:00"``, ``"2. und 4. Mi 10-12"``, ``"letzter Fr 15-17"``,
``"Mo, Mi 9-12"``, ``"Mo-Fr 9-12"``, ``"alle 2 Wochen Do 10-12"`` or
``"tue 14:00-16:00; last fri 3pm-5pm"`` into ``ScheduleRule`` values; parts are separated
by ``;`` or line breaks. ``format_rules`` writes rules back as German text that
``parse_rules`` reads again to the same rules.

An ordinal before a weekday means the weekday's occurrence in the month ("jeden 2.
Dienstag" is the second Tuesday of every month, as in ``ScheduleRule``); every second
week is written "alle 2 Wochen", "14-tägig" or "every other".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from directory_search.measures import minutes

from .model import WEEKDAYS, ScheduleRule

__all__ = ["format_rules", "parse_rules"]

_DAY_NAMES: dict[str, tuple[str, ...]] = {
    "mon": ("mo", "mon", "montag", "monday", "montags", "mondays"),
    "tue": ("di", "tue", "tues", "dienstag", "tuesday", "dienstags", "tuesdays"),
    "wed": ("mi", "wed", "mittwoch", "wednesday", "mittwochs", "wednesdays"),
    "thu": ("do", "thu", "thur", "thurs", "donnerstag", "thursday", "donnerstags", "thursdays"),
    "fri": ("fr", "fri", "freitag", "friday", "freitags", "fridays"),
    "sat": ("sa", "sat", "samstag", "saturday", "samstags", "saturdays", "sonnabend"),
    "sun": ("so", "sun", "sonntag", "sunday", "sonntags", "sundays"),
}
DAYS: dict[str, str] = {name: day for day, names in _DAY_NAMES.items() for name in names}
SHORT_GERMAN = dict(zip(WEEKDAYS, ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"), strict=True))
DAY_GROUPS = {
    "werktags": WEEKDAYS[:5],
    "weekdays": WEEKDAYS[:5],
    "täglich": WEEKDAYS,
    "taeglich": WEEKDAYS,
    "daily": WEEKDAYS,
}

_ORDINAL_WORDS: dict[str, int] = {}
for _number, _stems in (
    (1, ("erste", "first")),
    (2, ("zweite", "second")),
    (3, ("dritte", "third")),
    (4, ("vierte", "fourth")),
    (5, ("fünfte", "fuenfte", "fifth")),
    (-1, ("letzte", "last")),
):
    for _stem in _stems:
        for _ending in ("", "n", "r", "s", "m"):
            _ORDINAL_WORDS[_stem + _ending] = _number

_NUMBER_WORDS = {"zwei": 2, "drei": 3, "vier": 4, "two": 2, "three": 3, "four": 4}
_BIWEEKLY_WORDS = {
    "vierzehntägig",
    "vierzehntäglich",
    "zweiwöchentlich",
    "zweiwöchig",
    "biweekly",
    "fortnightly",
}
# words that carry no information in a schedule ("jeden Dienstag", "am Montag", "Uhr")
_FILLER = {
    "jeden", "jede", "jedem", "jeder", "every", "each", "immer", "am", "an", "on", "the",
    "im", "in", "des", "der", "of", "monat", "monats", "month", "uhr", "h", "von", "from",
    "wöchentlich", "woechentlich", "weekly", "monatlich", "monthly", "um", "at",
}  # fmt: skip
_LIST_WORDS = {"und", "and", ",", "+", "&", "/", "sowie"}
_RANGE_WORDS = {"-", "bis", "to", "through", "until"}

_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?"
_TIME_RANGE = re.compile(
    rf"(?<![\w.])(?:(?:von|from)\s+)?{_TIME}\s*(?:uhr|h)?\s*(?:-|bis|to|until)\s*{_TIME}"
    r"\s*(?:uhr|h)?(?![\w])",
)
_TOKEN = re.compile(r"\d+(?:st|nd|rd|th|\.)?|[a-zäöüß]+\.?|[-,/+&]")
_DASHES = str.maketrans({"–": "-", "—": "-", "‑": "-", "−": "-"})


def parse_rules(text: str) -> list[ScheduleRule]:
    """The rules written in ``text`` (empty text: no rules).

    Raises ``ValueError`` naming the part that cannot be read and why, e.g.
    ``cannot read 'Xy 10-12': unknown word 'xy' (...)``.
    """
    rules: list[ScheduleRule] = []
    for part in re.split(r"[;\n]", text or ""):
        part = part.strip()
        if part:
            # fresh rules from the cached ones: a caller may change its rules
            rules.extend(
                ScheduleRule(
                    r.weekday, r.start, r.end, r.frequency, r.interval, list(r.weeks_of_month)
                )
                for r in _parsed_part(part)
            )
    return rules


@lru_cache(maxsize=4096)
def _parsed_part(part: str) -> tuple[ScheduleRule, ...]:
    """The rules of one part, cached: a carrier's listings repeat the same few office
    hours ("Mo-Fr 9-12 Uhr") thousands of times. A part that cannot be read raises
    each time (exceptions are not cached)."""
    return tuple(_parse_part(part))


def _fail(part: str, reason: str, example: bool = False) -> ValueError:
    hint = " (write e.g. 'Di 14:00-16:00' or 'jeden 2. Dienstag 14-16 Uhr')" if example else ""
    return ValueError(f"cannot read {part!r}: {reason}{hint}")


def _parse_part(part: str) -> list[ScheduleRule]:
    text = part.lower().translate(_DASHES)
    times: list[tuple[str, str]] = []
    rest: list[str] = []
    position = 0
    for match in _TIME_RANGE.finditer(text):
        rest.append(text[position : match.start()])
        position = match.end()
        start = _clock(part, match.group(1), match.group(2), match.group(3), match.group(6))
        end = _clock(part, match.group(4), match.group(5), match.group(6), None)
        if minutes(start) >= minutes(end):
            raise _fail(part, f"the time {start}-{end} ends before it starts")
        times.append((start, end))
    rest.append(text[position:])
    if not times:
        raise _fail(part, "no time range", example=True)
    days, weeks, interval = _parse_when(part, " , ".join(rest))
    rules = []
    for day in days:
        for start, end in times:
            if weeks.get(day):
                rules.append(
                    ScheduleRule(day, start, end, "monthly", weeks_of_month=list(weeks[day]))
                )
            else:
                rules.append(ScheduleRule(day, start, end, "weekly", interval=interval))
    return rules


def _clock(
    part: str, hours: str, mins: str | None, suffix: str | None, end_suffix: str | None
) -> str:
    """HH:MM from the pieces of a time; ``end_suffix`` (the pm of "2-4pm") is applied to
    a start without its own am/pm when that keeps the start before the end."""
    hour, minute = int(hours), int(mins or 0)
    marker = (suffix or "").replace(".", "")
    if marker in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise _fail(part, f"{hours}{suffix} is not a time")
        hour = hour % 12 + (12 if marker == "pm" else 0)
    elif end_suffix and end_suffix.replace(".", "") == "pm" and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        raise _fail(part, f"{hours}:{mins or '00'} is not a time of day (00:00 to 23:59)")
    return f"{hour:02d}:{minute:02d}"


def _parse_when(part: str, text: str) -> tuple[list[str], dict[str, list[int]], int]:
    """Weekdays, monthly weeks per weekday and the weekly interval of ``text``."""
    leftover = _TOKEN.sub(" ", text).replace(".", " ").strip()
    if leftover:
        raise _fail(part, f"unexpected {leftover.split()[0]!r}", example=True)
    tokens = [t.rstrip(".") if not t[0].isdigit() else t for t in _TOKEN.findall(text)]
    days: list[str] = []
    weeks: dict[str, list[int]] = {}
    pending: list[int] = []  # ordinals that apply to the following weekdays
    pending_used = False
    interval = 1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        ordinal = _ordinal(token)
        if ordinal is not None and following not in ("wochen", "weeks", "-"):
            if pending_used:
                pending, pending_used = [], False
            if not (1 <= ordinal <= 5 or ordinal == -1):
                raise _fail(part, f"there is no {token} weekday in a month (1. to 5. or letzter)")
            pending.append(ordinal)
            i += 1
            continue
        if token in DAYS or token in DAY_GROUPS:
            found = [DAYS[token]] if token in DAYS else list(DAY_GROUPS[token])
            if following in _RANGE_WORDS and i + 2 < len(tokens) and tokens[i + 2] in DAYS:
                first, last = WEEKDAYS.index(DAYS[token]), WEEKDAYS.index(DAYS[tokens[i + 2]])
                if last < first:
                    raise _fail(part, f"the day range {token}-{tokens[i + 2]} runs backwards")
                found = list(WEEKDAYS[first : last + 1])
                i += 2
            for day in found:
                if day in days:
                    raise _fail(part, f"names {SHORT_GERMAN[day]} twice")
                days.append(day)
                if pending:
                    weeks[day] = sorted(set(pending), key=lambda w: (w < 0, w))
            pending_used = pending_used or bool(pending)
            i += 1
            continue
        # intervals: "alle 2 Wochen", "every 2 weeks", "every other", "14-tägig"
        if (
            token in ("alle", "every")
            and following
            and (following.isdigit() or following in _NUMBER_WORDS)
        ):
            if i + 2 < len(tokens) and tokens[i + 2] in ("wochen", "weeks"):
                interval = int(following) if following.isdigit() else _NUMBER_WORDS[following]
                i += 3
                continue
        if token == "other" or token in _BIWEEKLY_WORDS:
            interval = 2
            i += 1
            continue
        if token.isdigit() and following == "-" and i + 2 < len(tokens):
            if tokens[i + 2].startswith(("tägig", "täglich", "taegig")) and int(token) % 7 == 0:
                interval = int(token) // 7
                i += 3
                continue
        if token in _FILLER or token in _LIST_WORDS or token in ("woche", "week", "wochen"):
            i += 1
            continue
        if token in _RANGE_WORDS:
            raise _fail(part, "a range needs a weekday on both sides (Mo-Fr)")
        raise _fail(part, f"unknown word {token!r}", example=True)
    if not days:
        raise _fail(part, "no weekday (Mo, Di, Mi, Do, Fr, Sa, So)", example=True)
    if pending and not pending_used:
        raise _fail(part, "an ordinal (2., letzter) must come before its weekday")
    if weeks and interval != 1:
        raise _fail(part, "cannot combine weeks of the month with 'every N weeks'")
    if not 1 <= interval <= 8:
        raise _fail(part, f"every {interval} weeks is not supported (1 to 8)")
    return days, weeks, interval


def _ordinal(token: str) -> int | None:
    match = re.fullmatch(r"(\d+)(?:\.|st|nd|rd|th)", token)
    if match:
        return int(match.group(1))
    return _ORDINAL_WORDS.get(token)


def format_rules(rules: Iterable[ScheduleRule]) -> str:
    """German text for ``rules`` that ``parse_rules`` reads back to the same rules:
    ``"Mo, Mi 09:00–12:00 Uhr; jeden 2. und letzten Di 14:00–16:00 Uhr"``. Neighbouring rules
    that differ only in the weekday share one part."""
    parts: list[tuple[str, list[str]]] = []  # (everything but the days, days)
    for rule in rules:
        if rule.frequency == "monthly":
            weeks = sorted(rule.weeks_of_month, key=lambda w: (w < 0, w))
            prefix = "jeden " + " und ".join("letzten" if w == -1 else f"{w}." for w in weeks) + " "
        elif rule.interval != 1:
            prefix = f"alle {rule.interval} Wochen "
        else:
            prefix = ""
        key = f"{prefix}\0{rule.start}–{rule.end} Uhr"
        day = SHORT_GERMAN.get(rule.weekday, rule.weekday)
        if parts and parts[-1][0] == key and day not in parts[-1][1]:
            parts[-1][1].append(day)
        else:
            parts.append((key, [day]))
    texts = []
    for key, days in parts:
        prefix, when = key.split("\0")
        texts.append(f"{prefix}{', '.join(days)} {when}")
    return "; ".join(texts)
