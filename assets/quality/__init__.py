"""Quality checks: Great Expectations suites over the exchange slices, their findings and tickets."""

from assets.quality.deferred_imports import defer

defer()  # before any module here imports Great Expectations (deferred_imports.py says why)
