"""``python -m beaconhunt``."""

from beaconhunt.cli import main

main()
