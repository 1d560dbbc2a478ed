"""The application layer: services every front end calls (the command line, the HTML
report, the web UI), returning view models rather than text.

* :mod:`beaconhunt.app.case`: the case document of one finding.
* :mod:`beaconhunt.app.run`: the report of one hunt (what was read, skipped, found).
* :mod:`beaconhunt.app.store`: what an analyst does with a ``--db`` store: find a
  finding by id, list findings, record a verdict, open a case.
"""
