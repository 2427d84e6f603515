"""Reads consumer-price rule files (TOML) into the domain's validated ``TariffRules``.

The bundled file lives beside the domain package (``consumer_price/rules/``); an operator's
own file (their grid company's tariff) can be loaded from a path. Any typo, missing field or
date overlap/gap fails here, at start-up, with the file and the rule named.
"""

import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from tc_forecast.domain.consumer_price import (
    CapacityBand,
    ElectricityTaxRule,
    EnergySeason,
    EnovaFeeRule,
    GridTariffRule,
    NorgesprisRule,
    RuleBookError,
    StromstotteRule,
    TariffRules,
    VatRule,
)

BUNDLED_RULES = "no_2024_2026.toml"
_RULES_PACKAGE = "tc_forecast.domain.consumer_price"

T = TypeVar("T")


class RuleFileError(RuleBookError):
    """A rule file is malformed or its rules contradict each other."""


def load_bundled_tariff_rules(name: str = BUNDLED_RULES) -> TariffRules:
    """The rules shipped with the service (``consumer_price/rules/<name>``)."""
    text = files(_RULES_PACKAGE).joinpath("rules", name).read_text(encoding="utf-8")
    return parse_tariff_rules(text, origin=name)


def load_tariff_rules_file(path: Path) -> TariffRules:
    """An operator's rule file, same layout as the bundled one."""
    return parse_tariff_rules(path.read_text(encoding="utf-8"), origin=str(path))


def parse_tariff_rules(text: str, *, origin: str = "<rules>") -> TariffRules:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleFileError(f"{origin}: not valid TOML: {error}") from error
    try:
        _only(
            document,
            "file",
            {"vat", "elavgift", "enova", "stromstotte", "norgespris", "grid_tariff"},
        )
        grid: dict[str, list[GridTariffRule]] = {}
        for rule in _tables(document, "grid_tariff", _grid_tariff):
            grid.setdefault(rule.tariff_id, []).append(rule)
        return TariffRules(
            vat=_tables(document, "vat", _vat),
            elavgift=_tables(document, "elavgift", _elavgift),
            enova=_tables(document, "enova", _enova),
            stromstotte=_tables(document, "stromstotte", _stromstotte),
            norgespris=_tables(document, "norgespris", _norgespris),
            grid={tariff_id: tuple(series) for tariff_id, series in grid.items()},
        )
    except RuleFileError as error:
        raise RuleFileError(f"{origin}: {error}") from error
    except RuleBookError as error:
        raise RuleFileError(f"{origin}: {error}") from error


_REQUIRED: Any = object()


