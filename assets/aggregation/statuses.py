"""What the platform made of a delivery: the ``status`` of its row in ``ingest_files``."""

STATUS_LOADED = "loaded"
STATUS_REJECTED = "rejected"
STATUS_HELD = "held"  # a much smaller redelivery waits for the department's confirmation (holds.py)
