"""Nothing leaves without review (第二十三条, 第二十七条, 第二十八条): export requests, the automatic checks
(``screening.py`` over the query's lineage ``lineage.py`` and statistical disclosure control
``sdc.py``), the operator's review and the bureau's filing (``workflow.py``), and the release to the
merchant's outbox with its SM3 digest in the release register (``release.py``)."""