class _Table:
    """Typed access to one TOML table that remembers where it is for error messages."""

    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw, self.where = raw, where

    def _get(self, key: str, default: object) -> object:
        if key in self.raw:
            return self.raw[key]
        if default is _REQUIRED:
            raise RuleFileError(f"{self.where}: missing {key!r}")
        return default

    def day(self, key: str) -> date:
        value = self._get(key, _REQUIRED)
        if isinstance(value, datetime) or not isinstance(value, date):
            raise RuleFileError(f"{self.where}: {key!r} must be a date like 2025-01-01")
        return value

    def optional_date(self, key: str) -> date | None:
        if key not in self.raw:
            return None
        return self.day(key)

    def number(self, key: str, default: float = _REQUIRED) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleFileError(f"{self.where}: {key!r} must be a number")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return self.number(key) if key in self.raw else None

    def integer(self, key: str, default: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleFileError(f"{self.where}: {key!r} must be an integer")
        return value

    def text(self, key: str, default: str = _REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise RuleFileError(f"{self.where}: {key!r} must be a string")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise RuleFileError(f"{self.where}: {key!r} must be true or false")
        return value

    def list_of(self, key: str, kind: type[T]) -> list[T]:
        value = self._get(key, [])
        if not isinstance(value, list) or any(
            not isinstance(v, kind) or isinstance(v, bool) for v in value
        ):
            raise RuleFileError(f"{self.where}: {key!r} must be a list of {kind.__name__}")
        return value

    def dated(self) -> dict[str, Any]:
        return {
            "valid_from": self.day("valid_from"),
            "valid_to": self.optional_date("valid_to"),
            "source": self.text("source", ""),
            "assumed": self.flag("assumed", False),
            "note": self.text("note", ""),
        }


_DATED = {"valid_from", "valid_to", "source", "assumed", "note"}


def _only(raw: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RuleFileError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _tables(document: Mapping[str, Any], kind: str, build: Callable[[_Table], T]) -> tuple[T, ...]:
    raw = document.get(kind, [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise RuleFileError(f"{kind!r} must be an array of tables ([[{kind}]])")
    return tuple(build(_Table(table, f"{kind}[{i}]")) for i, table in enumerate(raw))


def _vat(t: _Table) -> VatRule:
    _only(t.raw, t.where, _DATED | {"rate", "exempt_counties"})
    return VatRule(
        **t.dated(),
        rate=t.number("rate"),
        exempt_counties=frozenset(t.list_of("exempt_counties", str)),
    )


def _elavgift(t: _Table) -> ElectricityTaxRule:
    _only(t.raw, t.where, _DATED | {"ore_per_kwh_ex_vat", "tiltakssone_exempt"})
    return ElectricityTaxRule(
        **t.dated(),
        ore_per_kwh_ex_vat=t.number("ore_per_kwh_ex_vat"),
        tiltakssone_exempt=t.flag("tiltakssone_exempt", True),
    )


def _enova(t: _Table) -> EnovaFeeRule:
    _only(t.raw, t.where, _DATED | {"ore_per_kwh_ex_vat"})
    return EnovaFeeRule(**t.dated(), ore_per_kwh_ex_vat=t.number("ore_per_kwh_ex_vat"))


def _basis(t: _Table) -> str:
    basis = t.text("basis", "hourly_mean")
    if basis not in ("hourly_mean", "slot"):
        raise RuleFileError(f"{t.where}: 'basis' must be 'hourly_mean' or 'slot'")
    return basis


def _stromstotte(t: _Table) -> StromstotteRule:
    _only(
        t.raw,
        t.where,
        _DATED | {"threshold_ore_per_kwh_ex_vat", "coverage", "cap_kwh_per_month", "basis"},
    )
    return StromstotteRule(
        **t.dated(),
        threshold_ore_per_kwh_ex_vat=t.number("threshold_ore_per_kwh_ex_vat"),
        coverage=t.number("coverage", 0.9),
        cap_kwh_per_month=t.number("cap_kwh_per_month", 5000.0),
        basis="slot" if _basis(t) == "slot" else "hourly_mean",
    )


def _norgespris(t: _Table) -> NorgesprisRule:
    _only(
        t.raw,
        t.where,
        _DATED
        | {
            "price_ore_per_kwh_ex_vat",
            "cap_kwh_per_month_home",
            "cap_kwh_per_month_cabin",
            "basis",
        },
    )
    return NorgesprisRule(
        **t.dated(),
        price_ore_per_kwh_ex_vat=t.number("price_ore_per_kwh_ex_vat"),
        cap_kwh_per_month_home=t.number("cap_kwh_per_month_home", 5000.0),
        cap_kwh_per_month_cabin=t.number("cap_kwh_per_month_cabin", 1000.0),
        basis="slot" if _basis(t) == "slot" else "hourly_mean",
    )


def _grid_tariff(t: _Table) -> GridTariffRule:
    _only(
        t.raw,
        t.where,
        _DATED
        | {
            "tariff_id",
            "name",
            "example",
            "day_start_hour",
            "day_end_hour",
            "weekend_is_night",
            "holidays",
            "peak_days",
            "season",
            "capacity_step",
        },
    )
    seasons = []
    for i, raw in enumerate(t.list_of("season", dict)):
        s = _Table(raw, f"{t.where}.season[{i}]")
        _only(
            s.raw, s.where, {"name", "months", "day_ore_per_kwh_ex_vat", "night_ore_per_kwh_ex_vat"}
        )
        seasons.append(
            EnergySeason(
                name=s.text("name"),
                months=frozenset(s.list_of("months", int)),
                day_ore_per_kwh_ex_vat=s.number("day_ore_per_kwh_ex_vat"),
                night_ore_per_kwh_ex_vat=s.number("night_ore_per_kwh_ex_vat"),
            )
        )
    bands = []
    for i, raw in enumerate(t.list_of("capacity_step", dict)):
        b = _Table(raw, f"{t.where}.capacity_step[{i}]")
        _only(b.raw, b.where, {"from_kw", "to_kw", "nok_per_month_ex_vat"})
        bands.append(
            CapacityBand(
                from_kw=b.number("from_kw"),
                to_kw=b.optional_number("to_kw"),
                nok_per_month_ex_vat=b.number("nok_per_month_ex_vat"),
            )
        )
    holidays = t.list_of("holidays", date)
    if any(isinstance(h, datetime) for h in holidays):
        raise RuleFileError(f"{t.where}: 'holidays' must be dates, not date-times")
    return GridTariffRule(
        **t.dated(),
        tariff_id=t.text("tariff_id"),
        name=t.text("name"),
        example=t.flag("example", False),
        day_start_hour=t.integer("day_start_hour", 6),
        day_end_hour=t.integer("day_end_hour", 22),
        weekend_is_night=t.flag("weekend_is_night", True),
        holidays=frozenset(holidays),
        peak_days=t.integer("peak_days", 3),
        seasons=tuple(seasons),
        capacity_bands=tuple(bands),
    )
