"""Seed data: the demo org (`seed_demo`) and large volumes for benchmarks (`seed_large`)."""

from app.seed.demo import DEMO_PASSWORD, DEMO_USERS, database_is_empty, seed_demo
from app.seed.large import seed_large, seed_scale

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "database_is_empty", "seed_demo", "seed_large",
           "seed_scale"]
