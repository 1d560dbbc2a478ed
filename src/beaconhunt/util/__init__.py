"""Helpers every stage may use: text made safe to show, time formats."""
