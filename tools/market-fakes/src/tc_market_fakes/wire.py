"""The four providers' wire formats, built from the pure models (no HTTP here).

Shapes follow ``/work/shared/reference/price-and-weather-apis.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from xml.sax.saxutils import escape

from tc_market_fakes.market import CET, FX_DECIMALS, FX_UNIT_MULT, Currency, PricePoint
from tc_market_fakes.weather import Forecast, Period

PUBLICATION_NS = "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"
ACKNOWLEDGEMENT_NS = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"
ENTSOE_PARTY = "10X1001A1001A450"

ENTSOE_UNAUTHORIZED_HTML = (
    "<html><head><title>Error</title></head>"
    "<body>Unauthorized. Missing or invalid security token</body></html>"
)
ENTSOE_RATE_LIMITED_TEXT = (
    "Max allowed requests per minute from each unique IP is max up to 400 only"
)


def entsoe_time(t: datetime) -> str:
    """ENTSO-E's short RFC 3339 form without seconds: ``2025-11-03T23:00Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _mrid(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def entsoe_amount(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def entsoe_points(
    points: Sequence[PricePoint], curve: Literal["A01", "A03"]
) -> list[tuple[int, float]]:
    """``(position, price)`` as sent: A03 omits a position whose price equals the previous."""
    sent: list[tuple[int, float]] = []
    previous: float | None = None
    for position, point in enumerate(points, start=1):
        if curve == "A01" or point.eur_per_mwh != previous:
            sent.append((position, point.eur_per_mwh))
        previous = point.eur_per_mwh
    return sent


def entsoe_time_series(
    mrid: int,
    eic: str,
    points: Sequence[PricePoint],
    curve: Literal["A01", "A03"],
) -> str:
    start, end = points[0].start_at, points[-1].end_at
    minutes = int((points[0].end_at - points[0].start_at) / timedelta(minutes=1))
    body = "".join(
        f"<Point><position>{pos}</position><price.amount>{entsoe_amount(price)}"
        "</price.amount></Point>"
        for pos, price in entsoe_points(points, curve)
    )
    return (
        f"<TimeSeries><mRID>{mrid}</mRID><auction.type>A01</auction.type>"
        "<businessType>A62</businessType>"
        f'<in_Domain.mRID codingScheme="A01">{eic}</in_Domain.mRID>'
        f'<out_Domain.mRID codingScheme="A01">{eic}</out_Domain.mRID>'
        "<contract_MarketAgreement.type>A01</contract_MarketAgreement.type>"
        "<currency_Unit.name>EUR</currency_Unit.name>"
        "<price_Measure_Unit.name>MWH</price_Measure_Unit.name>"
        "<classificationSequence_AttributeInstanceComponent.position>1"
        "</classificationSequence_AttributeInstanceComponent.position>"
        f"<curveType>{curve}</curveType>"
        f"<Period><timeInterval><start>{entsoe_time(start)}</start>"
        f"<end>{entsoe_time(end)}</end></timeInterval>"
        f"<resolution>PT{minutes}M</resolution>{body}</Period></TimeSeries>"
    )


def entsoe_publication(
    eic: str,
    days: Sequence[tuple[Sequence[PricePoint], Literal["A01", "A03"]]],
    created_at: datetime,
) -> str:
    """A ``Publication_MarketDocument`` with one ``TimeSeries`` per delivery day."""
    start, end = days[0][0][0].start_at, days[-1][0][-1].end_at
    series = "".join(
        entsoe_time_series(i, eic, points, curve) for i, (points, curve) in enumerate(days, 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Publication_MarketDocument xmlns="{PUBLICATION_NS}">'
        f"<mRID>{_mrid(eic, start, end)}</mRID><revisionNumber>1</revisionNumber>"
        "<type>A44</type>"
        f'<sender_MarketParticipant.mRID codingScheme="A01">{ENTSOE_PARTY}'
        "</sender_MarketParticipant.mRID>"
        "<sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>"
        f'<receiver_MarketParticipant.mRID codingScheme="A01">{ENTSOE_PARTY}'
        "</receiver_MarketParticipant.mRID>"
        "<receiver_MarketParticipant.marketRole.type>A33"
        "</receiver_MarketParticipant.marketRole.type>"
        f"<createdDateTime>{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</createdDateTime>"
        f"<period.timeInterval><start>{entsoe_time(start)}</start>"
        f"<end>{entsoe_time(end)}</end></period.timeInterval>"
        f"{series}</Publication_MarketDocument>"
    )


def entsoe_acknowledgement(text: str, created_at: datetime) -> str:
    """An ``Acknowledgement_MarketDocument`` with reason 999 (ENTSO-E's code for all errors)."""
    stamp = f"{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Acknowledgement_MarketDocument xmlns="{ACKNOWLEDGEMENT_NS}">'
        f"<mRID>{_mrid('ack', text, stamp)}</mRID>"
        f"<createdDateTime>{stamp}</createdDateTime>"
        f'<sender_MarketParticipant.mRID codingScheme="A01">{ENTSOE_PARTY}'
        "</sender_MarketParticipant.mRID>"
        "<sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>"
        f'<receiver_MarketParticipant.mRID codingScheme="A01">{ENTSOE_PARTY}'
        "</receiver_MarketParticipant.mRID>"
        "<receiver_MarketParticipant.marketRole.type>A39"
        "</receiver_MarketParticipant.marketRole.type>"
        f"<received_MarketDocument.createdDateTime>{stamp}"
        "</received_MarketDocument.createdDateTime>"
        f"<Reason><code>999</code><text>{escape(text)}</text></Reason>"
        "</Acknowledgement_MarketDocument>"
    )


