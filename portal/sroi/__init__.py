"""SROI commitments: social-return obligations, valuation rules, allocation of contributions."""
