"""Reproducible benchmarks: `make bench` runs every bench/bench_*.py and writes bench/results.md."""

# A production server names the foundation's own details (config.ISSUER_EXAMPLES are refused there).
PRODUCTION_ISSUER_ENV = {"PORTAL_ISSUER_ADDRESS": "Benchlaan 1, 3512 ZZ Utrecht", "PORTAL_ISSUER_KVK": "87654321",
                         "PORTAL_ISSUER_RSIN": "876543210", "PORTAL_ISSUER_IBAN": "NL02ABNA0123456789"}