def hvakosterstrommen_rows(points: Sequence[PricePoint], exr: float) -> list[dict[str, Any]]:
    """The static file's array: one object per MTU, local-offset timestamps."""
    return [
        {
            "NOK_per_kWh": round(p.eur_per_mwh / 1000 * exr, 5),
            "EUR_per_kWh": round(p.eur_per_mwh / 1000, 5),
            "EXR": exr,
            "time_start": p.start_at.astimezone(CET).isoformat(),
            "time_end": p.end_at.astimezone(CET).isoformat(),
        }
        for p in points
    ]


_DECIMAL_NAMES = {0: "Zero", 2: "Two", 4: "Four"}
_UNIT_MULT_NAMES = {0: "Units", 2: "Hundreds"}
_CURRENCY_NAMES = {"EUR": "Euro", "SEK": "Swedish krona", "DKK": "Danish krone"}


def norges_bank_sdmx_json(
    series: Sequence[tuple[Currency, Sequence[tuple[date, float]]]], prepared_at: datetime
) -> dict[str, Any]:
    """SDMX-JSON 1.0 as data.norges-bank.no serves it for ``EXR/B.<CUR>.NOK.SP``.

    Series keys index the series dimensions (``"0:1:0:0"`` = FREQ 0, BASE_CUR 1, ...);
    observation keys index ``structure.dimensions.observation[0].values`` (the TIME_PERIODs);
    an observation is ``[value as a string]``; a series' ``attributes`` index the values of
    DECIMALS, CALCULATED, UNIT_MULT and COLLECTION in that order.
    """
    periods = sorted({day for _, obs in series for day, _ in obs})
    period_index = {day: i for i, day in enumerate(periods)}
    decimals = sorted({FX_DECIMALS[c] for c, _ in series})
    unit_mults = sorted({FX_UNIT_MULT[c] for c, _ in series})
    data_series: dict[str, Any] = {}
    for i, (currency, observations) in enumerate(series):
        places = FX_DECIMALS[currency]
        data_series[f"0:{i}:0:0"] = {
            "attributes": [
                decimals.index(places),
                0,
                unit_mults.index(FX_UNIT_MULT[currency]),
                0,
            ],
            "observations": {
                str(period_index[day]): [f"{value:.{places}f}"] for day, value in observations
            },
        }

    def dimension(
        dim_id: str, name: str, position: int, values: list[dict[str, str]]
    ) -> dict[str, Any]:
        return {
            "id": dim_id,
            "name": name,
            "description": name,
            "keyPosition": position,
            "role": None,
            "values": values,
        }

    def attribute(attr_id: str, name: str, values: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "id": attr_id,
            "name": name,
            "description": name,
            "relationship": {"dimensions": ["FREQ", "BASE_CUR", "QUOTE_CUR", "TENOR"]},
            "role": None,
            "values": values,
        }

    first = periods[0].isoformat() if periods else None
    last = periods[-1].isoformat() if periods else None
    prepared = prepared_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "meta": {
            "id": "IREF" + _mrid("sdmx", prepared, len(periods))[:6].upper(),
            "prepared": prepared,
            "test": False,
            "datasetId": "EXR",
            "sender": {"id": "NB"},
            "receiver": {"id": "ANONYMOUS"},
            "links": [{"rel": "request", "href": "https://data.norges-bank.no/api/data/EXR"}],
        },
        "data": {
            "dataSets": [
                {
                    "links": [
                        {
                            "rel": "dataflow",
                            "urn": "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=NB:EXR(1.0)",
                        }
                    ],
                    "reportingBegin": first,
                    "reportingEnd": last,
                    "action": "Replace",
                    "series": data_series,
                }
            ],
            "structure": {
                "links": [
                    {
                        "rel": "dataflow",
                        "urn": "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=NB:EXR(1.0)",
                    }
                ],
                "name": "Exchange rates",
                "names": {"en": "Exchange rates"},
                "description": "Exchange rates",
                "descriptions": {"en": "Exchange rates"},
                "dimensions": {
                    "dataset": [],
                    "series": [
                        dimension("FREQ", "Frequency", 0, [{"id": "B", "name": "Business"}]),
                        dimension(
                            "BASE_CUR",
                            "Base Currency",
                            1,
                            [{"id": c, "name": _CURRENCY_NAMES[c]} for c, _ in series],
                        ),
                        dimension(
                            "QUOTE_CUR",
                            "Quote Currency",
                            2,
                            [{"id": "NOK", "name": "Norwegian krone"}],
                        ),
                        dimension("TENOR", "Tenor", 3, [{"id": "SP", "name": "Spot"}]),
                    ],
                    "observation": [
                        {
                            "id": "TIME_PERIOD",
                            "name": "Time Period",
                            "description": "Time Period",
                            "keyPosition": 4,
                            "role": "time",
                            "values": [
                                {
                                    "id": d.isoformat(),
                                    "name": d.isoformat(),
                                    "start": f"{d.isoformat()}T00:00:00",
                                    "end": f"{d.isoformat()}T23:59:59",
                                }
                                for d in periods
                            ],
                        }
                    ],
                },
                "attributes": {
                    "dataset": [],
                    "series": [
                        attribute(
                            "DECIMALS",
                            "Decimals",
                            [{"id": str(n), "name": _DECIMAL_NAMES[n]} for n in decimals],
                        ),
                        attribute("CALCULATED", "Calculated", [{"id": "false", "name": "false"}]),
                        attribute(
                            "UNIT_MULT",
                            "Unit Multiplier",
                            [{"id": str(n), "name": _UNIT_MULT_NAMES[n]} for n in unit_mults],
                        ),
                        attribute(
                            "COLLECTION",
                            "Collection Indicator",
                            [{"id": "C", "name": "ECB concertation time 14:15 CET"}],
                        ),
                    ],
                    "observation": [],
                },
            },
        },
    }


