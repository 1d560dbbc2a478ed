"""The local web UI: ``beaconhunt serve --db FILE`` (see :mod:`beaconhunt.web.app`).

Needs the ``web`` extra (``pip install 'beaconhunt[web]'``): Starlette and uvicorn.
"""
