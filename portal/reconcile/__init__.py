"""The project leader\x27s desk: bank import, matching, Stripe sync, period close, exports."""
