"""Contribution statements: build data, number, render, archive, verify."""
