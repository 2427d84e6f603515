"""Learned vehicle behaviour: departure distributions and weekly rhythm profiles (pure)."""
