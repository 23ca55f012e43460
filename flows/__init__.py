"""Prefect flows (``nightly``, ``backfill``, ``reprocess``) over the plain pipeline in :mod:`flows.pipeline`.

Import the flows from their modules (``flows.nightly:nightly``): importing this package does not import
Prefect, so the plain pipeline stays usable (and fast to import) without it.
"""
