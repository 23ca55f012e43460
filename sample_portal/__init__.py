"""The bundled sample portal: imitation county portals (TRS, Hanweb, gkmlpt, VSB, generic) on loopback.

Used by the demo, the tests (the ``sample_portal`` fixture in tests/conftest.py) and the benchmarks.
``sample_portal.server.start()`` runs it in a background thread; ``ogi sample-portal`` in the foreground.
See docs/crawler.md.
"""
