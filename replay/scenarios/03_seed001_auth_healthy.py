"""Seed 001 (Mamapace v2 RPC and auth), healthy: anon locked out, fast RPC,
registrations confirmed. No page."""
from common import REGISTRATION_OK, seed

SCENARIO = seed("mamapace-auth", "healthy", "@examples/mamapace-auth/healthy.sql",
                traffic=[dict(sql=REGISTRATION_OK, rate=2)])