def norges_bank_csv(series: Sequence[tuple[Currency, Sequence[tuple[date, float]]]]) -> str:
    """``format=csv``: semicolon-separated, one row per observation."""
    lines = [
        "FREQ;Frequency;BASE_CUR;Base Currency;QUOTE_CUR;Quote Currency;TENOR;Tenor;DECIMALS;"
        "CALCULATED;UNIT_MULT;Unit Multiplier;COLLECTION;Collection Indicator;TIME_PERIOD;"
        "OBS_VALUE"
    ]
    for currency, observations in series:
        places, mult = FX_DECIMALS[currency], FX_UNIT_MULT[currency]
        lines.extend(
            f"B;Business;{currency};{_CURRENCY_NAMES[currency]};NOK;Norwegian krone;SP;Spot;"
            f"{places};false;{mult};{_UNIT_MULT_NAMES[mult]};C;ECB concertation time 14:15 CET;"
            f"{day.isoformat()};{value:.{places}f}"
            for day, value in observations
        )
    return "\n".join(lines) + "\n"


def _period(period: Period | None, with_details: bool = True) -> dict[str, Any] | None:
    if period is None:
        return None
    details: dict[str, Any] = {}
    if with_details and period.precipitation_mm is not None:
        details["precipitation_amount"] = period.precipitation_mm
    return {"summary": {"symbol_code": period.symbol_code}, "details": details}


def met_compact(forecast: Forecast) -> dict[str, Any]:
    """Locationforecast 2.0 ``compact`` GeoJSON."""
    timeseries = []
    for step in forecast.steps:
        s = step.instant
        data: dict[str, Any] = {
            "instant": {
                "details": {
                    "air_pressure_at_sea_level": s.air_pressure_at_sea_level_hpa,
                    "air_temperature": s.air_temperature_c,
                    "cloud_area_fraction": s.cloud_area_fraction_pct,
                    "relative_humidity": s.relative_humidity_pct,
                    "wind_from_direction": s.wind_from_direction_deg,
                    "wind_speed": s.wind_speed_m_per_s,
                }
            }
        }
        for key, period in (
            ("next_12_hours", step.next_12_hours),
            ("next_1_hours", step.next_1_hours),
            ("next_6_hours", step.next_6_hours),
        ):
            block = _period(period)
            if block is not None:
                data[key] = block
        timeseries.append({"time": step.time.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data})
    return {
        "type": "Feature",
        "geometry": {
            "type": "Point",
            "coordinates": [forecast.lon, forecast.lat, forecast.altitude_m],
        },
        "properties": {
            "meta": {
                "updated_at": forecast.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "units": {
                    "air_pressure_at_sea_level": "hPa",
                    "air_temperature": "celsius",
                    "cloud_area_fraction": "%",
                    "precipitation_amount": "mm",
                    "relative_humidity": "%",
                    "wind_from_direction": "degrees",
                    "wind_speed": "m/s",
                },
            },
            "timeseries": timeseries,
        },
    }
