"""Spot prices, price forecasts and anomalies, exchange rates and weather: read-only, for the
dashboard and the planner's clients. Every route needs an API key."""

from datetime import datetime
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.exceptions import RequestValidationError

from tc_api import domain, examples
from tc_api.deps import API_KEY_HEADER, Authenticated, ClockDep, MarketDep
from tc_api.params import IsoDate, IsoDateTime
from tc_api.schemas import (
    ErrorBody,
    ExchangeRateOut,
    ExchangeRatesPage,
    PriceAnomaliesPage,
    PriceAnomalyOut,
    PriceForecastOut,
    PricesPage,
    SpotPriceOut,
    UnavailableBody,
    WeatherForecastOut,
)

router = APIRouter(
    prefix="/v1",
    dependencies=[Authenticated],
    responses={
        401: {"model": ErrorBody, "description": f"{API_KEY_HEADER} missing or wrong."},
        403: {
            "model": ErrorBody,
            "description": "The key's account is suspended, being erased or erased.",
        },
        503: {"model": UnavailableBody, "description": "The database is unavailable; retry."},
    },
)

Zone = Annotated[
    str,
    Path(
        description=f"Bidding zone, one of {', '.join(domain.BIDDING_ZONES)} (any case).",
        examples=["NO3"],
        # Declared for clients; the route checks it itself to name the valid zones in its 422.
        json_schema_extra={"pattern": domain.BIDDING_ZONE_PATTERN},
    ),
]
From = Annotated[
    IsoDateTime | None,
    Query(
        alias="from",
        description="Inclusive start, ISO-8601 with a timezone (default: "
        f"{domain.describe_duration(domain.DEFAULT_PRICE_LOOKBACK)} before the current hour, or "
        f"{domain.describe_duration(domain.DEFAULT_PRICE_WINDOW)} before 'to'). Must be before "
        "'to'.",
        examples=["2026-11-25T00:00:00+01:00"],
    ),
]
To = Annotated[
    IsoDateTime | None,
    Query(
        alias="to",
        description=f"Exclusive end, ISO-8601 with a timezone (default: "
        f"{domain.describe_duration(domain.DEFAULT_PRICE_WINDOW)} after 'from'). Must be after "
        f"'from', and at most {domain.MAX_WINDOW.days} days after it.",
        examples=["2026-11-27T00:00:00+01:00"],
    ),
]


def _refuse(error: domain.InvalidQueryError, where: Literal["path", "query"]) -> NoReturn:
    # Same body as FastAPI's own parameter errors, so clients parse one 422 format.
    raise RequestValidationError(
        [{"type": "value_error", "loc": (where, error.parameter), "msg": error.message}]
    ) from error


def _zone(text: str) -> str:
    try:
        return domain.parse_zone(text)
    except domain.InvalidQueryError as error:
        _refuse(error, "path")


def _price_window(
    from_at: datetime | None, to_at: datetime | None, now: datetime
) -> domain.TimeWindow:
    try:
        return domain.resolve_price_window(from_at=from_at, to_at=to_at, now=now)
    except domain.InvalidQueryError as error:
        _refuse(error, "query")


_NO_FORECAST: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No forecast stored for the zone."}
}


@router.get(
    "/prices/{zone}",
    response_model=PricesPage,
    response_model_by_alias=True,
    responses=examples.ok(examples.PRICES),
    tags=["prices"],
)
async def get_prices(
    zone: Zone,
    market: MarketDep,
    clock: ClockDep,
    from_at: From = None,
    to_at: To = None,
    include_forecast: Annotated[
        bool,
        Query(
            description="Add the latest forecast's slots (p10/p50/p90) after the last "
            "published price, inside the window."
        ),
    ] = False,
) -> PricesPage:
    zone = _zone(zone)
    window = _price_window(from_at, to_at, clock.now())
    prices = domain.finest_prices(await market.spot_prices(zone, window))
    forecast = None
    if include_forecast and (latest := await market.latest_price_forecast(zone)) is not None:
        beyond = domain.forecast_beyond(
            latest, known_until=await market.last_spot_price_end(zone), window=window
        )
        forecast = PriceForecastOut.build(latest, beyond)
    return PricesPage(
        zone=zone,
        from_=window.from_at,
        to=window.to_at,
        count=len(prices),
        slots=[SpotPriceOut.from_price(p) for p in prices],
        forecast=forecast,
    )


