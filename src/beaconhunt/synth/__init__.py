"""Synthetic traffic: timing models of real implants and benign software, and
the generator that writes a day of telemetry in the formats beaconhunt reads.
"""
