"""Local fake servers for day-ahead prices, exchange rates and weather forecasts."""
