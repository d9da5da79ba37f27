"""Giving: money online (Stripe) and by bank transfer, and materials."""