@router.get(
    "/prices/{zone}/forecast",
    response_model=PriceForecastOut,
    responses={**_NO_FORECAST, **examples.ok(examples.PRICE_FORECAST)},
    tags=["prices"],
)
async def get_price_forecast(zone: Zone, market: MarketDep) -> PriceForecastOut:
    zone = _zone(zone)
    forecast = await market.latest_price_forecast(zone)
    if forecast is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no price forecast for {zone} yet")
    return PriceForecastOut.build(forecast)


@router.get(
    "/prices/{zone}/anomalies",
    response_model=PriceAnomaliesPage,
    response_model_by_alias=True,
    responses=examples.ok(examples.ANOMALIES),
    tags=["prices"],
)
async def get_price_anomalies(
    zone: Zone, market: MarketDep, clock: ClockDep, from_at: From = None, to_at: To = None
) -> PriceAnomaliesPage:
    zone = _zone(zone)
    window = _price_window(from_at, to_at, clock.now())
    anomalies = await market.price_anomalies(zone, window)
    return PriceAnomaliesPage(
        zone=zone,
        from_=window.from_at,
        to=window.to_at,
        count=len(anomalies),
        anomalies=[PriceAnomalyOut.model_validate(a, from_attributes=True) for a in anomalies],
    )


@router.get(
    "/exchange-rates",
    response_model=ExchangeRatesPage,
    response_model_by_alias=True,
    responses=examples.ok(examples.EXCHANGE_RATES),
    tags=["exchange rates"],
)
async def get_exchange_rates(
    market: MarketDep,
    clock: ClockDep,
    from_date: Annotated[
        IsoDate | None,
        Query(
            alias="from",
            description=f"First day, inclusive (default: {domain.DEFAULT_RATE_DAYS} days "
            "before 'to'). Must be before 'to'.",
            examples=["2026-11-01"],
        ),
    ] = None,
    to_date: Annotated[
        IsoDate | None,
        Query(
            alias="to",
            description="Last day, exclusive (default: tomorrow in UTC). Must be after 'from', "
            f"and at most {domain.MAX_RATE_DAYS} days after it.",
            examples=["2026-12-01"],
        ),
    ] = None,
) -> ExchangeRatesPage:
    try:
        window = domain.resolve_date_window(from_date=from_date, to_date=to_date, now=clock.now())
    except domain.InvalidQueryError as error:
        _refuse(error, "query")
    rates = await market.exchange_rates(window)
    return ExchangeRatesPage(
        from_=window.from_date,
        to=window.to_date,
        count=len(rates),
        rates=[ExchangeRateOut.model_validate(r, from_attributes=True) for r in rates],
    )


@router.get(
    "/weather/{location_id}",
    response_model=WeatherForecastOut,
    responses={
        **examples.ok(examples.WEATHER),
        404: {"model": ErrorBody, "description": "No forecast stored for the place."},
    },
    tags=["weather"],
)
async def get_weather(
    location_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=100,
            # Ids come from ingest's settings as well as from vehicle ids, so only what no id
            # holds is refused: control characters (a NUL would fail the query with a 500).
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="A zone's reference point ('zone:NO3') or a vehicle's home area "
            "('home:<vehicle_id>'); no control characters.",
            examples=["zone:NO3"],
        ),
    ],
    market: MarketDep,
) -> WeatherForecastOut:
    forecast = await market.latest_weather(location_id)
    if forecast is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no weather forecast for {location_id!r} yet"
        )
    return WeatherForecastOut.from_forecast(forecast)
